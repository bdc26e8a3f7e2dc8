//! The web app in a real headless Chromium (Debian's chromium and
//! chromium-driver, driven over WebDriver by tests/util/webdriver.rs)
//! against a real ptmasterd and ptworkerd with a CSV market whose prices
//! move every second: register, see prices move, buy, see the position
//! and the fill in history, a buy beyond the cash and its sentence, log
//! out, a bad password and its sentence, log in again, and the same
//! screens at a phone's width. The browser console must hold no error.
//! Screenshots go to target/web-screenshots/. And sign-in through a
//! local OpenID Connect provider (tests/oidc_provider) with the app's
//! "Register with" and "Sign in with" buttons: the authorization code flow
//! with PKCE in the browser, a tampered state refused, an identity not
//! linked yet registered from the offer the app makes, and a passwordless
//! account reset through its provider and given a password. The account
//! screen's password and reset for a password account too. And portfolios
//! and games (protocol 1.2) with two users in two browsers: a portfolio
//! made and switched to from the header, a game made with its form, joined
//! by its code, its standings, holdings and organiser's controls, checked
//! by axe-core at a desktop's and a phone's width.

mod oidc_provider;
mod util;

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use oidc_provider::{CLIENT_ID, Key, Provider};
use util::daemon::TempDir;
use util::system::System;
use util::webdriver::Browser;

/// Master config for a CSV feed of 20 assets: AAPL climbs, MSFT falls and
/// 18 more drift, one price per 1 s update.
fn market(dir: &TempDir) -> String {
    let mut csv = String::from("Symbol,Date,Time,Open,High,Low,Close,Volume\n");
    let mut list = String::from("AAPL Apple Inc.\nMSFT Microsoft Corp.\n");
    for k in 1..=18 {
        list.push_str(&format!("S{k:02} Stock number {k}\n"));
    }
    for i in 0..600 {
        for k in 1..=18 {
            let p = format!("{}.{:02}", 10 * k + i % 7, (i * k) % 100);
            csv.push_str(&format!(
                "S{k:02},2026-11-20,10:00:00,{p},{p},{p},{p},100\n"
            ));
        }
        let aapl = format!("{}.{:02}", 180 + i / 2, (i % 2) * 50);
        let msft = format!("{}.{:02}", 420 - i / 4, (3 - i % 4) * 25);
        csv.push_str(&format!(
            "AAPL,2026-11-20,10:00:00,{aapl},{aapl},{aapl},{aapl},1000\n"
        ));
        csv.push_str(&format!(
            "MSFT,2026-11-20,10:00:00,{msft},{msft},{msft},{msft},2000\n"
        ));
    }
    std::fs::write(dir.join("bars.csv"), csv).expect("csv");
    std::fs::write(dir.join("assets.list"), list).expect("assets");
    format!(
        "price_source = csv\ncsv_file = {}\nassets_file = {}\nupdate_interval = 1s\n",
        dir.join("bars.csv").display(),
        dir.join("assets.list").display()
    )
}

fn shots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/web-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

/// Fails on any console entry at SEVERE (errors, failed loads, CSP).
fn no_console_errors(browser: &Browser, step: &str) {
    let errors: Vec<_> = browser
        .console()
        .into_iter()
        .filter(|(level, _)| level == "SEVERE")
        .collect();
    assert!(errors.is_empty(), "console errors after {step}: {errors:?}");
}

const LONG: Duration = Duration::from_secs(30);

/// axe-core, vendored for this test (tests/fixtures/axe-core/README.md).
const AXE: &str = include_str!("fixtures/axe-core/axe-4.11.1.min.js");

/// Runs axe-core on the screen shown: no violation of serious or
/// critical impact.
fn assert_accessible(browser: &Browser, screen: &str) {
    let loaded = browser.run(
        "return typeof window.axe === 'object';",
        serde_json::json!([]),
    );
    if loaded != serde_json::json!(true) {
        browser.run(&format!("{AXE}\nreturn true;"), serde_json::json!([]));
    }
    let found = browser.run_async(
        "const done = arguments[arguments.length - 1]; \
         axe.run(document, { resultTypes: ['violations'] }).then((r) => done(r.violations \
           .filter((v) => v.impact === 'serious' || v.impact === 'critical') \
           .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)), \
           (e) => done([`axe failed: ${e}`]));",
        serde_json::json!([]),
    );
    assert_eq!(
        found,
        serde_json::json!([]),
        "{screen}: axe-core violations"
    );
}

/// No text node of the page reads "null" (a null given to the DOM).
fn assert_no_null(browser: &Browser, screen: &str) {
    let nulls = browser.run(
        "return [document.body, ...document.body.querySelectorAll('*')].some((e) => \
         [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim() === 'null'));",
        serde_json::json!([]),
    );
    assert_eq!(
        nulls,
        serde_json::json!(false),
        "{screen}: a text node reads null"
    );
}

/// Neither the page nor any table's scroller needs to scroll sideways:
/// every column (and its numbers and buttons) is in sight.
fn assert_fits(browser: &Browser, screen: &str) {
    let off = browser.run(
        "const off = []; \
         const d = document.documentElement; \
         if (d.scrollWidth > d.clientWidth) off.push(`the page: ${d.scrollWidth} > ${d.clientWidth}`); \
         for (const s of document.querySelectorAll('main .scroll')) \
           if (s.scrollWidth > s.clientWidth + 1) off.push(`${s.querySelector('caption')?.textContent}: \
             ${s.scrollWidth} > ${s.clientWidth}`); \
         return off;",
        serde_json::json!([]),
    );
    assert_eq!(off, serde_json::json!([]), "{screen}: hidden sideways");
}

/// Each screen of the app at the browser's present width: it loads, no
/// null, everything fits on a phone, axe-core finds nothing serious.
fn check_screens(browser: &Browser, url: &str, width: &str, shots: &std::path::Path) {
    for page in [
        "markets",
        "asset/AAPL",
        "portfolio",
        "orders",
        "history",
        "leaderboard",
        "account",
        "portfolios",
        "games",
    ] {
        browser.goto(&format!("{url}#/{page}"));
        let title = browser.wait_text("#title", LONG, |t| !t.is_empty() && t != "Loading…");
        assert_ne!(title, "Something went wrong", "{page} at {width}");
        // What each screen loads after its title.
        match page {
            "markets" => {
                browser.wait_text("#markets-body tr[data-symbol=AAPL] .price", LONG, |t| {
                    t.starts_with('$')
                });
            }
            "asset/AAPL" => {
                browser.find("#chart canvas");
                browser.wait_text("#ticket-cash", LONG, |t| t.starts_with('$'));
            }
            "account" => {
                browser.wait_text("#keys-list", LONG, |t| !t.contains("Loading"));
            }
            "portfolios" => {
                browser.wait_text("#portfolio-name", LONG, |t| t != "…");
            }
            _ => {}
        }
        let screen = format!("{page} at {width}");
        assert_no_null(browser, &screen);
        assert_fits(browser, &screen);
        assert_accessible(browser, &screen);
        let name = page.replace('/', "-");
        browser.screenshot(&shots.join(format!("{name}-{width}.png")));
    }
}

#[test]
fn a_trader_registers_buys_and_logs_out_in_a_real_browser() {
    let dir = TempDir::new("web-browser-market");
    // Below the ephemeral range: the worker binds it again after a restart.
    let port = util::system::free_port();
    let web: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let mut system = System::start(
        "web-browser",
        &market(&dir),
        &format!("web_listen = {web}\n"),
    );
    let profile = TempDir::new("web-browser-profile");
    let browser = Browser::start(&profile.path);
    let shots = shots();
    let url = format!("http://{web}/");

    // Register (which logs in) and land on the markets.
    browser.goto(&url);
    browser.fill("#r-username", "webtrader");
    browser.fill("#r-email", "webtrader@example.com");
    browser.fill("#r-password", "correct horse");
    browser.click("#r-keep");
    browser.click("#register-button");
    browser.find("#markets-body tr[data-symbol=AAPL]");
    browser.wait_text("#conn-text", LONG, |t| t == "Live");
    // Prices move at each update, and the table follows by itself, in
    // place: focus stays on a row across three price sets.
    let cell = "#markets-body tr[data-symbol=AAPL] .price";
    let mut seen = browser.wait_text(cell, LONG, |t| t.starts_with('$'));
    browser.run(
        "document.querySelector('#markets-body tr[data-symbol=MSFT] a').focus(); return null;",
        serde_json::json!([]),
    );
    for _ in 0..3 {
        let before = seen.clone();
        seen = browser.wait_text(cell, LONG, |t| t.starts_with('$') && t != before);
    }
    let focused = browser.run(
        "return document.activeElement === \
         document.querySelector('#markets-body tr[data-symbol=MSFT] a');",
        serde_json::json!([]),
    );
    assert_eq!(focused, serde_json::json!(true), "focus left the row");
    browser.screenshot(&shots.join("markets-desktop.png"));
    assert_headers_align(&browser, "markets");
    no_console_errors(&browser, "markets");

    // Markets with 20 assets for 10 s: one frame per price set (the
    // push), nothing asked (was: a probe a second and 20 getAssetInfo
    // per update, 110 frames).
    browser.websocket_frames();
    std::thread::sleep(Duration::from_secs(10));
    let (sent, received) = browser.websocket_frames();
    assert!(
        received <= 11 + sent && received >= 5 && sent <= 1,
        "frames in 10 s on Markets: {sent} sent, {received} received"
    );
    eprintln!("Markets, 20 assets, 10 s: {sent} frames sent, {received} received");

    // The search box and the watchlist, kept on the master.
    browser.fill("#markets-search", "micro");
    let shown = browser.run(
        "return [...document.querySelectorAll('#markets-body tr')].filter((r) => !r.hidden) \
         .map((r) => r.dataset.symbol);",
        serde_json::json!([]),
    );
    assert_eq!(shown, serde_json::json!(["MSFT"]), "search by name");
    browser.fill("#markets-search", "");
    browser.click("#markets-body tr[data-symbol=S03] button[data-watch]");
    browser.wait_text("#markets-body tr[data-symbol=S03]", LONG, |_| true);
    let pressed = || {
        browser.run(
            "return document.querySelector('#markets-body tr[data-symbol=S03] button[data-watch]') \
             .getAttribute('aria-pressed');",
            serde_json::json!([]),
        )
    };
    let deadline = Instant::now() + LONG;
    while pressed() != serde_json::json!("true") {
        assert!(Instant::now() < deadline, "the star did not turn on");
        std::thread::sleep(Duration::from_millis(100));
    }
    browser.click("#markets-watched");
    let shown = browser.run(
        "return [...document.querySelectorAll('#markets-body tr')].filter((r) => !r.hidden) \
         .map((r) => r.dataset.symbol);",
        serde_json::json!([]),
    );
    assert_eq!(shown, serde_json::json!(["S03"]), "only the watchlist");
    browser.click("#markets-watched");

    // The asset page: its headline price follows the price sets; the
    // ticket shows the cash, the shares held and the last price.
    browser.click("#markets-body tr[data-symbol=AAPL] a");
    browser.find("#chart canvas");
    let headline = browser.wait_text("#headline", LONG, |t| t.starts_with('$'));
    browser.wait_text("#headline", LONG, |t| t.starts_with('$') && t != headline);
    let cash = browser.wait_text("#ticket-cash", LONG, |t| t.starts_with('$'));
    assert_eq!(cash, "$100,000.00");
    browser.wait_text("#ticket-held", LONG, |t| t == "0 AAPL");
    browser.click("#watch");
    browser.wait_text("#watch", LONG, |t| t.contains("On your watchlist"));

    // Buy 3 AAPL at the market, confirming in the dialog.
    browser.fill("#quantity", "3");
    browser.click("#review");
    let summary = browser.wait_text("#confirm-summary", LONG, |t| !t.is_empty());
    assert!(summary.starts_with("Buy 3 AAPL"), "{summary}");
    browser.click("#confirm-ok");
    let fill = browser.wait_text("#trade-result", LONG, |t| {
        t.starts_with("Bought") || t.contains(".")
    });
    assert!(fill.starts_with("Bought 3 AAPL at "), "{fill}");
    browser.screenshot(&shots.join("asset-desktop.png"));

    // Half a share (the simulated market trades in fractions), then 100
    // worth by the amount (purchaseNotional).
    browser.fill("#quantity", "0.5");
    browser.click("#review");
    browser.wait_text("#confirm-summary", LONG, |t| t.starts_with("Buy 0.5 AAPL"));
    browser.click("#confirm-ok");
    let fill = browser.wait_text("#trade-result", LONG, |t| t.starts_with("Bought"));
    assert!(fill.starts_with("Bought 0.5 AAPL at "), "{fill}");
    let choose = |id: &str, value: &str| {
        browser.run(
            "const s = document.getElementById(arguments[0]); s.value = arguments[1]; \
             s.dispatchEvent(new Event('change', { bubbles: true }));",
            serde_json::json!([id, value]),
        );
    };
    choose("size-by", "amount");
    browser.fill("#quantity", "100");
    browser.click("#review");
    let summary = browser.wait_text("#confirm-summary", LONG, |t| !t.is_empty());
    assert!(summary.contains("100.00 worth of AAPL"), "{summary}");
    browser.click("#confirm-ok");
    let fill = browser.wait_text("#trade-result", LONG, |t| t.starts_with("Bought"));
    assert!(
        fill.starts_with("Bought 0."),
        "a fraction of a share: {fill}"
    );
    choose("size-by", "shares");

    // Beyond the cash: the sentence for insufficient-funds.
    browser.fill("#quantity", "1000000000");
    browser.click("#review");
    browser.wait_text("#confirm-summary", LONG, |t| {
        t.starts_with("Buy 1,000,000,000")
    });
    browser.click("#confirm-ok");
    let refusal = browser.wait_text("#trade-result", LONG, |t| {
        t.contains("cash") || t.contains(".")
    });
    assert!(
        refusal.contains("You do not have enough cash for this order."),
        "{refusal}"
    );

    // Ten decimals get the app's sentence, not the browser's "Please
    // match the requested format.".
    browser.fill("#quantity", "2.5000000001");
    browser.click("#review");
    let sentence = browser.wait_text("#trade-result", LONG, |t| t.contains("decimals"));
    assert!(
        sentence.contains(
            "The quantity must be a number of shares above 0 and at most 1,000,000,000, \
             with at most 9 decimals."
        ),
        "{sentence}"
    );

    // A limit order far below the market rests; its cancel dialog says
    // "Keep order" and "Cancel order", never "Cancel" twice.
    browser.fill("#quantity", "1");
    browser.run(
        "const t = document.getElementById('order-type'); t.value = 'limit'; \
         t.dispatchEvent(new Event('change', { bubbles: true }));",
        serde_json::json!([]),
    );
    browser.fill("#limit", "1.00");
    browser.click("#review");
    browser.wait_text("#confirm-summary", LONG, |t| t.starts_with("Buy 1 AAPL"));
    browser.click("#confirm-ok");
    let placed = browser.wait_text("#trade-result", LONG, |t| t.contains("Order"));
    assert!(
        placed.contains("placed. It rests until the price falls to $1.00"),
        "{placed}"
    );

    // A trailing stop: a bad trail gets the app's sentence; 50% rests.
    browser.run(
        "const s = document.getElementById('side'); s.value = 'sell'; \
         const t = document.getElementById('order-type'); t.value = 'trailing-stop'; \
         t.dispatchEvent(new Event('change', { bubbles: true }));",
        serde_json::json!([]),
    );
    browser.fill("#quantity", "0.5");
    browser.fill("#trail", "100%");
    browser.click("#review");
    let sentence = browser.wait_text("#trade-result", LONG, |t| t.contains("trail"));
    assert!(sentence.contains("Enter a trail"), "{sentence}");
    browser.fill("#trail", "50%");
    browser.click("#review");
    let summary = browser.wait_text("#confirm-summary", LONG, |t| t.starts_with("Sell"));
    assert!(
        summary
            .starts_with("Sell 0.5 AAPL at the market once the price falls 50% from its highest"),
        "{summary}"
    );
    browser.click("#confirm-ok");
    browser.wait_text("#trade-result", LONG, |t| t.contains("placed"));

    // Change the limit order: it is replaced by a new one at 1.50.
    browser.goto(&format!("{url}#/orders"));
    let rows = browser.wait_text("#main table", LONG, |t| t.contains("(50%)"));
    assert!(rows.contains("sell trailing-stop"), "{rows}");
    let change = "#main tr:nth-child(2) button[data-action=change]";
    browser.find(change);
    browser.click(change);
    browser.wait_text("#confirm-title", LONG, |t| t.starts_with("Change order"));
    browser.fill("#change-limit", "1.50");
    browser.click("#confirm-ok");
    let notice = browser.wait_text("#orders-result", LONG, |t| t.contains("replaced"));
    assert!(notice.contains("was replaced by order"), "{notice}");
    let rows = browser.wait_text("#main table", LONG, |t| t.contains("1.50"));
    assert!(rows.contains("replaced"), "{rows}");

    let cancel = "#main table button[data-action=cancel]";
    browser.find(cancel);
    browser.click(cancel);
    let back = browser.wait_text("#confirm-cancel", LONG, |t| t != "Cancel");
    assert_eq!(back, "Keep order");
    assert_eq!(browser.text("#confirm-ok"), "Cancel order");
    browser.click("#confirm-cancel");
    browser.click(cancel);
    browser.wait_text("#confirm-cancel", LONG, |t| t == "Keep order");
    browser.click("#confirm-ok");
    browser.wait_text("#main table", LONG, |t| t.contains("cancelled"));
    browser.click(cancel);
    browser.wait_text("#confirm-cancel", LONG, |t| t == "Keep order");
    browser.click("#confirm-ok");
    browser.wait_text("#main table", LONG, |t| t.matches("cancelled").count() == 2);

    // A bracket from the ticket: its legs are held, and cancelling one
    // of the three cancels them all.
    browser.goto(&format!("{url}#/asset/AAPL"));
    browser.find("#trade-form");
    browser.run(
        "const s = document.getElementById('side'); s.value = 'buy'; \
         const t = document.getElementById('order-type'); t.value = 'limit'; \
         t.dispatchEvent(new Event('change', { bubbles: true }));",
        serde_json::json!([]),
    );
    browser.fill("#quantity", "1");
    browser.fill("#limit", "1.00");
    browser.fill("#take-profit", "5");
    browser.fill("#stop-loss", "0.5");
    browser.click("#review");
    let summary = browser.wait_text("#confirm-summary", LONG, |t| t.contains("Once it fills"));
    assert!(
        summary.ends_with(
            "Once it fills: sell at $5.00 or better, or at the market once the price reaches $0.5000."
        ),
        "{summary}"
    );
    browser.click("#confirm-ok");
    browser.wait_text("#trade-result", LONG, |t| t.contains("with its exits"));
    browser.goto(&format!("{url}#/orders"));
    let rows = browser.wait_text("#main table", LONG, |t| t.contains("(bracket)"));
    assert_eq!(rows.matches("held").count(), 2, "{rows}");
    browser.click(cancel);
    browser.wait_text("#confirm-cancel", LONG, |t| t == "Keep order");
    browser.click("#confirm-ok");
    browser.wait_text("#main table", LONG, |t| t.matches("cancelled").count() == 5);

    // A buy stop $1.50 above the market rests, triggers a few price sets
    // later and fills: the notice comes on whichever page is open.
    browser.goto(&format!("{url}#/asset/AAPL"));
    let last = browser.wait_text("#ticket-last", LONG, |t| t.starts_with('$'));
    let last: f64 = last
        .trim_start_matches('$')
        .replace(',', "")
        .parse()
        .expect("price");
    browser.run(
        "const s = document.getElementById('side'); s.value = 'buy'; \
         const t = document.getElementById('order-type'); t.value = 'stop'; \
         t.dispatchEvent(new Event('change', { bubbles: true }));",
        serde_json::json!([]),
    );
    browser.fill("#quantity", "1");
    browser.fill("#stop", &format!("{:.2}", last + 1.5));
    browser.click("#review");
    let estimate = browser.wait_text("#confirm-estimate", LONG, |t| !t.is_empty());
    assert!(
        estimate.contains("at your stop") && estimate.contains("rests until the price rises"),
        "{estimate}"
    );
    browser.click("#confirm-ok");
    browser.wait_text("#trade-result", LONG, |t| t.contains("placed"));
    browser.goto(&format!("{url}#/history"));
    browser.wait_text("#title", LONG, |t| t == "History");
    let notice = browser.wait_text("#toasts", LONG, |t| t.contains("filled"));
    assert!(notice.contains("filled: bought 1 AAPL at $"), "{notice}");
    assert_eq!(browser.text("#title"), "History");

    // The worker goes away: within 3 s the app says so, marks its prices
    // stale and sends no order; back, it is live again within 3 s.
    browser.goto(&format!("{url}#/asset/AAPL"));
    browser.find("#trade-form");
    browser.wait_text("#conn-text", LONG, |t| t == "Live");
    system.stop_worker();
    let down = Instant::now();
    browser.wait_text("#conn-text", Duration::from_secs(3), |t| {
        t == "Reconnecting…"
    });
    eprintln!(
        "reconnecting shown {:?} after the worker died",
        down.elapsed()
    );
    let state = browser.run(
        "return [document.body.dataset.conn, document.getElementById('review').disabled];",
        serde_json::json!([]),
    );
    assert_eq!(state, serde_json::json!(["reconnecting", true]));
    browser.fill("#quantity", "1");
    browser.run(
        "document.getElementById('review').click(); return null;",
        serde_json::json!([]),
    );
    let opened = browser.run(
        "return document.getElementById('confirm').open;",
        serde_json::json!([]),
    );
    assert_eq!(opened, serde_json::json!(false), "no order while offline");
    system.start_worker_again();
    let up = Instant::now();
    browser.wait_text("#conn-text", Duration::from_secs(3), |t| t == "Live");
    eprintln!("live again {:?} after the worker linked", up.elapsed());
    let enabled = browser.run(
        "return document.getElementById('review').disabled;",
        serde_json::json!([]),
    );
    assert_eq!(enabled, serde_json::json!(false));
    no_console_errors_but_lost_sockets(&browser, "the worker's restart");

    // The position, and the fill in the history.
    browser.goto(&format!("{url}#/portfolio"));
    let row = browser.wait_text("tr[data-symbol=AAPL]", LONG, |t| !t.is_empty());
    assert!(
        row.contains("AAPL") && row.contains("5.0"),
        "3 + 0.5 + about 0.5 + 1: {row}"
    );
    assert_headers_align(&browser, "portfolio");
    // One day of equity is a sentence, not a half-width flat line.
    let equity = browser.wait_text("#equity-chart", LONG, |t| !t.is_empty());
    assert!(
        equity.starts_with("Equity history starts today, at $"),
        "{equity}"
    );
    browser.screenshot(&shots.join("portfolio-desktop.png"));
    browser.goto(&format!("{url}#/history"));
    let buy = browser.wait_text("tr[data-side=buy]", LONG, |t| !t.is_empty());
    assert!(buy.contains("AAPL"), "{buy}");
    browser.wait_text("#main table", LONG, |t| t.contains("0.5"));
    assert_headers_align(&browser, "history");
    for page in ["orders", "leaderboard", "account"] {
        browser.goto(&format!("{url}#/{page}"));
        browser.wait_text("#title", LONG, |t| {
            !t.is_empty() && t != "Something went wrong"
        });
    }
    no_console_errors(&browser, "trading");

    // The session is remembered across a reload.
    browser.goto(&format!("{url}#/markets"));
    browser.find("#markets-body tr[data-symbol=MSFT]");

    // Log out; a bad password gets its sentence; the right one logs in.
    browser.click("#logout");
    browser.find("#login-form");
    let kept = browser.run(
        "return localStorage.getItem('papertrader.session');",
        serde_json::json!([]),
    );
    assert!(kept.is_null(), "the session is forgotten on logout: {kept}");
    browser.fill("#username", "webtrader");
    browser.fill("#password", "wrong horse");
    browser.click("#login-button");
    let refusal = browser.wait_text("#login-result", LONG, |t| t.contains('.'));
    assert!(refusal.contains("Wrong username or password."), "{refusal}");
    assert!(!refusal.contains("is wrong"), "said once: {refusal}");
    // No null given to the page shows as the text "null".
    assert_no_null(&browser, "the login page");
    assert_accessible(&browser, "the login page");
    browser.fill("#password", "correct horse");
    browser.click("#login-button");
    browser.find("#markets-body tr[data-symbol=AAPL]");

    // Every screen at a desktop's width, a tablet's and a phone's:
    // nothing null, nothing hidden sideways, nothing axe-core calls
    // serious.
    check_screens(&browser, &url, "desktop", &shots);
    browser.resize(800, 1000);
    check_screens(&browser, &url, "tablet", &shots);
    browser.resize(390, 844);
    check_screens(&browser, &url, "phone", &shots);
    // The navigation folds behind Menu on a phone: one header row, and
    // the portfolio in use on a second.
    browser.goto(&format!("{url}#/markets"));
    let folded = browser.run(
        "return [getComputedStyle(document.getElementById('nav')).display, \
         getComputedStyle(document.getElementById('menu')).display !== 'none', \
         document.querySelector('header.top').getBoundingClientRect().height < 110];",
        serde_json::json!([]),
    );
    assert_eq!(
        folded,
        serde_json::json!(["none", true, true]),
        "the phone's header"
    );
    browser.click("#menu");
    browser.click("#nav a[href='#/orders']");
    browser.wait_text("#title", LONG, |t| t == "Orders");
    let closed = browser.run(
        "return getComputedStyle(document.getElementById('nav')).display;",
        serde_json::json!([]),
    );
    assert_eq!(
        closed,
        serde_json::json!("none"),
        "the menu folds after a choice"
    );
    no_console_errors(&browser, "the phone screens");

    // A new password (the session is fresh: it logged in above), then
    // the account reset behind the password: a wrong one is refused.
    browser.resize(1280, 900);
    browser.goto(&format!("{url}#/account"));
    browser.fill("#current-password", "wrong horse");
    browser.fill("#new-password", "battery staple");
    browser.fill("#new-password-again", "battery staple");
    browser.click("#password-button");
    let wrong = browser.wait_text("#password-result", LONG, |t| t.contains('.'));
    assert!(wrong.contains("current password is not right"), "{wrong}");
    browser.fill("#current-password", "correct horse");
    browser.fill("#new-password", "battery staple");
    browser.fill("#new-password-again", "battery stapler");
    browser.click("#password-button");
    let differ = browser.wait_text("#password-result", LONG, |t| !t.is_empty());
    assert!(differ.contains("The two passwords differ."), "{differ}");
    browser.fill("#new-password-again", "battery staple");
    browser.click("#password-button");
    let set = browser.wait_text("#password-result", LONG, |t| t.contains("set"));
    assert!(set.contains("Your password is set"), "{set}");
    // An API key: made, its secret shown once, listed, revoked.
    browser.wait_text("#keys-list", LONG, |t| t.contains("No API keys yet."));
    browser.fill("#key-label", "two words");
    browser.click("#key-create");
    let refused = browser.wait_text("#keys-result", LONG, |t| t.contains('.'));
    assert!(
        refused.contains("label"),
        "the server's sentence names the label: {refused}"
    );
    browser.fill("#key-label", "trend-bot");
    browser.click("#key-create");
    let made = browser.wait_text("#keys-result", LONG, |t| t.contains("Secret key"));
    assert!(made.contains("shown only this once"), "{made}");
    let id = browser.wait_text("#key-id", LONG, |t| t.starts_with("PK"));
    let secret = browser.wait_text("#key-secret", LONG, |t| t.len() == 64);
    let listed = browser.wait_text("#keys-list", LONG, |t| t.contains(&id));
    assert!(
        listed.contains("trend-bot") && !listed.contains(&secret),
        "{listed}"
    );
    browser.click(&format!("tr[data-key={id}] button"));
    browser.click("#confirm-ok");
    let revoked = browser.wait_text("#keys-result", LONG, |t| t.contains("revoked"));
    assert!(revoked.contains(&id), "{revoked}");
    browser.wait_text("#keys-list", LONG, |t| t.contains("No API keys yet."));
    browser.fill("#reset-username", "webtrader");
    browser.fill("#reset-password", "correct horse");
    browser.click("#reset-form button[type=submit]");
    browser.click("#confirm-ok");
    let refusal = browser.wait_text("#reset-result", LONG, |t| t.contains('.'));
    assert!(refusal.contains("Wrong username or password."), "{refusal}");
    browser.fill("#reset-password", "battery staple");
    browser.click("#reset-form button[type=submit]");
    browser.click("#confirm-ok");
    let reset = browser.wait_text("#reset-result", LONG, |t| t.contains("reset"));
    assert!(reset.contains("Your account was reset: cash "), "{reset}");
    browser.goto(&format!("{url}#/portfolio"));
    browser.wait_text("#title", LONG, |t| t == "Portfolio");
    let held = browser.run(
        "return document.querySelectorAll('tr[data-symbol]').length;",
        serde_json::json!([]),
    );
    assert_eq!(held, serde_json::json!(0), "no position after the reset");
    no_console_errors(&browser, "the password and the reset");
}

/// Like `no_console_errors`, but a WebSocket that failed to open while
/// the worker was down is expected.
fn no_console_errors_but_lost_sockets(browser: &Browser, step: &str) {
    let errors: Vec<_> = browser
        .console()
        .into_iter()
        .filter(|(level, m)| level == "SEVERE" && !m.contains("WebSocket connection to"))
        .collect();
    assert!(errors.is_empty(), "console errors after {step}: {errors:?}");
}

/// Every table header of the page is aligned as the cell below it (right
/// over numbers): the headers whose alignment differs, as `page: text`.
fn assert_headers_align(browser: &Browser, page: &str) {
    let off = browser.run(
        "const off = []; \
         for (const t of document.querySelectorAll('main table')) { \
           const first = t.querySelector('tbody tr'); if (!first) continue; \
           t.querySelectorAll('thead th').forEach((th, i) => { \
             const td = first.children[i]; \
             if (td && getComputedStyle(th).textAlign !== getComputedStyle(td).textAlign) \
               off.push(th.textContent); }); } \
         return off;",
        serde_json::json!([]),
    );
    assert_eq!(
        off,
        serde_json::json!([]),
        "{page}: headers not over their column"
    );
}

/// Logs out from any screen and waits for the login screen.
fn log_out(browser: &Browser) {
    browser.click("#logout");
    browser.find("#login-form");
}

#[test]
fn a_trader_registers_and_signs_in_with_a_provider_in_a_real_browser() {
    let dir = TempDir::new("web-browser-oidc");
    let key = Key::rsa(&dir.path, "rsa-web");
    let provider = Provider::start(&[&key]);
    provider.approve(&key, "sub-ext-1");
    let list = dir.join("providers");
    std::fs::write(&list, format!("local {} {CLIENT_ID}\n", provider.issuer)).expect("list");
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let web: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let _system = System::start(
        "web-browser-oidc",
        &format!("{}oidc_providers_file = {}\n", market(&dir), list.display()),
        &format!(
            "web_listen = {web}\nweb_providers_file = {}\n",
            list.display()
        ),
    );
    let profile = TempDir::new("web-browser-oidc-profile");
    let browser = Browser::start(&profile.path);
    let url = format!("http://{web}/");
    let account = |name: &str| {
        browser.goto(&format!("{url}#/account"));
        browser.wait_text("dl.facts", LONG, |t| t.contains(name));
    };

    // Register through the provider: the browser goes there and back, and
    // lands signed in, the code gone from the address bar.
    browser.goto(&url);
    browser.find("#login-with-local");
    browser.fill("#r-username", "oidcuser");
    browser.click("#register-with-local");
    browser.find("#markets-body tr[data-symbol=AAPL]");
    assert_eq!(provider.last_redirect(), Some(url.clone()));
    let search = browser.run("return location.search;", serde_json::json!([]));
    assert_eq!(search, serde_json::json!(""), "the code leaves the URL");
    account("oidcuser");
    browser.screenshot(&shots().join("signed-in-with-provider.png"));
    no_console_errors(&browser, "registering with the provider");

    // The account has no password, so a reset with one is refused with
    // the sentence for it; the reset is confirmed with the provider, and
    // the account screen says how it went.
    browser.fill("#reset-username", "oidcuser");
    browser.fill("#reset-password", "no such password");
    browser.click("#reset-form button[type=submit]");
    browser.click("#confirm-ok");
    let refusal = browser.wait_text("#reset-result", LONG, |t| t.contains('.'));
    assert!(
        refusal.contains("This account has no password"),
        "{refusal}"
    );
    browser.click("#reset-with-local");
    browser.click("#confirm-ok");
    let reset = browser.wait_text("#reset-result", LONG, |t| t.contains("reset"));
    assert!(reset.contains("Your account was reset: cash "), "{reset}");
    assert_eq!(provider.exchanges(), (2, 0));
    let search = browser.run("return location.search;", serde_json::json!([]));
    assert_eq!(search, serde_json::json!(""), "the code leaves the URL");

    // A password added to it (the sign-in above is fresh) logs it in.
    browser.fill("#new-password", "a password now");
    browser.fill("#new-password-again", "a password now");
    browser.click("#password-button");
    let set = browser.wait_text("#password-result", LONG, |t| t.contains("set"));
    assert!(set.contains("Your password is set"), "{set}");
    log_out(&browser);
    browser.fill("#username", "oidcuser");
    browser.fill("#password", "a password now");
    browser.click("#login-button");
    browser.find("#markets-body tr[data-symbol=AAPL]");
    no_console_errors(&browser, "the reset and the password");

    // Log out, and sign in again with the button.
    log_out(&browser);
    browser.fill("#username", "oidcuser");
    browser.click("#login-with-local");
    browser.find("#markets-body tr[data-symbol=AAPL]");
    account("oidcuser");
    assert_eq!(provider.exchanges(), (3, 0));

    // A tampered state is refused before any code exchange.
    log_out(&browser);
    provider.tamper_state(true);
    browser.fill("#username", "oidcuser");
    browser.click("#login-with-local");
    let refusal = browser.wait_text("#external-result", LONG, |t| !t.is_empty());
    assert!(
        refusal.contains("does not match the sign-in started here"),
        "{refusal}"
    );
    browser.find("#login-form");
    let kept = browser.run(
        "return localStorage.getItem('papertrader.session');",
        serde_json::json!([]),
    );
    assert!(kept.is_null(), "no session after a tampered state: {kept}");
    assert_eq!(
        provider.exchanges(),
        (3, 0),
        "no exchange for a tampered state"
    );
    provider.tamper_state(false);

    // An identity with no account yet: the app offers to register it.
    provider.approve(&key, "sub-ext-2");
    browser.fill("#username", "newcomer");
    browser.click("#login-with-local");
    // The refusal above stays on the screen until the browser leaves.
    let offer = browser.wait_text("#external-result", LONG, |t| {
        !t.is_empty() && !t.contains("does not match")
    });
    assert!(offer.contains("No account is linked"), "{offer}");
    browser.fill("#link-username", "newcomer");
    browser.click("#link-button");
    browser.find("#markets-body tr[data-symbol=AAPL]");
    account("newcomer");
    no_console_errors(&browser, "signing in with the provider");
}

/// Registers `name` (kept signed in) and waits for the markets.
fn register(browser: &Browser, url: &str, name: &str) {
    browser.goto(url);
    browser.fill("#r-username", name);
    browser.fill("#r-email", &format!("{name}@example.com"));
    browser.fill("#r-password", "correct horse");
    browser.click("#r-keep");
    browser.click("#register-button");
    browser.find("#markets-body tr[data-symbol=AAPL]");
    browser.wait_text("#conn-text", LONG, |t| t == "Live");
}

/// Sets the datetime-local input `css` to now + `offset_s`, in the
/// browser's local time, as a person picking it would.
fn set_time(browser: &Browser, css: &str, offset_s: i64) {
    browser.run(
        "const d = new Date(Date.now() + arguments[1] * 1000); \
         const two = (n) => String(n).padStart(2, '0'); \
         const e = document.querySelector(arguments[0]); \
         e.value = `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T` + \
           `${two(d.getHours())}:${two(d.getMinutes())}`; \
         e.dispatchEvent(new Event('input', { bubbles: true })); return null;",
        serde_json::json!([css, offset_s]),
    );
}

/// Chooses `value` in the select `css`.
fn choose(browser: &Browser, css: &str, value: &str) {
    browser.run(
        "const s = document.querySelector(arguments[0]); s.value = arguments[1]; \
         s.dispatchEvent(new Event('change', { bubbles: true })); return null;",
        serde_json::json!([css, value]),
    );
}

/// Waits until nothing matches `css`.
fn wait_gone(browser: &Browser, css: &str) {
    let deadline = Instant::now() + LONG;
    while browser.run(
        "return !!document.querySelector(arguments[0]);",
        serde_json::json!([css]),
    ) == serde_json::json!(true)
    {
        assert!(Instant::now() < deadline, "{css} stayed");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The screen shown: nothing null, nothing hidden sideways, nothing
/// axe-core calls serious; and its screenshot when `shot` names one.
fn check_screen(browser: &Browser, screen: &str, shot: Option<&str>) {
    assert_no_null(browser, screen);
    assert_fits(browser, screen);
    assert_accessible(browser, screen);
    if let Some(name) = shot {
        browser.run("window.scrollTo(0, 0); return null;", serde_json::json!([]));
        browser.screenshot(&shots().join(name));
    }
}

#[test]
fn two_traders_play_a_game_with_portfolios_of_their_own_in_a_real_browser() {
    let dir = TempDir::new("web-browser-games");
    let port = util::system::free_port();
    let web: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let _system = System::start(
        "web-browser-games",
        &market(&dir),
        &format!("web_listen = {web}\n"),
    );
    let url = format!("http://{web}/");
    let profile = TempDir::new("web-browser-games-organiser");
    let a = Browser::start(&profile.path);

    // The header names the portfolio in use: the account's first, main.
    register(&a, &url, "organiser");
    a.wait_text("#portfolio-name", LONG, |t| t == "main");

    // A new portfolio from the header's menu, with cash of its own: the
    // app switches to it, and the Portfolio screen shows its cash.
    a.click("#portfolio-button");
    a.click("#portfolio-new");
    a.fill("#new-portfolio-name", "two words");
    a.click("#confirm-ok");
    let refusal = a.wait_text("#new-portfolio-result", LONG, |t| !t.is_empty());
    assert!(refusal.contains("1 to 32 letters"), "{refusal}");
    a.fill("#new-portfolio-name", "swing");
    a.fill("#new-portfolio-cash", "25000");
    a.click("#confirm-ok");
    a.wait_text("#portfolio-name", LONG, |t| t == "swing");
    a.goto(&format!("{url}#/portfolio"));
    a.wait_text("#portfolio-in-use", LONG, |t| t.contains("swing"));
    assert_eq!(
        a.wait_text("#cash", LONG, |t| t.starts_with('$')),
        "$25,000.00"
    );
    // Back to main from the menu: the screen shown follows.
    a.click("#portfolio-button");
    a.click("#portfolio-list button[data-portfolio='1']");
    a.wait_text("#portfolio-name", LONG, |t| t == "main");
    a.wait_text("#cash", LONG, |t| t == "$100,000.00");
    // A second tab of the same kept session follows a switch made in
    // the first.
    let first = a.tab();
    let second = a.new_tab();
    a.switch_tab(&second);
    a.goto(&format!("{url}#/portfolio"));
    a.wait_text("#portfolio-name", LONG, |t| t == "main");
    a.switch_tab(&first);
    a.click("#portfolio-button");
    a.click("#portfolio-list button[data-portfolio='2']");
    a.wait_text("#portfolio-name", LONG, |t| t == "swing");
    a.switch_tab(&second);
    a.wait_text("#portfolio-name", LONG, |t| t == "swing");
    a.wait_text("#cash", LONG, |t| t == "$25,000.00");
    // An order confirmed in the first tab after the second switched
    // portfolios meanwhile is not sent: it was meant for the other one.
    a.switch_tab(&first);
    a.goto(&format!("{url}#/asset/AAPL"));
    a.wait_text("#ticket-cash", LONG, |t| t == "$25,000.00");
    a.fill("#quantity", "1");
    a.click("#review");
    a.wait_text("#confirm-portfolio", LONG, |t| t == "In portfolio swing.");
    a.switch_tab(&second);
    a.click("#portfolio-button");
    a.click("#portfolio-list button[data-portfolio='1']");
    a.wait_text("#portfolio-name", LONG, |t| t == "main");
    a.switch_tab(&first);
    a.wait_text("#portfolio-name", LONG, |t| t == "main");
    a.click("#confirm-ok");
    let said = a.wait_text("#status", LONG, |t| t.contains("nothing was sent"));
    assert!(said.contains("changed to main"), "{said}");
    a.wait_text("#ticket-cash", LONG, |t| t == "$100,000.00");
    a.click("#portfolio-button");
    a.click("#portfolio-list button[data-portfolio='2']");
    a.wait_text("#portfolio-name", LONG, |t| t == "swing");
    // The Portfolios screen lists both; Use switches again.
    a.goto(&format!("{url}#/portfolios"));
    let listed = a.wait_text("#main table", LONG, |t| t.contains("swing"));
    assert!(
        listed.contains("main") && listed.contains("$25,000.00"),
        "{listed}"
    );
    a.click("tr[data-portfolio='1'] button");
    a.wait_text("#portfolio-name", LONG, |t| t == "main");
    a.wait_text("tr[data-portfolio='1']", LONG, |t| t.contains("in use"));
    a.click("tr[data-portfolio='2'] button");
    a.wait_text("#portfolio-name", LONG, |t| t == "swing");
    a.wait_text("tr[data-portfolio='2']", LONG, |t| t.contains("in use"));
    check_screen(&a, "portfolios with two", None);
    no_console_errors(&a, "the portfolios");

    // A game from the form: it opened an hour ago, runs for a day, and
    // shows the players' holdings to everyone.
    a.goto(&format!("{url}#/games"));
    a.wait_text("#main", LONG, |t| t.contains("None yet"));
    a.fill("#game-name", "Spring cup");
    set_time(&a, "#game-start", -3600);
    set_time(&a, "#game-end", 86_400);
    a.fill("#game-cash", "50000");
    choose(&a, "#game-holdings", "always");
    a.click("#game-button");
    let code = a.wait_text("#created-code", LONG, |t| !t.is_empty());
    assert!(
        code.len() == 12
            && code
                .chars()
                .all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c)),
        "an invitation code: {code}"
    );
    a.click("#created-copy");
    a.wait_text("#created-copy-said", LONG, |t| !t.is_empty());
    let game = a.run(
        "return document.getElementById('created-game').getAttribute('href');",
        serde_json::json!([]),
    );
    let game = game.as_str().expect("the game's link").to_string();
    assert!(game.starts_with("#/game/"), "{game}");
    let mine = a.wait_text("#games-lists", LONG, |t| t.contains("Spring cup"));
    assert!(mine.contains("Organiser"), "{mine}");
    check_screen(&a, "games at desktop", None);

    // The second trader, in a browser of their own, joins by the code
    // (typed in lower case) and trades in the game's portfolio.
    let profile_b = TempDir::new("web-browser-games-player");
    let b = Browser::start(&profile_b.path);
    register(&b, &url, "player");
    b.goto(&format!("{url}#/games"));
    b.fill("#join-code", "NOT-A-CODE");
    b.click("#join-button");
    let refusal = b.wait_text("#join-result", LONG, |t| !t.is_empty());
    assert!(refusal.contains("invitation code is 12"), "{refusal}");
    b.fill("#join-code", &code.to_lowercase());
    b.click("#join-button");
    let joined = b.wait_text("#join-result", LONG, |t| t.contains('.'));
    assert!(joined.contains("You joined game"), "{joined}");
    b.click("#joined-trade");
    b.wait_text("#portfolio-name", LONG, |t| t.starts_with("game-"));
    assert_eq!(
        b.wait_text("#cash", LONG, |t| t.starts_with('$')),
        "$50,000.00"
    );
    b.goto(&format!("{url}#/asset/AAPL"));
    b.wait_text("#ticket-cash", LONG, |t| t == "$50,000.00");
    b.fill("#quantity", "2");
    b.click("#review");
    b.wait_text("#confirm-summary", LONG, |t| t.starts_with("Buy 2 AAPL"));
    b.click("#confirm-ok");
    let fill = b.wait_text("#trade-result", LONG, |t| t.contains('.'));
    assert!(fill.starts_with("Bought 2 AAPL at "), "{fill}");
    // The same code again: already in.
    b.goto(&format!("{url}#/games"));
    b.wait_text("#main table", LONG, |t| t.contains("Spring cup"));
    b.fill("#join-code", &code);
    b.click("#join-button");
    let again = b.wait_text("#join-result", LONG, |t| t.contains('.'));
    assert!(again.contains("already in this game"), "{again}");
    no_console_errors(&b, "joining");

    // The organiser's page of the game: the rules in plain words, the
    // player in the standings; the organiser joins too.
    a.goto(&format!("{url}{game}"));
    a.find("#game-standings tr[data-player=player]");
    let rules = a.text("#game-rules");
    assert!(
        rules.contains("Each player starts with $50,000.00.")
            && rules.contains("shown to everyone at all times"),
        "{rules}"
    );
    assert_eq!(a.text("#game-code"), code);
    a.click("#game-join");
    a.find("#game-standings tr[data-player=organiser]");
    let both = a.text("#game-standings");
    assert!(
        both.contains("player") && both.matches('%').count() == 2,
        "two players and their returns: {both}"
    );
    a.find("#game-trade");
    // Everyone sees the holdings: the player's 2 AAPL.
    a.click("#game-standings button[data-holdings=player]");
    let held = a.wait_text("#game-holdings", LONG, |t| {
        t.contains("AAPL") || t.contains('.')
    });
    assert!(held.contains("AAPL"), "{held}");
    check_screen(&a, "a game at desktop", Some("game-page-desktop.png"));
    no_console_errors(&a, "the game's page");
    a.goto(&format!("{url}#/games"));
    let mine = a.wait_text("#games-lists", LONG, |t| t.contains("Spring cup"));
    assert!(mine.contains("Organiser and player"), "{mine}");
    check_screen(&a, "games at desktop", Some("games-list-desktop.png"));

    // The player's page: Leave, and no organiser's controls.
    b.goto(&format!("{url}{game}"));
    b.find("#game-standings tr[data-player=organiser]");
    b.find("#game-leave");
    let organises = b.run(
        "return !!document.getElementById('game-code');",
        serde_json::json!([]),
    );
    assert_eq!(organises, serde_json::json!(false));

    // At a phone's width: the header keeps the portfolio in sight.
    a.resize(390, 844);
    a.goto(&format!("{url}#/games"));
    a.wait_text("#main table", LONG, |t| t.contains("Spring cup"));
    a.find("#portfolio-button");
    check_screen(&a, "games at phone", Some("games-list-phone.png"));
    a.goto(&format!("{url}{game}"));
    a.find("#game-standings tr[data-player=player]");
    check_screen(&a, "a game at phone", Some("game-page-phone.png"));
    a.resize(1280, 900);

    // The organiser removes the player, who leaves the standings. The
    // master moves the player's session back to main, which the app finds
    // at the next screen; the removed portfolio can be read, not traded.
    a.click("#game-standings tr[data-player=player] .actions button");
    a.wait_text("#confirm-title", LONG, |t| t.starts_with("Remove"));
    a.click("#confirm-ok");
    a.wait_text("#game-result", LONG, |t| t.contains("removed"));
    wait_gone(&a, "#game-standings tr[data-player=player]");
    a.find("#game-standings tr[data-player=organiser]");
    b.goto(&format!("{url}#/asset/AAPL"));
    b.wait_text("#portfolio-name", LONG, |t| t == "main");
    b.click("#portfolio-button");
    let listed = b.wait_text("#portfolio-list", LONG, |t| t.contains("removed"));
    assert!(listed.contains("game-"), "{listed}");
    b.click("#portfolio-list button[data-portfolio='2']");
    b.wait_text("#portfolio-name", LONG, |t| t.starts_with("game-"));
    b.wait_text("#ticket-cash", LONG, |t| t.starts_with('$'));
    b.click("#review");
    b.wait_text("#confirm-summary", LONG, |t| t.starts_with("Buy"));
    b.click("#confirm-ok");
    let refused = b.wait_text("#trade-result", LONG, |t| t.contains('.'));
    assert!(refused.contains("not a player in this game"), "{refused}");
    no_console_errors(&a, "removing a player");
    no_console_errors(&b, "trading once removed");
}

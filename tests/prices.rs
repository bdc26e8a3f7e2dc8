//! Real price providers end to end (issue 14): a real ptmasterd whose
//! providers are pointed at a local HTTP server this test starts, which
//! answers in each provider's real format (tests/fixtures/, see its
//! README for where each shape comes from) and counts every request.
//! Prices stored and pushed to workers, back-fill, 429 and 5xx with
//! backoff within the configured limit, bad answers making only their
//! asset stale, a mixed asset list with one provider down, market hours
//! with the market clock on a Saturday, and a split and a dividend.

mod util;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use papertrader_common::payload::{Position, parse_lines};
use papertrader_common::value::Money;
use papertrader_common::{Instr, ReasonCode};
use util::daemon::Daemon;
use util::master::{FAST_ARGON2, MasterSetup};
use util::trader::{Trader, audit_clean, code_of};

/// What the server answers a path with: (status, body).
type Handler = Box<dyn Fn(&str) -> (u16, String) + Send>;

/// A local HTTP server: one handler, every request's path and arrival.
struct Server {
    base: String,
    handler: Arc<Mutex<Handler>>,
    log: Arc<Mutex<Vec<(Instant, String)>>>,
}

impl Server {
    fn start(handler: Handler) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let handler = Arc::new(Mutex::new(handler));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (h, l) = (handler.clone(), log.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                let (h, l) = (h.clone(), l.clone());
                thread::spawn(move || {
                    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                    let mut request = Vec::new();
                    let mut buf = [0; 2048];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match conn.read(&mut buf) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    let text = String::from_utf8_lossy(&request);
                    let path = text.split(' ').nth(1).unwrap_or("").to_string();
                    l.lock().expect("log").push((Instant::now(), path.clone()));
                    let (status, body) = (h.lock().expect("handler"))(&path);
                    let reason = match status {
                        200 => "OK",
                        404 => "Not Found",
                        429 => "Too Many Requests",
                        _ => "Error",
                    };
                    let head = format!(
                        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n\
                         Content-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = conn.write_all(head.as_bytes());
                    let _ = conn.write_all(body.as_bytes());
                });
            }
        });
        Server { base, handler, log }
    }

    fn set(&self, handler: Handler) {
        *self.handler.lock().expect("handler") = handler;
    }

    /// Arrival times of the requests whose path contains `needle`.
    fn times(&self, needle: &str) -> Vec<Instant> {
        let log = self.log.lock().expect("log");
        log.iter()
            .filter(|(_, p)| p.contains(needle))
            .map(|(t, _)| *t)
            .collect()
    }
}

fn fixture(path: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture")
}

fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// A Yahoo chart answer for `symbol` at `price`, now; with `events`.
fn yahoo_chart(symbol: &str, price: &str, events: &str) -> String {
    let t = now_s() - 60;
    format!(
        "{{\"chart\":{{\"result\":[{{\"meta\":{{\"currency\":\"USD\",\"symbol\":\"{symbol}\",\
         \"regularMarketTime\":{t},\"regularMarketPrice\":{price},\"regularMarketVolume\":1000}},\
         \"timestamp\":[{day}],\"events\":{{{events}}},\"indicators\":{{\"quote\":[{{\"open\":[{price}],\
         \"high\":[{price}],\"low\":[{price}],\"close\":[{price}],\"volume\":[1000]}}]}}}}],\"error\":null}}}}",
        day = t - 86_400 * 2,
    )
}

/// A Coinbase ticker at `price`, now.
fn coinbase_ticker(price: &str) -> String {
    let time = jiff_like_now();
    format!(
        "{{\"ask\":\"{price}\",\"bid\":\"{price}\",\"volume\":\"1.5\",\"trade_id\":1,\
         \"price\":\"{price}\",\"size\":\"0.1\",\"time\":\"{time}\"}}"
    )
}

/// Now as RFC 3339 (UTC), without a date library in the test.
fn jiff_like_now() -> String {
    rfc3339(now_s())
}

fn rfc3339(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.123456Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Master config for the providers at `base`, the assets `list`, and
/// `extra` lines.
fn conf(setup: &MasterSetup, base: &str, list: &str, extra: &str) -> String {
    let assets = setup.dir.join("assets.list");
    std::fs::write(&assets, list).expect("assets");
    format!(
        "{FAST_ARGON2}assets_file = {}\nupdate_interval = 1s\nhistory_days = 30\n\
         yahoo_url = {base}/yahoo\ncoinbase_url = {base}/coinbase\nbinance_url = {base}/binance\n\
         provider_timeout = 2s\n{extra}",
        assets.display()
    )
}

fn log_text(setup: &MasterSetup) -> String {
    std::fs::read_to_string(setup.log_file()).unwrap_or_default()
}

/// Waits until the master's log (flushed by SIGUSR1) holds `needle`.
fn wait_log(setup: &MasterSetup, master: &Daemon, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        master.signal(libc::SIGUSR1);
        thread::sleep(Duration::from_millis(300));
        let text = log_text(setup);
        if text.contains(needle) || Instant::now() > deadline {
            return text;
        }
    }
}

/// A weekday at 15:00 UTC, when NYSE is open.
const OPEN_CLOCK: &str = "market_clock = 2026-03-04T15:00:00Z\n";

#[test]
fn mixed_list_with_yahoo_down_keeps_coinbase_trading() {
    let server = Server::start(Box::new(|path| {
        if path.starts_with("/yahoo/") {
            (503, "<html>Service Unavailable</html>".into())
        } else if path.contains("/ticker") {
            (200, coinbase_ticker("6425.043"))
        } else if path.contains("/candles") {
            (200, fixture("coinbase/candles.json"))
        } else {
            (404, "{\"message\":\"NotFound\"}".into())
        }
    }));
    let setup = MasterSetup::new("prices-mixed");
    let list = "AAPL @yahoo Apple Inc.\nBTC @coinbase:BTC-USD Bitcoin\n";
    let extra = format!("{OPEN_CLOCK}yahoo_rate_limit = 100/1s\n");
    let master = setup.start(&conf(&setup, &server.base, list, &extra));
    let mut t = Trader::register(&setup, &master, "mixed");

    // Coinbase's asset trades and is pushed to the worker.
    let (i, a) = t.buy("BTC", "1");
    assert_eq!(i, Instr::PurchaseSuccess, "{a:?}");
    assert_eq!(a[3], "6425.0430");
    let mut pushed = false;
    for _ in 0..5 {
        let f = t.w.wait_control(Instr::Quotes, Duration::from_secs(3));
        if f.is_some_and(|f| String::from_utf8_lossy(&f.data).contains("BTC 6425.0430")) {
            pushed = true;
            break;
        }
    }
    assert!(pushed, "BTC's quote reaches the workers");
    let current = t.data_ok(Instr::GetAssetValueCurrent, &["BTC"]);
    assert!(current.starts_with("BTC 6425.0430 "), "{current}");
    // Coinbase's candles were back-filled.
    let all = t.data_ok(Instr::GetAssetValueAllTime, &["BTC"]);
    assert!(!all.is_empty(), "back-filled monthly bars: {all:?}");

    // Yahoo's asset is stale: once its quote has failed, an order is
    // refused at once, naming the asset, never the provider's address or
    // its answer.
    let started = Instant::now();
    let log = wait_log(&setup, &master, "AAPL has no price");
    assert!(log.contains("AAPL has no price"), "{log}");
    let asked = Instant::now();
    let (i, a) = t.buy("AAPL", "1");
    assert_eq!(i, Instr::PurchaseFail, "{a:?}");
    assert_eq!(code_of(&a), ReasonCode::Unavailable);
    assert!(
        a[0].contains(
            "no current price for AAPL: its price source is failing and it has had no price yet"
        ),
        "{a:?}"
    );
    for secret in [server.base.as_str(), "http", "503", "yahoo", "127.0.0.1"] {
        assert!(!a[0].contains(secret), "{secret} in {a:?}");
    }
    assert!(asked.elapsed() < Duration::from_secs(2), "at once");
    // Time for Yahoo's backoff to show, as the order used to wait.
    thread::sleep(Duration::from_secs(9).saturating_sub(started.elapsed()));

    // Backoff: 5xx in a row spaced 1, 2, 4, 8 s (less jitter), not 1 s.
    // The back-fill and the quotes share the provider thread and its
    // count of failures in a row, so all of Yahoo's requests for AAPL
    // are looked at: the back-fill's three attempts come first and the
    // quotes may have had only one turn by now.
    let yahoo = server.times("/yahoo/v8/finance/chart/AAPL?");
    assert!(yahoo.len() >= 2, "{} requests to Yahoo", yahoo.len());
    let span = yahoo[yahoo.len() - 1] - yahoo[0];
    assert!(
        yahoo.len() <= 7,
        "{} requests in {span:?}: no backoff",
        yahoo.len()
    );
    let gaps: Vec<Duration> = yahoo.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps.iter().any(|g| *g >= Duration::from_secs(2)),
        "backoff grows: {gaps:?}"
    );
    let log = wait_log(
        &setup,
        &master,
        "AAPL has no price: yahoo AAPL: HTTP status 503",
    );
    assert!(
        log.contains("AAPL has no price: yahoo AAPL: HTTP status 503"),
        "{log}"
    );
    let (i, a) = t.buy("BTC", "1");
    assert_eq!(i, Instr::PurchaseSuccess, "BTC still trades: {a:?}");
    audit_clean(&setup);
}

#[test]
fn requests_keep_within_the_limit_through_429s() {
    let calls = Arc::new(Mutex::new(0u32));
    let c = calls.clone();
    let server = Server::start(Box::new(move |path| {
        if path.contains("/ticker") {
            let mut n = c.lock().expect("calls");
            *n += 1;
            if (4..=6).contains(&*n) {
                return (429, "{\"message\":\"Public rate limit exceeded\"}".into());
            }
            (200, coinbase_ticker("10.5"))
        } else {
            (200, "[]".into())
        }
    }));
    let setup = MasterSetup::new("prices-limit");
    let list: String = (0..8)
        .map(|i| format!("C{i} @coinbase:C{i}-USD Coin {i}\n"))
        .collect();
    let extra = "coinbase_rate_limit = 3/1s\n";
    let master = setup.start(&conf(&setup, &server.base, &list, extra));
    thread::sleep(Duration::from_secs(9));
    let times = server.times("/coinbase/");
    assert!(times.len() >= 10, "{} requests", times.len());
    for (i, start) in times.iter().enumerate() {
        let within = times[i..]
            .iter()
            .take_while(|t| **t - *start < Duration::from_secs(1))
            .count();
        assert!(within <= 3, "{within} requests within 1 s from request {i}");
    }
    // After the first 429 the next request waits the backoff (>= 0.5 s).
    let ticker = server.times("/ticker");
    let gap = ticker[4] - ticker[3];
    assert!(
        gap >= Duration::from_millis(500),
        "no backoff after 429: {gap:?}"
    );
    let log = wait_log(&setup, &master, "has prices");
    drop(master);
    assert!(!log.contains("panicked"), "{log}");
}

#[test]
fn bad_answers_make_only_their_asset_stale() {
    let server = Server::start(Box::new(|path| {
        let future = rfc3339(now_s() + 3600);
        let ticker = |body: String| (200, body);
        match path.split('/').nth(3).unwrap_or("") {
            "GOOD-USD" => ticker(coinbase_ticker("2.5")),
            "MALF-USD" => ticker("{\"price\": \"2.5\", ".into()),
            "MISS-USD" => ticker("{\"bid\":\"1\",\"time\":\"2024-11-20T13:02:57Z\"}".into()),
            "ZERO-USD" => ticker(coinbase_ticker("0")),
            "NEG-USD" => ticker(coinbase_ticker("-5")),
            "FUTR-USD" => ticker(format!(
                "{{\"price\":\"3\",\"time\":\"{future}\",\"bid\":\"3\",\"ask\":\"3\"}}"
            )),
            _ if path.contains("/candles") => (200, "[]".into()),
            _ => (404, fixture("coinbase/not-found.json")),
        }
    }));
    let setup = MasterSetup::new("prices-bad");
    let list = "GOOD @coinbase:GOOD-USD Good\nMALF @coinbase:MALF-USD Malformed\n\
                MISS @coinbase:MISS-USD Missing\nZERO @coinbase:ZERO-USD Zero\n\
                NEG @coinbase:NEG-USD Negative\nFUTR @coinbase:FUTR-USD Future\n\
                UNKN @coinbase:UNKN-USD Unknown\n";
    let master = setup.start(&conf(
        &setup,
        &server.base,
        list,
        "coinbase_rate_limit = 50/1s\n",
    ));
    let mut t = Trader::register(&setup, &master, "bad");
    let (i, a) = t.buy("GOOD", "3");
    assert_eq!(i, Instr::PurchaseSuccess, "{a:?}");
    let log = wait_log(&setup, &master, "ZERO has no price");
    for needle in [
        "MALF has no price: coinbase MALF-USD: malformed JSON",
        "MISS has no price: coinbase MISS-USD: the ticker has no \"price\"",
        "ZERO has no price: coinbase ZERO-USD: price 0.0000 is not positive",
        "NEG has no price: coinbase NEG-USD: price -5.0000 is not positive",
        "FUTR has no price: coinbase FUTR-USD: timestamp",
        "UNKN has no price: coinbase UNKN-USD: HTTP status 404: NotFound",
    ] {
        assert!(log.contains(needle), "{needle}\n{log}");
    }
    assert!(log.contains("is in the future"), "{log}");
    let current = t.data_ok(Instr::GetAssetValueCurrent, &["GOOD"]);
    assert!(current.starts_with("GOOD 2.5000 "), "{current}");
    let (i, a) = t.buy("GOOD", "1");
    assert_eq!(i, Instr::PurchaseSuccess, "{a:?}");
    audit_clean(&setup);
}

#[test]
fn saturday_stock_is_market_closed_while_crypto_fills() {
    let server = Server::start(Box::new(|path| {
        if path.starts_with("/yahoo/") {
            (200, yahoo_chart("AAPL", "190.5", ""))
        } else if path.contains("/ticker") {
            (200, coinbase_ticker("64000"))
        } else {
            (200, "[]".into())
        }
    }));
    let setup = MasterSetup::new("prices-hours");
    let list = "AAPL @yahoo Apple Inc.\nBTC @coinbase:BTC-USD Bitcoin\n";
    // Saturday 2026-03-07, 10:00 in New York.
    let extra = "market_clock = 2026-03-07T15:00:00Z\nyahoo_rate_limit = 10/1s\n";
    let master = setup.start(&conf(&setup, &server.base, list, extra));
    let mut t = Trader::register(&setup, &master, "weekend");
    thread::sleep(Duration::from_secs(2));
    let (i, a) = t.buy("AAPL", "1");
    assert_eq!(i, Instr::PurchaseFail, "{a:?}");
    assert_eq!(code_of(&a), ReasonCode::MarketClosed);
    assert!(
        a[0].contains("opens Mon 2026-03-09 09:30 America/New_York (2026-03-09T13:30:00Z)"),
        "{a:?}"
    );
    let session = t.session.clone();
    let (i, a) = t.w.request(Instr::SellAsset, &[&session, "AAPL", "1"]);
    assert_eq!(i, Instr::SellFail, "{a:?}");
    assert_eq!(code_of(&a), ReasonCode::MarketClosed);
    let (i, a) = t.buy("BTC", "1");
    assert_eq!(i, Instr::PurchaseSuccess, "crypto never closes: {a:?}");
    // A placed order waits for the open.
    let args = [
        session.as_str(),
        "buy",
        "AAPL",
        "1",
        "market",
        "-",
        "-",
        "day",
    ];
    let (i, a) = t.w.request(Instr::PlaceOrder, &args);
    assert_eq!(i, Instr::OrderAccepted, "{a:?}");
    thread::sleep(Duration::from_secs(3));
    let orders = t.data_ok(Instr::GetOrders, &[&session]);
    assert!(orders.contains(" open "), "waits for Monday: {orders}");
    audit_clean(&setup);
}

#[test]
fn good_friday_opens_the_next_monday() {
    let server = Server::start(Box::new(|path| {
        if path.starts_with("/yahoo/") {
            (200, yahoo_chart("KO", "62.25", ""))
        } else {
            (200, "[]".into())
        }
    }));
    let setup = MasterSetup::new("prices-holiday");
    let list = "KO @yahoo Coca-Cola\n";
    let extra = "market_clock = 2026-04-03T15:00:00Z\n";
    let master = setup.start(&conf(&setup, &server.base, list, extra));
    let mut t = Trader::register(&setup, &master, "holiday");
    let (i, a) = t.buy("KO", "1");
    assert_eq!(i, Instr::PurchaseFail, "{a:?}");
    assert!(
        a[0].contains("opens Mon 2026-04-06 09:30 America/New_York"),
        "{a:?}"
    );
}

/// A split and a dividend whose ex-date is today reach the account today:
/// the provider (like Yahoo) reports only the events inside the range
/// asked for, so the master must ask through today.
#[test]
fn split_and_dividend_change_positions_cash_and_history() {
    // The events, and the time they are dated at.
    let events: Arc<Mutex<(String, i64)>> = Arc::new(Mutex::new((String::new(), 0)));
    let e = events.clone();
    let handler = move |path: &str| {
        let (events, dated) = e.lock().expect("events").clone();
        let period2 = path
            .split(['?', '&'])
            .find_map(|kv| kv.strip_prefix("period2="))
            .and_then(|v| v.parse::<i64>().ok());
        match period2 {
            Some(end) if dated < end => (200, yahoo_chart("AAPL", "100", &events)),
            _ => (200, yahoo_chart("AAPL", "100", "")),
        }
    };
    let server = Server::start(Box::new(handler.clone()));
    let setup = MasterSetup::new("prices-split");
    let list = "AAPL @yahoo Apple Inc.\n";
    let extra = format!("{OPEN_CLOCK}yahoo_rate_limit = 10/1s\n");
    let config = conf(&setup, &server.base, list, &extra);
    let mut master = setup.start(&config);
    let mut t = Trader::register(&setup, &master, "holder");
    let (i, a) = t.buy("AAPL", "10");
    assert_eq!(i, Instr::PurchaseSuccess, "{a:?}");
    let bought = now_s();
    // Back-filled at first sight.
    let week = t.data_ok(Instr::GetAssetValueAllTime, &["AAPL"]);
    assert!(!week.is_empty(), "back-fill");

    // The provider now reports a dividend of 0.50, then a 2-for-1 split,
    // both after the purchase; the top-up at the next start brings them.
    *events.lock().expect("events") = (
        format!(
            "\"dividends\":{{\"{d}\":{{\"amount\":0.5,\"date\":{d}}}}},\
             \"splits\":{{\"{s}\":{{\"date\":{s},\"numerator\":2,\"denominator\":1,\"splitRatio\":\"2:1\"}}}}",
            d = bought + 1,
            s = bought + 2
        ),
        bought + 2,
    );
    thread::sleep(Duration::from_secs(3));
    master.signal(libc::SIGTERM);
    master.wait_exit(Duration::from_secs(10));
    server.set(Box::new(handler));
    let master = setup.start(&config);
    thread::sleep(Duration::from_secs(3));
    // The remembered session outlives the restart.
    t.relink(&setup, &master);
    let session = t.session.clone();
    let portfolio = t.data_ok(Instr::GetUserPortfolio, &[&session, "holder"]);
    let positions: Vec<Position> = parse_lines(&portfolio).expect("positions");
    assert_eq!(positions.len(), 1, "{portfolio}");
    assert_eq!(positions[0].quantity.to_string(), "20");
    let avg = positions[0].valuation.map(|v| v.avg_cost);
    assert_eq!(avg, Some(Money::parse("50").expect("m")));
    let info = t.data_ok(Instr::GetUserInfo, &[&session, "holder"]);
    assert!(
        info.contains("cash 99005.0000"),
        "100000 - 1000 + 10 x 0.50: {info}"
    );
    let history = t.data_ok(Instr::GetUserTransactionHistory, &[&session, "holder"]);
    let sides: Vec<Vec<&str>> = history
        .lines()
        .map(|l| l.split(' ').skip(2).collect())
        .collect();
    assert_eq!(
        sides,
        [
            vec!["buy", "AAPL", "10", "100.0000"],
            vec!["dividend", "AAPL", "10", "0.5000"],
            vec!["split", "AAPL", "20", "50.0000"],
        ],
        "{history}"
    );
    audit_clean(&setup);
}

/// A Finnhub quote at `price`, stamped a minute ago.
fn finnhub_quote(price: &str) -> String {
    format!(
        "{{\"c\":{price},\"d\":0.5,\"dp\":0.4,\"h\":{price},\"l\":{price},\"o\":{price},\"pc\":{price},\"t\":{}}}",
        now_s() - 60
    )
}

/// A day `back` days before today, as `YYYY-MM-DD`, and its 00:00 UTC.
fn day_back(back: i64) -> (String, i64) {
    let start = (now_s() / 86_400 - back) * 86_400;
    (rfc3339(start)[..10].to_string(), start)
}

/// Alpha Vantage TIME_SERIES_DAILY (the fixture's shape) for the five days
/// ending ten days ago, closing at 100.0001 to 104.0001.
fn alphavantage_daily() -> String {
    let days: Vec<String> = (10..15)
        .map(|back| {
            let (date, _) = day_back(back);
            let close = format!("{}.0001", 114 - back);
            format!(
                "\"{date}\": {{\"1. open\": \"{close}\", \"2. high\": \"{close}\", \
                 \"3. low\": \"{close}\", \"4. close\": \"{close}\", \"5. volume\": \"1000\"}}"
            )
        })
        .collect();
    format!(
        "{{\"Meta Data\": {{\"2. Symbol\": \"IBM\"}}, \"Time Series (Daily)\": {{{}}}}}",
        days.join(", ")
    )
}

/// Binance klines (the fixture's shape) for the three days ending ten
/// days ago.
fn binance_klines() -> String {
    let rows: Vec<String> = (10..13)
        .rev()
        .map(|back| {
            let (_, start) = day_back(back);
            format!(
                "[{},\"90440.11000000\",\"94002.99000000\",\"90100.00000000\",\"92310.77000000\",\
                 \"27210.00510000\",{},\"1\",3,\"1\",\"1\",\"0\"]",
                start * 1000,
                start * 1000 + 86_399_999
            )
        })
        .collect();
    format!("[{}]", rows.join(","))
}

#[test]
fn finnhub_binance_and_alpha_vantage_price_and_back_fill() {
    let server = Server::start(Box::new(|path| {
        if path.starts_with("/finnhub/api/v1/quote") {
            (200, finnhub_quote("123.45"))
        } else if path.starts_with("/finnhub/") {
            (200, "{\"s\":\"no_data\"}".into())
        } else if path.starts_with("/alphavantage/query?function=TIME_SERIES_DAILY") {
            (200, alphavantage_daily())
        } else if path.starts_with("/binance/api/v3/ticker/price") {
            (200, fixture("binance/ticker.json"))
        } else if path.starts_with("/binance/api/v3/klines") {
            (200, binance_klines())
        } else {
            (404, "{\"code\":-1121,\"msg\":\"Invalid symbol.\"}".into())
        }
    }));
    let setup = MasterSetup::new("prices-three");
    let list = "IBM @finnhub International Business Machines\nBTC @binance:BTCUSDT Bitcoin\n";
    let base = &server.base;
    let extra = format!(
        "{OPEN_CLOCK}finnhub_url = {base}/finnhub\nfinnhub_key = fh-test-key\n\
         alphavantage_url = {base}/alphavantage\nalphavantage_key = av-test-key\n"
    );
    let master = setup.start(&conf(&setup, base, list, &extra));
    let mut t = Trader::register(&setup, &master, "three");
    // Prices from each provider's format, exact to 1/10 000.
    assert_eq!(t.wait_price("IBM").to_string(), "123.4500");
    assert_eq!(t.wait_price("BTC").to_string(), "64250.1200");
    let (i, a) = t.buy("IBM", "2");
    assert_eq!(
        (i, a[3].as_str()),
        (Instr::PurchaseSuccess, "123.4500"),
        "{a:?}"
    );
    let (i, a) = t.buy("BTC", "1");
    assert_eq!(
        (i, a[3].as_str()),
        (Instr::PurchaseSuccess, "64250.1200"),
        "{a:?}"
    );
    assert!(t.w.quotes_packets > 0, "quotes pushed to the link");
    // Back-fill: daily bars from Alpha Vantage (IBM) and Binance's klines
    // (BTC), asked for the week that ends ten days ago.
    let (date, start) = day_back(10);
    let deadline = Instant::now() + Duration::from_secs(20);
    let (ibm, btc) = loop {
        let ibm = t.data_ok(Instr::GetAssetValueWeek, &["IBM", &date]);
        let btc = t.data_ok(Instr::GetAssetValueWeek, &["BTC", &date]);
        if (ibm.lines().count() >= 5 && btc.lines().count() >= 3) || Instant::now() > deadline {
            break (ibm, btc);
        }
        thread::sleep(Duration::from_millis(300));
    };
    let requests: Vec<String> = server
        .log
        .lock()
        .expect("log")
        .iter()
        .map(|(_, p)| p.clone())
        .collect();
    assert!(
        ibm.contains(&format!("{start} 104.0001 104.0001 104.0001 104.0001 1000")),
        "IBM back-filled from Alpha Vantage, week to {date}: {ibm}\nrequests: {requests:?}\nlog: {}",
        wait_log(&setup, &master, "IBM")
            .lines()
            .filter(|l| l.contains("IBM") || l.contains("lpha"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(ibm.lines().count(), 5, "{ibm}");
    assert!(
        btc.contains(&format!(
            "{start} 90440.1100 94002.9900 90100.0000 92310.7700 27210"
        )),
        "BTC back-filled from Binance: {btc}"
    );
    // The keys went where each provider wants them, never in a log line.
    let paths: Vec<String> = server
        .log
        .lock()
        .expect("log")
        .iter()
        .map(|(_, p)| p.clone())
        .collect();
    assert!(
        paths
            .iter()
            .any(|p| p.starts_with("/alphavantage/") && p.contains("apikey=av-test-key")),
        "{paths:?}"
    );
    let log = wait_log(&setup, &master, "IBM");
    assert!(
        !log.contains("fh-test-key") && !log.contains("av-test-key"),
        "a key in the log: {log}"
    );
    audit_clean(&setup);
}

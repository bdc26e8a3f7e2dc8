//! The HTTP API on the web port (papertrader-api(7)) against real
//! daemons: keys made over the protocol, every trading call with the
//! answers Alpaca's SDKs read, the errors a bot meets, and hostile
//! clients.

mod util;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use papertrader_common::Instr;
use serde_json::Value;
use util::daemon::TempDir;
use util::http::Http;
use util::master::hashed_pass;
use util::system::{System, aapl_btc_market, call, free_port};

struct Api {
    system: System,
    web: SocketAddr,
    _dir: TempDir,
}

/// A system with the web port, and user `name` holding a key.
fn start(tag: &str, worker_extra: &str) -> Api {
    let dir = TempDir::new(tag);
    let web: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let system = System::start(
        tag,
        &aapl_btc_market(&dir.path, 900),
        &format!("web_listen = {web}\n{worker_extra}"),
    );
    Api {
        system,
        web,
        _dir: dir,
    }
}

impl Api {
    /// Registers `name` and makes a key: (session, key id, secret).
    fn user(&self, name: &str) -> (String, String, String) {
        let mut c = self.system.client();
        let pass = hashed_pass(name, "pw");
        call(
            &mut c,
            Instr::Register,
            &[name, &format!("{name}@example.com"), &pass],
        );
        let (_, a) = call(&mut c, Instr::Login, &[name, &pass, "false"]);
        let session = a[0].clone();
        let (reply, a) = call(&mut c, Instr::CreateApiKey, &[&session, "bot"]);
        assert_eq!(reply, Instr::ApiKeyCreated, "{a:?}");
        (session, a[0].clone(), a[1].clone())
    }

    fn http(&self, id: &str, secret: &str) -> Http {
        Http::with_key(self.web, id, secret)
    }

    /// Waits until the worker has both prices.
    fn wait_prices(&self) {
        let mut c = self.system.client();
        let pass = hashed_pass("quoter", "pw");
        call(&mut c, Instr::Register, &["quoter", "q@example.com", &pass]);
        let (_, a) = call(&mut c, Instr::Login, &["quoter", &pass, "false"]);
        call(&mut c, Instr::SwitchState, &[&a[0], "data"]);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !["AAPL", "BTC"]
            .iter()
            .all(|s| util::system::call_data(&mut c, Instr::GetAssetValueCurrent, &[s]).is_ok())
        {
            assert!(Instant::now() < deadline, "no prices within 20 s");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

fn message(v: &Value) -> &str {
    v["message"].as_str().unwrap_or_default()
}

#[test]
fn a_bot_trades_through_the_http_api() {
    let api = start("api-trade", "");
    let (_, id, secret) = api.user("alice");
    let mut http = api.http(&id, &secret);
    api.wait_prices();

    let account = http.get("/v2/account").json();
    assert_eq!(account["status"], "ACTIVE");
    assert_eq!(account["account_number"], "alice");
    assert_eq!(account["cash"], "2000.0000");
    assert_eq!(account["buying_power"], "2000.0000");
    assert_eq!(account["currency"], "USD");

    let clock = http.get("/v2/clock").json();
    assert!(
        clock["is_open"].is_boolean() && clock["next_open"].is_string(),
        "{clock}"
    );
    let days = http
        .get("/v2/calendar?start=2026-12-21&end=2026-12-28")
        .json();
    let dates: Vec<&str> = days
        .as_array()
        .expect("days")
        .iter()
        .map(|d| d["date"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        dates,
        [
            "2026-12-21",
            "2026-12-22",
            "2026-12-23",
            "2026-12-24",
            "2026-12-28"
        ],
        "Christmas off"
    );
    assert_eq!(days[3]["close"], "13:00", "Christmas Eve closes early");

    let assets = http.get("/v2/assets").json();
    let symbols: Vec<&str> = assets
        .as_array()
        .expect("assets")
        .iter()
        .map(|a| a["symbol"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(symbols, ["AAPL", "BTC/USD"]);
    let btc = http.get("/v2/assets/BTC/USD").json();
    assert_eq!(
        (btc["class"].as_str(), btc["fractionable"].as_bool()),
        (Some("crypto"), Some(true))
    );
    assert_eq!(
        http.get("/v2/assets?asset_class=crypto")
            .json()
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(http.get("/v2/assets/NOPE").status, 404);

    // A limit far from the market rests; it is listed, read, cancelled.
    let body = r#"{"symbol":"AAPL","qty":2,"side":"buy","type":"limit","limit_price":100,"time_in_force":"gtc","client_order_id":"mine-1"}"#;
    let answer = http.call("POST", "/v2/orders", Some(body));
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let order = answer.json();
    assert_eq!(
        (order["client_order_id"].as_str(), order["status"].as_str()),
        (Some("mine-1"), Some("accepted"))
    );
    let order_id = order["id"].as_str().expect("id").to_string();
    let by_client = http.get("/v2/orders:by_client_order_id?client_order_id=mine-1");
    assert_eq!(
        by_client.status,
        200,
        "{}",
        String::from_utf8_lossy(&by_client.body)
    );
    assert_eq!(by_client.json()["id"], order_id.as_str());
    assert_eq!(
        by_client.json()["client_order_id"],
        "mine-1",
        "kept by the master"
    );
    let twice = http.call("POST", "/v2/orders", Some(body));
    assert_eq!(twice.status, 422, "client order ids are unique");
    assert!(
        message(&twice.json()).contains("mine-1"),
        "{}",
        message(&twice.json())
    );
    assert_eq!(
        http.get("/v2/orders:by_client_order_id?client_order_id=nope")
            .status,
        404
    );
    let account = http.get("/v2/account").json();
    assert_eq!(
        account["buying_power"], "1800.0000",
        "the open buy holds 2 x 100 back"
    );
    let listed = http.get("/v2/orders").json();
    assert_eq!(listed[0]["id"], order_id.as_str());
    assert_eq!(listed[0]["status"], "new");
    assert_eq!(listed[0]["limit_price"], "100.0000");
    let one = http.get(&format!("/v2/orders/{order_id}")).json();
    assert_eq!(one["qty"], "2");
    let replaced = http.call(
        "PATCH",
        &format!("/v2/orders/{order_id}"),
        Some(r#"{"limit_price":101.5}"#),
    );
    assert_eq!(
        replaced.status,
        200,
        "{}",
        String::from_utf8_lossy(&replaced.body)
    );
    let new_id = replaced.json()["id"].as_str().expect("id").to_string();
    assert_ne!(new_id, order_id);
    assert_eq!(
        http.get(&format!("/v2/orders/{order_id}")).json()["status"],
        "replaced"
    );
    assert_eq!(
        http.call("DELETE", &format!("/v2/orders/{new_id}"), None)
            .status,
        204
    );
    let again = http.call("DELETE", &format!("/v2/orders/{new_id}"), None);
    assert_eq!(again.status, 422, "a cancelled order is not cancelable");
    let unknown = http.call(
        "DELETE",
        "/v2/orders/6f726472-0000-4000-8000-0000000fffff",
        None,
    );
    assert_eq!(
        (unknown.status, unknown.json()["code"].as_u64()),
        (404, Some(40410000))
    );

    // A market buy fills at the next price set; the position closes.
    let body = r#"{"symbol":"AAPL","qty":"3","side":"buy","type":"market","time_in_force":"day"}"#;
    let bought = http.call("POST", "/v2/orders", Some(body)).json();
    let bought_id = bought["id"].as_str().expect("id").to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    while http.get(&format!("/v2/orders/{bought_id}")).json()["status"] != "filled" {
        assert!(Instant::now() < deadline, "the market order did not fill");
        std::thread::sleep(Duration::from_millis(200));
    }
    let position = http.get("/v2/positions/AAPL").json();
    assert_eq!(
        (position["qty"].as_str(), position["side"].as_str()),
        (Some("3"), Some("long"))
    );
    assert_eq!(position["avg_entry_price"], "189.5000");
    assert_eq!(
        http.get("/v2/positions").json().as_array().map(Vec::len),
        Some(1)
    );
    let closing = http.call("DELETE", "/v2/positions/AAPL?qty=1", None);
    assert_eq!(
        closing.status,
        200,
        "{}",
        String::from_utf8_lossy(&closing.body)
    );
    assert_eq!(closing.json()["side"], "sell");

    // Crypto in fractions, by notional.
    let body = r#"{"symbol":"BTC/USD","notional":"100","side":"buy","type":"market","time_in_force":"day"}"#;
    let fill = http.call("POST", "/v2/orders", Some(body));
    assert_eq!(fill.status, 200, "{}", String::from_utf8_lossy(&fill.body));
    let fill = fill.json();
    assert_eq!(
        (fill["status"].as_str(), fill["filled_qty"].as_str()),
        (Some("filled"), Some("0.0025"))
    );

    // The errors a bot meets.
    let poor = http.call("POST", "/v2/orders", Some(r#"{"symbol":"AAPL","qty":1000,"side":"buy","type":"limit","limit_price":189,"time_in_force":"day"}"#));
    assert_eq!(poor.status, 403, "{}", String::from_utf8_lossy(&poor.body));
    assert!(
        message(&poor.json()).contains("insufficient balance for"),
        "ccxt's InsufficientFunds"
    );
    let half = http.call(
        "POST",
        "/v2/orders",
        Some(r#"{"symbol":"AAPL","qty":0.5,"side":"buy","type":"limit","limit_price":1}"#),
    );
    assert_eq!(half.status, 422, "AAPL trades in whole shares");
    let bad = http.call("POST", "/v2/orders", Some("{not json"));
    assert_eq!(
        (bad.status, bad.json()["code"].as_u64()),
        (400, Some(40010001))
    );
    let mut stranger = api.http(&id, &"f".repeat(64));
    let refused = stranger.get("/v2/account");
    assert_eq!(
        (refused.status, refused.json()["code"].as_u64()),
        (401, Some(40110000))
    );
    let mut nobody = Http::connect(api.web);
    assert_eq!(nobody.get("/v2/account").status, 401);
    assert!(
        http.get("/v2/account").status == 200,
        "the owner is not locked out"
    );

    // Close everything: 207 with one item per position.
    let all = http.call("DELETE", "/v2/positions?cancel_orders=true", None);
    assert_eq!(all.status, 207, "{}", String::from_utf8_lossy(&all.body));
    let items = all.json();
    let items = items.as_array().expect("items");
    assert_eq!(items.len(), 2, "{items:?}");
    assert!(items.iter().all(|i| i["status"] == 200), "{items:?}");
    util::trader::audit_clean(&api.system.setup);
}

#[test]
fn keys_are_rate_limited_and_revoked_within_a_second() {
    let api = start("api-keys", "api_rate_limit = 5\n");
    let (session, id, secret) = api.user("bob");
    // Key logins over the protocol count per address too, and a key the
    // master accepted lately passes whatever the address did.
    let mut bot = api.system.client();
    let (reply, _) = call(&mut bot, Instr::LoginApiKey, &[&id, &secret]);
    assert_eq!(reply, Instr::ApiKeySession);
    let wrong = "d".repeat(64);
    let codes: Vec<String> = (0..10)
        .map(|_| call(&mut bot, Instr::LoginApiKey, &[&id, &wrong]).1[0].clone())
        .collect();
    assert!(
        codes
            .iter()
            .all(|c| c.starts_with("bad-credentials") || c.starts_with("rate-limited")),
        "{codes:?}"
    );
    assert!(
        codes
            .iter()
            .filter(|c| c.starts_with("rate-limited"))
            .count()
            >= 5,
        "{codes:?}"
    );
    let (reply, _) = call(&mut bot, Instr::LoginApiKey, &[&id, &secret]);
    assert_eq!(reply, Instr::ApiKeySession, "the owner is not locked out");
    let mut http = api.http(&id, &secret);
    for _ in 0..5 {
        assert_eq!(http.get("/v2/clock").status, 200);
    }
    let limited = http.get("/v2/clock");
    assert_eq!(
        (limited.status, limited.json()["code"].as_u64()),
        (429, Some(42910000))
    );
    // Wrong secrets are counted per address, not against the key.
    let mut c = api.system.client();
    let (reply, _) = call(&mut c, Instr::RevokeApiKey, &[&session, &id]);
    assert_eq!(reply, Instr::ApiKeyRevoked);
    std::thread::sleep(Duration::from_millis(1100));
    let (_, id2, secret2) = {
        let (reply, a) = call(&mut c, Instr::CreateApiKey, &[&session, "two"]);
        assert_eq!(reply, Instr::ApiKeyCreated);
        (String::new(), a[0].clone(), a[1].clone())
    };
    assert_eq!(
        http.get("/v2/account").status,
        401,
        "revoked within a second"
    );
    // A key the master has not accepted yet, from this address whose wrong
    // secrets used its checks up: refused here, not asked.
    let mut http2 = api.http(&id2, &secret2);
    let limited = http2.get("/v2/account");
    assert_eq!(limited.status, 429);
    assert!(message(&limited.json()).contains("keys not yet checked"));
}

#[test]
fn hostile_http_clients_get_clear_errors_and_the_worker_stays_bounded() {
    let api = start("api-hostile", "frame_timeout = 2s\n");
    let (_, id, secret) = api.user("carol");
    let mut http = api.http(&id, &secret);
    assert_eq!(http.get("/v2/account").status, 200);

    // A body over the limit, a chunked body, doubled headers.
    let big = format!("{{\"symbol\":\"{}\"}}", "A".repeat(20_000));
    let over = http.call("POST", "/v2/orders", Some(&big));
    assert_eq!(over.status, 413);
    assert!(over.head.contains("Connection: close"), "{}", over.head);
    let mut raw = Http::connect(api.web);
    raw.raw(b"POST /v2/orders HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    assert_eq!(raw.read_answer().status, 411);
    let mut doubled = Http::connect(api.web);
    doubled.headers = vec![
        ("APCA-API-KEY-ID".into(), id.clone()),
        ("APCA-API-KEY-ID".into(), id.clone()),
        ("APCA-API-SECRET-KEY".into(), secret.clone()),
    ];
    assert_eq!(doubled.get("/v2/account").status, 400);
    let mut bad_utf8 = Http::connect(api.web);
    bad_utf8.raw(b"GET /v2/account HTTP/1.1\r\nHost: x\r\nAPCA-API-KEY-ID: \xff\xfe\r\n\r\n");
    assert_eq!(bad_utf8.read_answer().status, 400);

    // Thousands of pipelined requests never read: dropped once its
    // answers have not drained for frame_timeout; the worker goes on.
    let mut flood = TcpStream::connect(api.web).expect("connect");
    flood
        .set_write_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let one = format!(
        "GET /v2/clock HTTP/1.1\r\nHost: x\r\nAPCA-API-KEY-ID: {id}\r\nAPCA-API-SECRET-KEY: {secret}\r\n\r\n"
    );
    let mut sent = 0;
    let started = Instant::now();
    while sent < 20_000 && started.elapsed() < Duration::from_secs(10) {
        if flood.write_all(one.as_bytes()).is_err() {
            break;
        }
        sent += 1;
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    let log = loop {
        let log = api.system.worker.stderr_text();
        if log.contains("not reading its answers") || Instant::now() > deadline {
            break log;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        log.contains("not reading its answers"),
        "sent {sent}; {log}"
    );
    let mut drained = Vec::new();
    let _ = flood.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = flood.read_to_end(&mut drained);
    assert!(drained.len() < 64 << 20, "bounded: {} bytes", drained.len());
    let mut after = api.http(&id, &secret);
    assert_eq!(after.get("/v2/account").status, 200, "others are served");
}

#[test]
fn the_trading_stream_authenticates_listens_and_bounds_its_clients() {
    use util::ws::{TEXT, WsPeer};
    let api = start("api-stream", "frame_timeout = 2s\n");
    let (session, id, secret) = api.user("dave");
    let recv = |peer: &mut WsPeer| -> Value {
        let (op, body) = peer
            .try_recv_message(Duration::from_secs(10))
            .expect("a message");
        assert_eq!(op, TEXT);
        serde_json::from_slice(&body).expect("json")
    };

    // Before authenticating, listening is refused; a bad key is refused.
    let mut bot = WsPeer::open_stream(api.web).expect("upgrade");
    bot.send_message(
        TEXT,
        br#"{"action":"listen","data":{"streams":["trade_updates"]}}"#,
    );
    assert_eq!(recv(&mut bot)["stream"], "error");
    bot.send_message(TEXT, b"not json");
    assert_eq!(recv(&mut bot)["stream"], "error");
    let wrong = format!(
        r#"{{"action":"authenticate","data":{{"key_id":"{id}","secret_key":"{}"}}}}"#,
        "0".repeat(64)
    );
    bot.send_message(TEXT, wrong.as_bytes());
    assert_eq!(recv(&mut bot)["data"]["status"], "unauthorized");
    let auth = format!(
        r#"{{"action":"authenticate","data":{{"key_id":"{id}","secret_key":"{secret}"}}}}"#
    );
    bot.send_message(TEXT, auth.as_bytes());
    assert_eq!(recv(&mut bot)["data"]["status"], "authorized");
    bot.send_message(
        TEXT,
        br#"{"action":"listen","data":{"streams":["trade_updates"]}}"#,
    );
    assert_eq!(
        recv(&mut bot)["data"]["streams"],
        serde_json::json!(["trade_updates"])
    );
    std::thread::sleep(Duration::from_millis(500));

    // An order placed over the protocol shows within the poll.
    let mut c = api.system.client();
    let (reply, a) = call(
        &mut c,
        Instr::PlaceOrder,
        &[&session, "buy", "AAPL", "1", "limit", "100", "-", "gtc"],
    );
    assert_eq!(reply, Instr::OrderAccepted, "{a:?}");
    let event = recv(&mut bot);
    assert_eq!(event["stream"], "trade_updates");
    assert_eq!(event["data"]["event"], "new");
    assert_eq!(event["data"]["order"]["limit_price"], "100.0000");

    // Revoking the key ends the stream.
    let (reply, _) = call(&mut c, Instr::RevokeApiKey, &[&session, &id]);
    assert_eq!(reply, Instr::ApiKeyRevoked);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut ended = false;
    while Instant::now() < deadline {
        match bot.try_recv_message(Duration::from_millis(500)) {
            Some((8, _)) => {
                ended = true;
                break;
            }
            Some(_) => {}
            None if bot.close_code(Duration::from_millis(10)).is_some() => {
                ended = true;
                break;
            }
            None => {}
        }
    }
    assert!(ended, "the stream ends with its key");

    // A stream that never reads is dropped; the worker goes on.
    let (_, id2, secret2) = {
        let (reply, a) = call(&mut c, Instr::CreateApiKey, &[&session, "two"]);
        assert_eq!(reply, Instr::ApiKeyCreated);
        ((), a[0].clone(), a[1].clone())
    };
    let mut deaf = WsPeer::open_stream(api.web).expect("upgrade");
    let _ = deaf.tcp.set_write_timeout(Some(Duration::from_secs(2)));
    // Pings of 125 bytes, each answered with a pong it never reads.
    let mut ping = vec![0x89, 0x80 | 125, 0, 0, 0, 0];
    ping.extend_from_slice(&[b'p'; 125]);
    let pings: Vec<u8> = ping.repeat(1000);
    for _ in 0..100 {
        if deaf.try_send_raw(&pings).is_err() {
            break;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    while !api
        .system
        .worker
        .stderr_text()
        .contains("stream not reading its events")
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        api.system
            .worker
            .stderr_text()
            .contains("stream not reading its events"),
        "{}",
        api.system.worker.stderr_text()
    );
    let mut http = api.http(&id2, &secret2);
    assert_eq!(http.get("/v2/account").status, 200);
}

#[test]
fn ten_thousand_wrong_secrets_cost_little_and_lock_nobody_out() {
    let api = start("api-wrong", "");
    let (_, id, secret) = api.user("erin");
    let mut owner = api.http(&id, &secret);
    assert_eq!(owner.get("/v2/account").status, 200);

    // From the owner's own address: the first 200 reach the master (401),
    // the rest are refused here (429).
    let mut thief = api.http(&id, &"e".repeat(64));
    let (mut refused, mut limited) = (0, 0);
    for _ in 0..10_000 {
        match thief.get("/v2/clock").status {
            401 => refused += 1,
            429 => limited += 1,
            other => panic!("status {other}"),
        }
    }
    assert!(
        refused <= 210 && refused + limited == 10_000,
        "{refused} {limited}"
    );
    let checks = api
        .system
        .master
        .stderr_text()
        .matches("wrong secret for API key")
        .count();
    assert!(checks <= 210, "the master checked {checks} secrets");

    // The owner, same address, after its key's second is up: served.
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(
        owner.get("/v2/account").status,
        200,
        "no lockout of the owner"
    );
    let mut fresh = api.http(&id, &secret);
    assert_eq!(fresh.get("/v2/positions").status, 200);
}

/// Protocol 1.2's portfolios: a key made while its owner uses a second
/// portfolio trades there, and `/v2/account` is another account, with its
/// own cash, number and id; the first portfolio's key keeps the old ones.
#[test]
fn a_key_of_a_second_portfolio_is_an_account_of_its_own() {
    let api = start("api-portfolios", "");
    let (session, first_id, first_secret) = api.user("alice");
    let mut c = api.system.client();
    let (i, a) = call(&mut c, Instr::CreatePortfolio, &[&session, "5000", "bot"]);
    assert_eq!(i, Instr::PortfolioUpdated, "{a:?}");
    let (i, a) = call(&mut c, Instr::UsePortfolio, &[&session, "2"]);
    assert_eq!(i, Instr::PortfolioUpdated, "{a:?}");
    let (i, key) = call(&mut c, Instr::CreateApiKey, &[&session, "second"]);
    assert_eq!(i, Instr::ApiKeyCreated, "{key:?}");
    api.wait_prices();

    let first = api.http(&first_id, &first_secret).get("/v2/account").json();
    let mut http = api.http(&key[0], &key[1]);
    let second = http.get("/v2/account").json();
    assert_eq!(first["account_number"], "alice");
    assert_eq!(first["cash"], "2000.0000");
    assert_eq!(second["account_number"], "alice/2");
    assert_eq!(second["cash"], "5000.0000");
    assert_ne!(first["id"], second["id"]);

    // An order of the second key fills in the second portfolio only.
    let body = r#"{"symbol":"BTC","qty":"0.1","side":"buy","type":"market","time_in_force":"gtc"}"#;
    let answer = http.call("POST", "/v2/orders", Some(body));
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let positions = http.get("/v2/positions").json();
        if positions.as_array().is_some_and(|p| p.len() == 1) {
            break;
        }
        assert!(Instant::now() < deadline, "no fill: {positions}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let first = api
        .http(&first_id, &first_secret)
        .get("/v2/positions")
        .json();
    assert_eq!(
        first,
        serde_json::json!([]),
        "the first portfolio holds nothing"
    );
}

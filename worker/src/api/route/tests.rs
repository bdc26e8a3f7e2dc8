//! Routes and bodies as the SDKs send them (alpaca-py 0.44.0,
//! alpaca-trade-api 3.2.0, ccxt 4.5.90 on the wire), and the refusals.

use std::net::{IpAddr, Ipv4Addr};

use super::*;
use crate::api::Header;

fn req(method: Method, target: &str, body: &str) -> ApiRequest {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    ApiRequest {
        method,
        path: path.to_string(),
        query: query.to_string(),
        body: body.as_bytes().to_vec(),
        key_id: Header::Missing,
        secret: Header::Missing,
        peer: IpAddr::V4(Ipv4Addr::LOCALHOST),
    }
}

fn ok(method: Method, target: &str, body: &str) -> Route {
    route(&req(method, target, body)).unwrap_or_else(|r| {
        panic!(
            "{target}: {} {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        )
    })
}

fn refused(method: Method, target: &str, body: &str) -> (u16, String) {
    let r = route(&req(method, target, body)).expect_err("refused");
    let v: Value = serde_json::from_slice(&r.body).expect("json");
    assert!(v["code"].is_u64() && v["message"].is_string(), "{v}");
    (
        r.status,
        v["message"].as_str().unwrap_or_default().to_string(),
    )
}

fn placed(body: &str) -> NewOrder {
    match ok(Method::Post, "/v2/orders", body) {
        Route::Place(order) => order,
        other => panic!("{other:?}"),
    }
}

#[test]
fn paths_route_with_their_methods() {
    assert_eq!(ok(Method::Get, "/v2/account", ""), Route::Account);
    assert_eq!(ok(Method::Get, "/v2/account/", ""), Route::Account);
    assert_eq!(
        ok(Method::Get, "/v2/assets/BTC/USD", ""),
        Route::Asset("BTC/USD".into())
    );
    assert_eq!(
        ok(Method::Get, "/v2/positions/BTC/USD", ""),
        Route::Position("BTC/USD".into())
    );
    assert_eq!(
        ok(Method::Get, "/v2/positions/BTC%2FUSD", ""),
        Route::Position("BTC/USD".into())
    );
    let id = ids::order_uuid(7);
    assert_eq!(
        ok(Method::Delete, &format!("/v2/orders/{id}"), ""),
        Route::Cancel(7)
    );
    assert_eq!(
        ok(Method::Get, &format!("/v2/orders/{id}?nested=True"), ""),
        Route::Order {
            id: 7,
            nested: true
        }
    );
    assert_eq!(
        ok(
            Method::Get,
            "/v2/orders:by_client_order_id?client_order_id=x",
            ""
        ),
        Route::ByClientId("x".into())
    );
    assert_eq!(
        ok(Method::Delete, "/v2/positions?cancel_orders=True", ""),
        Route::CloseAll { cancel: true }
    );
    assert_eq!(
        ok(Method::Delete, "/v2/positions/AAPL?percentage=50", ""),
        Route::Close {
            symbol: "AAPL".into(),
            part: Part::Percent(5000)
        }
    );
    assert_eq!(refused(Method::Get, "/v2/nothing", "").0, 404);
    assert_eq!(refused(Method::Post, "/v2/account", "").0, 405);
    assert_eq!(refused(Method::Get, "/v2/orders/not-a-uuid", "").0, 404);
    assert_eq!(refused(Method::Get, "/v2/orders?limit=0", "").0, 422);
    assert_eq!(
        refused(Method::Get, "/v2/orders?status=a&status=b", "").0,
        400
    );
    assert_eq!(
        refused(Method::Delete, "/v2/positions/AAPL?qty=1&percentage=5", "").0,
        422
    );
}

#[test]
fn order_queries_take_what_sdks_send() {
    let q = match ok(
        Method::Get,
        "/v2/orders?status=all&limit=100&after=2024-01-01T00%3A00%3A00%2B00%3A00&direction=asc&nested=True&side=buy&symbols=AAPL%2CMSFT",
        "",
    ) {
        Route::Orders(q) => q,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        (q.status.as_str(), q.limit, q.ascending, q.nested),
        ("all", 100, true, true)
    );
    assert_eq!(q.after, Some(Timestamp(1_704_067_200)));
    assert_eq!(q.symbols, ["AAPL", "MSFT"]);
    assert_eq!(q.side, Some(Side::Buy));
}

#[test]
fn order_bodies_of_every_type_and_class() {
    let o = placed(
        r#"{"symbol":"AAPL","qty":1.0,"side":"buy","type":"market","time_in_force":"day","client_order_id":"my-cid"}"#,
    );
    assert_eq!(
        (
            o.kind,
            o.tif,
            o.client_order_id.as_ref().map(|c| c.as_str())
        ),
        (OrderKind::Market, Tif::Day, Some("my-cid"))
    );
    assert_eq!(o.size, Size::Qty(Quantity::whole(1).expect("1")));
    let o = placed(
        r#"{"symbol":"AAPL","notional":100.5,"side":"buy","type":"market","time_in_force":"day"}"#,
    );
    assert_eq!(o.size, Size::Notional(Money(1_005_000)));
    let o = placed(
        r#"{"symbol":"AAPL","qty":1.5,"side":"sell","type":"limit","time_in_force":"gtc","extended_hours":true,"limit_price":123.45}"#,
    );
    assert_eq!(o.kind, OrderKind::Limit(Money(1_234_500)));
    let o = placed(
        r#"{"symbol":"AAPL","qty":"2","side":"buy","type":"stop_limit","time_in_force":"day","stop_price":110.0,"limit_price":111.0}"#,
    );
    assert_eq!(
        o.kind,
        OrderKind::StopLimit {
            stop: Money(1_100_000),
            limit: Money(1_110_000)
        }
    );
    let o = placed(
        r#"{"symbol":"AAPL","qty":1,"side":"sell","type":"trailing_stop","time_in_force":"day","trail_percent":2.5}"#,
    );
    assert_eq!(o.kind, OrderKind::TrailingStop(Trail::Percent(250)));
    let o = placed(
        r#"{"symbol":"AAPL","qty":1,"side":"sell","type":"trailing_stop","time_in_force":"gtc","trail_price":"1.5"}"#,
    );
    assert_eq!(
        o.kind,
        OrderKind::TrailingStop(Trail::Amount(Money(15_000)))
    );
    let o = placed(
        r#"{"symbol":"AAPL","qty":1.0,"side":"buy","type":"market","time_in_force":"day","order_class":"bracket","take_profit":{"limit_price":120.0},"stop_loss":{"stop_price":90.0}}"#,
    );
    let class = o.class.expect("class");
    assert_eq!(
        (class.class, class.take_profit, class.stop_loss),
        (
            OrderClass::Bracket,
            Some(Money(1_200_000)),
            Some(Money(900_000))
        )
    );
    let o = placed(
        r#"{"symbol":"AAPL","qty":3,"side":"sell","type":"limit","time_in_force":"gtc","order_class":"oco","take_profit":{"limit_price":120.0},"stop_loss":{"stop_price":90.0}}"#,
    );
    assert_eq!(
        o.kind,
        OrderKind::Limit(Money(1_200_000)),
        "an OCO's limit is its take-profit"
    );
    let o = placed(
        r#"{"symbol":"BTC/USD","side":"buy","type":"market","qty":"0.001","time_in_force":"gtc","client_order_id":"ccxt_0123"}"#,
    );
    assert_eq!(
        (o.symbol.as_str(), o.size),
        ("BTC", Size::Qty(Quantity::parse("0.001").expect("q")))
    );
}

#[test]
fn bad_order_bodies_are_refused_with_a_sentence() {
    for (body, status, says) in [
        ("", 400, "body format is invalid"),
        ("[1]", 400, "not a JSON object"),
        ("{\"symbol\":", 400, "body format is invalid"),
        (r#"{"side":"buy","qty":1}"#, 422, "symbol is required"),
        (r#"{"symbol":"AAPL","side":"hold","qty":1}"#, 422, "side"),
        (r#"{"symbol":"AAPL","side":"buy"}"#, 422, "qty or notional"),
        (
            r#"{"symbol":"AAPL","side":"buy","qty":1,"notional":5}"#,
            422,
            "not both",
        ),
        (
            r#"{"symbol":"AAPL","side":"buy","qty":0}"#,
            422,
            "qty must be above 0",
        ),
        (
            r#"{"symbol":"AAPL","side":"buy","qty":-1}"#,
            422,
            "qty must be above 0",
        ),
        (r#"{"symbol":"AAPL","side":"buy","qty":1e30}"#, 422, "qty"),
        (
            r#"{"symbol":"AAPL","side":"buy","qty":[1]}"#,
            422,
            "qty must be a number",
        ),
        (
            r#"{"symbol":"AAPL","side":"buy","qty":1,"type":"limit"}"#,
            422,
            "needs a limit",
        ),
        (
            r#"{"symbol":"AAPL","side":"buy","qty":1,"type":"market","limit_price":5}"#,
            422,
            "takes no limit",
        ),
        (
            r#"{"symbol":"AAPL","side":"buy","qty":1,"type":"limit","limit_price":-5}"#,
            422,
            "limit_price",
        ),
        (
            r#"{"symbol":"AAPL","side":"buy","qty":1,"type":"teleport"}"#,
            422,
            "order type",
        ),
        (
            r#"{"symbol":"AAPL","side":"buy","qty":1,"time_in_force":"opg"}"#,
            422,
            "not supported",
        ),
        (
            r#"{"symbol":"AAPL","side":"buy","qty":1,"type":"stop","stop_price":5,"time_in_force":"ioc"}"#,
            422,
            "ioc",
        ),
        (
            r#"{"symbol":"AAPL","side":"buy","notional":5,"type":"limit","limit_price":5}"#,
            422,
            "notional orders",
        ),
        (
            r#"{"symbol":"BTC/EUR","side":"buy","qty":1}"#,
            422,
            "invalid symbol",
        ),
        (
            r#"{"symbol":"AAPL","side":"buy","qty":1,"order_class":"triangle"}"#,
            422,
            "order_class",
        ),
        (
            r#"{"symbol":"AAPL","side":"buy","qty":1,"order_class":"bracket","take_profit":{"limit_price":1},"stop_loss":{"stop_price":1,"limit_price":0.5}}"#,
            422,
            "stop-limit stop_loss",
        ),
    ] {
        let (got, message) = refused(Method::Post, "/v2/orders", body);
        assert_eq!(got, status, "{body}: {message}");
        assert!(message.contains(says), "{body}: {message}");
    }
    let spaced = r#"{"symbol":"AAPL","side":"buy","qty":1,"client_order_id":"two words"}"#;
    assert_eq!(refused(Method::Post, "/v2/orders", spaced).0, 422);
    let long = format!(
        r#"{{"symbol":"AAPL","side":"buy","qty":1,"client_order_id":"{}"}}"#,
        "x".repeat(129)
    );
    assert_eq!(refused(Method::Post, "/v2/orders", &long).0, 422);
}

#[test]
fn replaces_and_parts() {
    let id = ids::order_uuid(9);
    let target = format!("/v2/orders/{id}");
    match ok(
        Method::Patch,
        &target,
        r#"{"qty":2,"limit_price":101.5,"time_in_force":"gtc"}"#,
    ) {
        Route::Replace { id: 9, change } => {
            assert_eq!(change.quantity, Quantity::whole(2));
            assert_eq!(change.limit, Some(Money(1_015_000)));
            assert_eq!(change.tif, Some(Tif::Gtc));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(refused(Method::Patch, &target, "{}").0, 422);
    let held = Shares(10 * papertrader_common::value::SHARE_SCALE);
    assert_eq!(part_of(Part::All, held), Quantity::whole(10));
    assert_eq!(
        part_of(Part::Percent(5000), Shares(-held.0)),
        Quantity::whole(5)
    );
    assert_eq!(
        part_of(Part::Qty(Quantity::whole(11).expect("q")), held),
        None
    );
    assert_eq!(part_of(Part::All, Shares(0)), None);
    assert_eq!(percent("50"), Some(5000));
    assert_eq!(percent("12.5"), Some(1250));
    assert_eq!(percent("1.234"), None);
}

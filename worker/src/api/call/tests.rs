//! The call state machine without a master: the answers are made here.

use papertrader_common::payload::{Quote, parse_lines};
use papertrader_common::reply::Reply;
use papertrader_common::request::Request;
use papertrader_common::value::{Money, ReasonCode, SessionId, Symbol, Timestamp, Username};
use serde_json::Value;

use super::{Answer, Call, Ctx, Step};
use crate::api::keys::Who;
use crate::api::query::Query;
use crate::api::route::{DataKind, Route};
use crate::api::{Response, ids};

fn who() -> Who {
    Who {
        session: SessionId::from_bytes([1; 16]),
        username: Username::parse("alice").expect("name"),
    }
}

fn quote(symbol: &Symbol) -> Option<Quote> {
    let price = Money(400_000_000);
    Some(Quote {
        symbol: symbol.clone(),
        price,
        time: Timestamp(1_732_147_200),
        open: price,
        high: price,
        low: price,
        volume: 1,
    })
}

fn ctx_of(f: &dyn Fn(&Symbol) -> Option<Quote>) -> Ctx<'_> {
    Ctx {
        now: Timestamp(1_732_147_200),
        quote: f,
    }
}

fn done(step: Step) -> Response {
    match step {
        Step::Done(r) => r,
        other => panic!("{other:?}"),
    }
}

fn json(r: &Response) -> Value {
    serde_json::from_slice(&r.body).expect("json")
}

const DETAILS: &str = "AAPL nyse no equity Apple Inc.\nBTC always yes crypto Bitcoin\n";

#[test]
fn a_refused_session_checks_the_key_again() {
    let ctx = ctx_of(&quote);
    let mut call = Call::new(Route::Account, Some(who()));
    assert!(matches!(call.start(&ctx), Step::Ask(asks) if asks.len() == 5));
    let ended = Reply::fail(
        papertrader_common::Instr::GetUserInfo,
        ReasonCode::BadSession,
        "gone",
    );
    let answers = vec![Answer::Reply(ended); 5];
    assert_eq!(call.on_answers(answers, &ctx), Step::Reauth);
}

#[test]
fn a_refused_cancel_tells_an_ended_order_from_none() {
    let ctx = ctx_of(&quote);
    for (lines, status) in [
        (
            "7 1732147200 buy AAPL 1 limit 1.0000 - gtc cancelled 1732147260 -\n",
            422,
        ),
        ("", 404),
    ] {
        let mut call = Call::new(Route::Cancel(7), Some(who()));
        assert!(
            matches!(call.start(&ctx), Step::Ask(asks) if matches!(asks[0], Request::CancelOrder { id: 7, .. }))
        );
        let unknown = Reply::fail(
            papertrader_common::Instr::CancelOrder,
            ReasonCode::UnknownOrder,
            "no",
        );
        let step = call.on_answers(vec![Answer::Reply(unknown)], &ctx);
        assert!(matches!(step, Step::Ask(asks) if matches!(asks[0], Request::Orders { .. })));
        let r = done(call.on_answers(vec![Answer::Payload(lines.into())], &ctx));
        assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&r.body));
    }
    let mut call = Call::new(Route::Cancel(7), Some(who()));
    call.start(&ctx);
    let r = done(call.on_answers(vec![Answer::Reply(Reply::Cancelled(7))], &ctx));
    assert_eq!(r.status, 204);
}

#[test]
fn keyless_crypto_data_serves_crypto_only() {
    let ctx = ctx_of(&quote);
    let route = Route::Data {
        kind: DataKind::Quotes,
        query: Query::parse("symbols=BTC/USD,AAPL,AAPL/USD").expect("query"),
        single: None,
        crypto: true,
    };
    let mut call = Call::new(route, None);
    assert!(
        matches!(call.start(&ctx), Step::Ask(asks) if matches!(asks[0], Request::AssetDetails))
    );
    let r = done(call.on_answers(vec![Answer::Payload(DETAILS.into())], &ctx));
    let v = json(&r);
    let keys: Vec<&String> = v["quotes"].as_object().expect("quotes").keys().collect();
    assert_eq!(keys, ["BTC/USD"], "{v}");
    assert!(parse_lines::<papertrader_common::payload::AssetDetail>(DETAILS).is_ok());
}

#[test]
fn snapshots_of_nothing_answer_at_once() {
    let ctx = ctx_of(&quote);
    let route = Route::Data {
        kind: DataKind::Snapshots,
        query: Query::parse("symbols=BTC/EUR").expect("query"),
        single: None,
        crypto: true,
    };
    let mut call = Call::new(route, None);
    call.start(&ctx);
    let step = call.on_answers(vec![Answer::Payload(DETAILS.into())], &ctx);
    assert_eq!(
        step,
        Step::Ask(Vec::new()),
        "the loop answers an empty step at once"
    );
    let r = done(call.on_answers(Vec::new(), &ctx));
    assert_eq!(json(&r), serde_json::json!({"snapshots": {}}));
}

#[test]
fn an_order_is_answered_from_what_was_asked() {
    let ctx = ctx_of(&quote);
    let body = br#"{"symbol":"BTC/USD","qty":"0.5","side":"buy","type":"limit","limit_price":"30000","time_in_force":"gtc","client_order_id":"mine"}"#;
    let request = crate::api::ApiRequest {
        method: crate::api::Method::Post,
        path: "/v2/orders".into(),
        query: String::new(),
        body: body.to_vec(),
        key_id: crate::api::Header::Missing,
        secret: crate::api::Header::Missing,
        peer: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
    };
    let route = crate::api::route::route(&request).expect("route");
    let mut call = Call::new(route, Some(who()));
    let Step::Ask(asks) = call.start(&ctx) else {
        panic!("asks")
    };
    assert!(matches!(&asks[0], Request::Tagged { client, .. } if client.as_str() == "mine"));
    let answers = vec![
        Answer::Reply(Reply::OrderAccepted(42)),
        Answer::Payload(DETAILS.into()),
    ];
    let v = json(&done(call.on_answers(answers, &ctx)));
    assert_eq!(v["id"], ids::order_uuid(42));
    assert_eq!(
        (v["symbol"].as_str(), v["client_order_id"].as_str()),
        (Some("BTC/USD"), Some("mine"))
    );
    assert_eq!(v["status"], "accepted");
}

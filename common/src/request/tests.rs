//! Parsing at the edge: every instruction's arguments, good and bad, and
//! the forwarding prefix.

use super::*;
use crate::message::{check, frame};

const SID: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
const PASS: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
/// The shape of an ES256 ID token (its content is the master's business).
const TOKEN: &str = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIxMjMifQ.\
    MEUCIQDx8lK3yq2tZg6cQ4bK6P8N0r7XoB3oYy1JrY3v5r6mNQIgVbE2n8pQmYy1J3sF7kA2pZ9e0r1Xw5c8dQ2ZbH3n";

fn parse(instr: Instr, args: &[&str]) -> Result<Request, Reason> {
    let f = frame(instr, args);
    let req = check(&f, 0).expect("well-formed frame");
    Request::parse(req.instr, &req.args)
}

fn code(instr: Instr, args: &[&str]) -> ReasonCode {
    parse(instr, args).expect_err("refused").code
}

#[test]
fn every_client_instruction_parses_and_names_itself() {
    let cases: Vec<(Instr, Vec<&str>)> = vec![
        (Instr::Login, vec!["alice", PASS, "true"]),
        (Instr::LoginSession, vec![SID]),
        (Instr::Register, vec!["alice", "a@example.com", PASS]),
        (Instr::PurchaseAsset, vec![SID, "aapl", "3"]),
        (Instr::SellAsset, vec![SID, "AAPL", "3"]),
        (Instr::SwitchState, vec![SID, "data"]),
        (Instr::Logout, vec![SID]),
        (Instr::GetWorkerList, vec![]),
        (Instr::GetAssetInfo, vec!["AAPL"]),
        (Instr::GetAssetValueCurrent, vec!["AAPL"]),
        (Instr::GetAssetValueDay, vec!["AAPL", "2026-11-20"]),
        (Instr::GetAssetValueWeek, vec!["AAPL", "2026-11-20"]),
        (Instr::GetAssetValueMonth, vec!["AAPL", "2026-11-20"]),
        (Instr::GetAssetValueYear, vec!["AAPL", "2026-11-20"]),
        (Instr::GetAssetValueAllTime, vec!["AAPL"]),
        (Instr::GetAssetList, vec![]),
        (Instr::GetUserInfo, vec![SID, "bob"]),
        (Instr::GetUserPortfolio, vec![SID, "bob"]),
        (Instr::GetUserTransactionHistory, vec![SID, "bob"]),
        (
            Instr::PlaceOrder,
            vec![SID, "buy", "aapl", "10", "limit", "170", "-", "gtc"],
        ),
        (Instr::CancelOrder, vec![SID, "17"]),
        (
            Instr::PlaceOrder,
            vec![
                SID,
                "sell",
                "BTC",
                "0.5",
                "trailing-stop",
                "-",
                "2.5%",
                "gtc",
            ],
        ),
        (
            Instr::ReplaceOrder,
            vec![SID, "17", "=", "171.5000", "=", "="],
        ),
        (
            Instr::ReplaceOrder,
            vec![SID, "17", "2", "=", "1.5%", "day"],
        ),
        (
            Instr::PlaceOrderClass,
            vec![
                SID, "bracket", "buy", "AAPL", "1", "limit", "96.0000", "-", "gtc", "110.0000",
                "90.0000",
            ],
        ),
        (
            Instr::PlaceOrderClass,
            vec![
                SID, "oco", "sell", "AAPL", "3", "-", "-", "-", "gtc", "200.0000", "50.0000",
            ],
        ),
        (
            Instr::PlaceOrderClass,
            vec![
                SID, "oto", "buy", "BTC", "0.5", "market", "-", "-", "day", "-", "40.0000",
            ],
        ),
        (Instr::ResetAccount, vec![SID, PASS]),
        (Instr::GetOrders, vec![SID]),
        (Instr::GetLeaderboard, vec![]),
        (Instr::GetEquityHistory, vec![SID, "bob"]),
        (Instr::LoginExternal, vec!["google", TOKEN, "true"]),
        (Instr::RegisterExternal, vec!["alice", "google", TOKEN]),
        (Instr::SetPassword, vec![SID, PASS]),
        (Instr::ResetAccount, vec![SID, TOKEN]),
        (Instr::CreateApiKey, vec![SID, "trend-bot"]),
        (Instr::RevokeApiKey, vec![SID, "PKAAAAAAAAAAAAAAAAAB"]),
        (Instr::LoginApiKey, vec!["PKAAAAAAAAAAAAAAAAAB", &SECRET]),
        (Instr::GetApiKeys, vec![SID]),
        (Instr::GetWatchlist, vec![SID]),
        (Instr::AddToWatchlist, vec![SID, "aapl"]),
        (Instr::RemoveFromWatchlist, vec![SID, "BRK.B"]),
        (
            Instr::PlaceOrderTagged,
            vec![SID, "mine-1", "buy", "AAPL", "1", "limit", "1", "-", "gtc"],
        ),
        (
            Instr::PlaceOrderClassTagged,
            vec![
                SID, "mine-2", "oco", "sell", "AAPL", "3", "-", "-", "-", "gtc", "200", "50",
            ],
        ),
    ];
    for (instr, args) in cases {
        let req = parse(instr, &args).unwrap_or_else(|r| panic!("{}: {r}", instr.name()));
        assert_eq!(req.instr(), instr);
    }
}

/// A well-formed API key secret.
static SECRET: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| "0123456789abcdef".repeat(4));

#[test]
fn tagged_orders_carry_their_client_id_and_refuse_like_untagged_ones() {
    let args = [SID, "mine-1", "buy", "AAPL", "1", "limit", "1", "-", "gtc"];
    let req = parse(Instr::PlaceOrderTagged, &args).expect("tagged");
    let Request::Tagged { client, inner } = &req else {
        panic!("{req:?}")
    };
    assert_eq!(client.as_str(), "mine-1");
    assert_eq!(inner.instr(), Instr::PlaceOrder);
    let frame = req.encode();
    let checked = crate::message::check(&frame, 0).expect("checks");
    assert_eq!(
        Request::parse(checked.instr, &checked.args),
        Ok(req.clone())
    );
    let bad = [SID, "mine-1", "buy", "AAPL", "1", "limit", "-5", "-", "gtc"];
    assert_eq!(code(Instr::PlaceOrderTagged, &bad), ReasonCode::BadPrice);
    let tab = [SID, "a\tb", "buy", "AAPL", "1", "limit", "1", "-", "gtc"];
    assert_eq!(
        code(Instr::PlaceOrderTagged, &tab),
        ReasonCode::BadArguments
    );
    assert_eq!(
        Instr::PlaceOrderClassTagged.failure(),
        Some(Instr::OrderFail)
    );
}

#[test]
fn api_key_requests_refuse_with_their_codes() {
    let id = "PKAAAAAAAAAAAAAAAAAB";
    assert_eq!(
        code(Instr::CreateApiKey, &[SID, "two words"]),
        ReasonCode::BadArguments
    );
    assert_eq!(
        code(Instr::CreateApiKey, &["nope", "bot"]),
        ReasonCode::BadSession
    );
    assert_eq!(
        code(Instr::RevokeApiKey, &[SID, "pkaaaa"]),
        ReasonCode::BadArguments
    );
    assert_eq!(
        code(Instr::LoginApiKey, &[id, "short"]),
        ReasonCode::BadArguments
    );
    let upper = SECRET.to_uppercase();
    let err = parse(Instr::LoginApiKey, &[id, &upper]).expect_err("upper-case secret");
    assert!(
        !err.text.contains("0123456789"),
        "a refusal never echoes a secret: {err}"
    );
    assert_eq!(
        Instr::LoginApiKey.failure(),
        Some(Instr::LoginFail),
        "a key login fails as a login does"
    );
    assert_eq!(Instr::CreateApiKey.failure(), Some(Instr::ApiKeyFail));
    assert_eq!(Instr::GetApiKeys.failure(), Some(Instr::DataFail));
}

#[test]
fn watchlist_requests_refuse_with_their_codes() {
    let session = SessionId::parse(SID).expect("id");
    assert_eq!(
        parse(Instr::AddToWatchlist, &[SID, "aapl"]),
        Ok(Request::Watch {
            session: session.clone(),
            symbol: Symbol::parse("AAPL").expect("symbol"),
        })
    );
    for instr in [Instr::AddToWatchlist, Instr::RemoveFromWatchlist] {
        assert_eq!(code(instr, &["nope", "AAPL"]), ReasonCode::BadSession);
        assert_eq!(code(instr, &[SID, "$$$"]), ReasonCode::BadArguments);
        let long = "A".repeat(17);
        let err = parse(instr, &[SID, &long]).expect_err("17 characters");
        assert_eq!(err.code, ReasonCode::BadArguments);
        assert!(
            parse(instr, &[SID, &"A".repeat(16)]).is_ok(),
            "16 is the limit"
        );
        assert_eq!(instr.failure(), Some(Instr::WatchlistFail));
        // Non-UTF-8 never reaches the parser: the check refuses it with
        // the instruction's own failure and bad-arguments.
        let f = crate::Frame::new(
            crate::MessageType::Command,
            instr.code(),
            2,
            [SID.as_bytes(), b" \xff\xfe"].concat(),
        );
        let err = check(&f, 0).expect_err("not UTF-8");
        let reply = crate::reply::Reply::checked(&err);
        assert_eq!(reply.instr(), Instr::WatchlistFail);
        assert_eq!(
            reply.reason().map(|r| r.code),
            Some(ReasonCode::BadArguments)
        );
    }
    assert_eq!(
        code(Instr::GetWatchlist, &["short"]),
        ReasonCode::BadSession
    );
    assert_eq!(Instr::GetWatchlist.failure(), Some(Instr::DataFail));
}

#[test]
fn values_come_out_typed() {
    assert_eq!(
        parse(Instr::PurchaseAsset, &[SID, "aapl", "3"]),
        Ok(Request::Trade {
            side: Side::Buy,
            session: SessionId::parse(SID).expect("id"),
            symbol: Symbol::parse("AAPL").expect("symbol"),
            size: Size::Shares(Quantity::whole(3).expect("3")),
        })
    );
    assert!(matches!(
        parse(Instr::Login, &["alice", PASS, "false"]),
        Ok(Request::Login {
            expirable: false,
            ..
        })
    ));
    assert!(matches!(
        parse(Instr::GetAssetValueAllTime, &["AAPL"]),
        Ok(Request::History { date: None, .. })
    ));
}

#[test]
fn a_malformed_value_gets_its_own_reason_code() {
    assert_eq!(
        code(Instr::Login, &[&"x".repeat(25), PASS, "true"]),
        ReasonCode::InvalidUsername
    );
    assert_eq!(
        code(Instr::Login, &["alice", PASS, "maybe"]),
        ReasonCode::BadArguments
    );
    assert_eq!(
        code(Instr::Register, &["alice", "no-at", PASS]),
        ReasonCode::InvalidEmail
    );
    assert_eq!(
        code(Instr::PurchaseAsset, &[SID, "AAPL", "0"]),
        ReasonCode::BadQuantity
    );
    assert_eq!(
        code(Instr::PurchaseAsset, &["short", "AAPL", "1"]),
        ReasonCode::BadSession
    );
    assert_eq!(
        code(Instr::GetAssetValueDay, &["AAPL", "2026-02-30"]),
        ReasonCode::BadDate
    );
    assert_eq!(
        code(Instr::GetAssetInfo, &["$$$"]),
        ReasonCode::BadArguments
    );
    assert_eq!(
        code(Instr::SwitchState, &[SID, "sleep"]),
        ReasonCode::BadArguments
    );
}

#[test]
fn orders_parse_typed_and_refuse_with_their_codes() {
    let order = |args: &[&str]| parse(Instr::PlaceOrder, args);
    let place = |rest: [&str; 7]| {
        let mut args = vec![SID];
        args.extend(rest);
        order(&args)
    };
    assert_eq!(
        place(["sell", "msft", "5", "stop-limit", "170.5", "175", "day"]),
        Ok(Request::PlaceOrder {
            session: SessionId::parse(SID).expect("id"),
            order: OrderSpec {
                side: Side::Sell,
                symbol: Symbol::parse("MSFT").expect("symbol"),
                quantity: Quantity::whole(5).expect("5"),
                kind: OrderKind::StopLimit {
                    stop: "175".parse().expect("stop"),
                    limit: "170.5".parse().expect("limit"),
                },
                tif: Tif::Day,
            },
        })
    );
    for (kind, limit, tif) in [("market", "-", "ioc"), ("limit", "3", "fok")] {
        let parsed = place(["buy", "a", "0.5", kind, limit, "-", tif]).expect("1.2 tif");
        assert_eq!(
            parsed.encode().data,
            format!(
                "{SID} buy A 0.5 {kind} {} - {tif}",
                if limit == "-" {
                    "-".to_string()
                } else {
                    "3.0000".to_string()
                }
            )
            .into_bytes()
        );
    }
    let code_of = |rest: [&str; 7]| place(rest).expect_err("refused").code;
    let cases = [
        (
            ["short", "A", "1", "market", "-", "-", "day"],
            ReasonCode::BadArguments,
        ),
        (
            ["buy", "$", "1", "market", "-", "-", "day"],
            ReasonCode::BadArguments,
        ),
        (
            ["buy", "A", "0", "market", "-", "-", "day"],
            ReasonCode::BadQuantity,
        ),
        (
            ["buy", "A", "1", "market", "170", "-", "day"],
            ReasonCode::BadPrice,
        ),
        (
            ["buy", "A", "1", "stop", "-", "-", "day"],
            ReasonCode::BadPrice,
        ),
        (
            ["buy", "A", "1", "limit", "-0.5", "-", "day"],
            ReasonCode::BadPrice,
        ),
        (
            ["buy", "A", "1", "bracket", "-", "-", "day"],
            ReasonCode::BadArguments,
        ),
        (
            ["buy", "A", "1", "market", "-", "-", "opg"],
            ReasonCode::BadArguments,
        ),
        (
            ["buy", "A", "1", "stop", "-", "5", "ioc"],
            ReasonCode::BadArguments,
        ),
        (
            ["sell", "A", "1", "stop-limit", "4", "5", "fok"],
            ReasonCode::BadArguments,
        ),
        (
            ["sell", "A", "1", "trailing-stop", "-", "0%", "day"],
            ReasonCode::BadPrice,
        ),
        (
            ["sell", "A", "1", "trailing-stop", "-", "100%", "day"],
            ReasonCode::BadPrice,
        ),
        (
            ["sell", "A", "1", "trailing-stop", "-", "-", "day"],
            ReasonCode::BadPrice,
        ),
        (
            ["sell", "A", "1", "trailing-stop", "5", "1", "day"],
            ReasonCode::BadPrice,
        ),
        (
            ["sell", "A", "1", "trailing-stop", "-", "1", "ioc"],
            ReasonCode::BadArguments,
        ),
        // The first bad argument decides: quantity before price.
        (
            ["buy", "A", "-1", "market", "1", "-", "day"],
            ReasonCode::BadQuantity,
        ),
    ];
    for (rest, want) in cases {
        assert_eq!(code_of(rest), want, "{rest:?}");
    }
    assert_eq!(
        code(Instr::CancelOrder, &[SID, "-3"]),
        ReasonCode::BadArguments
    );
    assert_eq!(
        code(Instr::CancelOrder, &["x", "3"]),
        ReasonCode::BadSession
    );
    assert_eq!(
        code(Instr::ResetAccount, &[SID, "pass word"]),
        ReasonCode::BadArguments
    );
    assert_eq!(
        code(Instr::GetEquityHistory, &[SID, "no body"]),
        ReasonCode::InvalidUsername
    );
}

#[test]
fn the_first_bad_argument_decides() {
    // A bad session and a bad quantity: the session comes first.
    assert_eq!(
        code(Instr::SellAsset, &["nope", "AAPL", "-1"]),
        ReasonCode::BadSession
    );
}

#[test]
fn a_huge_argument_is_echoed_as_an_excerpt() {
    let state = "d".repeat(60_000);
    let reason = parse(Instr::SwitchState, &[SID, &state]).expect_err("bad state");
    assert!(
        reason.to_string().len() < 200,
        "{}",
        reason.to_string().len()
    );
    let symbol = "A".repeat(60_000);
    let reason = parse(Instr::GetAssetInfo, &[&symbol]).expect_err("bad symbol");
    assert!(reason.to_string().len() < 200);
}

#[test]
fn excerpts_are_short_and_printable() {
    assert_eq!(excerpt("data"), "\"data\"");
    assert_eq!(excerpt("a\nb\u{7}"), "\"a\\nb\\u{7}\"");
    let long = excerpt(&"x".repeat(100));
    assert_eq!(long, format!("\"{}...\"", "x".repeat(EXCERPT_CHARS)));
}

#[test]
fn replies_and_controls_are_not_requests() {
    assert_eq!(
        Request::parse(Instr::Pong, &["1"])
            .expect_err("control")
            .code,
        ReasonCode::Protocol
    );
}

#[test]
fn the_prefix_parses_and_wraps() {
    let prefix = Forwarded::parse(&["uuid", "17", "1732147205000", "127.0.0.1:5000"]).expect("ok");
    assert_eq!(prefix.reqid, "17");
    assert_eq!(prefix.ts_ms, 1_732_147_205_000);
    let request = frame(Instr::Logout, &[SID]);
    let wrapped = prefix.wrap(&request).expect("fits");
    assert_eq!(wrapped.argument_count, 5);
    let req = check(&wrapped, Forwarded::ARGS).expect("forwarded logout");
    assert_eq!(Forwarded::parse(&req.prefix), Ok(prefix.clone()));
    assert_eq!(req.args, [SID]);
    assert_eq!(Forwarded::reqid_of(&wrapped).as_deref(), Some("17"));
    let bare = prefix
        .wrap(&frame::<&str>(Instr::GetAssetList, &[]))
        .expect("fits");
    assert_eq!(bare.data, b"uuid 17 1732147205000 127.0.0.1:5000");
}

#[test]
fn a_bad_prefix_is_refused() {
    let bad = |w: [&str; 4]| Forwarded::parse(&w).expect_err("bad");
    assert!(matches!(
        bad(["u", "1x", "1", "a:1"]),
        PrefixError::Reqid(_)
    ));
    assert!(matches!(
        bad(["u", &"9".repeat(21), "1", "a:1"]),
        PrefixError::Reqid(_)
    ));
    assert!(matches!(
        bad(["u", "1", "-5", "a:1"]),
        PrefixError::Timestamp(_)
    ));
    assert!(matches!(
        bad(["u", "1", &"9".repeat(30), "a:1"]),
        PrefixError::Timestamp(_)
    ));
}

#[test]
fn a_request_too_long_to_forward_does_not_wrap() {
    let prefix = Forwarded::parse(&["uuid", "1", "1", "127.0.0.1:5000"]).expect("ok");
    let big = Frame::new(
        crate::MessageType::Command,
        Instr::Login.code(),
        3,
        vec![b'a'; crate::MAX_DATA],
    );
    assert!(prefix.wrap(&big).is_none());
}

#[test]
fn third_party_requests_parse_typed_and_refuse_with_their_codes() {
    match parse(Instr::LoginExternal, &["google", TOKEN, "false"]) {
        Ok(Request::LoginExternal {
            provider,
            token,
            expirable: false,
        }) => {
            assert_eq!(provider.as_str(), "google");
            assert_eq!(token.as_str(), TOKEN);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        parse(Instr::ResetAccount, &[SID, PASS]),
        Ok(Request::ResetAccount {
            proof: ResetProof::Pass(_),
            ..
        })
    ));
    assert!(matches!(
        parse(Instr::ResetAccount, &[SID, TOKEN]),
        Ok(Request::ResetAccount {
            proof: ResetProof::Token(_),
            ..
        })
    ));
    assert_eq!(
        code(Instr::LoginExternal, &["Google", TOKEN, "true"]),
        ReasonCode::BadArguments
    );
    assert_eq!(
        code(Instr::LoginExternal, &["google", "not-a-token", "true"]),
        ReasonCode::BadArguments
    );
    assert_eq!(
        code(Instr::LoginExternal, &["google", TOKEN, "yes"]),
        ReasonCode::BadArguments
    );
    assert_eq!(
        code(Instr::RegisterExternal, &["al@ice", "google", TOKEN]),
        ReasonCode::InvalidUsername
    );
    assert_eq!(
        code(Instr::SetPassword, &["nope", PASS]),
        ReasonCode::BadSession
    );
    let huge = format!(
        "{}.{}.{}",
        "a".repeat(8000),
        "b".repeat(8000),
        "c".repeat(383)
    );
    let reason = parse(Instr::LoginExternal, &["google", &huge, "true"]).expect_err("too long");
    assert_eq!(reason.code, ReasonCode::BadArguments);
    assert!(reason.to_string().len() < 200, "an excerpt only: {reason}");
}

#[test]
fn every_request_vector_encodes_back_from_its_parsed_value() {
    let names = [
        "register",
        "login",
        "loginSession",
        "purchaseAsset",
        "switchState",
        "getWorkerList",
        "getAssetValueCurrent",
        "getAssetValueWeek",
        "getUserPortfolio",
    ];
    for (name, bytes) in crate::vectors::all() {
        if !names.contains(&name) {
            continue;
        }
        let (frame, _) = crate::frame::decode(&bytes).expect(name).expect(name);
        let checked = crate::message::check(&frame, 0).expect(name);
        let request = Request::parse(checked.instr, &checked.args).expect(name);
        assert_eq!(request.encode(), frame, "{name}");
    }
}

#[test]
fn order_classes_parse_and_refuse_with_their_codes() {
    let class = |rest: [&str; 10]| {
        let mut args = vec![SID];
        args.extend(rest);
        parse(Instr::PlaceOrderClass, &args)
    };
    let price = |t: &str| crate::value::Money::parse(t).expect("price");
    match class(["oco", "sell", "a", "3", "-", "-", "-", "gtc", "200", "50"]) {
        Ok(Request::PlaceOrderClass { order, class, .. }) => {
            assert_eq!(
                order.kind,
                OrderKind::Limit(price("200")),
                "the take-profit"
            );
            assert_eq!(class.legs(), [OrderKind::Stop(price("50"))]);
        }
        other => panic!("{other:?}"),
    }
    match class([
        "bracket", "buy", "A", "1", "market", "-", "-", "day", "110", "90",
    ]) {
        Ok(Request::PlaceOrderClass { class, .. }) => assert_eq!(
            class.legs(),
            [OrderKind::Limit(price("110")), OrderKind::Stop(price("90"))]
        ),
        other => panic!("{other:?}"),
    }
    let code = |rest: [&str; 10]| class(rest).expect_err("refused").code;
    for (rest, want) in [
        (
            [
                "triangle", "buy", "A", "1", "market", "-", "-", "day", "110", "90",
            ],
            ReasonCode::BadArguments,
        ),
        (
            [
                "bracket", "hold", "A", "1", "market", "-", "-", "day", "110", "90",
            ],
            ReasonCode::BadArguments,
        ),
        (
            [
                "bracket", "buy", "A", "0", "market", "-", "-", "day", "110", "90",
            ],
            ReasonCode::BadQuantity,
        ),
        (
            [
                "bracket", "buy", "A", "1", "market", "-", "-", "day", "110", "-",
            ],
            ReasonCode::BadPrice,
        ),
        (
            [
                "bracket", "buy", "A", "1", "market", "-", "-", "day", "0", "90",
            ],
            ReasonCode::BadPrice,
        ),
        (
            [
                "bracket", "buy", "A", "1", "market", "-", "-", "ioc", "110", "90",
            ],
            ReasonCode::BadArguments,
        ),
        (
            [
                "bracket", "buy", "A", "1", "market", "-", "-", "fok", "110", "90",
            ],
            ReasonCode::BadArguments,
        ),
        (
            [
                "oto", "buy", "A", "1", "market", "-", "-", "day", "110", "90",
            ],
            ReasonCode::BadPrice,
        ),
        (
            ["oto", "buy", "A", "1", "market", "-", "-", "day", "-", "-"],
            ReasonCode::BadPrice,
        ),
        (
            [
                "oco", "sell", "A", "1", "limit", "5", "-", "day", "110", "90",
            ],
            ReasonCode::BadArguments,
        ),
        (
            ["oco", "sell", "A", "1", "-", "-", "-", "day", "-", "90"],
            ReasonCode::BadPrice,
        ),
        (
            ["oco", "sell", "A", "1", "-", "-", "-", "day", "1e5", "90"],
            ReasonCode::BadPrice,
        ),
    ] {
        assert_eq!(code(rest), want, "{rest:?}");
    }
}

#[test]
fn replace_takes_changes_and_refuses_with_their_codes() {
    let replace = |rest: [&str; 5]| {
        let mut args = vec![SID];
        args.extend(rest);
        parse(Instr::ReplaceOrder, &args)
    };
    let change = |r: Result<Request, Reason>| match r {
        Ok(Request::ReplaceOrder { id, change, .. }) => (id, change),
        other => panic!("{other:?}"),
    };
    let price = |t: &str| crate::value::Money::parse(t).expect("price");
    assert_eq!(
        change(replace(["9", "0.5", "=", "=", "="])),
        (
            9,
            OrderChange {
                quantity: Quantity::parse("0.5").ok(),
                ..OrderChange::default()
            }
        )
    );
    assert_eq!(
        change(replace(["9", "=", "10", "9.5", "gtc"])).1,
        OrderChange {
            quantity: None,
            limit: Some(price("10")),
            stop: Some(NewStop::Price(price("9.5"))),
            tif: Some(Tif::Gtc),
        }
    );
    assert_eq!(
        change(replace(["9", "=", "=", "3%", "="])).1.stop,
        Some(NewStop::Trail(Trail::Percent(300)))
    );
    let code = |rest: [&str; 5]| replace(rest).expect_err("refused").code;
    for (rest, want) in [
        (["9", "=", "=", "=", "="], ReasonCode::BadArguments),
        (["x", "1", "=", "=", "="], ReasonCode::BadArguments),
        (["9", "0", "=", "=", "="], ReasonCode::BadQuantity),
        (
            ["9", "1.0000000001", "=", "=", "="],
            ReasonCode::BadQuantity,
        ),
        (["9", "1e5", "=", "=", "="], ReasonCode::BadQuantity),
        (["9", "=", "-", "=", "="], ReasonCode::BadPrice),
        (["9", "=", "0", "=", "="], ReasonCode::BadPrice),
        (["9", "=", "NaN", "=", "="], ReasonCode::BadPrice),
        (["9", "=", "=", "0%", "="], ReasonCode::BadPrice),
        (["9", "=", "=", "-", "="], ReasonCode::BadPrice),
        (["9", "=", "=", "=", "opg"], ReasonCode::BadArguments),
    ] {
        assert_eq!(code(rest), want, "{rest:?}");
    }
    // What a change does to each type.
    let limit_only = OrderChange {
        limit: Some(price("5")),
        ..OrderChange::default()
    };
    let trail = OrderChange {
        stop: Some(NewStop::Trail(Trail::Percent(150))),
        ..OrderChange::default()
    };
    let amount = OrderChange {
        stop: Some(NewStop::Price(price("2"))),
        ..OrderChange::default()
    };
    let bad = |c: &OrderChange, k: OrderKind| c.apply(k).map_err(|r| r.code);
    assert_eq!(
        limit_only.apply(OrderKind::Limit(price("4"))),
        Ok(OrderKind::Limit(price("5")))
    );
    assert_eq!(
        bad(&limit_only, OrderKind::Market),
        Err(ReasonCode::BadPrice)
    );
    assert_eq!(
        bad(&limit_only, OrderKind::Stop(price("1"))),
        Err(ReasonCode::BadPrice)
    );
    assert_eq!(
        bad(&trail, OrderKind::Stop(price("1"))),
        Err(ReasonCode::BadPrice)
    );
    assert_eq!(
        bad(&amount, OrderKind::Limit(price("1"))),
        Err(ReasonCode::BadPrice)
    );
    let trailing = OrderKind::TrailingStop(Trail::Percent(100));
    assert_eq!(
        trail.apply(trailing),
        Ok(OrderKind::TrailingStop(Trail::Percent(150)))
    );
    assert_eq!(
        amount.apply(trailing),
        Ok(OrderKind::TrailingStop(Trail::Amount(price("2"))))
    );
    assert_eq!(
        amount.apply(OrderKind::StopLimit {
            stop: price("1"),
            limit: price("1")
        }),
        Ok(OrderKind::StopLimit {
            stop: price("2"),
            limit: price("1")
        })
    );
}

#[test]
fn requests_of_every_shape_round_trip() {
    let session = SessionId::parse("0f1e2d3c4b5a69788796a5b4c3d2e1f0").expect("session");
    let symbol = Symbol::parse("AAPL").expect("symbol");
    let order = OrderSpec {
        side: Side::Sell,
        symbol: symbol.clone(),
        quantity: Quantity::whole(3).expect("quantity"),
        kind: OrderKind::StopLimit {
            stop: crate::value::Money(1_000_000),
            limit: crate::value::Money(990_000),
        },
        tif: Tif::Gtc,
    };
    let all = [
        Request::PlaceOrder {
            session: session.clone(),
            order,
        },
        Request::CancelOrder {
            session: session.clone(),
            id: 42,
        },
        Request::ReplaceOrder {
            session: session.clone(),
            id: 42,
            change: OrderChange {
                quantity: Quantity::parse("0.25").ok(),
                limit: None,
                stop: Some(NewStop::Trail(Trail::Percent(250))),
                tif: Some(Tif::Day),
            },
        },
        Request::History {
            range: Range::AllTime,
            symbol,
            date: None,
        },
        Request::ResetAccount {
            session: session.clone(),
            proof: ResetProof::parse("abc").expect("pass"),
        },
        Request::Leaderboard,
        Request::EquityHistory {
            session: session.clone(),
            username: Username::parse("bob").expect("name"),
        },
        Request::CreateKey {
            session: session.clone(),
            label: crate::value::KeyLabel::parse("bot").expect("label"),
        },
        Request::RevokeKey {
            session: session.clone(),
            id: crate::value::ApiKeyId::from_bytes([9; 12]),
        },
        Request::LoginKey {
            id: crate::value::ApiKeyId::from_bytes([9; 12]),
            secret: crate::value::ApiSecret::from_bytes([3; 32]),
        },
        Request::Keys {
            session: session.clone(),
        },
        Request::Watchlist {
            session: session.clone(),
        },
        Request::Watch {
            session: session.clone(),
            symbol: Symbol::parse("BRK.B").expect("symbol"),
        },
        Request::Unwatch {
            session,
            symbol: Symbol::parse("^GSPC").expect("symbol"),
        },
    ];
    for request in all {
        let frame = request.encode();
        let checked = crate::message::check(&frame, 0).expect("checks");
        let back = Request::parse(checked.instr, &checked.args).expect("parses");
        assert_eq!(back, request);
    }
}

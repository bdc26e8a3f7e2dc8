use proptest::prelude::*;

use super::*;
use crate::frame::decode;
use crate::value::Shares;

/// The frame of the named vector of `protocol-vectors.txt`.
fn vector(name: &str) -> Frame {
    let bytes = crate::vectors::all()
        .into_iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no vector {name}"))
        .1;
    decode(&bytes).expect("decodes").expect("whole").0
}

fn session() -> SessionId {
    SessionId::parse("0f1e2d3c4b5a69788796a5b4c3d2e1f0").expect("session")
}

#[test]
fn every_return_vector_parses_and_encodes_back() {
    let cases = [
        ("sessionID", Reply::Session(session())),
        ("registerSuccess", Reply::Registered),
        (
            "purchaseSuccess",
            Reply::Filled(Fill {
                side: Side::Buy,
                txid: 17,
                symbol: Symbol::parse("AAPL").expect("symbol"),
                quantity: Quantity::whole(10).expect("quantity"),
                price: Money(1_895_000),
                time: Timestamp(1_732_147_205),
            }),
        ),
        (
            "purchaseFail",
            Reply::fail(
                Instr::PurchaseAsset,
                ReasonCode::InsufficientFunds,
                "cash 120.5000 is below cost 1895.0000",
            ),
        ),
        ("stateSwitchSuccess", Reply::StateSwitched(State::Data)),
        (
            "workerList",
            Reply::WorkerList(vec!["10.0.0.5:2049".into(), "10.0.1.7:2049".into()]),
        ),
        (
            "protocolError",
            Reply::fail(
                Instr::ProtocolError,
                ReasonCode::Protocol,
                "unknown instruction 99",
            ),
        ),
    ];
    for (name, reply) in cases {
        let frame = vector(name);
        assert_eq!(Reply::parse(&frame).as_ref(), Ok(&reply), "{name}");
        assert_eq!(reply.encode(None), frame, "{name}: encodes to the vector");
    }
}

#[test]
fn data_vectors_are_packets() {
    for name in ["data-1-of-2", "data-2-of-2", "data-empty"] {
        let frame = vector(name);
        let reply = Reply::parse(&frame).expect(name);
        let Reply::Data(packet) = &reply else {
            panic!("{name}: {reply:?}");
        };
        assert_eq!(
            (packet.number, packet.max),
            (frame.data_message_number, frame.data_message_max)
        );
        assert_eq!(packet.chunk, frame.data);
        assert_eq!(reply.encode(None), frame, "{name}");
    }
}

#[test]
fn the_ping_vector_is_a_link_message() {
    let frame = vector("ping");
    assert_eq!(LinkMsg::parse(&frame), Ok(LinkMsg::Ping("42".into())));
    assert_eq!(LinkMsg::Ping("42".into()).encode(), frame);
    assert!(matches!(
        Reply::parse(&frame),
        Err(ReplyError::NotAReply(Instr::Ping))
    ));
}

#[test]
fn requests_are_not_replies() {
    let login = vector("login");
    assert_eq!(
        Reply::parse(&login),
        Err(ReplyError::NotAReply(Instr::Login))
    );
    assert!(matches!(
        LinkMsg::parse(&login),
        Err(ReplyError::NotAReply(Instr::Login))
    ));
}

#[test]
fn a_forwarded_reply_carries_its_reqid() {
    let reply = Reply::OrderAccepted(42);
    let frame = reply.encode(Some("17"));
    assert_eq!(frame.data, b"17 42");
    assert_eq!(Reply::parse_forwarded(&frame), Ok(("17".into(), reply)));
    let packet = Reply::Data(DataPacket {
        number: 1,
        max: 1,
        chunk: b"AAPL 190.0000 1\n".to_vec(),
    });
    let frame = packet.encode(Some("9"));
    assert_eq!(frame.data, b"9 AAPL 190.0000 1\n");
    assert_eq!(Reply::parse_forwarded(&frame), Ok(("9".into(), packet)));
}

#[test]
fn failures_answer_their_request() {
    let reason = Reason::new(ReasonCode::BadSession, "");
    let cases = [
        (Instr::Login, Instr::LoginFail),
        (Instr::LoginSession, Instr::LoginFail),
        (Instr::GetOrders, Instr::DataFail),
        (Instr::GetWorkerList, Instr::ProtocolError),
        (Instr::Ping, Instr::ProtocolError),
        (Instr::CancelFail, Instr::CancelFail),
        (Instr::ProtocolError, Instr::ProtocolError),
    ];
    for (request, failure) in cases {
        let reply = Reply::failure(request, reason.clone());
        assert_eq!(reply.instr(), failure, "{}", request.name());
        assert_eq!(reply.reason(), Some(&reason));
    }
    assert_eq!(Reply::Registered.reason(), None);
}

#[test]
fn malformed_replies_are_errors_not_panics() {
    let bad = [
        Frame::new(
            MessageType::Return,
            Instr::SessionId.code(),
            1,
            b"xyz".to_vec(),
        ),
        Frame::new(
            MessageType::Return,
            Instr::OrderAccepted.code(),
            1,
            b"-1".to_vec(),
        ),
        Frame::new(
            MessageType::Return,
            Instr::ResetSuccess.code(),
            1,
            b"lots".to_vec(),
        ),
        Frame::new(
            MessageType::Return,
            Instr::LoginFail.code(),
            1,
            b"nope".to_vec(),
        ),
        Frame::new(
            MessageType::Return,
            Instr::StateSwitchSuccess.code(),
            1,
            b"x".to_vec(),
        ),
        Frame::new(
            MessageType::Return,
            Instr::PurchaseSuccess.code(),
            5,
            b"1 A 0 1 1".to_vec(),
        ),
        Frame::new(
            MessageType::Return,
            Instr::PurchaseSuccess.code(),
            4,
            b"1 A 1 1".to_vec(),
        ),
        Frame::new(MessageType::Return, 99, 0, Vec::new()),
        Frame::new(
            MessageType::Command,
            Instr::SessionId.code(),
            1,
            b"x".to_vec(),
        ),
        Frame::new(
            MessageType::Return,
            Instr::Data.code(),
            0,
            b"unnumbered".to_vec(),
        ),
    ];
    for frame in bad {
        assert!(Reply::parse(&frame).is_err(), "{frame:?}");
        assert!(LinkMsg::parse(&frame).is_err(), "{frame:?}");
    }
    let no_reqid = Reply::Registered.encode(None);
    assert!(Reply::parse_forwarded(&no_reqid).is_err());
}

#[test]
fn a_reply_too_large_to_frame_becomes_internal() {
    let huge = "x".repeat(70_000);
    let reply = Reply::fail(Instr::Login, ReasonCode::BadCredentials, huge.clone());
    let back = Reply::parse_forwarded(&reply.encode(Some("5"))).expect("still a reply");
    assert_eq!(back.0, "5");
    assert_eq!(back.1.instr(), Instr::LoginFail);
    assert_eq!(back.1.reason().map(|r| r.code), Some(ReasonCode::Internal));
    let packet = Reply::Data(DataPacket {
        number: 1,
        max: 1,
        chunk: huge.into_bytes(),
    });
    let back = Reply::parse(&packet.encode(None)).expect("a failure");
    assert_eq!(back.instr(), Instr::DataFail);
}

#[test]
fn link_messages_round_trip() {
    let reason = Reason::new(ReasonCode::Unavailable, "master shutting down");
    let all = [
        LinkMsg::Hello {
            uuid: "6f1c".into(),
            name: "w1".into(),
            address: "127.0.0.1:4000".into(),
            nonce: "ab12".into(),
        },
        LinkMsg::Challenge {
            nonce: "cd34".into(),
            signature: "c2ln".into(),
        },
        LinkMsg::Proof("c2ln".into()),
        LinkMsg::Accepted,
        LinkMsg::Refused(reason.clone()),
        LinkMsg::Ping("7".into()),
        LinkMsg::Pong("keepalive".into()),
        LinkMsg::SessionClosed(session()),
        LinkMsg::Kick(reason),
        LinkMsg::WorkerListUpdate(vec!["127.0.0.1:4000".into()]),
        LinkMsg::WorkerListUpdate(Vec::new()),
    ];
    for link in all {
        assert_eq!(LinkMsg::parse(&link.encode()), Ok(link.clone()), "{link:?}");
    }
}

fn any_reason() -> impl Strategy<Value = Reason> {
    let codes: Vec<ReasonCode> = ReasonCode::all().collect();
    (0..codes.len(), "([!-~][ -~]{0,40})?").prop_map(move |(i, text)| Reason::new(codes[i], text))
}

fn any_fill() -> impl Strategy<Value = Fill> {
    (
        any::<bool>(),
        0..=i64::MAX,
        "[A-Z0-9.^=-]{1,16}",
        1..=Quantity::MAX_WHOLE * crate::value::SHARE_SCALE,
        i64::MIN + 1..=i64::MAX,
        0..=999_999_999_999_999_999i64,
    )
        .prop_map(|(buy, txid, symbol, quantity, price, time)| Fill {
            side: if buy { Side::Buy } else { Side::Sell },
            txid,
            symbol: Symbol::parse(&symbol).expect("symbol"),
            quantity: Quantity::from_shares(Shares(quantity)).expect("in range"),
            price: Money(price),
            time: Timestamp(time),
        })
}

fn any_reply() -> impl Strategy<Value = Reply> {
    let failures: Vec<Instr> = crate::instr::TABLE
        .iter()
        .filter_map(|s| s.instr.failure())
        .collect();
    prop_oneof![
        any::<[u8; 16]>().prop_map(|b| Reply::Session(SessionId::from_bytes(b))),
        Just(Reply::Registered),
        any_fill().prop_map(Reply::Filled),
        prop_oneof![Just(State::Command), Just(State::Data)].prop_map(Reply::StateSwitched),
        (1..=4u32, proptest::collection::vec(any::<u8>(), 0..300)).prop_map(|(max, chunk)| {
            Reply::Data(DataPacket {
                number: 1,
                max,
                chunk,
            })
        }),
        proptest::collection::vec("[a-z0-9.:\\[\\]-]{1,30}", 0..5).prop_map(Reply::WorkerList),
        Just(Reply::LoggedOut),
        (0..=i64::MAX as u64).prop_map(Reply::OrderAccepted),
        (0..=i64::MAX as u64).prop_map(Reply::Cancelled),
        (i64::MIN + 1..=i64::MAX).prop_map(|c| Reply::Reset(Money(c))),
        Just(Reply::PasswordSet),
        (any::<[u8; 12]>(), any::<[u8; 32]>()).prop_map(|(id, secret)| Reply::KeyCreated {
            id: ApiKeyId::from_bytes(id),
            secret: ApiSecret::from_bytes(secret),
        }),
        any::<[u8; 12]>().prop_map(|id| Reply::KeyRevoked(ApiKeyId::from_bytes(id))),
        (any::<[u8; 16]>(), "[A-Za-z0-9_.-]{1,24}").prop_map(|(b, name)| Reply::KeySession {
            session: SessionId::from_bytes(b),
            username: Username::parse(&name).expect("username"),
        }),
        "[A-Z0-9.^=-]{1,16}"
            .prop_map(|s| Reply::WatchlistUpdated(Symbol::parse(&s).expect("symbol"))),
        (0..failures.len(), any_reason()).prop_map(move |(i, reason)| Reply::Failure {
            instr: failures[i],
            reason,
        }),
    ]
}

proptest! {
    #[test]
    fn every_reply_round_trips(reply in any_reply(), reqid in proptest::option::of(0..u64::MAX)) {
        let reqid = reqid.map(|r| r.to_string());
        let frame = reply.encode(reqid.as_deref());
        let bytes = frame.to_bytes();
        let (decoded, used) = decode(&bytes).expect("decodes").expect("whole");
        prop_assert_eq!(used, bytes.len());
        match &reqid {
            Some(id) => prop_assert_eq!(Reply::parse_forwarded(&decoded), Ok((id.clone(), reply))),
            None => prop_assert_eq!(Reply::parse(&decoded), Ok(reply)),
        }
    }

    #[test]
    fn into_frame_is_encode(reply in any_reply(), reqid in proptest::option::of(0..u64::MAX)) {
        let reqid = reqid.map(|r| r.to_string());
        prop_assert_eq!(reply.clone().into_frame(reqid.as_deref()), reply.encode(reqid.as_deref()));
    }

    #[test]
    fn parse_never_panics(code in any::<u8>(), kind in 0u8..6, argc in 0u16..8,
                          data in proptest::collection::vec(any::<u8>(), 0..80),
                          number in 0u32..3, max in 0u32..3) {
        let mut frame = Frame::new(MessageType::Return, code, argc, data);
        frame.message_type = kind;
        frame.data_message_number = number;
        frame.data_message_max = max;
        let _ = Reply::parse(&frame);
        let _ = Reply::parse_forwarded(&frame);
        let _ = LinkMsg::parse(&frame);
    }
}

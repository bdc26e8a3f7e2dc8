//! The link's state machine without a socket: frames in, steps out.

use papertrader_common::Instr;
use papertrader_common::gpg::GpgError;
use papertrader_common::reply::{LinkMsg, Reply};
use papertrader_common::value::{Reason, ReasonCode};

use super::*;

fn session(n: u8) -> SessionId {
    SessionId::from_bytes([n; 16])
}

fn timers() -> Timers {
    Timers {
        handshake: Duration::from_secs(10),
        silence: Duration::from_secs(30),
        ping: Duration::from_secs(10),
        reconnect_max: Duration::from_secs(4),
    }
}

/// A link through its handshake to `Up`, as the loop would drive it.
fn up(link: &mut MasterLink) {
    let hello = link.hello(
        "u".into(),
        "w1".into(),
        "127.0.0.1:4000".into(),
        "ab".into(),
    );
    assert_eq!(hello.instruction, Instr::WorkerHello.code());
    let challenge = LinkMsg::Challenge {
        nonce: "cd".into(),
        signature: "sig".into(),
    };
    let steps = link.on_frame(challenge.encode());
    let generation = match &steps[..] {
        [
            Step::Prove {
                generation,
                worker_nonce,
                master_nonce,
                signature,
            },
        ] => {
            assert_eq!((worker_nonce.as_str(), master_nonce.as_str()), ("ab", "cd"));
            assert_eq!(signature, "sig");
            *generation
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(
        link.on_proof(generation + 1, Ok("late".into())),
        None,
        "stale"
    );
    let proof = link.on_proof(generation, Ok("proof".into()));
    assert_eq!(
        proof,
        Some(Step::Send(LinkMsg::Proof("proof".into()).encode()))
    );
    let steps = link.on_frame(LinkMsg::Accepted.encode());
    assert_eq!(steps.first(), Some(&Step::Up));
    assert!(link.is_up());
}

#[test]
fn the_handshake_leads_up_and_sends_what_waited() {
    let mut link = MasterLink::new(Instant::now());
    assert_eq!(link.session_closed(&session(1)), None, "kept while down");
    assert_eq!(link.session_closed(&session(2)), None);
    let hello = link.hello("u".into(), "w1".into(), "a:1".into(), "ab".into());
    assert!(matches!(LinkMsg::parse(&hello), Ok(LinkMsg::Hello { .. })));
    let challenge = LinkMsg::Challenge {
        nonce: "cd".into(),
        signature: "sig".into(),
    };
    let Step::Prove { generation, .. } = link.on_frame(challenge.encode()).remove(0) else {
        panic!("a proof to make");
    };
    link.on_proof(generation, Ok("p".into()));
    let steps = link.on_frame(LinkMsg::Accepted.encode());
    assert_eq!(
        steps,
        [
            Step::Up,
            Step::Send(LinkMsg::SessionClosed(session(1)).encode()),
            Step::Send(LinkMsg::SessionClosed(session(2)).encode()),
        ]
    );
    let now = link.session_closed(&session(3));
    assert_eq!(now, Some(LinkMsg::SessionClosed(session(3)).encode()));
}

#[test]
fn a_failed_proof_or_a_refusal_takes_the_link_down() {
    let mut link = MasterLink::new(Instant::now());
    link.hello("u".into(), "w1".into(), "a:1".into(), "ab".into());
    let refused = LinkMsg::Refused(Reason::new(ReasonCode::Forbidden, "unknown worker"));
    match link.on_frame(refused.encode()).as_slice() {
        [Step::Down(why)] => assert!(why.contains("unknown worker"), "{why}"),
        other => panic!("{other:?}"),
    }
    let mut link = MasterLink::new(Instant::now());
    link.hello("u".into(), "w1".into(), "a:1".into(), "ab".into());
    let steps = link.on_frame(LinkMsg::Accepted.encode());
    assert!(matches!(&steps[..], [Step::Down(why)] if why.contains("linkAccepted")));
    let mut link = MasterLink::new(Instant::now());
    link.hello("u".into(), "w1".into(), "a:1".into(), "ab".into());
    let challenge = LinkMsg::Challenge {
        nonce: "cd".into(),
        signature: "sig".into(),
    };
    let Step::Prove { generation, .. } = link.on_frame(challenge.encode()).remove(0) else {
        panic!("a proof to make");
    };
    let refused = ProofError::Refused(GpgError::new("bad signature"));
    let Some(Step::Down(why)) = link.on_proof(generation, Err(refused)) else {
        panic!("down");
    };
    assert!(why.contains("not over this TLS session"), "{why}");
}

#[test]
fn once_up_returns_are_replies_and_control_is_handled() {
    let mut link = MasterLink::new(Instant::now());
    up(&mut link);
    let reply = Reply::Registered.encode(Some("7"));
    assert_eq!(link.on_frame(reply.clone()), [Step::Reply(reply)]);
    let failure = Reply::fail(Instr::ProtocolError, ReasonCode::Protocol, "x").encode(Some("8"));
    assert_eq!(
        link.on_frame(failure.clone()),
        [Step::Reply(failure)],
        "a reply"
    );
    let ping = LinkMsg::Ping("9".into()).encode();
    assert_eq!(
        link.on_frame(ping),
        [Step::Send(LinkMsg::Pong("9".into()).encode())]
    );
    let list = LinkMsg::WorkerListUpdate(vec!["a:1".into(), "b:2".into()]).encode();
    assert_eq!(
        link.on_frame(list),
        [Step::WorkerList(vec!["a:1".into(), "b:2".into()])]
    );
    let kick = LinkMsg::Kick(Reason::new(ReasonCode::Unavailable, "bye")).encode();
    assert!(matches!(&link.on_frame(kick)[..], [Step::Down(why)] if why.contains("bye")));
}

#[test]
fn quotes_are_reassembled_across_packets() {
    let mut link = MasterLink::new(Instant::now());
    up(&mut link);
    let payload = b"AAPL 190.0000 1\nMSFT 410.0000 1\n".to_vec();
    let frames =
        papertrader_common::transfer::packets(Instr::Quotes, &payload, None).expect("packets");
    let mut out = Vec::new();
    for f in frames {
        out.extend(link.on_frame(f));
    }
    assert_eq!(out, [Step::Quotes(payload)]);
}

#[test]
fn backoff_doubles_to_its_cap_and_the_tick_reconnects_when_due() {
    let start = Instant::now();
    let mut link = MasterLink::new(start);
    assert_eq!(link.tick(start, &timers(), false), None, "no keys, no link");
    assert_eq!(link.tick(start, &timers(), true), Some(Step::Connect));
    let mut waits = Vec::new();
    for _ in 0..6 {
        let (_, was_up) = link.down(start, timers().reconnect_max);
        assert!(!was_up);
        waits.push(link.retry_at() - start);
    }
    let ms: Vec<u128> = waits.iter().map(Duration::as_millis).collect();
    assert_eq!(ms, [250, 500, 1000, 2000, 4000, 4000]);
    assert_eq!(link.tick(start, &timers(), true), None, "not yet");
    let later = start + Duration::from_secs(5);
    assert_eq!(link.tick(later, &timers(), true), Some(Step::Connect));
}

#[test]
fn a_handshake_that_does_not_finish_in_time_is_dropped() {
    let start = Instant::now();
    let mut link = MasterLink::new(start);
    link.hello("u".into(), "w1".into(), "a:1".into(), "ab".into());
    assert_eq!(link.tick(start, &timers(), true), None);
    let late = start + Duration::from_secs(11);
    let step = link.tick(late, &timers(), true);
    assert_eq!(
        step,
        Some(Step::Down("handshake did not finish in time".into()))
    );
}

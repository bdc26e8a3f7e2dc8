//! ptwire(1) end to end: the real binary reproduces every protocol vector
//! from names and arguments, decodes them back to readable lines, and
//! refuses malformed input with the byte offset and exit status 65.

mod util;

use papertrader_common::instr::Arity;
use papertrader_common::{Instr, args, frame};
use util::{run, stderr, stdout, vectors};

#[test]
fn encode_reproduces_every_argument_vector() {
    let mut checked = 0;
    for (name, bytes) in vectors() {
        let (frame, _) = frame::decode(&bytes).expect("valid").expect("whole");
        let instr = Instr::from_code(frame.instruction).expect("known");
        if instr.arity() == Arity::Raw {
            continue;
        }
        let words = args::split(&frame.data, frame.argument_count).expect("args");
        let mut argv = vec!["encode", instr.name()];
        argv.extend(words.iter().copied());
        let out = run("ptwire", &argv, b"");
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        assert_eq!(out.stdout, bytes, "{name}: ptwire encode {argv:?}");
        checked += 1;
    }
    assert_eq!(checked, 17);
}

#[test]
fn encode_builds_data_packets_from_stdin() {
    for (name, bytes) in vectors().into_iter().filter(|(n, _)| n.starts_with("data")) {
        let (frame, _) = frame::decode(&bytes).expect("valid").expect("whole");
        let packet = format!("{}/{}", frame.data_message_number, frame.data_message_max);
        let out = run(
            "ptwire",
            &["encode", "--packet", &packet, "data"],
            &frame.data,
        );
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        assert_eq!(out.stdout, bytes, "{name}");
    }
}

#[test]
fn decode_prints_one_line_per_frame() {
    let all: Vec<u8> = vectors().into_iter().flat_map(|(_, b)| b).collect();
    let out = run("ptwire", &["decode"], &all);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 20);
    assert!(lines[0].starts_with("command register alice alice@example.com af867c0d"));
    assert!(lines.contains(&"command getWorkerList"));
    assert!(lines.contains(&"return workerList 10.0.0.5:2049 10.0.1.7:2049"));
    assert!(lines.contains(&"return protocolError \"protocol unknown instruction 99\""));
    assert!(lines.contains(&"return data 1/1 \"\""));
    assert!(lines.contains(&"control ping 42"));
    assert!(
        lines.contains(
            &"return data 1/2 \"1732147200 189.5000 191.2500 188.0000 190.7500 53200000\\n\""
        ),
        "{text}"
    );
}

#[test]
fn decode_x_adds_a_hex_dump() {
    let ping = util::unhex("044500010000000200000000000000003432");
    let out = run("ptwire", &["decode", "-x"], &ping);
    assert!(out.status.success());
    assert_eq!(
        stdout(&out),
        "control ping 42\n\
         00000000: 0445 0001 0000 0002 0000 0000 0000 0000  .E..............\n\
         00000010: 3432                                     42\n"
    );
}

#[test]
fn decode_refuses_bad_frames_with_offset_and_status_65() {
    let ping = util::unhex("044500010000000200000000000000003432");
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            [
                &ping[..],
                &[1, 1, 0, 3, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0],
            ]
            .concat(),
            "ptwire: byte 22: data_size 2147483647 exceeds the 65536-byte limit",
        ),
        (vec![9; 16], "ptwire: byte 0: message_type 9 is not one of"),
        (
            ping[..10].to_vec(),
            "ptwire: byte 0: truncated frame: input ends 10 bytes into it",
        ),
        (
            util::unhex("010100020000000200000000000000006162"),
            "ptwire: byte 16: argument_count 2 but the data holds 1 arguments",
        ),
    ];
    for (input, expected) in cases {
        let out = run("ptwire", &["decode"], &input);
        assert_eq!(out.status.code(), Some(65), "{expected}");
        assert!(
            stderr(&out).starts_with(expected),
            "got {:?}, want {expected:?}",
            stderr(&out)
        );
    }
}

#[test]
fn encode_usage_errors_exit_64() {
    for argv in [
        vec!["encode", "nosuch"],
        vec!["encode", "login", "only-one"],
        vec!["bogus"],
        vec![],
    ] {
        let out = run("ptwire", &argv, b"");
        assert_eq!(out.status.code(), Some(64), "{argv:?}");
        assert!(
            stderr(&out).starts_with("ptwire: "),
            "{argv:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn encode_crafts_bad_frames_on_request() {
    let out = run("ptwire", &["encode", "--type", "9", "getWorkerList"], b"");
    assert_eq!(out.stdout, [9, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    let out = run("ptwire", &["encode", "--argc", "5", "login", "a", "b"], b"");
    assert_eq!(&out.stdout[..4], &[1, 1, 0, 5]);
    let out = run("ptwire", &["encode", "--code", "99"], b"");
    assert_eq!(
        out.stdout,
        [1, 99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    );
}

#[test]
fn list_prints_the_whole_table() {
    let out = run("ptwire", &["list"], b"");
    assert!(out.status.success());
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 106, "header and 105 instructions");
    assert!(
        text.contains("99   createGame                command  sessionID rules"),
        "{text}"
    );
    assert!(
        text.contains("108  getGameHoldings           data     sessionID gameID username"),
        "{text}"
    );
    assert!(text.contains("6    switchState               command|data sessionID state"));
    assert!(
        text.contains("80   purchaseNotional          command  sessionID symbol amount"),
        "{text}"
    );
    assert!(
        text.contains("86   loginApiKey               command  keyID secretKey"),
        "{text}"
    );
    assert!(
        text.contains("91   addToWatchlist            command  sessionID symbol"),
        "{text}"
    );
    assert!(
        text.contains(
            "82   replaceOrder              command  sessionID orderID quantity limit stop tif"
        ),
        "{text}"
    );
}

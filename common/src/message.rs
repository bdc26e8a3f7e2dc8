//! Checking a decoded frame against the instruction table, and the one
//! builder of frames from arguments ([`frame`]) under `Reply::encode` and
//! `Request::encode`. Decides the three outcomes of PROTOCOL.md
//! section 8: close the connection, `protocolError` and stay open, or the
//! instruction's own failure return with `bad-arguments`.

use crate::args::{self, ArgError};
use crate::frame::{Frame, MessageType};
use crate::instr::{Arity, Instr};
use crate::value::{Reason, ReasonCode};

/// What is wrong with a frame, and so how to answer it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// Packet numbering on a frame that is not a transfer packet, or none on
    /// one that is: framing is in doubt, answer `protocolError` and close.
    #[error("packet numbering {number}/{max} on instruction {code}")]
    Numbering {
        /// The instruction code.
        code: u8,
        /// The header's `data_message_number`.
        number: u32,
        /// The header's `data_message_max`.
        max: u32,
    },
    /// No instruction has this code: `protocolError`, stay open.
    #[error("unknown instruction {0}")]
    UnknownInstruction(u8),
    /// A known instruction with the wrong `message_type`: `protocolError`,
    /// stay open.
    #[error("{} is not allowed with message_type {}", .0.name(), .1)]
    WrongType(Instr, u8),
    /// Arguments of the wrong count or shape: the instruction's failure
    /// return with `bad-arguments`, stay open.
    #[error("{} takes {}: {}", .0.name(), args_hint(*.0), .1)]
    Arguments(Instr, ArgError),
}

impl CheckError {
    /// Whether the connection must be closed after the answer.
    pub fn closes(&self) -> bool {
        matches!(self, CheckError::Numbering { .. })
    }
}

fn args_hint(instr: Instr) -> String {
    match instr.arity() {
        Arity::Exact(0) => "no arguments".to_string(),
        Arity::Exact(n) => format!("{n} arguments ({})", instr.spec().args),
        Arity::Any => "addresses".to_string(),
        Arity::Raw => "a raw chunk".to_string(),
    }
}

/// A frame checked against the table, arguments split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked<'a> {
    /// The instruction.
    pub instr: Instr,
    /// Its arguments (after `skip` prefix arguments).
    pub args: Vec<&'a str>,
    /// The prefix arguments that stood in front (forwarding, section 6).
    pub prefix: Vec<&'a str>,
}

/// Checks `frame` and splits its arguments. `prefix` is the number of
/// arguments expected in front of the instruction's own (4 for a request
/// forwarded by a worker, 1 for a reply carrying a REQID, else 0).
pub fn check(frame: &Frame, prefix: u16) -> Result<Checked<'_>, CheckError> {
    let Some(instr) = Instr::from_code(frame.instruction) else {
        return Err(CheckError::UnknownInstruction(frame.instruction));
    };
    let raw = instr.arity() == Arity::Raw;
    let numbered = frame.data_message_number != 0 || frame.data_message_max != 0;
    if raw != numbered {
        return Err(CheckError::Numbering {
            code: frame.instruction,
            number: frame.data_message_number,
            max: frame.data_message_max,
        });
    }
    let allowed = MessageType::from_u8(frame.message_type).is_some_and(|t| instr.allows(t));
    if !allowed {
        return Err(CheckError::WrongType(instr, frame.message_type));
    }
    let bad = |err| CheckError::Arguments(instr, err);
    let count = frame.argument_count;
    let (whole, expected, found) = match instr.arity() {
        Arity::Raw => (count == prefix, prefix, count as usize),
        Arity::Exact(n) => (
            count == n + prefix,
            n,
            count.saturating_sub(prefix) as usize,
        ),
        Arity::Any => (count >= prefix, prefix, count as usize),
    };
    if !whole {
        return Err(bad(ArgError::TooFew { expected, found }));
    }
    let mut all = match instr.arity() {
        Arity::Raw => split_prefix(&frame.data, prefix).map_err(bad)?.0,
        Arity::Exact(_) => args::split(&frame.data, count).map_err(bad)?,
        Arity::Any => args::split_all(&frame.data, count).map_err(bad)?,
    };
    let own = all.split_off(prefix as usize);
    Ok(Checked {
        instr,
        args: own,
        prefix: all,
    })
}

/// Splits `prefix` space-free arguments off the front of a raw chunk and
/// returns them with the rest of the chunk.
pub fn split_prefix(data: &[u8], prefix: u16) -> Result<(Vec<&str>, &[u8]), ArgError> {
    let mut head = Vec::with_capacity(prefix as usize);
    let mut rest = data;
    for i in 0..prefix as usize {
        let end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
        if end == 0 {
            return Err(ArgError::Empty(i));
        }
        let word =
            std::str::from_utf8(&rest[..end]).map_err(|e| ArgError::NotUtf8(e.valid_up_to()))?;
        head.push(word);
        rest = rest.get(end + 1..).unwrap_or(&[]);
    }
    Ok((head, rest))
}

/// A frame for `instr` with `args`, with the instruction's usual type.
///
/// Never panics, whatever the arguments hold: a frame that cannot be built
/// (an argument other than the last that is empty or holds a space, or
/// more than 65 536 bytes in all, as an echo of a peer's input could be)
/// is logged and replaced by the failure return of `instr` (or
/// `protocolError`) with `internal`, which always fits.
pub fn frame<S: AsRef<str>>(instr: Instr, args: &[S]) -> Frame {
    match args::join(args) {
        Ok((count, data)) => Frame::new(instr.kind(), instr.code(), count, data),
        Err(err) => {
            error!("cannot build a {} frame: {err}", instr.name());
            internal_failure(instr, args.first().map(AsRef::as_ref))
        }
    }
}

/// The failure that replaces a frame that could not be built: the failure
/// return of `instr` (the instruction itself when it is one), keeping a
/// REQID that stood first.
fn internal_failure(instr: Instr, first: Option<&str>) -> Frame {
    let refusal = matches!(instr, Instr::LinkRefused | Instr::Kick);
    let answer = if instr.is_failure() || refusal {
        instr
    } else {
        Instr::ProtocolError
    };
    let reason = Reason::new(
        ReasonCode::Internal,
        "the answer could not be built; nothing was changed",
    )
    .to_string();
    let reqid =
        first.filter(|w| (1..=20).contains(&w.len()) && w.bytes().all(|b| b.is_ascii_digit()));
    let (count, data) = match reqid {
        Some(reqid) => (2, format!("{reqid} {reason}")),
        None => (1, reason),
    };
    Frame::new(answer.kind(), answer.code(), count, data.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(code: u8, argc: u16, data: &[u8]) -> Frame {
        Frame::new(MessageType::Command, code, argc, data.to_vec())
    }

    #[test]
    fn login_checks() {
        let f = command(1, 3, b"alice pw false");
        let req = check(&f, 0).expect("valid");
        assert_eq!(req.instr, Instr::Login);
        assert_eq!(req.args, ["alice", "pw", "false"]);
    }

    #[test]
    fn unknown_instruction_stays_open() {
        let err = check(&command(199, 0, b""), 0).expect_err("unknown");
        assert!(!err.closes());
        let reply = crate::reply::Reply::checked(&err).encode(None);
        assert_eq!(reply.instruction, Instr::ProtocolError.code());
        assert_eq!(reply.data, b"protocol unknown instruction 199");
    }

    #[test]
    fn wrong_type_stays_open() {
        let f = Frame::new(MessageType::Data, 1, 3, b"alice pw false".to_vec());
        let err = check(&f, 0).expect_err("login as data");
        assert_eq!(err, CheckError::WrongType(Instr::Login, 2));
        assert!(!err.closes());
        let f = Frame::new(
            MessageType::Data,
            6,
            2,
            b"0f1e2d3c4b5a69788796a5b4c3d2e1f0 data".to_vec(),
        );
        assert!(check(&f, 0).is_ok(), "switchState may travel as data");
    }

    #[test]
    fn argument_count_mismatch_gets_failure_return() {
        let err = check(&command(1, 2, b"alice pw false"), 0).expect_err("count");
        let reply = crate::reply::Reply::checked(&err).encode(None);
        assert_eq!(reply.instruction, Instr::LoginFail.code());
        let text = String::from_utf8(reply.data).expect("utf8");
        assert!(
            text.starts_with("bad-arguments login takes 3 arguments"),
            "{text}"
        );
        let err = check(&command(3, 3, b"alice alice@example.com"), 0).expect_err("short");
        let reply = crate::reply::Reply::checked(&err).encode(None);
        assert_eq!(reply.instruction, Instr::RegisterFail.code());
    }

    #[test]
    fn numbering_on_a_command_closes() {
        let mut f = command(1, 3, b"alice pw false");
        f.data_message_number = 1;
        let err = check(&f, 0).expect_err("numbered login");
        assert!(err.closes());
        let data = Frame::new(MessageType::Return, 42, 0, b"x".to_vec());
        assert!(check(&data, 0).expect_err("unnumbered data").closes());
    }

    #[test]
    fn forwarded_prefix_is_split_off() {
        let f = command(
            7,
            5,
            b"uuid 17 1732147205000 127.0.0.1:5000 0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        );
        let req = check(&f, 4).expect("forwarded logout");
        assert_eq!(
            req.prefix,
            ["uuid", "17", "1732147205000", "127.0.0.1:5000"]
        );
        assert_eq!(req.args, ["0f1e2d3c4b5a69788796a5b4c3d2e1f0"]);
        let mut data = Frame::new(MessageType::Return, 42, 1, b"17 chunk with spaces".to_vec());
        data.data_message_number = 1;
        data.data_message_max = 1;
        assert_eq!(check(&data, 1).expect("reqid data").prefix, ["17"]);
        assert_eq!(split_prefix(b"17 a b", 1), Ok((vec!["17"], &b"a b"[..])));
    }

    #[test]
    fn a_frame_that_cannot_be_built_becomes_an_internal_failure() {
        let huge = "x".repeat(70_000);
        let f = frame(Instr::StateSwitchFail, &[format!("bad-arguments {huge}")]);
        assert_eq!(f.instruction, Instr::StateSwitchFail.code());
        assert!(f.data.starts_with(b"internal "), "{:?}", &f.data[..20]);
        let f = frame(Instr::SessionId, &["17", &huge]);
        assert_eq!(f.instruction, Instr::ProtocolError.code());
        assert!(f.data.starts_with(b"17 internal "), "the REQID stays first");
        let f = frame(Instr::WorkerList, &["a b", "c"]);
        assert_eq!(f.instruction, Instr::ProtocolError.code());
        assert_eq!(f.argument_count, 1);
        for failure in [Instr::OrderFail, Instr::CancelFail, Instr::ResetFail] {
            let f = frame(failure, &["9", &huge]);
            assert_eq!(f.instruction, failure.code(), "{}", failure.name());
        }
    }

    #[test]
    fn frame_builder_matches_vectors() {
        let f = frame(Instr::Ping, &["42"]);
        assert_eq!(
            f.to_bytes(),
            [4, 69, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, b'4', b'2']
        );
    }
}

//! ptwire: turns instruction names and arguments into PaperTrader frames and
//! frames into readable lines, so that nc(1) is a usable client.
//!
//! `ptwire encode NAME [ARG...]`, `ptwire decode [-x]`, `ptwire list`.
//! See ptwire(1).

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::process::ExitCode;

use papertrader_common::instr::{Arity, TABLE};
use papertrader_common::message::split_prefix;
use papertrader_common::{Decoder, Frame, HEADER_LEN, Instr, MAX_DATA, MessageType, args};

const EX_USAGE: u8 = 64;
const EX_DATAERR: u8 = 65;
const EX_IOERR: u8 = 74;

const USAGE: &str =
    "usage: ptwire encode [--type TYPE] [--code CODE] [--argc N] [--packet N/MAX] NAME [ARG ...]
       ptwire decode [-x]
       ptwire list";

/// A failure with the exit status it maps to.
struct Failure {
    status: u8,
    message: String,
}

fn fail(status: u8, message: impl Into<String>) -> Failure {
    Failure {
        status,
        message: message.into(),
    }
}

fn main() -> ExitCode {
    let mut argv = std::env::args_os().skip(1);
    let command = argv.next().map(|c| c.to_string_lossy().into_owned());
    let rest: Vec<_> = argv.collect();
    let result = match command.as_deref() {
        Some("encode") => encode(rest),
        Some("decode") => decode(rest),
        Some("list") if rest.is_empty() => list(),
        Some("-h" | "--help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(fail(EX_USAGE, USAGE)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("ptwire: {}", f.message);
            ExitCode::from(f.status)
        }
    }
}

/// What `encode` was asked to build.
#[derive(Default)]
struct EncodeOpts {
    kind: Option<u8>,
    code: Option<u8>,
    argc: Option<u16>,
    packet: Option<(u32, u32)>,
    name: Option<String>,
    args: Vec<String>,
}

fn parse_encode(argv: Vec<std::ffi::OsString>) -> Result<EncodeOpts, Failure> {
    use lexopt::prelude::*;
    let usage = |e: lexopt::Error| fail(EX_USAGE, format!("{e}\n{USAGE}"));
    let mut opts = EncodeOpts::default();
    let mut parser = lexopt::Parser::from_args(argv);
    while let Some(arg) = parser.next().map_err(usage)? {
        match arg {
            Long("type") => {
                let v = parser.value().map_err(usage)?.string().map_err(usage)?;
                let kind = MessageType::from_name(&v)
                    .map(|t| t as u8)
                    .or_else(|| v.parse().ok());
                opts.kind = Some(kind.ok_or_else(|| {
                    fail(
                        EX_USAGE,
                        format!("--type {v:?}: expected command, data, return, control or 0-255"),
                    )
                })?);
            }
            Long("code") => {
                opts.code = Some(parser.value().map_err(usage)?.parse().map_err(usage)?)
            }
            Long("argc") => {
                opts.argc = Some(parser.value().map_err(usage)?.parse().map_err(usage)?)
            }
            Long("packet") => {
                let v = parser.value().map_err(usage)?.string().map_err(usage)?;
                opts.packet = Some(parse_packet(&v)?);
            }
            Value(name) => {
                opts.name = Some(name.string().map_err(usage)?);
                for raw in parser.raw_args().map_err(usage)? {
                    let arg = raw
                        .into_string()
                        .map_err(|a| fail(EX_USAGE, format!("argument {a:?} is not UTF-8")))?;
                    opts.args.push(arg);
                }
            }
            other => return Err(usage(other.unexpected())),
        }
    }
    Ok(opts)
}

fn parse_packet(text: &str) -> Result<(u32, u32), Failure> {
    let parsed = text
        .split_once('/')
        .and_then(|(n, m)| Some((n.parse().ok()?, m.parse().ok()?)));
    parsed.ok_or_else(|| {
        fail(
            EX_USAGE,
            format!("--packet {text:?}: expected N/MAX, like 1/2"),
        )
    })
}

fn encode(argv: Vec<std::ffi::OsString>) -> Result<(), Failure> {
    let opts = parse_encode(argv)?;
    let instr = match (&opts.name, opts.code) {
        (Some(name), None) => Some(Instr::from_name(name).ok_or_else(|| {
            fail(
                EX_USAGE,
                format!("unknown instruction {name:?}; `ptwire list` shows them all"),
            )
        })?),
        (Some(name), Some(_)) => Instr::from_name(name),
        (None, Some(code)) => Instr::from_code(code),
        (None, None) => return Err(fail(EX_USAGE, USAGE)),
    };
    let raw = instr.is_some_and(|i| i.arity() == Arity::Raw);
    let (count, data) = if raw && opts.argc.is_none() {
        (0, read_chunk()?)
    } else {
        let (count, data) = args::join(&opts.args).map_err(|e| fail(EX_USAGE, e.to_string()))?;
        check_count(instr, count, opts.argc.is_some() || opts.name.is_none())?;
        (count, data)
    };
    let (number, max) = match opts.packet {
        Some(p) => p,
        None if raw => (1, 1),
        None => (0, 0),
    };
    let frame = Frame {
        message_type: opts
            .kind
            .or(instr.map(|i| i.kind() as u8))
            .unwrap_or(MessageType::Command as u8),
        instruction: opts.code.or(instr.map(Instr::code)).unwrap_or(0),
        argument_count: opts.argc.unwrap_or(count),
        data_message_number: number,
        data_message_max: max,
        data,
    };
    emit(&mut io::stdout().lock(), &frame.to_bytes())
}

/// Writes `bytes` to stdout at once.
fn emit(stdout: &mut impl Write, bytes: &[u8]) -> Result<(), Failure> {
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(|e| fail(EX_IOERR, format!("stdout: {e}")))
}

fn check_count(instr: Option<Instr>, count: u16, forced: bool) -> Result<(), Failure> {
    let Some(instr) = instr else { return Ok(()) };
    match instr.arity() {
        Arity::Exact(n) if n != count && !forced => Err(fail(
            EX_USAGE,
            format!(
                "{} takes {n} arguments ({}), got {count}; --argc forces a count",
                instr.name(),
                instr.spec().args
            ),
        )),
        _ => Ok(()),
    }
}

fn read_chunk() -> Result<Vec<u8>, Failure> {
    let mut chunk = Vec::new();
    io::stdin()
        .lock()
        .take(MAX_DATA as u64 + 1)
        .read_to_end(&mut chunk)
        .map_err(|e| fail(EX_IOERR, format!("stdin: {e}")))?;
    if chunk.len() > MAX_DATA {
        return Err(fail(
            EX_DATAERR,
            format!("the chunk on stdin exceeds {MAX_DATA} bytes"),
        ));
    }
    Ok(chunk)
}

fn decode(argv: Vec<std::ffi::OsString>) -> Result<(), Failure> {
    let hex = match argv
        .iter()
        .map(|a| a.to_str())
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => false,
        [Some("-x")] => true,
        _ => return Err(fail(EX_USAGE, USAGE)),
    };
    let mut stdin = io::stdin().lock();
    let mut stdout = io::stdout().lock();
    let mut decoder = Decoder::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match stdin.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(fail(EX_IOERR, format!("stdin: {e}"))),
        };
        if n == 0 {
            return at_eof(&decoder);
        }
        decoder.push(&buf[..n]);
        loop {
            let offset = decoder.consumed();
            let frame = match decoder.next_frame() {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(e) => return Err(fail(EX_DATAERR, e.to_string())),
            };
            let mut line = describe(&frame).map_err(|e| {
                fail(
                    EX_DATAERR,
                    format!("byte {}: {e}", offset + HEADER_LEN as u64),
                )
            })?;
            line.push('\n');
            if hex {
                line.push_str(&hex_dump(&frame.to_bytes(), offset));
            }
            emit(&mut stdout, line.as_bytes())?;
        }
    }
}

fn at_eof(decoder: &Decoder) -> Result<(), Failure> {
    let pending = decoder.pending();
    if pending == 0 {
        return Ok(());
    }
    Err(fail(
        EX_DATAERR,
        format!(
            "byte {}: truncated frame: input ends {pending} bytes into it",
            decoder.consumed()
        ),
    ))
}

/// One readable line for a frame: `TYPE NAME [N/MAX] ARGUMENTS`.
fn describe(frame: &Frame) -> Result<String, args::ArgError> {
    let kind = frame
        .kind()
        .map_or_else(|| frame.message_type.to_string(), |k| k.name().to_string());
    let instr = Instr::from_code(frame.instruction);
    let name = instr.map_or_else(
        || format!("#{}", frame.instruction),
        |i| i.name().to_string(),
    );
    let mut line = format!("{kind} {name}");
    if frame.data_message_number != 0 || frame.data_message_max != 0 {
        let _ = write!(
            line,
            " {}/{}",
            frame.data_message_number, frame.data_message_max
        );
    }
    if instr.is_some_and(|i| i.arity() == Arity::Raw) {
        let (prefix, chunk) = split_prefix(&frame.data, frame.argument_count)?;
        for word in prefix {
            let _ = write!(line, " {word}");
        }
        let _ = write!(line, " {}", quote(chunk));
    } else {
        for arg in args::split(&frame.data, frame.argument_count)? {
            line.push(' ');
            if arg.chars().any(|c| c == ' ' || c.is_control()) {
                line.push_str(&quote(arg.as_bytes()));
            } else {
                line.push_str(arg);
            }
        }
    }
    Ok(line)
}

/// `bytes` in double quotes with C-style escapes; invalid UTF-8 as `\xNN`.
fn quote(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                c if c.is_control() => {
                    let _ = write!(out, "\\x{:02x}", c as u32);
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out.push('"');
    out
}

/// An xxd(1)-style dump, offsets counted from the start of the stream.
fn hex_dump(bytes: &[u8], start: u64) -> String {
    let mut out = String::new();
    for (i, row) in bytes.chunks(16).enumerate() {
        let _ = write!(out, "{:08x}: ", start + 16 * i as u64);
        for col in 0..16 {
            match row.get(col) {
                Some(b) => {
                    let _ = write!(out, "{b:02x}");
                }
                None => out.push_str("  "),
            }
            if col % 2 == 1 {
                out.push(' ');
            }
        }
        out.push(' ');
        out.extend(row.iter().map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            }
        }));
        out.push('\n');
    }
    out
}

fn list() -> Result<(), Failure> {
    let mut out = String::from("code name                      type     arguments\n");
    for spec in TABLE {
        let shown = match spec.instr {
            Instr::SwitchState => "command|data".to_string(),
            _ => spec.kind.name().to_string(),
        };
        let _ = writeln!(
            out,
            "{:<4} {:<25} {:<8} {}",
            spec.instr.code(),
            spec.name,
            shown,
            spec.args
        );
    }
    io::stdout()
        .write_all(out.as_bytes())
        .map_err(|e| fail(EX_IOERR, format!("stdout: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use papertrader_common::message::frame;

    #[test]
    fn describes_arguments_and_quotes_reasons() {
        let f = frame(Instr::LoginFail, &["bad-credentials wrong password"]);
        assert_eq!(
            describe(&f).expect("ok"),
            "return loginFail \"bad-credentials wrong password\""
        );
        let f = frame(Instr::Login, &["alice", "abc", "false"]);
        assert_eq!(describe(&f).expect("ok"), "command login alice abc false");
    }

    #[test]
    fn describes_data_packets() {
        let mut f = Frame::new(MessageType::Return, 42, 0, b"1 2\n".to_vec());
        f.data_message_number = 1;
        f.data_message_max = 2;
        assert_eq!(describe(&f).expect("ok"), "return data 1/2 \"1 2\\n\"");
        let unknown = Frame::new(MessageType::Command, 199, 0, Vec::new());
        assert_eq!(describe(&unknown).expect("ok"), "command #199");
    }

    #[test]
    fn hex_dump_looks_like_xxd() {
        let dump = hex_dump(&[1, 8, 0, 0, b'a'], 16);
        assert_eq!(
            dump,
            "00000010: 0108 0000 61                             ....a\n"
        );
    }
}

//! ptctl: controls a running ptmasterd through its Unix socket. See ptctl(8).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

const EX_USAGE: u8 = 64;
const EX_UNAVAILABLE: u8 = 69;
const EX_SOFTWARE: u8 = 70;
const EX_CONFIG: u8 = 78;

const USAGE: &str = "usage: ptctl [-c config] [-s socket] status | workers | kick NAME | reload |
             sessions | audit | account NAME | backup FILE | log flush";
/// An audit that found disagreements.
const EXIT_FAIL: u8 = 1;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err((status, message)) => {
            eprintln!("ptctl: {message}");
            ExitCode::from(status)
        }
    }
}

fn run() -> Result<(), (u8, String)> {
    use lexopt::prelude::*;
    let usage = |e: lexopt::Error| (EX_USAGE, format!("{e}\n{USAGE}"));
    let mut parser = lexopt::Parser::from_env();
    let (mut socket, mut config, mut words) = (None::<PathBuf>, None::<PathBuf>, Vec::new());
    while let Some(arg) = parser.next().map_err(usage)? {
        match arg {
            Short('s') => socket = Some(parser.value().map_err(usage)?.into()),
            Short('c') => config = Some(parser.value().map_err(usage)?.into()),
            Short('h') | Long("help") => {
                println!("{USAGE}");
                return Ok(());
            }
            Value(word) => words.push(word.string().map_err(usage)?),
            other => return Err(usage(other.unexpected())),
        }
    }
    let valid = matches!(
        words
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice(),
        ["status"]
            | ["workers"]
            | ["kick", _]
            | ["reload"]
            | ["sessions"]
            | ["audit"]
            | ["account", _]
            | ["backup", _]
            | ["log", "flush"]
    );
    if !valid {
        return Err((EX_USAGE, USAGE.to_string()));
    }
    // The master writes the copy: it gets the file's absolute name, on one
    // line.
    if words[0] == "backup" {
        let file =
            std::path::absolute(&words[1]).map_err(|e| (EX_USAGE, format!("{}: {e}", words[1])))?;
        let file = file
            .to_str()
            .filter(|f| !f.contains(['\n', '\r']) && f.len() < 1000)
            .ok_or_else(|| (EX_USAGE, format!("{:?}: not a usable file name", words[1])))?;
        words[1] = file.to_string();
    }
    let socket = match socket {
        Some(path) => path,
        None => {
            let config = papertrader_master::config::Config::load(config.as_deref())
                .map_err(|e| (EX_CONFIG, e.to_string()))?;
            config.control_socket
        }
    };
    let answer = ask(&socket, &words.join(" "))?;
    match answer.split_once('\n') {
        Some(("ok", body)) => {
            print!("{body}");
            Ok(())
        }
        Some(("fail", body)) => {
            print!("{body}");
            Err((EXIT_FAIL, "the audit found disagreements".to_string()))
        }
        _ => Err((
            EX_SOFTWARE,
            answer.trim_end().trim_start_matches("error ").to_string(),
        )),
    }
}

fn ask(socket: &PathBuf, line: &str) -> Result<String, (u8, String)> {
    let unavailable = |e: std::io::Error| {
        (
            EX_UNAVAILABLE,
            format!(
                "cannot reach {}: {e} (is ptmasterd running?)",
                socket.display()
            ),
        )
    };
    let mut stream = UnixStream::connect(socket).map_err(unavailable)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(300)))
        .map_err(unavailable)?;
    writeln!(stream, "{line}").map_err(unavailable)?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).map_err(unavailable)?;
    Ok(answer)
}

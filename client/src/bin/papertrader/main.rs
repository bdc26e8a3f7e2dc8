//! papertrader(1): the command people use to register, log in, look up
//! prices and trade on a PaperTrader worker. Single-threaded: parse the
//! command line, read the config file, run one command (or the shell) over
//! one blocking connection, exit with a sysexits(3) status.

mod account;
mod args;
mod chart;
mod cli;
mod commands;
mod config;
mod context;
mod error;
mod external;
mod games;
mod keys;
mod market;
mod numbers;
mod oidc;
mod orders;
mod output;
mod password;
mod portfolios;
mod rules;
mod session;
mod shell;
mod views;
mod watchlist;

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

use crate::cli::{Cli, Cmd};
use crate::context::Context;
use crate::error::{CliError, status};
use crate::output::Output;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // Help goes to stdout, errors (and help for a missing command)
            // to stderr; only asked-for help and --version succeed.
            let _ = err.print();
            return match err.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => ExitCode::SUCCESS,
                _ => ExitCode::from(status::USAGE),
            };
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            report(&err);
            ExitCode::from(err.status)
        }
    }
}

fn run(cli: Cli) -> Result<(), CliError> {
    let target = config::resolve(cli.server, cli.master)?;
    let tls = config::resolve_tls(cli.ca)?;
    let mut ctx = Context::new(target, Output::detect(cli.json));
    ctx.set_tls(tls);
    match cli.command {
        Cmd::Shell => {
            ctx.in_shell = true;
            shell::run(&mut ctx)
        }
        cmd => commands::run(&mut ctx, cmd),
    }
}

/// `papertrader: MESSAGE` on stderr, one line per line of the message (a
/// config file may have several bad lines); nothing for an empty message
/// (the shell has printed its errors already).
fn report(err: &CliError) {
    for line in err.message.lines() {
        eprintln!("papertrader: {line}");
    }
}

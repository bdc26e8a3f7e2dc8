//! `papertrader shell`: an interactive prompt on the main thread. Each line
//! is split into words and run by `commands::dispatch`, exactly as if it had
//! been given on the command line; rustyline does the editing, the history
//! (`<state_dir>/history`, mode 0600) and the Tab completion.
//!
//! The completer cannot borrow the `Context` while the editor runs, so the
//! shell fetches the asset symbols once before the loop and again after
//! each `login` or `logout` (or after any command that works while it has
//! none), and hands the `Helper` a copy.

use std::fs;
use std::io::{self, IsTerminal};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::{DefaultHistory, History};
use rustyline::validate::Validator;
use rustyline::{CompletionType, Config, Editor, Helper};

use clap::CommandFactory;

use crate::cli::Line;
use crate::commands::{COMMANDS, dispatch};
use crate::context::Context;
use crate::error::CliError;

const PROMPT: &str = "papertrader> ";
const HISTORY_FILE: &str = "history";
const HISTORY_LINES: usize = 1000;

/// Commands whose first argument is an asset symbol; `quote` takes several.
const SYMBOL_COMMANDS: &[&str] = &["buy", "sell", "quote", "info", "history"];
/// What `watchlist` does besides listing; each takes symbols.
const WATCHLIST_ACTIONS: &[&str] = &["add", "remove"];
/// What `portfolio` does besides showing holdings.
const PORTFOLIO_ACTIONS: &[&str] = &["create", "list", "use", "rename", "close"];
/// What `game` does.
const GAME_ACTIONS: &[&str] = &[
    "create",
    "change",
    "join",
    "list",
    "show",
    "standings",
    "holdings",
    "leave",
    "remove",
    "code",
];
/// The ranges of `history SYMBOL RANGE`.
const RANGES: &[&str] = &["day", "week", "month", "year", "all"];
/// Words that leave the shell. `quit` completes only when nothing else
/// does, so that `qu` Tab still gives `quote`.
const EXIT_WORDS: &[&str] = &["exit", "quit"];

/// Runs the shell until `exit`, `quit` or end of input.
///
/// A failed command prints its message and the prompt continues. When
/// stdin is not a terminal (a script piped in), the shell then ends with
/// the status of the last failed command, so scripts can check it.
pub fn run(ctx: &mut Context) -> Result<(), CliError> {
    let interactive = io::stdin().is_terminal();
    let mut editor = editor()?;
    let history = ctx.state_dir().join(HISTORY_FILE);
    load_history(&mut editor, &history);
    editor.set_helper(Some(ShellHelper::new(ctx.symbols())));

    let mut failed: Option<CliError> = None;
    loop {
        let line = match editor.readline(PROMPT) {
            Ok(line) => line,
            // Ctrl-C drops the line being typed, as in sh.
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(err) => {
                save_history(&mut editor, &history);
                return Err(CliError::io(format!("reading the command line: {err}")));
            }
        };
        let words = match split(&line) {
            Ok(words) => words,
            Err(err) => {
                report(&err);
                failed = Some(err);
                continue;
            }
        };
        let Some(first) = words.first() else { continue };
        if EXIT_WORDS.contains(&first.as_str()) {
            break;
        }
        // Saved after every line, so a shell killed mid-command keeps it.
        save_history(&mut editor, &history);
        // `shell` itself is refused by dispatch.
        match dispatch(ctx, &words) {
            Ok(()) => refresh_symbols(&mut editor, ctx, first),
            Err(err) => {
                report(&err);
                failed = Some(err);
            }
        }
    }
    save_history(&mut editor, &history);
    match failed {
        // The message was printed when the command failed.
        Some(err) if !interactive => Err(CliError::new(err.status, "")),
        _ => Ok(()),
    }
}

/// Gives the completer the symbols of the (new) session after `login` and
/// `logout`, or once a command has worked when it has none yet (the
/// server was down at start). `Context` caches the list, so this is cheap.
fn refresh_symbols(editor: &mut Editor<ShellHelper, DefaultHistory>, ctx: &mut Context, cmd: &str) {
    if let Some(helper) = editor.helper_mut()
        && (helper.symbols.is_empty() || matches!(cmd, "login" | "logout"))
    {
        helper.symbols = ctx.symbols();
    }
}

fn report(err: &CliError) {
    eprintln!("papertrader: {err}");
}

fn editor() -> Result<Editor<ShellHelper, DefaultHistory>, CliError> {
    let config = Config::builder()
        .completion_type(CompletionType::List)
        .auto_add_history(true)
        .history_ignore_space(true)
        .max_history_size(HISTORY_LINES)
        .and_then(|b| b.history_ignore_dups(true))
        .map_err(|err| CliError::software(format!("line editor: {err}")))?
        .build();
    Editor::with_config(config).map_err(|err| CliError::software(format!("line editor: {err}")))
}

/// Loads the history file; a missing one is a first run, anything else is
/// worth a warning but not worth refusing to start.
fn load_history(editor: &mut Editor<ShellHelper, DefaultHistory>, path: &Path) {
    match editor.load_history(path) {
        Ok(()) => {}
        Err(ReadlineError::Io(err)) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => eprintln!("papertrader: {}: {err}", path.display()),
    }
}

/// Saves the history file, readable by its owner only: commands name
/// users and positions.
fn save_history(editor: &mut Editor<ShellHelper, DefaultHistory>, path: &Path) {
    if editor.history().is_empty() {
        return;
    }
    if let Err(err) = editor.save_history(path) {
        eprintln!("papertrader: {}: {err}", path.display());
        return;
    }
    if let Err(err) = fs::set_permissions(path, fs::Permissions::from_mode(0o600)) {
        eprintln!("papertrader: {}: {err}", path.display());
    }
}

/// Splits a line on whitespace; `"..."` makes one word of what it holds
/// (spaces included, `""` an empty word), `\"` and `\\` inside quotes are a
/// quote and a backslash.
fn split(line: &str) -> Result<Vec<String>, CliError> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(e @ ('"' | '\\')) => word.push(e),
                            Some(other) => {
                                word.push('\\');
                                word.push(other);
                            }
                            None => return Err(unclosed()),
                        },
                        Some(other) => word.push(other),
                        None => return Err(unclosed()),
                    }
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

fn unclosed() -> CliError {
    CliError::usage("unclosed double quote")
}

/// A `--long` option of a command, as the parser knows it.
struct Flag {
    name: String,
    takes_value: bool,
}

/// The rustyline helper: completion only, the rest are no-ops.
struct ShellHelper {
    symbols: Vec<String>,
    /// Each command's options, taken from the parser so they never drift.
    flags: Vec<(String, Vec<Flag>)>,
}

impl ShellHelper {
    fn new(symbols: Vec<String>) -> ShellHelper {
        ShellHelper {
            symbols,
            flags: flag_table(),
        }
    }

    fn flags_of(&self, cmd: &str) -> Option<&[Flag]> {
        self.flags
            .iter()
            .find(|(name, _)| name == cmd)
            .map(|(_, flags)| flags.as_slice())
    }

    /// The options of the command the words `before` start: a
    /// subcommand's (`game create`) when the second word names one.
    fn flags_for(&self, before: &[&str]) -> &[Flag] {
        let sub = match before {
            [cmd, sub, ..] => self.flags_of(&format!("{cmd} {sub}")),
            _ => None,
        };
        let cmd = before.first().and_then(|cmd| self.flags_of(cmd));
        sub.or(cmd).unwrap_or(&[])
    }

    /// Candidates for the word starting with `prefix` that follows the
    /// words `before`.
    fn candidates(&self, before: &[&str], prefix: &str) -> Vec<String> {
        let flags = self.flags_for(before);
        let takes_value = |word: &str| flags.iter().any(|f| f.name == word && f.takes_value);
        if before.last().is_some_and(|w| takes_value(w)) {
            // A price, a file name: nothing to offer.
            return Vec::new();
        }
        if prefix.starts_with('-') {
            let mut found: Vec<String> = flags
                .iter()
                .filter(|f| f.name.starts_with(prefix) && !before.contains(&f.name.as_str()))
                .map(|f| f.name.clone())
                .collect();
            found.sort();
            return found;
        }
        // The arguments, without the options and their values.
        let mut words: Vec<&str> = Vec::new();
        let mut skip = false;
        for &word in before {
            if std::mem::take(&mut skip) {
                continue;
            }
            if word.starts_with("--") {
                skip = takes_value(word);
                continue;
            }
            words.push(word);
        }
        match words.as_slice() {
            [] => commands(prefix),
            ["quote", ..] => symbols(&self.symbols, prefix),
            ["watchlist"] => WATCHLIST_ACTIONS
                .iter()
                .filter(|a| a.starts_with(prefix))
                .map(|a| a.to_string())
                .collect(),
            ["watchlist", "add" | "remove", ..] => symbols(&self.symbols, prefix),
            ["portfolio"] => words_from(PORTFOLIO_ACTIONS, prefix),
            ["game"] => words_from(GAME_ACTIONS, prefix),
            [cmd] if SYMBOL_COMMANDS.contains(cmd) => symbols(&self.symbols, prefix),
            ["history", _] => RANGES
                .iter()
                .filter(|r| starts_with_ignore_case(r, prefix))
                .map(|r| r.to_string())
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// Every command's `--long` options (`--json` and `--help` included),
/// and every subcommand's under `command subcommand` (`game create`).
fn flag_table() -> Vec<(String, Vec<Flag>)> {
    let mut line = Line::command();
    line.build();
    let mut table = Vec::new();
    for cmd in line.get_subcommands() {
        table.push((cmd.get_name().to_string(), flags_of(cmd)));
        for sub in cmd.get_subcommands() {
            let name = format!("{} {}", cmd.get_name(), sub.get_name());
            table.push((name, flags_of(sub)));
        }
    }
    table
}

fn flags_of(cmd: &clap::Command) -> Vec<Flag> {
    cmd.get_arguments()
        .filter_map(|arg| {
            Some(Flag {
                name: format!("--{}", arg.get_long()?),
                takes_value: arg.get_action().takes_values(),
            })
        })
        .collect()
}

/// The words of `all` starting with `prefix`.
fn words_from(all: &[&str], prefix: &str) -> Vec<String> {
    all.iter()
        .filter(|w| w.starts_with(prefix))
        .map(|w| w.to_string())
        .collect()
}

/// Command names starting with `prefix`, `exit` among them; `quit` only
/// when nothing else matches.
fn commands(prefix: &str) -> Vec<String> {
    let mut names: Vec<String> = COMMANDS
        .iter()
        .chain(&EXIT_WORDS[..1])
        .filter(|c| c.starts_with(prefix) && **c != "shell")
        .map(|c| c.to_string())
        .collect();
    if names.is_empty() && EXIT_WORDS[1].starts_with(prefix) {
        names.push(EXIT_WORDS[1].to_string());
    }
    names.sort();
    names.dedup();
    names
}

/// Symbols starting with `prefix` in any case, upper-cased.
fn symbols(all: &[String], prefix: &str) -> Vec<String> {
    let mut found: Vec<String> = all
        .iter()
        .filter(|s| starts_with_ignore_case(s, prefix))
        .map(|s| s.to_ascii_uppercase())
        .collect();
    found.sort();
    found.dedup();
    found
}

fn starts_with_ignore_case(word: &str, prefix: &str) -> bool {
    word.len() >= prefix.len()
        && word.is_char_boundary(prefix.len())
        && word[..prefix.len()].eq_ignore_ascii_case(prefix)
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let head = &line[..pos];
        let start = head
            .char_indices()
            .rev()
            .find(|(_, c)| c.is_whitespace())
            .map_or(0, |(i, c)| i + c.len_utf8());
        let prefix = &head[start..];
        if prefix.starts_with('"') {
            return Ok((start, Vec::new()));
        }
        let before: Vec<&str> = head[..start].split_whitespace().collect();
        let pairs = self
            .candidates(&before, prefix)
            .into_iter()
            .map(|word| Pair {
                // A finished word is followed by a space, as in sh.
                replacement: format!("{word} "),
                display: word,
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}

impl Highlighter for ShellHelper {}

impl Validator for ShellHelper {}

impl Helper for ShellHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        split(line).unwrap_or_else(|err| panic!("{line}: {err}"))
    }

    #[test]
    fn splits_on_whitespace_and_double_quotes() {
        assert_eq!(words("  buy  AAPL\t10 "), ["buy", "AAPL", "10"]);
        assert_eq!(
            words(r#"register bob "b@example.com" x"y z"w"#),
            ["register", "bob", "b@example.com", "xy zw"]
        );
        assert_eq!(words(r#"a "" b"#), ["a", "", "b"]);
        assert_eq!(words(r#""say \"hi\" \\ \n""#), [r#"say "hi" \ \n"#]);
        assert!(words("   ").is_empty());
        let err = split(r#"buy "AAPL"#).expect_err("unclosed");
        assert_eq!(err.status, 64);
    }

    fn helper() -> ShellHelper {
        ShellHelper::new(vec!["AAPL".into(), "AMZN".into(), "MSFT".into()])
    }

    #[test]
    fn completes_commands_with_quit_only_when_alone() {
        let h = helper();
        assert_eq!(h.candidates(&[], "bu"), ["buy"]);
        assert_eq!(h.candidates(&[], "qu"), ["quote"]);
        assert_eq!(h.candidates(&[], "qui"), ["quit"]);
        assert_eq!(h.candidates(&[], "ex"), ["exit"]);
        assert!(h.candidates(&[], "sh").is_empty(), "shell is refused here");
        assert!(h.candidates(&[], "zz").is_empty());
    }

    #[test]
    fn completes_symbols_and_ranges() {
        let h = helper();
        assert_eq!(h.candidates(&["quote"], "a"), ["AAPL", "AMZN"]);
        assert_eq!(h.candidates(&["quote", "AAPL"], "ms"), ["MSFT"]);
        assert_eq!(h.candidates(&["buy"], "Aa"), ["AAPL"]);
        assert!(h.candidates(&["buy", "AAPL"], "1").is_empty());
        assert_eq!(h.candidates(&["history", "AAPL"], "m"), ["month"]);
        assert_eq!(h.candidates(&["history", "AAPL"], ""), RANGES);
        assert!(h.candidates(&["portfolio"], "a").is_empty());
        assert_eq!(h.candidates(&["watchlist"], "a"), ["add"]);
        assert_eq!(h.candidates(&["watchlist", "add", "AAPL"], "ms"), ["MSFT"]);
        assert_eq!(
            h.candidates(&["watchlist", "remove"], "a"),
            ["AAPL", "AMZN"]
        );
    }

    #[test]
    fn completes_the_order_and_account_commands() {
        let h = helper();
        assert_eq!(h.candidates(&[], "or"), ["orders"]);
        assert_eq!(h.candidates(&[], "ca"), ["cancel"]);
        assert_eq!(h.candidates(&[], "eq"), ["equity"]);
        assert_eq!(h.candidates(&[], "le"), ["leaderboard"]);
        assert_eq!(h.candidates(&[], "re"), ["register", "replace", "reset"]);
        assert!(h.candidates(&["cancel"], "1").is_empty());
    }

    #[test]
    fn completes_options_from_the_parser() {
        let h = helper();
        assert_eq!(
            h.candidates(&["buy", "AAPL", "10"], "--"),
            [
                "--gtc",
                "--help",
                "--json",
                "--limit",
                "--notional",
                "--oco",
                "--stop",
                "--stop-loss",
                "--take-profit",
                "--tif",
                "--trail"
            ]
        );
        assert_eq!(h.candidates(&["sell", "AAPL", "10"], "--l"), ["--limit"]);
        assert_eq!(
            h.candidates(&["buy", "AAPL", "10", "--limit", "170"], "--"),
            [
                "--gtc",
                "--help",
                "--json",
                "--notional",
                "--oco",
                "--stop",
                "--stop-loss",
                "--take-profit",
                "--tif",
                "--trail"
            ]
        );
        assert!(
            h.candidates(&["buy", "AAPL", "10", "--limit"], "")
                .is_empty()
        );
        assert!(
            h.candidates(&["buy", "AAPL", "10", "--stop"], "1")
                .is_empty()
        );
        assert_eq!(h.candidates(&["buy", "--gtc"], "aa"), ["AAPL"]);
        assert_eq!(
            h.candidates(&["reset"], "--"),
            ["--help", "--json", "--password-file", "--with", "--yes"]
        );
        assert!(h.candidates(&["reset", "--password-file"], "x").is_empty());
        assert_eq!(h.candidates(&["orders"], "--o"), ["--open"]);
        assert!(h.candidates(&["orders", "--open"], "--o").is_empty());
        assert_eq!(h.candidates(&["equity"], "--c"), ["--csv"]);
        assert_eq!(h.candidates(&["history", "AAPL"], "--c"), ["--csv"]);
        assert_eq!(h.candidates(&["history", "--csv", "AAPL"], "w"), ["week"]);
        assert!(h.candidates(&[], "--").is_empty());
    }

    #[test]
    fn completes_portfolio_and_game_subcommands_and_their_options() {
        let h = helper();
        assert_eq!(h.candidates(&["portfolio"], "c"), ["create", "close"]);
        assert_eq!(h.candidates(&["game"], "s"), ["show", "standings"]);
        assert_eq!(
            h.candidates(&["game", "create", "Cup"], "--st"),
            ["--start"]
        );
        assert_eq!(
            h.candidates(&["game", "create", "Cup", "--start", "now"], "--no-"),
            ["--no-fractional", "--no-late", "--no-resets", "--no-short"]
        );
        assert!(h.candidates(&["game", "create", "--cash"], "").is_empty());
        assert_eq!(
            h.candidates(&["portfolio", "create", "x"], "--c"),
            ["--cash"]
        );
        assert!(h.candidates(&["game", "show"], "").is_empty());
        // The lists hold every subcommand the parser knows.
        let line = Line::command();
        for (cmd, actions) in [("portfolio", PORTFOLIO_ACTIONS), ("game", GAME_ACTIONS)] {
            let sub = line.find_subcommand(cmd).expect(cmd);
            let names: Vec<&str> = sub.get_subcommands().map(|c| c.get_name()).collect();
            assert_eq!(names, actions, "{cmd}");
        }
    }

    #[test]
    fn completion_replaces_the_word_under_the_cursor() {
        let h = helper();
        let history = DefaultHistory::new();
        let ctx = rustyline::Context::new(&history);
        let (start, pairs) = h.complete("quote AA", 8, &ctx).expect("complete");
        assert_eq!(start, 6);
        assert_eq!(pairs.len(), 1);
        assert_eq!(pairs[0].replacement, "AAPL ");
        let (start, pairs) = h.complete("bu", 2, &ctx).expect("complete");
        assert_eq!((start, pairs[0].replacement.as_str()), (0, "buy "));
        let (start, pairs) = h.complete("buy AAPL 1 --li", 15, &ctx).expect("complete");
        assert_eq!((start, pairs[0].replacement.as_str()), (11, "--limit "));
    }
}

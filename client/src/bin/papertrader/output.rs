//! How `papertrader` prints: aligned tables with bold headers and coloured
//! gains on a terminal; tab-separated plain text when piped, stable for
//! scripts; JSON with `--json`. Money keeps its exact four fraction digits
//! everywhere; thousands separators appear only in output meant for people
//! (terminal tables and sentences), never in piped tables, CSV or JSON.

use std::io::{self, IsTerminal, Write};

use papertrader_common::value::{Money, Shares};

use crate::error::CliError;
pub use crate::numbers::{
    amount, human_money, human_number, human_shares, iso_time, json_money, json_shares, percent,
    signed_money,
};

/// Output settings, fixed when the command starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Output {
    /// `--json`: read commands print JSON.
    pub json: bool,
    /// Standard output is a terminal: aligned tables, charts.
    pub tty: bool,
    /// ANSI colour and bold: a terminal and no `NO_COLOR`.
    pub colour: bool,
    /// Standard error is a terminal: progress bars and status lines.
    pub stderr_tty: bool,
}

impl Output {
    /// Settings from the environment: terminals and `NO_COLOR` (any value).
    pub fn detect(json: bool) -> Output {
        let tty = io::stdout().is_terminal();
        Output {
            json,
            tty,
            colour: tty && std::env::var_os("NO_COLOR").is_none(),
            stderr_tty: io::stderr().is_terminal(),
        }
    }

    /// Plain settings, for tests and pipes.
    #[cfg(test)]
    pub fn plain() -> Output {
        Output {
            json: false,
            tty: false,
            colour: false,
            stderr_tty: false,
        }
    }

    /// Money for a table cell: separators on a terminal only.
    pub fn money(&self, m: Money) -> String {
        if self.tty {
            human_money(m)
        } else {
            m.to_string()
        }
    }

    /// A whole number for a table cell: separators on a terminal only.
    pub fn number(&self, n: u64) -> String {
        if self.tty {
            human_number(n)
        } else {
            n.to_string()
        }
    }

    /// A share count for a table cell: separators on a terminal only.
    pub fn shares(&self, n: Shares) -> String {
        if self.tty {
            human_shares(n)
        } else {
            n.to_string()
        }
    }

    /// A gain or loss for a table cell: `+22.5000` with separators on a
    /// terminal, the plain `22.5000` / `-3.0000` when piped.
    pub fn signed(&self, m: Money) -> String {
        if self.tty {
            signed_money(m, true)
        } else {
            m.to_string()
        }
    }

    /// `part / whole` in percent with a `%`: `+1.50%` on a terminal,
    /// `1.50%` when piped; empty when `whole` is 0.
    pub fn percent(&self, part: Money, whole: Money) -> String {
        match percent(part, whole) {
            Some(p) if self.tty => format!("{p}%"),
            Some(p) => format!("{}%", p.trim_start_matches('+')),
            None => String::new(),
        }
    }

    /// `text` in bold when colour is on.
    pub fn bold(&self, text: &str) -> String {
        self.paint(text, "1")
    }

    /// `text` green when `up`, red when down, plain when zero or no colour.
    pub fn gain(&self, text: &str, sign: i64) -> String {
        match sign.signum() {
            1 => self.paint(text, "32"),
            -1 => self.paint(text, "31"),
            _ => text.to_string(),
        }
    }

    fn paint(&self, text: &str, sgr: &str) -> String {
        // Nothing to paint: no escapes around an empty header cell.
        if self.colour && !text.is_empty() {
            format!("\x1b[{sgr}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// Writes `text` to standard output; a closed pipe is not an error worth
/// a message, but any other write failure is a local I/O error.
pub fn print(text: &str) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(err) => Err(CliError::io(format!("standard output: {err}"))),
    }
}

/// Prints a JSON value: indented on a terminal, one line when piped.
pub fn print_json(out: &Output, value: &serde_json::Value) -> Result<(), CliError> {
    let text = if out.tty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    };
    let text = text.map_err(|err| CliError::software(format!("cannot write JSON: {err}")))?;
    print(&format!("{text}\n"))
}

/// How a column lines up on a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Text.
    Left,
    /// Numbers.
    Right,
}

/// One table cell: the text as printed (maybe coloured) and its width.
#[derive(Debug, Clone)]
pub struct Cell {
    text: String,
    width: usize,
}

impl Cell {
    /// A plain cell.
    pub fn new(text: impl Into<String>) -> Cell {
        let text = text.into();
        let width = text.chars().count();
        Cell { text, width }
    }

    /// A cell painted by `out` (the width is that of `plain`).
    pub fn painted(plain: &str, painted: String) -> Cell {
        Cell {
            width: plain.chars().count(),
            text: painted,
        }
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Cell {
        Cell::new(text)
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Cell {
        Cell::new(text)
    }
}

/// A table: space-aligned with a bold header on a terminal, tab-separated
/// when piped.
pub struct Table {
    headers: Vec<(&'static str, Align)>,
    rows: Vec<Vec<Cell>>,
}

impl Table {
    /// A table with these columns.
    pub fn new(headers: &[(&'static str, Align)]) -> Table {
        Table {
            headers: headers.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (missing trailing cells print empty).
    pub fn row(&mut self, cells: Vec<Cell>) {
        self.rows.push(cells);
    }

    /// The table as text, one line per row, header first.
    pub fn render(&self, out: &Output) -> String {
        let mut text = String::new();
        if !out.tty {
            let header: Vec<&str> = self.headers.iter().map(|(h, _)| *h).collect();
            text.push_str(&header.join("\t"));
            text.push('\n');
            for row in &self.rows {
                let cells: Vec<&str> = row.iter().map(|c| c.text.as_str()).collect();
                text.push_str(&cells.join("\t"));
                text.push('\n');
            }
            return text;
        }
        let mut widths: Vec<usize> = self.headers.iter().map(|(h, _)| h.len()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(widths.len()) {
                widths[i] = widths[i].max(cell.width);
            }
        }
        let header: Vec<Cell> = self
            .headers
            .iter()
            .map(|(h, _)| Cell::painted(h, out.bold(h)))
            .collect();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (i, (_, align)) in self.headers.iter().enumerate() {
                let empty = Cell::new("");
                let cell = row.get(i).unwrap_or(&empty);
                let pad = " ".repeat(widths[i] - cell.width.min(widths[i]));
                if i > 0 {
                    line.push_str("  ");
                }
                match align {
                    Align::Left => {
                        line.push_str(&cell.text);
                        line.push_str(&pad);
                    }
                    Align::Right => {
                        line.push_str(&pad);
                        line.push_str(&cell.text);
                    }
                }
            }
            text.push_str(line.trim_end());
            text.push('\n');
        }
        text
    }
}

/// `key value` lines: aligned on a terminal, tab-separated when piped.
pub fn key_values(out: &Output, pairs: &[(&str, String)]) -> String {
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut text = String::new();
    for (key, value) in pairs {
        if out.tty {
            let pad = " ".repeat(width - key.len());
            text.push_str(&format!("{}{pad}  {value}\n", out.bold(key)));
        } else {
            text.push_str(&format!("{key}\t{value}\n"));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use papertrader_common::value::Timestamp;

    fn tty(colour: bool) -> Output {
        Output {
            json: false,
            tty: true,
            colour,
            stderr_tty: false,
        }
    }

    #[test]
    fn money_and_numbers_for_people() {
        assert_eq!(human_money(Money(18_950_000)), "1,895.0000");
        assert_eq!(human_money(Money(1_205_000)), "120.5000");
        assert_eq!(human_money(Money(-1_234_567_891)), "-123,456.7891");
        assert_eq!(human_money(Money(0)), "0.0000");
        assert_eq!(human_money(Money(1_000_000_000)), "100,000.0000");
        assert_eq!(human_number(53_200_000), "53,200,000");
        assert_eq!(human_number(999), "999");
        assert_eq!(signed_money(Money(225_000), true), "+22.5000");
        assert_eq!(signed_money(Money(-30_000), false), "-3.0000");
        assert_eq!(signed_money(Money(0), false), "0.0000");
    }

    #[test]
    fn percentages_round_half_away_from_zero() {
        assert_eq!(
            percent(Money(225_000), Money(15_000_000)).as_deref(),
            Some("+1.50")
        );
        assert_eq!(percent(Money(-5), Money(1_000)).as_deref(), Some("-0.50"));
        assert_eq!(percent(Money(1), Money(20_000)).as_deref(), Some("+0.01"));
        assert_eq!(percent(Money(-1), Money(20_000)).as_deref(), Some("-0.01"));
        assert_eq!(percent(Money(-1), Money(30_000)).as_deref(), Some("0.00"));
        assert_eq!(percent(Money(0), Money(5)).as_deref(), Some("0.00"));
        assert_eq!(percent(Money(5), Money(0)), None);
        assert_eq!(percent(Money(1), Money(200)).as_deref(), Some("+0.50"));
    }

    #[test]
    fn iso_times() {
        assert_eq!(iso_time(Timestamp(1_732_147_200)), "2024-11-21T00:00:00Z");
        assert_eq!(iso_time(Timestamp(1_732_183_261)), "2024-11-21T10:01:01Z");
    }

    #[test]
    fn tables_piped_and_on_a_terminal() {
        let mut t = Table::new(&[("SYMBOL", Align::Left), ("QTY", Align::Right)]);
        t.row(vec!["AAPL".into(), "15".into()]);
        t.row(vec!["BRK.B".into(), "1,000".into()]);
        assert_eq!(
            t.render(&Output::plain()),
            "SYMBOL\tQTY\nAAPL\t15\nBRK.B\t1,000\n"
        );
        assert_eq!(
            t.render(&tty(false)),
            "SYMBOL    QTY\nAAPL       15\nBRK.B   1,000\n"
        );
        let coloured = t.render(&tty(true));
        assert!(coloured.starts_with("\x1b[1mSYMBOL\x1b[0m    \x1b[1mQTY\x1b[0m\n"));
    }

    #[test]
    fn gains_are_green_and_losses_red() {
        let out = tty(true);
        assert_eq!(out.gain("+1", 1), "\x1b[32m+1\x1b[0m");
        assert_eq!(out.gain("-1", -1), "\x1b[31m-1\x1b[0m");
        assert_eq!(out.gain("0", 0), "0");
        assert_eq!(tty(false).gain("+1", 1), "+1");
        let cell = Cell::painted("+1", out.gain("+1", 1));
        assert_eq!(cell.width, 2);
    }

    #[test]
    fn key_value_lines() {
        let pairs = [
            ("username", "alice".to_string()),
            ("cash", "1.0000".to_string()),
        ];
        assert_eq!(
            key_values(&Output::plain(), &pairs),
            "username\talice\ncash\t1.0000\n"
        );
        assert_eq!(
            key_values(&tty(false), &pairs),
            "username  alice\ncash      1.0000\n"
        );
    }
}

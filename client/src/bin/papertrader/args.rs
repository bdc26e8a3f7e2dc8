//! The words a person types that name a value (symbol, username, date),
//! checked before anything is sent: a bad one exits 65 naming what is
//! wrong.

use papertrader_common::value::{Date, Symbol, Username};

use crate::error::CliError;

/// A symbol, upper-cased, or exit 65 naming what is wrong.
pub fn symbol(text: &str) -> Result<String, CliError> {
    Symbol::parse(text)
        .map(|s| s.as_str().to_string())
        .map_err(|err| CliError::data(err.to_string()))
}

/// A username as typed, or exit 65.
pub fn username(text: &str) -> Result<String, CliError> {
    Username::parse(text)
        .map(|u| u.as_str().to_string())
        .map_err(|err| CliError::data(err.to_string()))
}

/// A date, or exit 65.
pub fn date(text: &str) -> Result<Date, CliError> {
    Date::parse(text).map_err(|_| {
        CliError::data(format!(
            "bad date {text}: expected a calendar day as YYYY-MM-DD"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_checks_exit_65() {
        assert_eq!(symbol("aapl"), Ok("AAPL".to_string()));
        assert_eq!(symbol("A$").map_err(|e| e.status), Err(65));
        assert_eq!(username("a b").map_err(|e| e.status), Err(65));
        assert_eq!(
            date("2026-02-30").map_err(|e| e.message),
            Err("bad date 2026-02-30: expected a calendar day as YYYY-MM-DD".to_string())
        );
    }
}

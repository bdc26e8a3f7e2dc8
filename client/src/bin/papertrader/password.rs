//! Reading passwords: from `--password-file FILE` (its first line), else
//! without echo from the terminal (rpassword), else, when standard input is
//! not a terminal, from the first line of standard input. Passwords are
//! never printed or logged.

use std::io::{self, BufRead, IsTerminal};
use std::path::Path;

use crate::error::CliError;

/// Reads a password; `confirm` asks twice on a terminal (registration).
pub fn read(file: Option<&Path>, user: &str, confirm: bool) -> Result<String, CliError> {
    let password = match file {
        Some(path) => from_file(path)?,
        None if io::stdin().is_terminal() => from_terminal(user, confirm)?,
        None => from_stdin()?,
    };
    if password.is_empty() {
        return Err(CliError::data("the password is empty"));
    }
    Ok(password)
}

/// The first line of `path`, without its line ending.
fn from_file(path: &Path) -> Result<String, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| CliError::io(format!("cannot read {}: {err}", path.display())))?;
    Ok(first_line(&text).to_string())
}

fn from_terminal(user: &str, confirm: bool) -> Result<String, CliError> {
    let prompt = |text: &str| {
        rpassword::prompt_password(text)
            .map_err(|err| CliError::io(format!("cannot read the password: {err}")))
    };
    let password = prompt(&format!("password for {user}: "))?;
    if confirm && prompt("repeat the password: ")? != password {
        return Err(CliError::data("the passwords do not match"));
    }
    Ok(password)
}

fn from_stdin() -> Result<String, CliError> {
    let mut line = String::new();
    io::stdin().lock().read_line(&mut line).map_err(|err| {
        CliError::io(format!(
            "cannot read the password from standard input: {err}"
        ))
    })?;
    Ok(first_line(&line).to_string())
}

/// The text up to the first line ending (`\n` or `\r\n`).
fn first_line(text: &str) -> &str {
    let line = text.split('\n').next().unwrap_or("");
    line.strip_suffix('\r').unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_line_only() {
        assert_eq!(first_line("secret\n"), "secret");
        assert_eq!(first_line("secret\r\nother\n"), "secret");
        assert_eq!(first_line("no newline"), "no newline");
        assert_eq!(first_line("with spaces inside \n"), "with spaces inside ");
        assert_eq!(first_line(""), "");
    }
}

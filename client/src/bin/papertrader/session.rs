//! The session file, `<state_dir>/session`: one line `SERVER USERNAME
//! SESSIONID`, mode 0600, written whole (a temporary file renamed over
//! it) so a crash never leaves half a line. Only remembered sessions are
//! saved; an expirable one ends with its connection.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use papertrader_common::value::SessionId;

use crate::error::CliError;

/// A logged-in session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The worker it was made on (`host:port`).
    pub server: String,
    /// The user, as typed at login.
    pub username: String,
    /// The session id.
    pub id: SessionId,
    /// True for a remembered session kept in the session file; false for
    /// an expirable one that ends with its connection.
    pub saved: bool,
}

impl Session {
    /// The session file's line: `SERVER USERNAME SESSIONID`.
    pub fn line(&self) -> String {
        format!("{} {} {}\n", self.server, self.username, self.id)
    }

    /// Parses the session file's line.
    pub fn parse(text: &str) -> Option<Session> {
        let mut words = text.split_whitespace();
        let (server, username, id) = (words.next()?, words.next()?, words.next()?);
        if words.next().is_some() {
            return None;
        }
        Some(Session {
            server: server.to_string(),
            username: username.to_string(),
            id: SessionId::parse(id).ok()?,
            saved: true,
        })
    }
}

/// The saved session, `None` when there is no file.
pub fn read(path: &Path) -> Result<Option<Session>, CliError> {
    match fs::read_to_string(path) {
        Ok(text) => Session::parse(&text).map(Some).ok_or_else(|| {
            CliError::noperm(format!(
                "the session file {} is damaged; log in again",
                path.display()
            ))
        }),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(CliError::io(format!(
            "cannot read {}: {err}",
            path.display()
        ))),
    }
}

/// Writes the session file, mode 0600, replacing any older one whole.
pub fn save(path: &Path, session: &Session) -> Result<(), CliError> {
    let tmp = path.with_extension("tmp");
    let io_err = |err: io::Error| CliError::io(format!("cannot write {}: {err}", path.display()));
    let _ = fs::remove_file(&tmp);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io_err)?;
    file.write_all(session.line().as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io_err)?;
    fs::rename(&tmp, path).map_err(io_err)
}

/// Deletes the session file; one already gone is fine.
pub fn remove(path: &Path) -> Result<(), CliError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(CliError::io(format!(
            "cannot remove {}: {err}",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_file_line_round_trips() {
        let session = Session {
            server: "127.0.0.1:2049".into(),
            username: "alice".into(),
            id: SessionId::parse("0123456789abcdef0123456789abcdef").expect("id"),
            saved: true,
        };
        assert_eq!(
            session.line(),
            "127.0.0.1:2049 alice 0123456789abcdef0123456789abcdef\n"
        );
        assert_eq!(Session::parse(&session.line()), Some(session));
        assert_eq!(Session::parse("127.0.0.1:2049 alice"), None);
        assert_eq!(Session::parse("a b NOTHEX"), None);
        assert_eq!(
            Session::parse("a b 0123456789abcdef0123456789abcdef x"),
            None
        );
    }
}

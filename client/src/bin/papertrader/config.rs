//! Where `papertrader` connects, decided once at start: `-s HOST:PORT`,
//! else `--master HOST:PORT`, else `$PAPERTRADER_SERVER`, else `server =`
//! or `master =` in the config file
//! (`$XDG_CONFIG_HOME/papertrader/config`, by default
//! `~/.config/papertrader/config`), else the server of the saved session,
//! else 127.0.0.1:2049. An address may be `tls://HOST:PORT` (TLS, the
//! certificate checked against the system's roots, or `--ca FILE` /
//! `ca =`), and `tls = yes` makes every address TLS. The config file is
//! the daemons' `key = value`
//! format (`papertrader_common::conf`); a bad one stops the command with
//! exit 78 even when `-s` is given, so a typo is never silently ignored.

use std::path::{Path, PathBuf};

use papertrader_client::TlsSettings;
use papertrader_common::conf::{Conf, ConfError, ConfErrors};

use crate::error::CliError;

/// The worker used when nothing else names one.
pub const DEFAULT_SERVER: &str = "127.0.0.1:2049";

/// Keys of the config file, in the order papertrader(1) documents them.
const KEYS: &[&str] = &["server", "master", "tls", "ca", "providers_file"];

/// Where to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A worker, `host:port`.
    Server(String),
    /// A master to ask for its workers; the first that answers is used.
    Master(String),
    /// Nothing given: the saved session's server, else [`DEFAULT_SERVER`].
    Default,
}

/// Decides the target from the flags, the environment and the config file.
pub fn resolve(server: Option<String>, master: Option<String>) -> Result<Target, CliError> {
    let conf = match config_path() {
        Some(path) if path.exists() => Some(read(&path)?),
        _ => None,
    };
    if let Some(server) = server {
        return Ok(Target::Server(server));
    }
    if let Some(master) = master {
        return Ok(Target::Master(master));
    }
    if let Some(env) = std::env::var("PAPERTRADER_SERVER")
        .ok()
        .filter(|s| !s.is_empty())
    {
        if !is_address(&env) {
            return Err(CliError::usage(format!(
                "PAPERTRADER_SERVER={env:?}: expected HOST:PORT or tls://HOST:PORT"
            )));
        }
        return Ok(Target::Server(env));
    }
    Ok(conf.unwrap_or(Target::Default))
}

/// The config file's path, `None` when neither `$XDG_CONFIG_HOME` nor
/// `$HOME` is set.
pub fn config_path() -> Option<PathBuf> {
    xdg_dir("XDG_CONFIG_HOME", ".config").map(|d| d.join("papertrader").join("config"))
}

/// `$VAR` if it is an absolute path (the XDG rule), else `$HOME/fallback`.
pub fn xdg_dir(var: &str, fallback: &str) -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(var).map(PathBuf::from)
        && dir.is_absolute()
    {
        return Some(dir);
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|home| PathBuf::from(home).join(fallback))
}

/// The target a config file names: `server` wins over `master`.
fn read(path: &Path) -> Result<Target, CliError> {
    let conf = Conf::parse(path, KEYS).map_err(config_error)?;
    let mut errors = Vec::new();
    for key in ["server", "master"] {
        if let Some(value) = conf.raw(key)
            && !is_address(value)
        {
            errors.push(ConfError {
                file: conf.file().to_string(),
                line: conf.line(key).unwrap_or(0),
                message: format!(
                    "{key} = {value:?}: expected HOST:PORT or tls://HOST:PORT, like 127.0.0.1:2049"
                ),
            });
        }
    }
    if !errors.is_empty() {
        return Err(config_error(ConfErrors(errors)));
    }
    Ok(match (conf.raw("server"), conf.raw("master")) {
        (Some(server), _) => Target::Server(server.to_string()),
        (None, Some(master)) => Target::Master(master.to_string()),
        (None, None) => Target::Default,
    })
}

/// How to use TLS: `--ca FILE` (`ca`, from the command line) wins over
/// `ca =`; `tls = yes` in the config file makes every address TLS.
pub fn resolve_tls(ca: Option<PathBuf>) -> Result<TlsSettings, CliError> {
    let mut settings = TlsSettings {
        always: false,
        ca_file: ca,
    };
    let Some(path) = config_path().filter(|p| p.exists()) else {
        return Ok(settings);
    };
    let conf = Conf::parse(&path, KEYS).map_err(config_error)?;
    settings.always = conf
        .bool("tls", false)
        .map_err(|e| config_error(ConfErrors(vec![e])))?;
    if settings.ca_file.is_none() && conf.raw("ca").is_some() {
        let ca = conf
            .path("ca", "")
            .map_err(|e| config_error(ConfErrors(vec![e])))?;
        settings.ca_file = Some(ca);
    }
    Ok(settings)
}

/// `providers_file =` of the config file (the OpenID Connect providers
/// for `--with`), if it is set.
pub fn providers_file() -> Result<Option<PathBuf>, CliError> {
    let Some(path) = config_path().filter(|p| p.exists()) else {
        return Ok(None);
    };
    let conf = Conf::parse(&path, KEYS).map_err(config_error)?;
    if conf.raw("providers_file").is_none() {
        return Ok(None);
    }
    conf.path("providers_file", "")
        .map(Some)
        .map_err(|e| config_error(ConfErrors(vec![e])))
}

/// Every bad line, one `FILE:LINE: message` per line, exit 78.
fn config_error(errors: ConfErrors) -> CliError {
    CliError::config(errors.to_string())
}

/// `host:port` with a host and a port number (an IPv6 host in brackets),
/// after an optional `tls://`.
pub fn is_address(text: &str) -> bool {
    let text = text
        .strip_prefix(papertrader_client::tls::SCHEME)
        .unwrap_or(text);
    text.rsplit_once(':').is_some_and(|(host, port)| {
        !host.is_empty()
            && !host.contains(char::is_whitespace)
            && port.parse::<u16>().is_ok_and(|p| p > 0)
    })
}

/// clap value parser for `-s` and `--master`.
pub fn parse_address(text: &str) -> Result<String, BadAddress> {
    if is_address(text) {
        Ok(text.to_string())
    } else {
        Err(BadAddress)
    }
}

/// An address that is not `HOST:PORT` or `tls://HOST:PORT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("expected HOST:PORT or tls://HOST:PORT, like 127.0.0.1:2049")]
pub struct BadAddress;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        for ok in [
            "127.0.0.1:2049",
            "example.com:1",
            "[::1]:2049",
            "localhost:65535",
            "tls://example.com:2049",
        ] {
            assert!(is_address(ok), "{ok}");
        }
        for bad in [
            "127.0.0.1",
            ":2049",
            "host:",
            "host:0",
            "host:99999",
            "a b:1",
            "tls://",
            "tls://:1",
            "",
        ] {
            assert!(!is_address(bad), "{bad}");
        }
    }

    #[test]
    fn config_files() {
        let dir = std::env::temp_dir().join(format!("pt-client-conf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("config");
        std::fs::write(
            &path,
            "# mine\nserver = 10.0.0.1:2049\nmaster = 10.0.0.1:2048\n",
        )
        .expect("write");
        assert_eq!(read(&path), Ok(Target::Server("10.0.0.1:2049".into())));
        std::fs::write(&path, "master = 10.0.0.1:2048\n").expect("write");
        assert_eq!(read(&path), Ok(Target::Master("10.0.0.1:2048".into())));
        std::fs::write(&path, "sever = x\n").expect("write");
        let err = read(&path).expect_err("unknown key");
        assert_eq!(err.status, 78);
        assert_eq!(
            err.message,
            format!(
                "{}:1: unknown key \"sever\", expected one of: server, master, tls, ca, providers_file",
                path.display()
            )
        );
        std::fs::write(&path, "\nserver = nowhere\n").expect("write");
        let err = read(&path).expect_err("bad address");
        assert!(
            err.message
                .starts_with(&format!("{}:2: server = \"nowhere\"", path.display())),
            "{}",
            err.message
        );
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}

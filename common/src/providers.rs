//! A list of OpenID Connect providers: one provider a line, `NAME ISSUER
//! CLIENT_ID`, `#` comments. The master's `oidc_providers_file`
//! (ptmasterd.conf(5)) and the worker's `web_providers_file`
//! (ptworkerd.conf(5)) share the format and these checks. Read on the main
//! thread at start, with the rest of the configuration.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::conf::{ConfError, ConfErrors};
use crate::value::Provider;

/// Most providers a list may hold.
pub const MAX_PROVIDERS: usize = 64;
/// Largest list file read: 64 lines of the longest issuer and client id
/// fit with room to spare.
pub const MAX_FILE_BYTES: u64 = 256 * 1024;

/// One OpenID Connect provider the master trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderConfig {
    /// The name clients use (`loginExternal google ...`).
    pub name: Provider,
    /// The issuer URL, exactly as its tokens' `iss`; discovery is at
    /// `ISSUER/.well-known/openid-configuration`.
    pub issuer: String,
    /// PaperTrader's client id at the provider: the tokens' `aud`.
    pub client_id: String,
}

/// Reads the list at `path`; every bad line is reported.
pub fn load(path: &Path) -> Result<Vec<ProviderConfig>, ConfErrors> {
    let name = path.display().to_string();
    let error = |message: String| ConfError::new(&name, 0, message);
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|err| error(format!("cannot read: {err}")))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(error(format!("longer than {MAX_FILE_BYTES} bytes")).into());
    }
    let text = String::from_utf8(bytes).map_err(|err| {
        let at = err.utf8_error().valid_up_to();
        error(format!("not UTF-8 (byte {at})"))
    })?;
    parse(&text, &name)
}

/// Parses the text of a providers list named `file` in errors.
pub fn parse(text: &str, file: &str) -> Result<Vec<ProviderConfig>, ConfErrors> {
    let mut providers: Vec<ProviderConfig> = Vec::new();
    let mut errors = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split_once('#').map_or(raw, |(before, _)| before).trim();
        if line.is_empty() {
            continue;
        }
        let error = |message: String| ConfError::new(file, i + 1, message);
        match parse_line(line) {
            Ok(p) if providers.iter().any(|q| q.name == p.name) => {
                errors.push(error(format!("provider {} is listed twice", p.name)));
            }
            Ok(_) if providers.len() == MAX_PROVIDERS => {
                errors.push(error(format!("more than {MAX_PROVIDERS} providers")));
            }
            Ok(p) => providers.push(p),
            Err(err) => errors.push(error(err.to_string())),
        }
    }
    if errors.is_empty() {
        Ok(providers)
    } else {
        Err(ConfErrors(errors))
    }
}

fn parse_line(line: &str) -> Result<ProviderConfig, LineError> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let [name, issuer, client_id] = words[..] else {
        return Err(LineError::Words(words.len()));
    };
    let name = Provider::parse(name).map_err(LineError::Name)?;
    check_url(issuer).map_err(|why| LineError::Issuer(issuer.to_string(), why))?;
    if client_id.len() > 512 || client_id.chars().any(char::is_control) {
        return Err(LineError::ClientId);
    }
    Ok(ProviderConfig {
        name,
        issuer: issuer.to_string(),
        client_id: client_id.to_string(),
    })
}

/// What is wrong with one line of a providers file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum LineError {
    /// Not three words: how many.
    #[error("expected \"NAME ISSUER CLIENT_ID\", found {0} words")]
    Words(usize),
    /// The name is not a provider name.
    #[error("{0}")]
    Name(crate::value::ValueError),
    /// The issuer is not an https URL (or loopback http): it, and why.
    #[error("issuer {0:?}: {1}")]
    Issuer(String, &'static str),
    /// The client id is too long or holds control characters.
    #[error("client id: expected at most 512 printable characters")]
    ClientId,
}

impl ProviderConfig {
    /// `scheme://host[:port]` of the issuer, lower case: what a browser
    /// sends as `Origin` and a Content-Security-Policy names.
    pub fn issuer_origin(&self) -> String {
        let (scheme, rest) = self.issuer.split_once("://").unwrap_or(("https", ""));
        let host = rest.split('/').next().unwrap_or_default();
        format!("{scheme}://{host}").to_ascii_lowercase()
    }
}

/// An https URL, or http on a loopback host (for a provider on the same
/// machine, and tests). Also used for the `jwks_uri` of discovery.
pub fn check_url(url: &str) -> Result<(), &'static str> {
    let rest = if let Some(rest) = url.strip_prefix("https://") {
        rest
    } else if let Some(rest) = url.strip_prefix("http://") {
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = host.rsplit_once(':').map_or(host, |(h, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                h
            } else {
                host
            }
        });
        if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
            return Err("expected https:// (http:// only on 127.0.0.1, [::1] or localhost)");
        }
        rest
    } else {
        return Err("expected an https:// URL");
    };
    if rest.is_empty() || rest.starts_with('/') || url.len() > 2048 {
        return Err("expected a host after the scheme");
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) || url.contains(['?', '#']) {
        return Err("expected no spaces, query or fragment");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse_and_report_every_bad_line() {
        let text = "# name issuer client\n\
                    google https://accounts.google.com 123.apps.googleusercontent.com\n\
                    \n\
                    dex http://127.0.0.1:5556/dex papertrader # local\n";
        let list = parse(text, "p.list").expect("ok");
        assert_eq!(list.len(), 2);
        assert_eq!(list[1].issuer, "http://127.0.0.1:5556/dex");
        assert_eq!(list[1].client_id, "papertrader");
        let bad = "Google https://a b\nx http://example.com/ c\ny https://a\n\
                   z https://a c\nz https://b c\n";
        let err = parse(bad, "p.list").expect_err("bad").to_string();
        assert!(err.contains("p.list:1: provider \"Google\""), "{err}");
        assert!(
            err.contains("p.list:2: issuer \"http://example.com/\""),
            "{err}"
        );
        assert!(
            err.contains("p.list:3: expected \"NAME ISSUER CLIENT_ID\""),
            "{err}"
        );
        assert!(
            err.contains("p.list:5: provider z is listed twice"),
            "{err}"
        );
    }

    #[test]
    fn hostile_files_are_refused_with_one_line() {
        let dir = std::env::temp_dir().join(format!("pt-providers-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let utf8 = dir.join("latin1");
        std::fs::write(&utf8, b"local https://a.example \xe9t\xe9\n").expect("write");
        let err = load(&utf8).expect_err("not UTF-8").to_string();
        assert!(err.ends_with("not UTF-8 (byte 24)"), "{err}");
        let long = dir.join("long");
        let line = "# comment ".repeat(100) + "\n";
        std::fs::write(&long, line.repeat(300)).expect("write");
        let err = load(&long).expect_err("too long").to_string();
        assert!(err.contains("longer than 262144 bytes"), "{err}");
        let err = load(&dir.join("absent")).expect_err("absent").to_string();
        assert!(err.contains("cannot read"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn issuer_origins() {
        let list = parse(
            "a https://Login.Example.org/realms/x c\nb http://127.0.0.1:5556 c\n",
            "p",
        )
        .expect("ok");
        assert_eq!(list[0].issuer_origin(), "https://login.example.org");
        assert_eq!(list[1].issuer_origin(), "http://127.0.0.1:5556");
    }

    #[test]
    fn urls() {
        for ok in [
            "https://accounts.google.com",
            "https://login.microsoftonline.com/abc/v2.0",
            "http://127.0.0.1:5556/dex",
            "http://localhost/x",
            "http://[::1]:8080",
        ] {
            assert_eq!(check_url(ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://example.com",
            "http://127.0.0.1.evil.com/",
            "ftp://x",
            "https://",
            "https:///x",
            "https://a b",
            "https://a/?q",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }
}

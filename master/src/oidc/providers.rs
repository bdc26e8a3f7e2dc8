//! The providers list of `oidc_providers_file` (ptmasterd.conf(5)): one
//! provider a line, `NAME ISSUER CLIENT_ID`, `#` comments. Read on the main
//! thread at start, with the rest of the configuration.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use papertrader_common::conf::{ConfError, ConfErrors};
use papertrader_common::value::Provider;

/// Most providers a list may hold.
pub const MAX_PROVIDERS: usize = 64;

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
    let mut text = String::new();
    File::open(path)
        .and_then(|mut f| f.read_to_string(&mut text))
        .map_err(|err| ConfError {
            file: name.clone(),
            line: 0,
            message: format!("cannot read: {err}"),
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
        let error = |message: String| ConfError {
            file: file.to_string(),
            line: i + 1,
            message,
        };
        match parse_line(line) {
            Ok(p) if providers.iter().any(|q| q.name == p.name) => {
                errors.push(error(format!("provider {} is listed twice", p.name)));
            }
            Ok(_) if providers.len() == MAX_PROVIDERS => {
                errors.push(error(format!("more than {MAX_PROVIDERS} providers")));
            }
            Ok(p) => providers.push(p),
            Err(message) => errors.push(error(message)),
        }
    }
    if errors.is_empty() {
        Ok(providers)
    } else {
        Err(ConfErrors(errors))
    }
}

fn parse_line(line: &str) -> Result<ProviderConfig, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let [name, issuer, client_id] = words[..] else {
        return Err(format!(
            "expected \"NAME ISSUER CLIENT_ID\", found {} words",
            words.len()
        ));
    };
    let name = Provider::parse(name).map_err(|e| e.to_string())?;
    check_url(issuer).map_err(|why| format!("issuer {issuer:?}: {why}"))?;
    if client_id.len() > 512 || client_id.chars().any(char::is_control) {
        return Err("client id: expected at most 512 printable characters".into());
    }
    Ok(ProviderConfig {
        name,
        issuer: issuer.to_string(),
        client_id: client_id.to_string(),
    })
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

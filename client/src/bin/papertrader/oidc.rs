//! Signing in with an OpenID Connect provider on a terminal: the OAuth 2.0
//! device authorization grant (RFC 8628). The provider's settings come
//! from the providers file (`providers_file =` in the config file, by
//! default `$XDG_CONFIG_HOME/papertrader/providers`), one provider a line:
//! `NAME ISSUER CLIENT_ID [CLIENT_SECRET]`. The endpoints come from the
//! issuer's discovery document; the user is shown the verification URL
//! and code, the token endpoint is polled at the interval the provider
//! asks, and the `id_token` of the answer is what the master checks.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use papertrader_common::value::Provider;
use serde_json::Value;

use crate::config;
use crate::error::CliError;

/// Largest answer read from a provider.
const MAX_BODY: usize = 256 * 1024;
/// Limit on each request to the provider.
const TIMEOUT_SECS: u64 = 20;
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// One provider of the providers file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderEntry {
    /// Its name, as the master knows it.
    pub name: String,
    /// The issuer URL.
    pub issuer: String,
    /// PaperTrader's client id at the provider.
    pub client_id: String,
    /// The client secret, for providers that want one even from a device.
    pub client_secret: Option<String>,
}

/// The providers file's path.
pub fn providers_path() -> Result<PathBuf, CliError> {
    if let Some(path) = config::providers_file()? {
        return Ok(path);
    }
    config::xdg_dir("XDG_CONFIG_HOME", ".config")
        .map(|d| d.join("papertrader").join("providers"))
        .ok_or_else(|| CliError::config("neither XDG_CONFIG_HOME nor HOME is set"))
}

/// The entry of provider `name`.
pub fn provider(name: &str) -> Result<ProviderEntry, CliError> {
    Provider::parse(name).map_err(|err| CliError::usage(err.to_string()))?;
    let path = providers_path()?;
    let text = std::fs::read_to_string(&path).map_err(|err| {
        CliError::config(format!(
            "{}: {err}; it lists the providers, one a line: NAME ISSUER CLIENT_ID [CLIENT_SECRET]",
            path.display()
        ))
    })?;
    let entries = parse(&text, &path)?;
    entries
        .into_iter()
        .find(|e| e.name == name)
        .ok_or_else(|| CliError::config(format!("{}: no provider {name}", path.display())))
}

/// Every entry of a providers file; a bad line stops with its number.
pub fn parse(text: &str, path: &Path) -> Result<Vec<ProviderEntry>, CliError> {
    let mut entries = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split_once('#').map_or(raw, |(before, _)| before).trim();
        if line.is_empty() {
            continue;
        }
        let bad = |what: &str| CliError::config(format!("{}:{}: {what}", path.display(), i + 1));
        let words: Vec<&str> = line.split_whitespace().collect();
        let (name, issuer, client_id, secret) = match words[..] {
            [n, i, c] => (n, i, c, None),
            [n, i, c, s] => (n, i, c, Some(s.to_string())),
            _ => return Err(bad("expected \"NAME ISSUER CLIENT_ID [CLIENT_SECRET]\"")),
        };
        if !issuer.starts_with("https://") && !issuer.starts_with("http://") {
            return Err(bad(&format!("issuer {issuer:?}: expected an https:// URL")));
        }
        entries.push(ProviderEntry {
            name: name.to_string(),
            issuer: issuer.to_string(),
            client_id: client_id.to_string(),
            client_secret: secret,
        });
    }
    Ok(entries)
}

/// Runs the device flow with `provider` and returns its ID token. The
/// instructions go to standard error, so standard output stays the
/// command's.
pub fn device_flow(provider: &ProviderEntry) -> Result<String, CliError> {
    let discovery = format!(
        "{}/.well-known/openid-configuration",
        provider.issuer.trim_end_matches('/')
    );
    let doc = get(&discovery)?;
    let endpoint = |key: &str| {
        doc.get(key)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| {
                CliError::unavailable(format!(
                    "{discovery}: no {key}; the provider may not offer the device flow"
                ))
            })
    };
    let device_url = endpoint("device_authorization_endpoint")?;
    let token_url = endpoint("token_endpoint")?;
    let mut form = vec![
        ("client_id", provider.client_id.as_str()),
        ("scope", "openid email"),
    ];
    if let Some(secret) = &provider.client_secret {
        form.push(("client_secret", secret));
    }
    let (_, grant) = post(&device_url, &form)?;
    let text = |key: &str| grant.get(key).and_then(Value::as_str).unwrap_or("");
    let device_code = text("device_code").to_string();
    let user_code = text("user_code");
    let uri = text("verification_uri");
    if device_code.is_empty() || user_code.is_empty() || uri.is_empty() {
        return Err(CliError::unavailable(format!(
            "{device_url}: the answer lacks device_code, user_code or verification_uri"
        )));
    }
    eprintln!(
        "To sign in with {}, open {uri} and enter the code {user_code}",
        provider.name
    );
    if let Some(complete) = grant
        .get("verification_uri_complete")
        .and_then(Value::as_str)
    {
        eprintln!("(or open {complete})");
    }
    let secs = |key: &str, default: u64| grant.get(key).and_then(Value::as_u64).unwrap_or(default);
    let interval = Duration::from_secs(secs("interval", 5).clamp(1, 60));
    let deadline = Instant::now() + Duration::from_secs(secs("expires_in", 600).min(3600));
    poll(provider, &token_url, &device_code, interval, deadline)
}

/// Polls the token endpoint until the user has approved (or refused, or
/// the code expired), as RFC 8628 section 3.5 says.
fn poll(
    provider: &ProviderEntry,
    token_url: &str,
    device_code: &str,
    mut interval: Duration,
    deadline: Instant,
) -> Result<String, CliError> {
    let mut form = vec![
        ("grant_type", DEVICE_GRANT),
        ("device_code", device_code),
        ("client_id", provider.client_id.as_str()),
    ];
    if let Some(secret) = &provider.client_secret {
        form.push(("client_secret", secret));
    }
    loop {
        if Instant::now() + interval > deadline {
            return Err(CliError::noperm(
                "the code expired before the sign-in was approved; try again",
            ));
        }
        std::thread::sleep(interval);
        let (status, answer) = post(token_url, &form)?;
        if status == 200 {
            return answer
                .get("id_token")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| {
                    CliError::unavailable(format!(
                        "{token_url}: no id_token in the answer; is the openid scope allowed?"
                    ))
                });
        }
        match answer.get("error").and_then(Value::as_str).unwrap_or("") {
            "authorization_pending" => {}
            "slow_down" => interval += Duration::from_secs(5),
            "access_denied" => return Err(CliError::noperm("the sign-in was refused")),
            "expired_token" => {
                return Err(CliError::noperm(
                    "the code expired before the sign-in was approved; try again",
                ));
            }
            other => {
                return Err(CliError::unavailable(format!(
                    "{token_url}: HTTP status {status}, error {other:?}"
                )));
            }
        }
    }
}

fn get(url: &str) -> Result<Value, CliError> {
    let request = minreq::get(url).with_header("Accept", "application/json");
    match send(request, url)? {
        (200, doc) => Ok(doc),
        (status, _) => Err(CliError::unavailable(format!(
            "{url}: HTTP status {status}"
        ))),
    }
}

/// POSTs `form` (application/x-www-form-urlencoded); any status with a
/// JSON body is an answer (errors of the token endpoint are 400s).
fn post(url: &str, form: &[(&str, &str)]) -> Result<(i32, Value), CliError> {
    let body: Vec<String> = form
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    let request = minreq::post(url)
        .with_header("Accept", "application/json")
        .with_header("Content-Type", "application/x-www-form-urlencoded")
        .with_body(body.join("&"));
    send(request, url)
}

fn send(request: minreq::Request, url: &str) -> Result<(i32, Value), CliError> {
    let response = request
        .with_timeout(TIMEOUT_SECS)
        .with_max_redirects(3)
        .send_lazy()
        .map_err(|err| CliError::unavailable(format!("{url}: {err}")))?;
    let status = response.status_code;
    let mut body = Vec::new();
    for item in response {
        let (byte, _) = item.map_err(|err| CliError::unavailable(format!("{url}: {err}")))?;
        if body.len() == MAX_BODY {
            return Err(CliError::unavailable(format!(
                "{url}: the answer exceeds {MAX_BODY} bytes"
            )));
        }
        body.push(byte);
    }
    let doc = serde_json::from_slice(&body).map_err(|err| {
        CliError::unavailable(format!("{url}: HTTP status {status}, not JSON: {err}"))
    })?;
    Ok((status, doc))
}

/// Percent-encoding of a form value (RFC 3986 unreserved kept).
fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_files() {
        let path = Path::new("providers");
        let text = "# mine\ngoogle https://accounts.google.com 1.apps s3cret\n\
                    dex http://127.0.0.1:5556/dex papertrader\n";
        let list = parse(text, path).expect("ok");
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].client_secret.as_deref(), Some("s3cret"));
        assert_eq!(list[1].client_secret, None);
        let err = parse("x y\n", path).expect_err("two words");
        assert_eq!(err.status, 78);
        assert!(err.message.starts_with("providers:1:"), "{}", err.message);
    }

    #[test]
    fn form_encoding() {
        assert_eq!(encode("openid email"), "openid%20email");
        assert_eq!(
            encode(DEVICE_GRANT),
            "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code"
        );
    }
}

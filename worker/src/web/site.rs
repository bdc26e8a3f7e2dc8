//! What the web port serves besides the embedded files, made once from the
//! configuration when the server starts: `/providers.json`, the public
//! settings of `web_providers_file` (name, issuer, client id: public
//! clients only, there is no secret to leak) that the app's "Sign in with
//! ..." buttons need, and the headers of the app's answers, whose
//! Content-Security-Policy lets the page talk to those issuers (discovery
//! and the token endpoint) besides its own origin. Built on the main
//! thread; the event loop only reads it.

use papertrader_common::providers::ProviderConfig;

use super::http::BASE_HEADERS;

/// URL path of the providers document.
pub const PROVIDERS_PATH: &str = "/providers.json";

/// The generated parts of the site.
#[derive(Debug, Clone)]
pub struct Site {
    /// `/providers.json`.
    pub providers_json: Vec<u8>,
    /// Its `ETag`, quoted.
    pub providers_etag: String,
    /// Headers every answer of the app carries, the CSP included.
    pub headers: String,
}

impl Site {
    /// The site for `providers`.
    pub fn new(providers: &[ProviderConfig]) -> Site {
        let providers_json = providers_json(providers).into_bytes();
        let providers_etag = format!("\"p{:016x}\"", fnv1a(&providers_json));
        let mut origins: Vec<String> = providers.iter().map(|p| p.issuer_origin()).collect();
        origins.sort();
        origins.dedup();
        Site {
            providers_json,
            providers_etag,
            headers: format!("{BASE_HEADERS}{}", csp(&origins)),
        }
    }
}

/// `{"providers":[{"name":..,"issuer":..,"client_id":..},..]}`.
fn providers_json(providers: &[ProviderConfig]) -> String {
    let items: Vec<String> = providers
        .iter()
        .map(|p| {
            format!(
                "{{\"name\":{},\"issuer\":{},\"client_id\":{}}}",
                json_string(p.name.as_str()),
                json_string(&p.issuer),
                json_string(&p.client_id)
            )
        })
        .collect();
    format!("{{\"providers\":[{}]}}\n", items.join(","))
}

/// A JSON string literal. The list's checks leave no control characters,
/// but quotes and backslashes may be in a client id.
fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '<' => out.push_str("\\u003c"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The Content-Security-Policy header: the app runs only its own scripts
/// and talks to its own origin and to `issuers`. The one inline style
/// allowed, by its hash, is the `<style>` element the vendored chart
/// library inserts (web/vendor/README.md; a new version of it means a new
/// hash here).
pub fn csp(issuers: &[String]) -> String {
    let connect = issuers
        .iter()
        .fold("'self'".to_string(), |c, o| c + " " + o);
    format!(
        "Content-Security-Policy: default-src 'self'; connect-src {connect}; \
         img-src 'self' data:; \
         style-src 'self' 'sha256-3pRED1tOXas1FXFoPb9TGCjmYe9XQsmO9OV23khV2nY='; \
         script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'\r\n"
    )
}

/// FNV-1a, 64 bits, as `build.rs` tags the embedded files.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use papertrader_common::providers::parse;

    #[test]
    fn no_providers_means_an_empty_list_and_the_strict_policy() {
        let site = Site::new(&[]);
        assert_eq!(site.providers_json, b"{\"providers\":[]}\n");
        assert!(
            site.headers.contains("connect-src 'self';"),
            "{}",
            site.headers
        );
        assert_eq!(
            site.headers,
            super::super::http::COMMON_HEADERS,
            "the same headers as before without providers"
        );
    }

    #[test]
    fn providers_are_listed_and_their_issuers_allowed() {
        let list = parse(
            "google https://accounts.google.com 12.apps.googleusercontent.com\n\
             kc https://Login.example.org/realms/pt pt\"web\\\n\
             kc2 https://login.example.org/realms/other x\n",
            "w.list",
        )
        .expect("ok");
        let site = Site::new(&list);
        let json = String::from_utf8(site.providers_json).expect("utf-8");
        assert_eq!(
            json,
            "{\"providers\":[{\"name\":\"google\",\"issuer\":\"https://accounts.google.com\",\
             \"client_id\":\"12.apps.googleusercontent.com\"},\
             {\"name\":\"kc\",\"issuer\":\"https://Login.example.org/realms/pt\",\
             \"client_id\":\"pt\\\"web\\\\\"},\
             {\"name\":\"kc2\",\"issuer\":\"https://login.example.org/realms/other\",\
             \"client_id\":\"x\"}]}\n"
        );
        assert!(
            site.headers.contains(
                "connect-src 'self' https://accounts.google.com https://login.example.org;"
            ),
            "{}",
            site.headers
        );
    }

    #[test]
    fn json_strings_cannot_break_out() {
        assert_eq!(
            json_string("a\"b\\c</script>\u{1}"),
            "\"a\\\"b\\\\c\\u003c/script>\\u0001\""
        );
    }
}

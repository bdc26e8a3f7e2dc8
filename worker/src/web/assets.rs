//! The web app's files, embedded at build time by `build.rs` from `web/`:
//! served from memory by the event loop, gzip copies made in advance.

/// One file of the app.
#[derive(Debug)]
pub struct Asset {
    /// URL path (`/`, `/js/app.js`).
    pub path: &'static str,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// `ETag`, quoted, from a hash of the bytes.
    pub etag: &'static str,
    /// `Cache-Control`.
    pub cache: &'static str,
    /// The bytes.
    pub body: &'static [u8],
    /// A gzip copy, when it pays.
    pub gzip: Option<&'static [u8]>,
}

/// Every file of the app, sorted by path.
pub static ASSETS: &[Asset] = include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));

/// The file at `path`, compared byte for byte: there is no file system
/// behind this, so `..`, `%2e` and the like simply match nothing.
pub fn find(path: &str) -> Option<&'static Asset> {
    ASSETS
        .binary_search_by(|a| a.path.cmp(path))
        .ok()
        .map(|i| &ASSETS[i])
}

/// Whether an `If-None-Match` value names `etag` (or is `*`).
pub fn matches(if_none_match: &str, etag: &str) -> bool {
    if_none_match
        .split(',')
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_app_is_embedded_and_sorted() {
        assert!(ASSETS.windows(2).all(|w| w[0].path < w[1].path));
        let index = find("/").expect("index");
        assert!(index.content_type.starts_with("text/html"));
        assert_eq!(find("/index.html").map(|a| a.etag), Some(index.etag));
        assert!(find("/../Cargo.toml").is_none());
        assert!(find("/%2e%2e/Cargo.toml").is_none());
    }

    #[test]
    fn etags_match_as_browsers_send_them() {
        assert!(matches("\"abc\"", "\"abc\""));
        assert!(matches("W/\"x\", \"abc\"", "\"abc\""));
        assert!(!matches("\"abd\"", "\"abc\""));
    }
}

//! Embeds the web app (`../web`, see its README) in ptworkerd: every file
//! the app serves becomes a static byte array with its content type, an
//! ETag (a hash of its bytes) and, for text that compresses, a gzip copy
//! made here once, so the event loop serves from memory and never reads
//! a file or compresses on a request. Writes `$OUT_DIR/web_assets.rs`,
//! included by `src/web/assets.rs`.

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Directories of web/ that are not served (tests, screenshots, tools).
const NOT_SERVED: &[&str] = &["test", "screenshots", "node_modules"];

fn main() {
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("../web");
    println!("cargo:rerun-if-changed={}", web.display());
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut files = Vec::new();
    collect(&web, &web, &mut files);
    files.sort();
    let mut table = String::from("&[\n");
    for (url, path) in &files {
        let Some(content_type) = content_type(path) else {
            continue;
        };
        let bytes = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let etag = format!("\"{:016x}\"", fnv1a(&bytes));
        let gzip = compressed(&bytes, content_type).map(|gz| {
            let name = url.trim_start_matches('/').replace('/', "__") + ".gz";
            let gz_path = out_dir.join(name);
            fs::write(&gz_path, gz).expect("write the gzip copy to OUT_DIR");
            format!("Some(include_bytes!({:?}))", gz_path.display().to_string())
        });
        let cache = if url.starts_with("/vendor/") {
            // Vendored files carry their version in their name.
            "public, max-age=604800, immutable"
        } else {
            "no-cache"
        };
        writeln!(
            table,
            "    Asset {{ path: {url:?}, content_type: {content_type:?}, etag: {etag:?}, \
             cache: {cache:?}, body: include_bytes!({:?}), gzip: {} }},",
            path.display().to_string(),
            gzip.unwrap_or_else(|| "None".into())
        )
        .expect("write to a String");
    }
    table.push(']');
    let mut out = fs::File::create(out_dir.join("web_assets.rs")).expect("create web_assets.rs");
    writeln!(out, "{table}").expect("write web_assets.rs");
}

/// Every file under `dir` as (URL path, file path); `index.html` also
/// answers for its directory.
fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || NOT_SERVED.contains(&name.as_str()) {
            continue;
        }
        if path.is_dir() {
            collect(root, &path, files);
            continue;
        }
        let rel = path.strip_prefix(root).expect("under root");
        let url = format!("/{}", rel.to_string_lossy());
        if let Some(dir_url) = url.strip_suffix("index.html") {
            files.push((dir_url.to_string(), path.clone()));
        }
        files.push((url, path));
    }
}

/// The content type of a file the app serves; `None` for what it does not
/// (notes, licences and tests stay out of the binary).
fn content_type(path: &Path) -> Option<&'static str> {
    let name = path.file_name()?.to_str()?;
    if name.ends_with(".test.js") {
        return None;
    }
    Some(match path.extension()?.to_str()? {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "webmanifest" => "application/manifest+json",
        _ => return None,
    })
}

/// A gzip copy, when the type is text and it saves at least a tenth.
fn compressed(bytes: &[u8], content_type: &str) -> Option<Vec<u8>> {
    let text = content_type.starts_with("text/") || content_type.contains("svg");
    if !text || bytes.len() < 512 {
        return None;
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(bytes).ok()?;
    let gz = gz.finish().ok()?;
    (gz.len() * 10 <= bytes.len() * 9).then_some(gz)
}

/// FNV-1a, 64 bits: an ETag needs to change with the bytes, not to resist
/// an adversary (the files are ours).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

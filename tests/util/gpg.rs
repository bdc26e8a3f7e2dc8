//! Throwaway GnuPG homes for the integration tests: each test makes its own
//! keys (ed25519, no passphrase, so generation takes milliseconds) by
//! running the `gpg` command, and the home goes away with its agent when
//! the test ends. Safe to use from tests running in parallel.

use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A temporary GnuPG home (mode 0700) under /tmp; on `Drop` it kills its
/// gpg-agent and removes itself.
#[derive(Debug)]
pub struct GpgHome {
    /// The home directory, for `gpg --homedir` and the daemons' config.
    pub path: PathBuf,
}

impl GpgHome {
    /// A new empty home; `tag` (a test name) only helps when reading `ps`.
    ///
    /// The path stays short because gpg-agent puts its sockets in the home
    /// when /run/user is missing, and a socket path has a ~100 byte limit.
    pub fn new(tag: &str) -> GpgHome {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let tag: String = tag
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(12)
            .collect();
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .expect("clock after 1970")
                .subsec_nanos();
            let path = PathBuf::from(format!("/tmp/ptg-{tag}-{}-{n}-{nanos}", std::process::id()));
            // `create`, not `create_dir_all`: an existing directory is
            // someone else's, so take another name.
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => return GpgHome { path },
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(err) => panic!("create GnuPG home {}: {err}", path.display()),
            }
        }
    }

    /// Runs `gpg --homedir HOME --batch ARGS` with `stdin`; panics with
    /// gpg's stderr if it fails. Returns stdout.
    pub fn gpg(&self, args: &[&str], stdin: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut child = Command::new("gpg")
            .arg("--homedir")
            .arg(&self.path)
            .args(["--batch", "--no-tty"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn gpg: {e}"));
        let mut input = child.stdin.take().expect("piped stdin");
        input.write_all(stdin).expect("write gpg stdin");
        drop(input);
        let out = child.wait_with_output().expect("wait for gpg");
        assert!(
            out.status.success(),
            "gpg --homedir {} {args:?} failed: {}",
            self.path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// Generates an ed25519 signing key without passphrase for
    /// `NAME <NAME@papertrader.test>`; returns its fingerprint (uppercase
    /// hex).
    pub fn make_key(&self, name: &str) -> String {
        let uid = format!("{name} <{name}@papertrader.test>");
        self.gpg(
            &[
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                "",
                "--quick-gen-key",
                &uid,
                "ed25519",
                "sign",
                "never",
            ],
            b"",
        );
        let list = self.gpg(
            &["--with-colons", "--list-secret-keys", &format!("={uid}")],
            b"",
        );
        let list = String::from_utf8(list).expect("gpg --with-colons is UTF-8");
        list.lines()
            .skip_while(|l| !l.starts_with("sec:"))
            .find_map(|l| l.strip_prefix("fpr:"))
            .and_then(|rest| rest.split(':').find(|f| !f.is_empty()))
            .unwrap_or_else(|| panic!("no fpr line after sec for {uid:?} in:\n{list}"))
            .to_ascii_uppercase()
    }

    /// The armored public key `fingerprint`.
    pub fn export_public(&self, fingerprint: &str) -> Vec<u8> {
        let key = self.gpg(&["--export", "--armor", fingerprint], b"");
        assert!(!key.is_empty(), "no public key {fingerprint} to export");
        key
    }

    /// Imports keys (armored or binary), e.g. from another home's
    /// [`GpgHome::export_public`].
    pub fn import(&self, armored: &[u8]) {
        self.gpg(&["--import"], armored);
    }
}

impl Drop for GpgHome {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(&self.path)
            .args(["--kill", "gpg-agent"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

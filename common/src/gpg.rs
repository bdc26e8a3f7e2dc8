//! Detached OpenPGP signatures for the master link handshake
//! (`papertrader-protocol(7)`, section 7), made and checked with GnuPG
//! through gpgme.
//!
//! ptmasterd and ptworkerd each run one [`Signer`] on their own "gpg"
//! thread: gpgme calls block on the gpg processes, so the event loop sends
//! requests there and gets results back through a channel. A [`Signer`] is
//! not `Send` (gpgme contexts are not): create it on the thread that uses
//! it. This module only knows about bytes and fingerprints; which key
//! belongs to which worker is the registry's business.

use std::fmt;
use std::path::{Path, PathBuf};

use gpgme::{Context, PinentryMode, Protocol};

/// Which side of the link signs a handshake message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The master, in `masterChallenge`, over the worker's nonce.
    Master,
    /// The worker, in `workerProof`, over the master's nonce.
    Worker,
}

impl Role {
    fn tag(self) -> &'static [u8] {
        match self {
            Role::Master => b"papertrader-master",
            Role::Worker => b"papertrader-worker",
        }
    }
}

/// The bytes signed in the handshake:
/// `papertrader-master\0UUID\0NONCE\0EXPORTER` (or `papertrader-worker\0...`).
///
/// The role prefix keeps a master signature from ever passing as a worker
/// proof, the UUID binds the signature to one link, and EXPORTER (the TLS
/// keying material of section 7, as hex) to one TLS session: a party in the
/// middle holds two sessions with two exporters, so a handshake it relays
/// fails.
pub fn handshake_message(role: Role, uuid: &str, nonce: &str, exporter: &str) -> Vec<u8> {
    let tag = role.tag();
    let mut msg = Vec::with_capacity(tag.len() + uuid.len() + nonce.len() + exporter.len() + 3);
    msg.extend_from_slice(tag);
    for part in [uuid, nonce, exporter] {
        msg.push(0);
        msg.extend_from_slice(part.as_bytes());
    }
    msg
}

/// `text` as a fingerprint: spaces removed, uppercase; `None` unless that
/// leaves 40 (v4 key) or 64 (v5 key) hex digits.
pub fn normalize_fingerprint(text: &str) -> Option<String> {
    let fpr: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let hex = fpr.bytes().all(|b| b.is_ascii_hexdigit());
    (hex && (fpr.len() == 40 || fpr.len() == 64)).then_some(fpr)
}

/// Something went wrong making or checking a signature; the message is a
/// whole sentence naming the key and the GnuPG home.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct GpgError(String);

impl GpgError {
    /// An error with this sentence (a test's stand-in for gpgme's).
    pub fn new(message: impl Into<String>) -> GpgError {
        GpgError(message.into())
    }
}

/// Why the worker's side of the link handshake failed (PROTOCOL.md
/// section 7).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The master's signature was refused.
    #[error("master signature refused: {}{}", .0, in_the_middle(.0))]
    Refused(GpgError),
    /// The worker could not sign its proof.
    #[error("cannot sign the proof: {0}")]
    Sign(GpgError),
}

/// The likely cause of a bad signature by the right key: the bytes differ,
/// most likely EXPORTER, that is, two TLS sessions joined by a party in the
/// middle.
fn in_the_middle(err: &GpgError) -> &'static str {
    if err.0 == "bad signature" {
        " (not over this TLS session: a party in the middle of the link?)"
    } else {
        ""
    }
}

fn fail<T>(message: String) -> Result<T, GpgError> {
    Err(GpgError(message))
}

/// [`normalize_fingerprint`], or the error naming the bad text.
fn fingerprint(text: &str) -> Result<String, GpgError> {
    normalize_fingerprint(text).ok_or_else(|| {
        GpgError(format!(
            "bad key fingerprint {text:?}: expected 40 or 64 hex digits"
        ))
    })
}

/// A gpgme context on one GnuPG home that signs with one secret key and
/// verifies against the public keys of that home.
pub struct Signer {
    ctx: Context,
    /// The signing key, normalized.
    fingerprint: String,
    /// The GnuPG home, for messages.
    home: String,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("fingerprint", &self.fingerprint)
            .field("home", &self.home)
            .finish()
    }
}

impl Signer {
    /// An OpenPGP context on `home` (a GnuPG home directory; `None` for
    /// the default, `$GNUPGHOME` or `~/.gnupg`) that signs with the secret
    /// key `fingerprint` (40 or 64 hex digits, any case, spaces allowed).
    /// Fails if that secret key is not there or cannot sign.
    pub fn new(home: Option<&Path>, fingerprint: &str) -> Result<Signer, GpgError> {
        let home_name = describe_home(home);
        let fpr = self::fingerprint(fingerprint)?;
        let mut ctx = Context::from_protocol(Protocol::OpenPgp)
            .or_else(|err| fail(format!("cannot start GnuPG through gpgme: {err}")))?;
        if let Some(dir) = home {
            use std::os::unix::ffi::OsStrExt;
            ctx.set_engine_home_dir(dir.as_os_str().as_bytes())
                .or_else(|err| fail(format!("cannot use GnuPG home {home_name}: {err}")))?;
        }
        ctx.set_armor(true);
        // Never wait for a pinentry dialog in a daemon: a key with a
        // passphrase fails to sign instead of hanging the gpg thread.
        ctx.set_pinentry_mode(PinentryMode::Loopback)
            .or_else(|err| fail(format!("cannot set pinentry mode loopback: {err}")))?;
        let key = match ctx.get_secret_key(fpr.as_str()) {
            Ok(key) => key,
            Err(err) if is_not_found(err) => {
                return fail(format!("no secret key {fpr} in {home_name}"));
            }
            Err(err) => {
                return fail(format!(
                    "cannot look up secret key {fpr} in {home_name}: {err}"
                ));
            }
        };
        if let Some(problem) = key_problem(&key) {
            return fail(format!("secret key {fpr} in {home_name} {problem}"));
        }
        if !key.can_sign() {
            return fail(format!("secret key {fpr} in {home_name} cannot sign"));
        }
        ctx.add_signer(&key)
            .or_else(|err| fail(format!("cannot sign with key {fpr} in {home_name}: {err}")))?;
        Ok(Signer {
            ctx,
            fingerprint: fpr,
            home: home_name,
        })
    }

    /// The signing key's fingerprint, uppercase.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// An ASCII-armored detached signature over `data`.
    pub fn sign(&mut self, data: &[u8]) -> Result<String, GpgError> {
        let fpr = &self.fingerprint;
        let mut out = Vec::new();
        let result = match self.ctx.sign_detached(data, &mut out) {
            Ok(result) => result,
            Err(err) => return fail(format!("cannot sign with key {fpr}: {err}")),
        };
        if let Some(invalid) = result.invalid_signers().next() {
            let reason = invalid
                .reason()
                .map_or_else(String::new, |r| format!(": {r}"));
            return fail(format!("cannot sign with key {fpr}{reason}"));
        }
        if result.new_signatures().count() != 1 {
            return fail(format!("signing with key {fpr} made no signature"));
        }
        String::from_utf8(out)
            .or_else(|_| fail(format!("signature by key {fpr} is not ASCII-armored")))
    }

    /// Ok only if `signature` (armored, detached) is a good signature over
    /// `data` by the key `fingerprint` (its primary key or one of its
    /// subkeys), which must be in this home's keyring and be neither
    /// expired nor revoked. Owner trust is not required: the admin imports
    /// worker keys, nobody certifies them.
    pub fn verify(
        &mut self,
        signature: &str,
        data: &[u8],
        fingerprint: &str,
    ) -> Result<(), GpgError> {
        let home = &self.home;
        let expected = self::fingerprint(fingerprint)?;
        let key = match self.ctx.get_key(expected.as_str()) {
            Ok(key) => key,
            Err(err) if is_not_found(err) => {
                return fail(format!("no public key {expected} in {home}"));
            }
            Err(err) => return fail(format!("cannot look up key {expected} in {home}: {err}")),
        };
        if let Some(problem) = key_problem(&key) {
            return fail(format!("key {expected} {problem}"));
        }
        let key_fprs: Vec<String> = key
            .subkeys()
            .filter_map(|sub| sub.fingerprint().ok().map(str::to_ascii_uppercase))
            .collect();
        let result = match self.ctx.verify_detached(signature.as_bytes(), data) {
            Ok(result) => result,
            Err(err) if err.code() == gpgme::Error::NO_DATA.code() => {
                return fail("not an OpenPGP signature".to_string());
            }
            Err(err) => return fail(format!("cannot verify signature: {err}")),
        };
        if result.signatures().next().is_none() {
            return fail("not an OpenPGP signature".to_string());
        }
        for sig in result.signatures() {
            let by = sig
                .fingerprint()
                .unwrap_or("(unknown)")
                .to_ascii_uppercase();
            check_signature(sig.status(), &by, &expected, &key_fprs)?;
        }
        Ok(())
    }
}

/// One signature of a verification result: made by a key of `key_fprs`
/// and good.
fn check_signature(
    status: Result<(), gpgme::Error>,
    by: &str,
    expected: &str,
    key_fprs: &[String],
) -> Result<(), GpgError> {
    if status.is_err_and(|err| err.code() == gpgme::Error::BAD_SIGNATURE.code()) {
        return fail("bad signature".to_string());
    }
    if !key_fprs.iter().any(|fpr| fpr == by) {
        return fail(format!("signature is by key {by}, expected {expected}"));
    }
    match status {
        Ok(()) => Ok(()),
        Err(err) if err.code() == gpgme::Error::KEY_EXPIRED.code() => {
            fail(format!("signature is by key {by}, which has expired"))
        }
        Err(err) if err.code() == gpgme::Error::CERT_REVOKED.code() => {
            fail(format!("signature is by key {by}, which is revoked"))
        }
        Err(err) if err.code() == gpgme::Error::SIG_EXPIRED.code() => {
            fail(format!("signature by key {by} has expired"))
        }
        Err(err) => fail(format!("signature by key {by} is not valid: {err}")),
    }
}

/// Why `key` may not be used, as the end of a sentence.
fn key_problem(key: &gpgme::Key) -> Option<&'static str> {
    if key.is_revoked() {
        Some("is revoked")
    } else if key.is_expired() {
        Some("has expired")
    } else if key.is_disabled() {
        Some("is disabled")
    } else if key.is_invalid() {
        Some("is invalid")
    } else {
        None
    }
}

/// gpgme's answer for a key that is not in the keyring.
fn is_not_found(err: gpgme::Error) -> bool {
    let code = err.code();
    code == gpgme::Error::EOF.code()
        || code == gpgme::Error::NO_SECKEY.code()
        || code == gpgme::Error::NO_PUBKEY.code()
}

/// The GnuPG home as messages name it.
fn describe_home(home: Option<&Path>) -> String {
    let default = || {
        std::env::var_os("GNUPGHOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".gnupg")))
    };
    match home.map(Path::to_path_buf).or_else(default) {
        Some(dir) => dir.display().to_string(),
        None => "the default GnuPG home".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A throwaway GnuPG home under /tmp (short: the agent socket path has
    /// a length limit). A copy of tests/util/gpg.rs, which common cannot
    /// reach.
    struct Home {
        path: PathBuf,
    }

    impl Home {
        fn new() -> Home {
            use std::os::unix::fs::DirBuilderExt;
            static COUNTER: AtomicUsize = AtomicUsize::new(0);
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock after 1970")
                .subsec_nanos();
            let path = PathBuf::from(format!("/tmp/ptg-{}-{n}-{nanos}", std::process::id()));
            std::fs::DirBuilder::new()
                .mode(0o700)
                .create(&path)
                .expect("create GnuPG home");
            Home { path }
        }

        fn gpg(&self, args: &[&str]) -> String {
            let out = Command::new("gpg")
                .arg("--homedir")
                .arg(&self.path)
                .args(["--batch", "--no-tty", "--pinentry-mode", "loopback"])
                .args(["--passphrase", ""])
                .args(args)
                .output()
                .expect("run gpg");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "gpg {args:?}: {stderr}");
            String::from_utf8(out.stdout).expect("gpg output is UTF-8")
        }

        /// Makes a passphrase-less ed25519 signing key; returns its
        /// fingerprint. `extra` goes before the command (`--faked-system-time`).
        fn make_key_with(&self, name: &str, expire: &str, extra: &[&str]) -> String {
            let uid = format!("{name} <{name}@papertrader.test>");
            let mut args = extra.to_vec();
            args.extend(["--quick-gen-key", &uid, "ed25519", "sign", expire]);
            self.gpg(&args);
            let list = self.gpg(&["--with-colons", "--list-secret-keys", &format!("={uid}")]);
            list.lines()
                .skip_while(|l| !l.starts_with("sec:"))
                .find_map(|l| l.strip_prefix("fpr:"))
                .and_then(|rest| rest.split(':').find(|f| !f.is_empty()))
                .expect("fpr line after sec")
                .to_string()
        }

        fn make_key(&self, name: &str) -> String {
            self.make_key_with(name, "never", &[])
        }

        fn signer(&self, fpr: &str) -> Signer {
            Signer::new(Some(&self.path), fpr).expect("signer")
        }
    }

    impl Drop for Home {
        fn drop(&mut self) {
            let _ = Command::new("gpgconf")
                .arg("--homedir")
                .arg(&self.path)
                .args(["--kill", "gpg-agent"])
                .output();
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }

    const DATA: &[u8] = b"papertrader-master\0uuid\0nonce";

    #[test]
    fn handshake_message_layout() {
        let uuid = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
        let exporter = "ab".repeat(32);
        let mut want =
            b"papertrader-master\x000f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\0ab01\0".to_vec();
        want.extend_from_slice(exporter.as_bytes());
        assert_eq!(
            handshake_message(Role::Master, uuid, "ab01", &exporter),
            want
        );
        assert_eq!(
            handshake_message(Role::Worker, "u", "n", "e"),
            b"papertrader-worker\0u\0n\0e".to_vec()
        );
    }

    #[test]
    fn normalize_fingerprint_forms() {
        let fpr = "0123456789ABCDEF0123456789ABCDEF01234567";
        assert_eq!(
            normalize_fingerprint(&fpr.to_lowercase()).as_deref(),
            Some(fpr)
        );
        let spaced = "0123 4567 89ab CDEF 0123  4567 89AB CDEF 0123 4567";
        assert_eq!(normalize_fingerprint(spaced).as_deref(), Some(fpr));
        assert!(normalize_fingerprint(&"a".repeat(64)).is_some());
        assert_eq!(normalize_fingerprint(&fpr[..39]), None);
        assert_eq!(normalize_fingerprint(&"0".repeat(41)), None);
        assert_eq!(normalize_fingerprint(&format!("{}G", &fpr[..39])), None);
        assert_eq!(normalize_fingerprint(""), None);
    }

    #[test]
    fn sign_then_verify_ok() {
        let home = Home::new();
        let fpr = home.make_key("master");
        let mut signer = home.signer(&fpr.to_lowercase());
        assert_eq!(signer.fingerprint(), fpr);
        let sig = signer.sign(DATA).expect("sign");
        assert!(sig.starts_with("-----BEGIN PGP SIGNATURE-----"), "{sig}");
        signer.verify(&sig, DATA, &fpr).expect("verify");
        signer
            .verify(&sig, DATA, &fpr.to_lowercase())
            .expect("any case");
    }

    #[test]
    fn verify_in_another_home_with_imported_public_key() {
        let master = Home::new();
        let master_fpr = master.make_key("master");
        let sig = master.signer(&master_fpr).sign(DATA).expect("sign");
        let worker = Home::new();
        let worker_fpr = worker.make_key("worker");
        let mut signer = worker.signer(&worker_fpr);
        let err = signer
            .verify(&sig, DATA, &master_fpr)
            .expect_err("not imported yet");
        assert!(
            err.to_string()
                .starts_with(&format!("no public key {master_fpr} in ")),
            "{err}"
        );
        let public = master.gpg(&["--export", "--armor", &master_fpr]);
        let file = worker.path.join("master.asc");
        std::fs::write(&file, public).expect("write key");
        worker.gpg(&["--import", file.to_str().expect("utf-8 path")]);
        signer
            .verify(&sig, DATA, &master_fpr)
            .expect("verify with untrusted imported key");
    }

    #[test]
    fn verify_with_other_expected_fingerprint_fails() {
        let home = Home::new();
        let a = home.make_key("alpha");
        let b = home.make_key("beta");
        let mut signer = home.signer(&a);
        let sig = signer.sign(DATA).expect("sign");
        let err = signer.verify(&sig, DATA, &b).expect_err("wrong key");
        assert_eq!(
            err.to_string(),
            format!("signature is by key {a}, expected {b}")
        );
    }

    #[test]
    fn signature_by_another_key_fails() {
        let home = Home::new();
        let a = home.make_key("alpha");
        let b = home.make_key("beta");
        let sig = home.signer(&b).sign(DATA).expect("sign");
        let err = home.signer(&a).verify(&sig, DATA, &a).expect_err("by b");
        assert_eq!(
            err.to_string(),
            format!("signature is by key {b}, expected {a}")
        );
    }

    #[test]
    fn signature_by_unknown_key_fails() {
        let other = Home::new();
        let x = other.make_key("stranger");
        let sig = other.signer(&x).sign(DATA).expect("sign");
        let home = Home::new();
        let a = home.make_key("alpha");
        let err = home
            .signer(&a)
            .verify(&sig, DATA, &a)
            .expect_err("unknown key");
        assert!(err.to_string().starts_with("signature is by key "), "{err}");
    }

    #[test]
    fn tampered_data_fails() {
        let home = Home::new();
        let a = home.make_key("alpha");
        let mut signer = home.signer(&a);
        let sig = signer.sign(DATA).expect("sign");
        let err = signer.verify(&sig, b"papertrader-master\0uuid\0nonce2", &a);
        assert_eq!(err.expect_err("tampered").to_string(), "bad signature");
        let worker_msg = handshake_message(Role::Worker, "uuid", "nonce", "");
        assert!(signer.verify(&sig, &worker_msg, &a).is_err());
    }

    #[test]
    fn garbage_signature_fails() {
        let home = Home::new();
        let a = home.make_key("alpha");
        let mut signer = home.signer(&a);
        for garbage in [
            "",
            "hello",
            "-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n",
        ] {
            let err = signer.verify(garbage, DATA, &a).expect_err(garbage);
            assert_eq!(err.to_string(), "not an OpenPGP signature", "{garbage:?}");
        }
        let err = signer
            .verify("sig", DATA, "1234")
            .expect_err("bad fingerprint");
        assert_eq!(
            err.to_string(),
            "bad key fingerprint \"1234\": expected 40 or 64 hex digits"
        );
    }

    #[test]
    fn signer_with_unknown_fingerprint_fails() {
        let home = Home::new();
        let a = home.make_key("alpha");
        let unknown = "0123456789ABCDEF0123456789ABCDEF01234567";
        let err = Signer::new(Some(&home.path), &unknown.to_lowercase()).expect_err("unknown");
        let want = format!("no secret key {unknown} in {}", home.path.display());
        assert_eq!(err.to_string(), want);
        // A public key alone is not enough to sign.
        let other = Home::new();
        let public = home.gpg(&["--export", "--armor", &a]);
        let file = other.path.join("a.asc");
        std::fs::write(&file, public).expect("write key");
        other.gpg(&["--import", file.to_str().expect("utf-8 path")]);
        let err = Signer::new(Some(&other.path), &a).expect_err("public only");
        assert!(
            err.to_string()
                .starts_with(&format!("no secret key {a} in ")),
            "{err}"
        );
    }

    #[test]
    fn signature_by_revoked_key_fails() {
        let home = Home::new();
        let a = home.make_key("alpha");
        let mut signer = home.signer(&a);
        let sig = signer.sign(DATA).expect("sign");
        // gpg leaves a revocation certificate with its first line defused
        // by a leading colon.
        let rev = home.path.join(format!("openpgp-revocs.d/{a}.rev"));
        let text = std::fs::read_to_string(&rev).expect("revocation certificate");
        let armed = text.replace(
            ":-----BEGIN PGP PUBLIC KEY BLOCK-----",
            "-----BEGIN PGP PUBLIC KEY BLOCK-----",
        );
        let file = home.path.join("revoke.asc");
        std::fs::write(&file, armed).expect("write");
        home.gpg(&["--import", file.to_str().expect("utf-8 path")]);
        let err = signer.verify(&sig, DATA, &a).expect_err("revoked");
        assert_eq!(err.to_string(), format!("key {a} is revoked"));
    }

    #[test]
    fn signature_by_expired_key_fails() {
        let home = Home::new();
        let then = ["--faked-system-time", "20200101T000000"];
        let old = home.make_key_with("old", "1d", &then);
        let sig_file = home.path.join("sig.asc");
        let data_file = home.path.join("data");
        std::fs::write(&data_file, DATA).expect("write");
        let (sig_path, data_path) = (
            sig_file.to_str().expect("utf-8"),
            data_file.to_str().expect("utf-8"),
        );
        home.gpg(&[
            then[0],
            "20200101T120000",
            "--armor",
            "--local-user",
            &old,
            "--output",
            sig_path,
            "--detach-sign",
            data_path,
        ]);
        let sig = std::fs::read_to_string(&sig_file).expect("signature");
        let a = home.make_key("alpha");
        let err = home
            .signer(&a)
            .verify(&sig, DATA, &old)
            .expect_err("expired");
        assert_eq!(err.to_string(), format!("key {old} has expired"));
    }
}

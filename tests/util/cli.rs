//! The `papertrader` command as the integration tests run it: the real
//! binary with its own HOME and XDG directories, output piped.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::daemon::TempDir;
use super::{stderr, stdout};

/// One user's environment: a HOME with XDG state and config dirs, and the
/// server the commands use through `$PAPERTRADER_SERVER` (none: unset).
pub struct Env {
    pub dir: TempDir,
    pub server: Option<String>,
    pub vars: Vec<(&'static str, String)>,
}

impl Env {
    pub fn new(tag: &str, server: Option<String>) -> Env {
        let dir = TempDir::new(tag);
        std::fs::write(dir.join("pw"), "correct horse\n").expect("password file");
        std::fs::write(dir.join("wrong"), "wrong horse\n").expect("password file");
        Env {
            dir,
            server,
            vars: Vec::new(),
        }
    }

    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.join("state").join("papertrader")
    }

    pub fn session_file(&self) -> PathBuf {
        self.state_dir().join("session")
    }

    /// Writes `$XDG_CONFIG_HOME/papertrader/config`.
    pub fn config(&self, text: &str) -> PathBuf {
        let dir = self.dir.join("config").join("papertrader");
        std::fs::create_dir_all(&dir).expect("config dir");
        let path = dir.join("config");
        std::fs::write(&path, text).expect("config");
        path
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(super::bin("papertrader"));
        cmd.args(args)
            .env("HOME", self.dir.path.as_os_str())
            .env("XDG_STATE_HOME", self.dir.join("state"))
            .env("XDG_CONFIG_HOME", self.dir.join("config"))
            .env_remove("PAPERTRADER_SERVER")
            .env_remove("NO_COLOR")
            .env_remove("COLUMNS");
        if let Some(server) = &self.server {
            cmd.env("PAPERTRADER_SERVER", server);
        }
        for (key, value) in &self.vars {
            cmd.env(key, value);
        }
        cmd
    }

    /// Runs papertrader with `args`, `stdin` piped in.
    pub fn run_with(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn papertrader");
        let mut input = child.stdin.take().expect("stdin");
        input.write_all(stdin).expect("write stdin");
        drop(input);
        child.wait_with_output().expect("wait papertrader")
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, b"")
    }

    /// Stdout of a command that must succeed.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "papertrader {args:?}: {:?}\nstdout: {}\nstderr: {}",
            out.status,
            stdout(&out),
            stderr(&out)
        );
        let text = stdout(&out);
        assert!(!text.contains('\x1b'), "no escapes when piped: {text:?}");
        text
    }

    /// JSON stdout of a command that must succeed.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let text = self.ok(&all);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: {e}: {text}"))
    }

    /// Stderr of a command that must exit with `status`.
    pub fn fails(&self, args: &[&str], status: i32) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(status),
            "papertrader {args:?}\nstdout: {}\nstderr: {}",
            stdout(&out),
            stderr(&out)
        );
        stderr(&out)
    }

    /// Registers and logs in `user` with the password file.
    pub fn register_and_login(&self, user: &str) {
        let pw = self.path("pw");
        let email = format!("{user}@example.com");
        self.ok(&["register", user, &email, "--password-file", &pw]);
        self.ok(&["login", user, "--password-file", &pw]);
    }

    /// Waits until the first price update has reached the worker.
    pub fn wait_for_price(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = self.run(&["quote", "AAPL"]);
            if out.status.success() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no price after 30 s: {}",
                stderr(&out)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

//! Temp dirs and real daemons started as child processes: the harness
//! reads the port from the `listening on ADDR` line and kills the child
//! when the test ends.

use std::fs::{self, File};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A directory under /tmp removed when dropped (kept if PT_KEEP is set).
pub struct TempDir {
    pub path: PathBuf,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let path = PathBuf::from(format!("/tmp/pt-{tag}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("create temp dir");
        TempDir { path }
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("PT_KEEP").is_none() {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// A daemon running in the foreground.
pub struct Daemon {
    child: Child,
    pub addr: SocketAddr,
    pub stderr: PathBuf,
    exited: Option<ExitStatus>,
}

impl Daemon {
    /// Starts `name` with `args`, standard error into `stderr`, and waits
    /// up to 30 s for its `listening on` line.
    pub fn start(name: &str, args: &[&str], stderr: &Path) -> Daemon {
        Daemon::start_env(name, args, stderr, &[])
    }

    /// Like [`Daemon::start`], with `env` added to its environment.
    pub fn start_env(name: &str, args: &[&str], stderr: &Path, env: &[(&str, &str)]) -> Daemon {
        let err = File::create(stderr).expect("stderr file");
        let mut child = Command::new(super::bin(name))
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("listening on ") {
                    let _ = tx.send(addr.trim().to_string());
                }
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(addr) => addr.parse().expect("address in the listening line"),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                let log = fs::read_to_string(stderr).unwrap_or_default();
                panic!("{name} did not report listening; stderr:\n{log}");
            }
        };
        Daemon {
            child,
            addr,
            stderr: stderr.to_path_buf(),
            exited: None,
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Sends a signal to the daemon.
    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.pid(), sig) };
    }

    /// Waits up to `limit` for the daemon to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.exited = Some(status);
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// SIGKILL, and reap.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        if let Ok(status) = self.child.wait() {
            self.exited = Some(status);
        }
    }

    /// What the daemon wrote on standard error so far.
    pub fn stderr_text(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Standard error once it holds `needle`, waiting up to 5 s: the log
    /// thread writes entries a moment after they are logged.
    pub fn stderr_with(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let text = self.stderr_text();
            if text.contains(needle) || Instant::now() >= deadline {
                return text;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.exited.is_none() {
            self.kill9();
        }
    }
}

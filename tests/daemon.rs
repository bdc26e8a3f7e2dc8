//! Detaching (without `-f`): the command that starts ptmasterd or ptworkerd
//! waits for the detached daemon's word on the start-up pipe, so it exits 0
//! only once the daemon is ready, and with the daemon's status and message
//! when start-up fails after the fork (common/src/daemon.rs).

mod util;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use util::daemon::TempDir;
use util::master::{FAST_ARGON2, MasterSetup};

/// A detached daemon, found through its pid file; killed when dropped if
/// the test did not stop it.
struct Detached {
    pid: i32,
    pid_file: PathBuf,
}

impl Detached {
    fn from_pid_file(pid_file: &Path) -> Detached {
        let text = std::fs::read_to_string(pid_file).expect("pid file written before ready");
        Detached {
            pid: text.trim().parse().expect("pid"),
            pid_file: pid_file.to_path_buf(),
        }
    }

    /// Running: it exists and is not a zombie (its parent is init, which
    /// in a container may be slow to reap it).
    fn alive(&self) -> bool {
        // SAFETY: signal 0 only checks that the process exists.
        let exists = unsafe { libc::kill(self.pid, 0) == 0 };
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).unwrap_or_default();
        let state = stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.chars().next());
        exists && state != Some('Z')
    }

    /// SIGTERM, then waits for the daemon to remove its pid file and exit.
    fn stop(&self) {
        // SAFETY: signalling the daemon this test started.
        unsafe { libc::kill(self.pid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while (self.pid_file.exists() || self.alive()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(!self.pid_file.exists(), "pid file removed on SIGTERM");
        assert!(!self.alive(), "daemon {} exited on SIGTERM", self.pid);
    }
}

impl Drop for Detached {
    fn drop(&mut self) {
        if self.pid_file.exists() {
            // SAFETY: killing the daemon this test started.
            unsafe { libc::kill(self.pid, libc::SIGKILL) };
        }
    }
}

/// Runs `name` without `-f` and returns its status, stderr and how long
/// the command took.
fn start(name: &str, conf: &Path) -> (Option<i32>, String, Duration) {
    let begun = Instant::now();
    let out = util::run(name, &["-c", conf.to_str().expect("path")], b"");
    (out.status.code(), util::stderr(&out), begun.elapsed())
}

#[test]
fn master_database_failure_after_detaching_is_the_commands_exit() {
    let setup = MasterSetup::new("dbfail");
    let conf = setup.write_conf(FAST_ARGON2);
    let text = std::fs::read_to_string(&conf).expect("conf");
    let text = text.replace("/master.db\n", "/no-such-dir/master.db\n");
    assert!(text.contains("no-such-dir"), "{text}");
    std::fs::write(&conf, text).expect("conf");
    let (status, stderr, took) = start("ptmasterd", &conf);
    assert_eq!(status, Some(73), "the daemon's status: {stderr}");
    assert!(
        stderr.starts_with("ptmasterd: ") && stderr.contains("no-such-dir/master.db"),
        "the daemon's message: {stderr}"
    );
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(
        !setup.dir.join("ptmasterd.pid").exists(),
        "a daemon that failed leaves no pid file"
    );
    assert!(!setup.control_socket().exists());
}

/// A ptworkerd.conf without master link (no keys) listening on `listen`.
fn worker_conf(dir: &TempDir, listen: &str) -> PathBuf {
    let d = dir.path.display();
    let text = format!(
        "listen = {listen}\nstate_dir = {d}\npid_file = {d}/ptworkerd.pid\n\
         log_file = {d}/ptworkerd.log\n"
    );
    let path = dir.join("ptworkerd.conf");
    std::fs::write(&path, text).expect("ptworkerd.conf");
    path
}

#[test]
fn worker_bind_failure_after_detaching_is_the_commands_exit() {
    let dir = TempDir::new("bindfail");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("address");
    let conf = worker_conf(&dir, &addr.to_string());
    let (status, stderr, took) = start("ptworkerd", &conf);
    assert_eq!(status, Some(71), "the daemon's status: {stderr}");
    assert!(
        stderr.starts_with(&format!("ptworkerd: bind {addr}: ")) && stderr.contains("in use"),
        "the daemon's message: {stderr}"
    );
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(!dir.join("ptworkerd.pid").exists());
}

#[test]
fn master_exits_zero_once_the_detached_daemon_is_ready() {
    let setup = MasterSetup::new("ready");
    let conf = setup.write_conf(FAST_ARGON2);
    let (status, stderr, _) = start("ptmasterd", &conf);
    assert_eq!(status, Some(0), "{stderr}");
    assert_eq!(stderr, "");
    // No waiting: exit 0 means ready.
    let daemon = Detached::from_pid_file(&setup.dir.join("ptmasterd.pid"));
    assert!(daemon.alive(), "daemon {} running", daemon.pid);
    let sock = setup.control_socket();
    let out = util::run(
        "ptctl",
        &["-s", sock.to_str().expect("path"), "status"],
        b"",
    );
    assert!(
        util::stdout(&out).contains(&format!("pid {}", daemon.pid)),
        "{}",
        util::stdout(&out)
    );
    daemon.stop();
}

#[test]
fn worker_exits_zero_once_the_detached_daemon_is_ready() {
    let dir = TempDir::new("wready");
    let conf = worker_conf(&dir, "127.0.0.1:0");
    let (status, stderr, _) = start("ptworkerd", &conf);
    assert_eq!(status, Some(0), "{stderr}");
    assert_eq!(stderr, "");
    let daemon = Detached::from_pid_file(&dir.join("ptworkerd.pid"));
    assert!(daemon.alive(), "daemon {} running", daemon.pid);
    daemon.stop();
    let log = std::fs::read_to_string(dir.join("ptworkerd.log")).expect("log");
    assert!(
        log.contains("listening on 127.0.0.1:") && log.contains("stopped"),
        "{log}"
    );
}

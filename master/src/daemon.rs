//! Unix daemon conventions: detaching from the terminal with a pid file,
//! and the signal thread. Detaching forks, so it runs before any thread
//! exists (STYLE.md).

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::thread::{self, JoinHandle};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};
use signal_hook::iterator::Signals;

use crate::event::{Event, Notifier};

/// Forks twice into the background, starts a new session, points the
/// standard streams at /dev/null and writes `pid_file`.
pub fn detach(pid_file: &Path) -> io::Result<()> {
    // SAFETY: called from main before any thread is spawned, so the child
    // holds no locks another thread could have owned.
    unsafe {
        match libc::fork() {
            -1 => return Err(io::Error::last_os_error()),
            0 => {}
            _ => libc::_exit(0),
        }
        if libc::setsid() == -1 {
            return Err(io::Error::last_os_error());
        }
        match libc::fork() {
            -1 => return Err(io::Error::last_os_error()),
            0 => {}
            _ => libc::_exit(0),
        }
    }
    let null = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?;
    use std::os::fd::AsRawFd;
    for fd in 0..3 {
        // SAFETY: dup2 onto the standard descriptors of this process.
        if unsafe { libc::dup2(null.as_raw_fd(), fd) } == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    write_pid(pid_file)
}

/// Writes this process's pid to `path`, mode 0644.
pub fn write_pid(path: &Path) -> io::Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("pid file {}: {e}", path.display())))?;
    writeln!(file, "{}", std::process::id())
}

/// Starts the "signals" thread: SIGTERM, SIGINT, SIGHUP and SIGUSR1 become
/// events for the loop.
pub fn spawn_signals(notifier: Notifier) -> io::Result<JoinHandle<()>> {
    let mut signals = Signals::new([SIGTERM, SIGINT, SIGHUP, SIGUSR1])?;
    thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for sig in signals.forever() {
                if !notifier.send(Event::Signal(sig)) {
                    return;
                }
            }
        })
}

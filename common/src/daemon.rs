//! Unix daemon conventions shared by ptmasterd and ptworkerd: detaching
//! from the terminal and the pid file. Detaching forks, so the caller runs
//! it before any thread exists (STYLE.md); nothing here starts a thread.

use std::fs;
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Forks twice into the background, starts a new session, points the
/// standard streams at /dev/null and writes `pid_file`.
pub fn detach(pid_file: &Path) -> io::Result<()> {
    // Opened before forking, so that an unwritable path fails here, in the
    // process the caller can still see exit.
    let mut file = open_pid_file(pid_file)?;
    // SAFETY: the caller has not spawned a thread yet, so the child holds
    // no lock another thread could have owned.
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
    for fd in 0..3 {
        // SAFETY: dup2 onto this process's own standard descriptors.
        if unsafe { libc::dup2(null.as_raw_fd(), fd) } == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    writeln!(file, "{}", std::process::id())
}

/// Writes this process's pid to `path`, mode 0644.
pub fn write_pid(path: &Path) -> io::Result<()> {
    writeln!(open_pid_file(path)?, "{}", std::process::id())
}

fn open_pid_file(path: &Path) -> io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("pid file {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_file_holds_our_pid() {
        let path = std::env::temp_dir().join(format!("pt-pid-{}", std::process::id()));
        write_pid(&path).expect("write");
        let text = fs::read_to_string(&path).expect("read");
        assert_eq!(text, format!("{}\n", std::process::id()));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&path).expect("meta").permissions().mode() & 0o777,
            0o644
        );
        fs::remove_file(&path).expect("cleanup");
    }

    #[test]
    fn unwritable_pid_file_names_the_path() {
        let err = write_pid(Path::new("/nonexistent/dir/x.pid")).expect_err("no dir");
        assert!(
            err.to_string()
                .starts_with("pid file /nonexistent/dir/x.pid:"),
            "{err}"
        );
    }
}

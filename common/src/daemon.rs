//! Unix daemon conventions shared by ptmasterd and ptworkerd: detaching
//! from the terminal and the pid file. Detaching forks, so the caller runs
//! it before any thread exists (STYLE.md); nothing here starts a thread.

use std::fs;
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// sysexits(3) status for a command line error.
pub const EX_USAGE: u8 = 64;
/// sysexits(3) status for an internal error, a dead thread included.
pub const EX_SOFTWARE: u8 = 70;

/// The flags every daemon takes: `-f` foreground, `-n` check the config,
/// `-v` verbose, `-c FILE`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags {
    /// Stay in the foreground, logging to standard error too.
    pub foreground: bool,
    /// Check the configuration and exit.
    pub check_only: bool,
    /// Log at debug level at least.
    pub verbose: bool,
    /// The config file, if given.
    pub config: Option<PathBuf>,
}

impl Flags {
    /// Parses the daemon flags from `args`; `Err((0, usage))` for `-h`,
    /// `Err((64, message))` for anything else it does not know.
    pub fn parse(
        args: impl IntoIterator<Item = std::ffi::OsString>,
        usage: &str,
    ) -> Result<Flags, (u8, String)> {
        use lexopt::prelude::*;
        let bad = |e: lexopt::Error| (EX_USAGE, format!("{e}\n{usage}"));
        let mut flags = Flags::default();
        let mut parser = lexopt::Parser::from_args(args);
        while let Some(arg) = parser.next().map_err(bad)? {
            match arg {
                Short('f') => flags.foreground = true,
                Short('n') => flags.check_only = true,
                Short('v') => flags.verbose = true,
                Short('c') => flags.config = Some(parser.value().map_err(bad)?.into()),
                Short('h') | Long("help") => return Err((0, usage.to_string())),
                other => return Err(bad(other.unexpected())),
            }
        }
        Ok(flags)
    }
}

/// Turns a daemon's result into its exit: the usage on stdout for `-h`,
/// else `NAME: message` on stderr and in the log, with the status.
pub fn finish(name: &str, result: Result<(), (u8, String)>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err((0, usage)) => {
            println!("{usage}");
            ExitCode::SUCCESS
        }
        Err((status, message)) => {
            eprintln!("{name}: {message}");
            error!("{message}");
            log::logger().flush();
            ExitCode::from(status)
        }
    }
}

/// A dead thread takes the daemon down rather than leave it half alive:
/// after the log system's hook has recorded and flushed the panic, exit.
pub fn exit_on_thread_panic() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        previous(info);
        std::process::exit(i32::from(EX_SOFTWARE));
    }));
}

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
    fn daemon_flags() {
        let args = |a: &[&str]| a.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        let flags = Flags::parse(args(&["-f", "-c", "x.conf", "-v"]), "usage").expect("ok");
        assert_eq!(flags.config.as_deref(), Some(Path::new("x.conf")));
        assert!(flags.foreground && flags.verbose && !flags.check_only);
        assert_eq!(
            Flags::parse(args(&["-h"]), "usage"),
            Err((0, "usage".to_string()))
        );
        let err = Flags::parse(args(&["-x"]), "usage").expect_err("unknown");
        assert_eq!(err.0, EX_USAGE);
        assert!(err.1.ends_with("\nusage"), "{}", err.1);
    }

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

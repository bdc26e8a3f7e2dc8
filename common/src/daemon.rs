//! Unix daemon conventions shared by ptmasterd and ptworkerd: detaching
//! from the terminal, the pid file, and the start-up handshake between
//! the command and the daemon it detached. Detaching forks, so the caller
//! runs it before any thread exists (STYLE.md); nothing here starts a
//! thread. Everything here runs on the main thread, except the panic hook
//! of [`exit_on_thread_panic`], which runs on the thread that panicked.
//!
//! The handshake (boringtun-cli does the same): [`detach`] makes a pipe
//! before it forks, and the command that was started stays behind reading
//! it until the detached daemon either calls [`ready`], once everything
//! that can fail at start-up has succeeded (one zero byte: the command
//! exits 0), or fails through [`finish`] or a panic (its exit status as
//! one byte, then its message: the command prints `NAME: message` and
//! exits with that status). A daemon that dies without a word closes the
//! pipe, and the command exits 70.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Mutex, PoisonError};

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
/// else `NAME: message` on stderr and in the log, with the status. A
/// detached daemon that has not called [`ready`] yet also removes its pid
/// file and hands the status and message to the command waiting for it.
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
            fail_start(status, &message);
            ExitCode::from(status)
        }
    }
}

/// Starts the log system (and so its "log" thread) after detaching, and
/// makes a dead thread take the daemon down.
pub fn start_logging(config: crate::log::LogConfig) -> Result<crate::log::LogHandle, (u8, String)> {
    let log = crate::log::init(config).map_err(|e| (EX_SOFTWARE, format!("logger: {e}")))?;
    exit_on_thread_panic();
    Ok(log)
}

/// The last steps of a daemon that stopped: its pid file goes (when it
/// detached), "stopped" is logged, and the log thread writes everything
/// out before the process ends.
pub fn stopped(log: &crate::log::LogHandle, pid_file: Option<&Path>) {
    if let Some(pid_file) = pid_file {
        let _ = fs::remove_file(pid_file);
    }
    info!("stopped");
    let _ = log.flush_wait();
}

/// A dead thread takes the daemon down rather than leave it half alive:
/// after the log system's hook has recorded and flushed the panic, exit
/// (telling the command waiting for a detached daemon, during start-up).
pub fn exit_on_thread_panic() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        previous(info);
        let thread = std::thread::current();
        let what = info.payload_as_str().unwrap_or("(payload is not a string)");
        let message = format!(
            "thread {} panicked during start-up: {what}",
            thread.name().unwrap_or("-")
        );
        fail_start(EX_SOFTWARE, &message);
        std::process::exit(i32::from(EX_SOFTWARE));
    }));
}

/// The detached daemon's end of the start-up pipe and its pid file, from
/// the fork until [`ready`] or a failure.
struct Starting {
    pipe: File,
    pid_file: PathBuf,
}

static STARTING: Mutex<Option<Starting>> = Mutex::new(None);

/// Takes the start-up pipe, if start-up is still under way.
fn take_starting() -> Option<Starting> {
    STARTING
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
}

/// Tells the command that started a detached daemon that start-up is
/// over and it may exit 0. Call it once everything that can fail at
/// start-up (binding, opening the database, loading keys, starting the
/// threads) has succeeded; without detaching, it does nothing.
pub fn ready() {
    if let Some(mut starting) = take_starting() {
        // Nothing to do if the command is gone: nobody waits any more.
        let _ = starting.pipe.write_all(&[0]);
    }
}

/// Start-up failed with `status`: removes the pid file and hands the
/// status and `message` to the command waiting for a detached daemon.
fn fail_start(status: u8, message: &str) {
    let Some(mut starting) = take_starting() else {
        return;
    };
    let _ = fs::remove_file(&starting.pid_file);
    let mut bytes = vec![status.max(1)];
    bytes.extend_from_slice(message.as_bytes());
    let _ = starting.pipe.write_all(&bytes);
}

/// Most bytes of a message read from the start-up pipe.
const MAX_MESSAGE: u64 = 4096;

/// The command's side of the start-up pipe: waits for the detached
/// daemon's word and exits with it.
fn await_start(name: &str, mut pipe: File) -> ! {
    let mut status = [0u8];
    let status = match pipe.read_exact(&mut status) {
        Ok(()) if status[0] == 0 => 0,
        Ok(()) => {
            let mut message = Vec::new();
            let _ = pipe.take(MAX_MESSAGE).read_to_end(&mut message);
            let message = String::from_utf8_lossy(&message);
            match message.trim() {
                "" => eprintln!("{name}: start-up failed with status {}", status[0]),
                message => eprintln!("{name}: {message}"),
            }
            status[0]
        }
        Err(err) => {
            eprintln!("{name}: the daemon exited during start-up ({err}); see its log");
            EX_SOFTWARE
        }
    };
    std::process::exit(i32::from(status))
}

/// A pipe whose ends are closed on exec, so that no program the daemon
/// runs (gpg) keeps the command waiting.
fn pipe() -> io::Result<(File, File)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into `fds`.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors are new and owned by nothing else.
    Ok(unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) })
}

/// Forks twice into the background, starts a new session, points the
/// standard streams at /dev/null and writes `pid_file`. The process that
/// called it does not return: it waits until the daemon calls [`ready`]
/// (then exits 0) or fails (then prints `NAME: message` on stderr and
/// exits with the daemon's status), see the module documentation.
pub fn detach(name: &str, pid_file: &Path) -> io::Result<()> {
    // Opened before forking, so that an unwritable path fails here, in the
    // process the caller can still see exit.
    let mut file = open_pid_file(pid_file)?;
    let (read_end, write_end) = pipe()?;
    // SAFETY: the caller has not spawned a thread yet, so the child holds
    // no lock another thread could have owned.
    match unsafe { libc::fork() } {
        -1 => return Err(io::Error::last_os_error()),
        0 => {}
        _ => {
            drop(write_end);
            await_start(name, read_end);
        }
    }
    drop(read_end);
    *STARTING.lock().unwrap_or_else(PoisonError::into_inner) = Some(Starting {
        pipe: write_end,
        pid_file: pid_file.to_path_buf(),
    });
    // SAFETY: as above; the first child exits at once without unwinding.
    unsafe {
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

    /// Writes this process's pid to `path` as [`detach`] does, mode 0644.
    fn write_pid(path: &Path) -> io::Result<()> {
        writeln!(open_pid_file(path)?, "{}", std::process::id())
    }

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

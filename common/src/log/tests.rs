//! Tests of the log module.

use super::*;
use ::log::Level;
use std::borrow::Cow;
use std::fs;
use std::os::unix::fs::PermissionsExt;

/// Views and waits only the tests need.
impl Logger {
    /// Waits until the log thread has done every job handed to it so far,
    /// without taking the entries in memory.
    fn settle(&self) {
        let (tx, rx) = crossbeam_channel::bounded(1);
        let job = LogWork::Write(Batch::default(), Some(tx));
        let sent = self.hand_over(job);
        assert!(sent.is_ok(), "log thread running");
        let _ = wait(&rx);
    }

    /// True when no entry is in memory.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A copy of the entries in memory, oldest first.
    fn entries_snapshot(&self) -> Vec<Entry> {
        lock(&self.buffer).entries.clone()
    }
}

/// A fresh empty directory for one test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pt-log-test-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

fn logger(file: &Path, memory_entries: usize, level: LevelFilter) -> Logger {
    Logger::new(LogConfig {
        level,
        memory_entries,
        file: Some(file.to_path_buf()),
        echo_stderr: false,
        ..LogConfig::default()
    })
    .expect("log thread")
}

fn log_at(logger: &Logger, level: Level, message: &str) {
    logger.log(
        &Record::builder()
            .level(level)
            .target("master::server")
            .module_path_static(Some("master::server"))
            .file_static(Some("master/src/server.rs"))
            .line(Some(120))
            .args(format_args!("{message}"))
            .build(),
    );
    // What the log thread was handed is written before the test looks.
    logger.settle();
}

fn lines(path: &Path) -> Vec<String> {
    let text = fs::read_to_string(path).expect("read log file");
    text.lines().map(str::to_string).collect()
}

#[test]
fn entry_line_format() {
    let entry = Entry {
        time: time::macros::datetime!(2026-11-21 23:15:02.123456 UTC),
        level: Level::Info,
        thread: "main".to_string(),
        module: Cow::Borrowed("master::server"),
        function: None,
        file: Cow::Borrowed("master/src/server.rs"),
        line: Some(120),
        message: "listening on 127.0.0.1:2048".to_string(),
    };
    assert_eq!(
        entry.to_string(),
        "2026-11-21 23:15:02.123 INFO  [main] master::server server.rs:120 \
         listening on 127.0.0.1:2048"
    );
    let odd = Entry {
        line: None,
        message: "a\nb\r\tc\\d\u{1b}[31m".to_string(),
        ..entry
    };
    assert!(
        odd.to_string()
            .ends_with(" server.rs:? a\\nb\\r\\tc\\\\d\\u{1b}[31m"),
        "{odd}"
    );
}

#[test]
fn entry_fields_appear_in_the_file_line() {
    let dir = temp_dir("fields");
    let path = dir.join("pt.log");
    let log = logger(&path, 10, LevelFilter::Trace);
    log_at(&log, Level::Warn, "listening on 127.0.0.1:2048");
    log.flush_entries().expect("flush");
    let lines = lines(&path);
    assert_eq!(lines.len(), 1);
    let line = &lines[0];
    let (stamp, rest) = line.split_at(23);
    assert!(
        time::PrimitiveDateTime::parse(
            stamp,
            time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:3]"
            ),
        )
        .is_ok()
    );
    let thread = thread::current().name().unwrap_or("-").to_string();
    assert_eq!(
        rest,
        format!(" WARN  [{thread}] master::server server.rs:120 listening on 127.0.0.1:2048")
    );
    fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn buffer_never_exceeds_memory_entries() {
    let dir = temp_dir("bound");
    let path = dir.join("pt.log");
    let log = logger(&path, 3, LevelFilter::Info);
    for i in 0..10 {
        log_at(&log, Level::Info, &format!("entry {i}"));
        assert!(log.len() < 3, "{} entries in memory", log.len());
        assert_eq!(lines(&path).len(), (i + 1) / 3 * 3);
    }
    assert_eq!(log.len(), 1);
    assert_eq!(log.entries_snapshot()[0].message, "entry 9");
    fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn flush_writes_every_entry_in_order_and_empties_the_buffer() {
    let dir = temp_dir("flush");
    let path = dir.join("pt.log");
    let log = logger(&path, 100, LevelFilter::Info);
    for i in 0..5 {
        log_at(&log, Level::Error, &format!("entry {i}"));
    }
    assert_eq!(log.len(), 5);
    assert_eq!(fs::read_to_string(&path).expect("created at start"), "");
    log.flush_entries().expect("flush");
    assert!(log.is_empty());
    let written = lines(&path);
    assert_eq!(written.len(), 5);
    for (i, line) in written.iter().enumerate() {
        assert!(line.ends_with(&format!(" entry {i}")), "{line}");
    }
    // Appends, never truncates.
    log_at(&log, Level::Error, "entry 5");
    drop(log);
    let log = logger(&path, 100, LevelFilter::Info);
    log.flush_entries().expect("flush");
    assert_eq!(lines(&path).len(), 6);
    fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn multi_line_message_stays_on_one_line() {
    let dir = temp_dir("multiline");
    let path = dir.join("pt.log");
    let log = logger(&path, 10, LevelFilter::Info);
    log_at(&log, Level::Info, "first\nsecond\r\nthird");
    log.flush_entries().expect("flush");
    let lines = lines(&path);
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].ends_with(" first\\nsecond\\r\\nthird"),
        "{}",
        lines[0]
    );
    fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn level_filter_drops_lower_levels() {
    let dir = temp_dir("level");
    let path = dir.join("pt.log");
    let log = logger(&path, 10, LevelFilter::Info);
    log_at(&log, Level::Debug, "dropped");
    log_at(&log, Level::Trace, "dropped");
    log_at(&log, Level::Info, "kept");
    log_at(&log, Level::Warn, "kept");
    assert_eq!(log.len(), 2);
    assert!(log.entries_snapshot().iter().all(|e| e.message == "kept"));
    let off = logger(&path, 10, LevelFilter::Off);
    log_at(&off, Level::Error, "dropped");
    assert!(off.is_empty());
    fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn file_is_created_with_mode_0640() {
    let dir = temp_dir("mode");
    let path = dir.join("pt.log");
    let _log = logger(&path, 10, LevelFilter::Info);
    let mode = fs::metadata(&path)
        .expect("created at start")
        .permissions()
        .mode()
        & 0o777;
    // The umask may take bits away, never add them.
    assert_eq!(mode & !FILE_MODE, 0, "mode {mode:o}");
    assert_eq!(mode & 0o600, 0o600, "mode {mode:o}");
    fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn panic_is_recorded_and_flushed() {
    let dir = temp_dir("panic");
    let path = dir.join("pt.log");
    let log = logger(&path, 10, LevelFilter::Error);
    log_at(&log, Level::Error, "before the crash");
    let payload = std::panic::catch_unwind(|| {
        std::panic::resume_unwind(Box::new(String::from("price feed went negative")))
    })
    .expect_err("panics");
    let location = Location::caller();
    log.record_panic_parts(&*payload, Some(location));
    assert!(log.is_empty(), "flushed");
    let written = lines(&path);
    assert_eq!(written.len(), 2);
    assert!(written[0].ends_with(" before the crash"));
    let file = location.file().rsplit('/').next().unwrap_or_default();
    let expected = format!(
        " panic {file}:{} panicked: price feed went negative",
        location.line()
    );
    assert!(
        written[1].contains(" ERROR [") && written[1].ends_with(&expected),
        "{}",
        written[1]
    );
    log.record_panic_parts(&42_u32, None);
    assert!(lines(&path)[2].ends_with(" panic ?:? panicked: (payload is not a string)"));
    fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn threads_flushing_together_keep_each_thread_in_order() {
    let dir = temp_dir("threads");
    let path = dir.join("pt.log");
    let log = Arc::new(logger(&path, 4, LevelFilter::Info));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let log = Arc::clone(&log);
            thread::Builder::new()
                .name(format!("t{t}"))
                .spawn(move || {
                    for i in 0..250 {
                        log_at(&log, Level::Info, &format!("{i}"));
                    }
                })
                .expect("spawn")
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    log.flush_entries().expect("flush");
    let lines = lines(&path);
    assert_eq!(lines.len(), 1000);
    for t in 0..4 {
        let tag = format!("[t{t}]");
        let seen: Vec<u32> = lines
            .iter()
            .filter(|l| l.contains(&tag))
            .map(|l| {
                l.rsplit(' ')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("number")
            })
            .collect();
        assert_eq!(seen, (0..250).collect::<Vec<_>>());
    }
    fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn set_file_writes_old_entries_then_switches() {
    let dir = temp_dir("switch");
    let (old, new) = (dir.join("old.log"), dir.join("new.log"));
    let log = logger(&old, 10, LevelFilter::Info);
    log_at(&log, Level::Info, "to old");
    let err = log
        .set_file(Some(dir.join("missing/x.log")))
        .expect_err("no such dir");
    assert!(err.to_string().contains("missing/x.log"), "{err}");
    assert_eq!(log.len(), 1, "a failed switch changes nothing");
    log.set_file(Some(new.clone())).expect("switch");
    log_at(&log, Level::Info, "to new");
    log.flush_entries().expect("flush");
    assert_eq!(lines(&old).len(), 1);
    assert!(lines(&old)[0].ends_with(" to old"));
    assert_eq!(lines(&new).len(), 1);
    assert!(lines(&new)[0].ends_with(" to new"));
    fs::remove_dir_all(&dir).expect("clean up");
}

/// A logger whose stderr is the returned buffer.
fn captured(config: LogConfig) -> (Logger, Arc<Mutex<Vec<u8>>>) {
    let out = Arc::new(Mutex::new(Vec::new()));
    let log = Logger::with_stderr(config, out.clone()).expect("log thread");
    (log, out)
}

fn text(out: &Mutex<Vec<u8>>) -> String {
    String::from_utf8(lock(out).clone()).expect("UTF-8")
}

#[test]
fn without_a_file_flushed_entries_go_to_stderr() {
    let (log, out) = captured(LogConfig {
        memory_entries: 2,
        ..LogConfig::default()
    });
    log_at(&log, Level::Info, "one");
    assert_eq!(text(&out), "");
    log_at(&log, Level::Info, "two");
    log_at(&log, Level::Info, "three");
    assert_eq!(text(&out).lines().count(), 2, "the full buffer was written");
    log.flush_entries().expect("flush");
    let text = text(&out);
    let messages: Vec<&str> = text.lines().filter_map(|l| l.rsplit(' ').next()).collect();
    assert_eq!(messages, ["one", "two", "three"]);
}

#[test]
fn echo_without_a_file_prints_each_entry_once() {
    let config = LogConfig {
        memory_entries: 2,
        echo_stderr: true,
        ..LogConfig::default()
    };
    let (log, out) = captured(config);
    log_at(&log, Level::Info, "one");
    assert!(text(&out).ends_with(" one\n"), "printed at once");
    log_at(&log, Level::Info, "two");
    log_at(&log, Level::Info, "three");
    log.flush_entries().expect("flush");
    assert_eq!(text(&out).lines().count(), 3);
}

#[test]
fn echo_with_a_file_prints_at_once_and_writes_on_flush() {
    let dir = temp_dir("echo");
    let path = dir.join("pt.log");
    let config = LogConfig {
        level: LevelFilter::Info,
        memory_entries: 10,
        file: Some(path.clone()),
        echo_stderr: true,
        ..LogConfig::default()
    };
    let (log, out) = captured(config);
    log_at(&log, Level::Info, "one");
    assert!(text(&out).ends_with(" one\n"));
    assert_eq!(lines(&path).len(), 0);
    log.flush_entries().expect("flush");
    assert_eq!(lines(&path).len(), 1);
    assert_eq!(text(&out).lines().count(), 1);
    fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn write_error_does_not_panic_and_is_reported_once() {
    let dir = temp_dir("error");
    let path = dir.join("gone/pt.log");
    let config = LogConfig {
        level: LevelFilter::Info,
        memory_entries: 2,
        file: Some(path.clone()),
        echo_stderr: false,
        ..LogConfig::default()
    };
    let (log, out) = captured(config);
    let report = format!(
        "cannot open log: {}: No such file or directory",
        path.display()
    );
    assert!(text(&out).starts_with(&report), "{}", text(&out));
    log_at(&log, Level::Info, "one");
    log_at(&log, Level::Info, "two");
    log_at(&log, Level::Info, "three");
    let err = log.flush_entries().expect_err("no such directory");
    assert!(
        err.to_string().starts_with(&path.display().to_string()),
        "{err}"
    );
    assert!(log.is_empty());
    let text_now = text(&out);
    assert_eq!(
        text_now.matches("cannot ").count(),
        1,
        "reported once: {text_now}"
    );
    // The entries were not lost: stderr got them instead.
    assert_eq!(text_now.lines().count(), 4, "{text_now}");
    // The file works again once its directory exists.
    fs::create_dir_all(dir.join("gone")).expect("mkdir");
    log_at(&log, Level::Info, "four");
    log.flush_entries().expect("flush");
    assert_eq!(lines(&path).len(), 1);
    assert_eq!(text(&out).lines().count(), 4);
    fs::remove_dir_all(&dir).expect("clean up");
}

/// A stderr that blocks every write until its gate opens.
struct Stuck {
    gate: Arc<(Mutex<bool>, std::sync::Condvar)>,
    out: Arc<Mutex<Vec<u8>>>,
}

impl Write for Stuck {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let (open, opened) = &*self.gate;
        let mut open = lock(open);
        while !*open {
            open = opened.wait(open).unwrap_or_else(PoisonError::into_inner);
        }
        lock(&self.out).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn log_calls_never_wait_for_a_stuck_log_thread_and_drops_are_counted() {
    let gate = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
    let out = Arc::new(Mutex::new(Vec::new()));
    let stuck = Stuck {
        gate: Arc::clone(&gate),
        out: Arc::clone(&out),
    };
    let config = LogConfig {
        memory_entries: 2,
        ..LogConfig::default()
    };
    let log = Arc::new(Logger::with_stderr(config, Arc::new(Mutex::new(stuck))).expect("thread"));
    let (done_tx, done_rx) = crossbeam_channel::bounded(1);
    let logging = Arc::clone(&log);
    thread::spawn(move || {
        for i in 0..10_000 {
            logging.log(
                &Record::builder()
                    .level(Level::Info)
                    .args(format_args!("entry {i}"))
                    .build(),
            );
        }
        let _ = done_tx.send(());
    });
    assert!(
        done_rx.recv_timeout(Duration::from_secs(10)).is_ok(),
        "log calls returned while the log thread was stuck"
    );
    let err = log.request_flush().expect_err("too far behind");
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock, "{err}");
    log.log(
        &Record::builder()
            .level(Level::Info)
            .args(format_args!("entry 10000"))
            .build(),
    );
    assert!(log.request_flush().is_err());
    assert_eq!(log.len(), 1, "an unsent flush keeps the entries in memory");
    *lock(&gate.0) = true;
    gate.1.notify_all();
    log.flush_entries().expect("written once unstuck");
    let text = text(&out);
    let (mut dropped, mut seen) = (0, Vec::new());
    for line in text.lines() {
        match line.split_once(" entries dropped: ") {
            Some((head, _)) => {
                dropped += head
                    .rsplit(' ')
                    .next()
                    .and_then(|n| n.parse::<u32>().ok())
                    .expect("count")
            }
            None => seen.push(
                line.rsplit(' ')
                    .next()
                    .and_then(|n| n.parse::<u32>().ok())
                    .expect("entry number"),
            ),
        }
    }
    assert!(dropped > 0, "{text}");
    assert_eq!(
        seen.len() as u32 + dropped,
        10_001,
        "every entry written or counted"
    );
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "in order");
    assert_eq!(seen.last(), Some(&10_000));
}

#[test]
fn reopen_requests_switch_files_and_log_the_outcome() {
    let dir = temp_dir("reopen");
    let (old, new) = (dir.join("old.log"), dir.join("new.log"));
    let log = logger(&old, 10, LevelFilter::Info);
    log_at(&log, Level::Info, "to old");
    log.request_reopen(Some(dir.join("missing/x.log")))
        .expect("asked");
    log_at(&log, Level::Info, "still old");
    log.request_reopen(Some(new.clone())).expect("asked");
    log_at(&log, Level::Info, "to new");
    log.request_flush().expect("asked");
    log.settle();
    let old_lines = lines(&old);
    assert_eq!(old_lines.len(), 3, "{old_lines:?}");
    assert!(old_lines[0].ends_with(" to old"));
    assert!(
        old_lines[1].contains(" ERROR [log] ")
            && old_lines[1].contains("cannot reopen the log file: ")
            && old_lines[1].contains("missing/x.log"),
        "{}",
        old_lines[1]
    );
    assert!(old_lines[2].ends_with(" still old"));
    let new_lines = lines(&new);
    assert_eq!(new_lines.len(), 2, "{new_lines:?}");
    assert!(new_lines[0].ends_with(" log file reopened"));
    assert!(new_lines[1].ends_with(" to new"));
    fs::remove_dir_all(&dir).expect("clean up");
}

/// A named function that logs, as a daemon's code does.
fn open_the_market(log: &Logger) {
    info!(logger: log, "market {} open", "NYSE");
}

#[test]
fn entry_names_the_function_it_was_logged_from() {
    // The logging macros check the global level before the logger's.
    ::log::set_max_level(LevelFilter::Trace);
    let (log, _out) = captured(LogConfig::default());
    open_the_market(&log);
    let in_closure = || warn!(logger: &log, "from a closure");
    in_closure();
    // Another crate's record: its target is its module path.
    log_at(&log, Level::Error, "from elsewhere");
    let entries = log.entries_snapshot();
    assert_eq!(entries.len(), 3);
    assert_eq!(
        entries[0].function.as_deref(),
        Some("papertrader_common::log::tests::open_the_market")
    );
    assert_eq!(entries[0].module, "papertrader_common::log::tests");
    assert_eq!(entries[0].message, "market NYSE open");
    let line = entries[0].to_string();
    assert!(
        line.contains(" papertrader_common::log::tests::open_the_market tests.rs:"),
        "{line}"
    );
    assert_eq!(
        entries[1].function.as_deref(),
        Some("papertrader_common::log::tests::entry_names_the_function_it_was_logged_from"),
        "a closure is its function's"
    );
    assert_eq!(entries[2].function, None);
    assert!(
        entries[2]
            .to_string()
            .contains(" master::server server.rs:120 "),
        "{}",
        entries[2]
    );
}

#[test]
fn function_path_strips_the_marker_and_closures() {
    let cases = [
        ("a::b::run::__papertrader_log_fn", Some("a::b::run")),
        (
            "a::S<_>::go::{{closure}}::{{closure}}::__papertrader_log_fn",
            Some("a::S<_>::go"),
        ),
        (
            "<a::S as core::fmt::Display>::fmt::__papertrader_log_fn",
            Some("<a::S as core::fmt::Display>::fmt"),
        ),
        (
            "a::b::{{closure}}::inner::__papertrader_log_fn",
            Some("a::b::inner"),
        ),
        ("rustls::conn", None),
        ("custom target", None),
    ];
    for (target, function) in cases {
        assert_eq!(function_path(target).as_deref(), function, "{target}");
    }
}

#[test]
fn a_long_message_is_cut_with_a_marker() {
    let mut entry = Entry::note(Level::Info, "é".repeat(100));
    entry.cut_message(51);
    assert!(entry.message.starts_with(&"é".repeat(25)));
    assert!(
        entry.message.ends_with(" [150 more bytes cut]"),
        "{}",
        entry.message
    );
    let mut short = Entry::note(Level::Info, "fine".to_string());
    short.cut_message(51);
    assert_eq!(short.message, "fine");
}

#[test]
fn the_log_file_rotates_at_its_size_and_never_grows_past_it() {
    let dir = temp_dir("rotate");
    let path = dir.join("d.log");
    let config = LogConfig {
        memory_entries: 1,
        file: Some(path.clone()),
        max_file_bytes: 4096,
        ..LogConfig::default()
    };
    let logger = Logger::new(config).expect("logger");
    for i in 0..200 {
        log_at(
            &logger,
            Level::Info,
            &format!("entry {i} {}", "x".repeat(40)),
        );
    }
    logger.flush_entries().expect("flushed");
    let size = fs::metadata(&path).expect("log").len();
    let old = fs::metadata(dir.join("d.log.1")).expect("rotated").len();
    assert!(size <= 4096 && old <= 4096, "{size} and {old} bytes");
    let text = fs::read_to_string(&path).expect("log");
    assert!(text.contains("log file rotated at 4096 bytes"), "{text}");
    assert!(
        text.contains("entry 199 "),
        "the newest entries are in the file"
    );
}

//! Tests of the conf module.

use super::*;

const KEYS: &[&str] = &["listen", "database", "max_workers", "log_file", "verbose"];
const FILE: &str = "/etc/papertrader/ptmasterd.conf";

fn parse(text: &str) -> Result<Conf, ConfErrors> {
    Conf::parse_reader(text.as_bytes(), FILE, KEYS)
}

fn conf(text: &str) -> Conf {
    parse(text).expect("valid config")
}

fn errors(text: &str) -> Vec<String> {
    let errs = parse(text).expect_err("invalid config");
    errs.0.iter().map(ToString::to_string).collect()
}

fn one_error(text: &str) -> String {
    let errs = errors(text);
    assert_eq!(errs.len(), 1, "{errs:?}");
    errs[0].clone()
}

#[test]
fn parses_keys_values_comments_and_blank_lines() {
    let c = conf(
        "# ptmasterd\n\n  listen = 127.0.0.1:2048   # loopback only\n\
         database=/var/db/pt.db\n\tverbose =  yes\r\nlog_file = a b=c#d\n   # end\n",
    );
    assert_eq!(c.raw("listen"), Some("127.0.0.1:2048"));
    assert_eq!(c.raw("database"), Some("/var/db/pt.db"));
    assert_eq!(c.raw("verbose"), Some("yes"));
    assert_eq!(c.raw("log_file"), Some("a b=c#d"));
    assert_eq!(c.raw("max_workers"), None);
    assert_eq!(c.line("listen"), Some(3));
    assert_eq!(c.line("log_file"), Some(6));
    assert_eq!(c.file(), FILE);
}

#[test]
fn empty_file_and_empty_conf_set_nothing() {
    let c = conf("");
    assert_eq!(c.raw("listen"), None);
    let e = Conf::empty("built-in defaults");
    assert_eq!(e.file(), "built-in defaults");
    assert_eq!(e.raw("listen"), None);
    assert_eq!(e.u64("max_workers", 16, 1..=1000), Ok(16));
}

#[test]
fn unknown_key_lists_schema_in_order() {
    assert_eq!(
        one_error("\n\nlisen = 127.0.0.1:2048\n"),
        "/etc/papertrader/ptmasterd.conf:3: unknown key \"lisen\", expected one of: \
         listen, database, max_workers, log_file, verbose"
    );
}

#[test]
fn duplicate_key_names_both_lines() {
    assert_eq!(
        one_error("listen = 127.0.0.1:1\n# again\nlisten = 127.0.0.1:2\n"),
        format!("{FILE}:3: duplicate key \"listen\", first set on line 1")
    );
}

#[test]
fn line_without_equals() {
    assert_eq!(
        one_error("verbose\n"),
        format!("{FILE}:1: expected \"key = value\", found \"verbose\"")
    );
}

#[test]
fn empty_key() {
    assert_eq!(
        one_error("  = 5\n"),
        format!("{FILE}:1: expected a key before \"=\", found \"= 5\"")
    );
}

#[test]
fn empty_value() {
    assert_eq!(
        one_error("verbose =   \n"),
        format!("{FILE}:1: key \"verbose\" has no value")
    );
    assert_eq!(
        one_error("verbose = # nothing\n"),
        format!("{FILE}:1: key \"verbose\" has no value")
    );
}

#[test]
fn byte_order_mark_is_skipped() {
    assert_eq!(conf("\u{feff}verbose = yes\n").raw("verbose"), Some("yes"));
}

#[test]
fn invalid_utf8_line() {
    let text = b"listen = 127.0.0.1:2048\ndatabase = \xff\xfe\n";
    let errs = Conf::parse_reader(&text[..], FILE, KEYS).expect_err("bad UTF-8");
    assert_eq!(
        errs.to_string(),
        format!("{FILE}:2: line is not valid UTF-8")
    );
}

#[test]
fn reports_every_bad_line_together() {
    let errs = errors("lisen = x\nverbose = yes\nnonsense\nverbose = no\ndatabase =\n");
    assert_eq!(errs.len(), 4, "{errs:?}");
    assert!(errs[0].starts_with(&format!("{FILE}:1: unknown key \"lisen\"")));
    assert!(errs[1].starts_with(&format!("{FILE}:3: expected \"key = value\"")));
    assert!(errs[2].starts_with(&format!("{FILE}:4: duplicate key \"verbose\"")));
    assert!(errs[3].starts_with(&format!("{FILE}:5: key \"database\" has no value")));
    let all = parse("lisen = x\nnonsense\n")
        .expect_err("two errors")
        .to_string();
    assert_eq!(all.lines().count(), 2);
    assert!(!all.ends_with('\n'));
}

#[test]
fn long_and_odd_input_is_quoted_and_shortened() {
    let long = "x".repeat(200);
    let err = one_error(&long);
    assert!(
        err.ends_with(&format!("found \"{}...\"", "x".repeat(SHOWN_INPUT))),
        "{err}"
    );
    assert!(one_error("a\"\u{1b}b").ends_with("found \"a\\\"\\u{1b}b\""));
    assert!(one_error("don't\\").ends_with("found \"don't\\\\\""));
}

#[test]
fn unreadable_file_is_an_error_at_line_0() {
    let path = Path::new("/nonexistent/papertrader/x.conf");
    let errs = Conf::parse(path, KEYS).expect_err("missing file");
    assert_eq!(errs.0.len(), 1);
    assert_eq!(errs.0[0].line, 0);
    let text = errs.to_string();
    assert!(
        text.starts_with("/nonexistent/papertrader/x.conf: cannot read: "),
        "{text}"
    );
}

#[test]
fn failing_reader_is_an_error_at_line_0() {
    struct Broken;
    impl Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk on fire"))
        }
    }
    let errs = Conf::parse_reader(Broken, FILE, KEYS).expect_err("read error");
    assert_eq!(
        errs.to_string(),
        format!("{FILE}: cannot read: disk on fire")
    );
}

#[test]
fn parses_a_real_file() {
    let dir = std::env::temp_dir().join(format!("pt-conf-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("ptmasterd.conf");
    std::fs::write(&path, "database = pt.db\n").expect("write conf");
    let c = Conf::parse(&path, KEYS).expect("valid");
    assert_eq!(c.file(), path.display().to_string());
    assert_eq!(c.path("database", "x"), Ok(dir.join("pt.db")));
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn string_getter() {
    let c = conf("database = my data.db\n");
    assert_eq!(c.string("database", "d"), Ok("my data.db".to_string()));
    assert_eq!(c.string("log_file", "d"), Ok("d".to_string()));
}

#[test]
fn u64_getter() {
    let c = conf("max_workers = 16\nverbose = 0\n");
    assert_eq!(c.u64("max_workers", 4, 1..=1000), Ok(16));
    assert_eq!(c.u64("log_file", 4, 1..=1000), Ok(4));
    assert_eq!(c.u64("verbose", 4, 0..=1), Ok(0));
    for bad in [
        "abc",
        "0",
        "1001",
        "-1",
        "+5",
        "1.5",
        "1e3",
        "99999999999999999999999",
    ] {
        let c = conf(&format!("\nmax_workers = {bad}\n"));
        let err = c.u64("max_workers", 4, 1..=1000).expect_err(bad);
        assert_eq!(err.line, 2);
        assert_eq!(
            err.to_string(),
            format!("{FILE}:2: max_workers = \"{bad}\": expected a whole number from 1 to 1000")
        );
    }
}

#[test]
fn bool_getter() {
    let get = |text: &str, default| conf(&format!("verbose = {text}")).bool("verbose", default);
    for text in ["yes", "true", "on", "YES", "True"] {
        assert_eq!(get(text, false), Ok(true), "{text}");
    }
    for text in ["no", "false", "off", "Off", "NO"] {
        assert_eq!(get(text, true), Ok(false), "{text}");
    }
    assert_eq!(conf("").bool("verbose", true), Ok(true));
    let err = conf("verbose = 1").bool("verbose", false).expect_err("1");
    assert_eq!(
        err.to_string(),
        format!("{FILE}:1: verbose = \"1\": expected yes, no, true, false, on or off")
    );
}

#[test]
fn duration_getter() {
    let get = |text: &str| conf(&format!("log_file = {text}")).duration("log_file", Duration::ZERO);
    assert_eq!(get("30"), Ok(Duration::from_secs(30)));
    assert_eq!(get("30s"), Ok(Duration::from_secs(30)));
    assert_eq!(get("500ms"), Ok(Duration::from_millis(500)));
    assert_eq!(get("10m"), Ok(Duration::from_secs(600)));
    assert_eq!(get("24h"), Ok(Duration::from_secs(86_400)));
    assert_eq!(get("30d"), Ok(Duration::from_secs(30 * 86_400)));
    let default = Duration::from_secs(7);
    assert_eq!(conf("").duration("log_file", default), Ok(default));
    for bad in [
        "0",
        "0ms",
        "s",
        "-5",
        "5 s",
        "5x",
        "1.5h",
        "5S",
        "99999999999999999999d",
    ] {
        let err = get(bad).expect_err(bad);
        assert_eq!(
            err.to_string(),
            format!(
                "{FILE}:1: log_file = \"{bad}\": expected a duration above zero like 500ms, \
                 30s, 10m, 24h or 30d (a bare number is seconds)"
            )
        );
    }
    assert!(get(&format!("{}d", u64::MAX / 1000)).is_err(), "overflow");
}

#[test]
fn money_getter() {
    let get = |text: &str| conf(&format!("log_file = {text}")).money("log_file", Money(1));
    assert_eq!(get("10000"), Ok(Money(100_000_000)));
    assert_eq!(get("189.5"), Ok(Money(1_895_000)));
    assert_eq!(get("0"), Ok(Money(0)));
    assert_eq!(conf("").money("log_file", Money(1)), Ok(Money(1)));
    for bad in ["-1", "1.23456", "abc", "1,000"] {
        let err = get(bad).expect_err(bad);
        assert_eq!(
            err.to_string(),
            format!(
                "{FILE}:1: log_file = \"{bad}\": expected an amount of at least 0 with at \
                 most 4 fraction digits, like 10000 or 189.5"
            )
        );
    }
}

#[test]
fn socket_addr_getter() {
    let c = conf("\nlisten = [::1]:2049\ndatabase = localhost:2048\n");
    assert_eq!(
        c.socket_addr("listen", "127.0.0.1:1"),
        Ok("[::1]:2049".parse().expect("ip"))
    );
    assert_eq!(
        c.socket_addr("log_file", "127.0.0.1:2048"),
        Ok(SocketAddr::from(([127, 0, 0, 1], 2048)))
    );
    let err = c
        .socket_addr("database", "127.0.0.1:1")
        .expect_err("host name");
    assert_eq!(
        err.to_string(),
        format!(
            "{FILE}:3: database = \"localhost:2048\": expected an IP address and port, \
             like 127.0.0.1:2048 or [::1]:2048"
        )
    );
    let err = c.socket_addr("log_file", "nope").expect_err("bad default");
    assert_eq!(err.line, 0);
    assert!(
        err.to_string()
            .starts_with(&format!("{FILE}: built-in default log_file = \"nope\""))
    );
}

#[test]
fn path_getter_resolves_against_the_file_dir() {
    let c = conf("database = pt.db\nlog_file = /var/log/pt.log\nverbose = ../x/y\n");
    assert_eq!(
        c.path("database", "d"),
        Ok(PathBuf::from("/etc/papertrader/pt.db"))
    );
    assert_eq!(
        c.path("log_file", "d"),
        Ok(PathBuf::from("/var/log/pt.log"))
    );
    assert_eq!(
        c.path("verbose", "d"),
        Ok(PathBuf::from("/etc/papertrader/../x/y"))
    );
    assert_eq!(
        c.path("listen", "rel/default"),
        Ok(PathBuf::from("rel/default"))
    );
    let bare = Conf::parse_reader(&b"database = pt.db"[..], "pt.conf", KEYS).expect("valid");
    assert_eq!(bare.path("database", "d"), Ok(PathBuf::from("pt.db")));
}

#[test]
fn collector_gathers_every_error() {
    let c = conf("max_workers = 0\nverbose = maybe\nlisten = nowhere\n");
    let mut col = Collector::new();
    let workers = col.take(c.u64("max_workers", 4, 1..=1000));
    let verbose = col.take(c.bool("verbose", true));
    let database = col.take(c.path("database", "pt.db"));
    let listen = col.take_or(
        c.socket_addr("listen", "127.0.0.1:1"),
        SocketAddr::from(([0; 4], 0)),
    );
    col.push(ConfError::new(
        FILE,
        0,
        "database and listen conflict".to_string(),
    ));
    assert_eq!((workers, verbose), (0, false));
    assert_eq!(database, PathBuf::from("pt.db"));
    assert_eq!(listen.port(), 0);
    let errs = col.finish().expect_err("three bad keys");
    let lines: Vec<usize> = errs.0.iter().map(|e| e.line).collect();
    assert_eq!(lines, [0, 1, 2, 3]);
    assert_eq!(errs.to_string().lines().count(), 4);

    let mut ok = Collector::new();
    assert_eq!(ok.take(c.string("database", "x")), "x");
    assert_eq!(ok.finish(), Ok(()));
}

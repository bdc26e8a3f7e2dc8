//! `papertrader shell` end to end: real daemons with fixed CSV prices, the
//! real command on a pseudo-terminal inside a private tmux server, keys
//! typed with `send-keys` and the screen read back with `capture-pane`.
//! A second test pipes a script into the shell, with no terminal at all.

mod util;

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use util::daemon::TempDir;
use util::system::System;

/// How long one step may take to show on the screen.
const STEP: Duration = Duration::from_secs(10);
const PROMPT: &str = "papertrader> ";
/// The one price the CSV feed gives AAPL.
const PRICE: &str = "123.45";

/// Master config lines for a CSV feed of AAPL and MSFT at fixed prices,
/// one price set a second.
fn csv_market(dir: &TempDir) -> String {
    let mut csv = String::from("Symbol,Date,Time,Open,High,Low,Close,Volume\n");
    for _ in 0..600 {
        for (symbol, p) in [("AAPL", "123.4500"), ("MSFT", "400.0000")] {
            csv.push_str(&format!(
                "{symbol},2026-11-20,10:00:00,{p},{p},{p},{p},1000\n"
            ));
        }
    }
    fs::write(dir.join("bars.csv"), csv).expect("csv");
    fs::write(
        dir.join("assets.list"),
        "AAPL Apple Inc.\nMSFT Microsoft Corporation\n",
    )
    .expect("assets");
    format!(
        "price_source = csv\ncsv_file = {}\nassets_file = {}\nupdate_interval = 1s\n",
        dir.join("bars.csv").display(),
        dir.join("assets.list").display()
    )
}

/// The environment of one user of the client: a home of its own under
/// `dir`, and the worker to talk to.
struct User {
    env: Vec<(&'static str, String)>,
    home: PathBuf,
}

impl User {
    fn new(dir: &TempDir, server: &str) -> User {
        let home = dir.join("home");
        for sub in ["", "state", "config"] {
            fs::create_dir_all(home.join(sub)).expect("home dirs");
        }
        let path = |sub: &str| home.join(sub).display().to_string();
        let env = vec![
            ("HOME", path("")),
            ("XDG_STATE_HOME", path("state")),
            ("XDG_CONFIG_HOME", path("config")),
            ("PAPERTRADER_SERVER", server.to_string()),
            ("NO_COLOR", "1".to_string()),
        ];
        User { env, home }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(util::bin("papertrader"));
        cmd.args(args);
        for (key, value) in &self.env {
            cmd.env(key, value);
        }
        cmd
    }

    /// Runs `papertrader ARGS` with `stdin` and waits for it.
    fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn papertrader");
        let mut input = child.stdin.take().expect("piped stdin");
        input.write_all(stdin.as_bytes()).expect("write stdin");
        drop(input);
        child.wait_with_output().expect("wait for papertrader")
    }

    /// Runs `papertrader ARGS` and insists that it succeeds.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args, "");
        assert!(
            out.status.success(),
            "papertrader {args:?}: {}\nstdout: {}\nstderr: {}",
            out.status,
            util::stdout(&out),
            util::stderr(&out)
        );
        util::stdout(&out)
    }

    /// Registers `name` and logs in with the non-interactive commands.
    fn register_and_login(&self, name: &str) {
        let password = self.home.join("password");
        fs::write(&password, "correct horse battery staple\n").expect("password file");
        let file = password.to_str().expect("path");
        let email = format!("{name}@example.com");
        self.ok(&["register", name, &email, "--password-file", file]);
        self.ok(&["login", name, "--password-file", file]);
    }

    /// A `sh -c` line that runs `papertrader shell` in this environment and
    /// leaves its exit status in `status`.
    fn shell_line(&self, status: &Path) -> String {
        let env: Vec<String> = self
            .env
            .iter()
            .map(|(k, v)| format!("{k}={}", quote(v)))
            .collect();
        format!(
            "env {} {} shell; echo $? > {}",
            env.join(" "),
            quote(&util::bin("papertrader").display().to_string()),
            quote(&status.display().to_string())
        )
    }
}

/// Single-quotes `text` for sh.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// A private tmux server (its own socket, no config file) holding one
/// session; killed on drop.
struct Tmux {
    socket: String,
}

const SESSION: &str = "shell";

impl Tmux {
    /// Starts `line` in a 120x40 session.
    fn start(tag: &str, line: &str) -> Tmux {
        match Command::new("tmux").arg("-V").output() {
            Ok(out) if out.status.success() => {}
            _ => panic!(
                "tmux is missing: the shell tests drive `papertrader shell` on a \
                 terminal inside tmux; install it (apt-get install tmux, or make deps)"
            ),
        }
        let tmux = Tmux {
            socket: format!("pt-{tag}-{}", std::process::id()),
        };
        let out = tmux.run(&[
            "new-session",
            "-d",
            "-s",
            SESSION,
            "-x",
            "120",
            "-y",
            "40",
            line,
        ]);
        assert!(
            out.status.success(),
            "tmux new-session: {}",
            util::stderr(&out)
        );
        tmux
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("run tmux")
    }

    /// Types `keys`; names such as `Enter` and `Tab` are keys, the rest
    /// literal text.
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", SESSION];
        args.extend_from_slice(keys);
        let out = self.run(&args);
        assert!(
            out.status.success(),
            "tmux send-keys {keys:?}: {}",
            util::stderr(&out)
        );
    }

    fn alive(&self) -> bool {
        self.run(&["has-session", "-t", SESSION]).status.success()
    }

    /// The visible screen, trailing blank lines dropped.
    fn screen(&self) -> String {
        let out = self.run(&["capture-pane", "-p", "-t", SESSION]);
        util::stdout(&out).trim_end().to_string()
    }

    /// The cursor's column.
    fn cursor_x(&self) -> usize {
        let out = self.run(&["display-message", "-p", "-t", SESSION, "#{cursor_x}"]);
        util::stdout(&out).trim().parse().unwrap_or(usize::MAX)
    }

    /// The last line of the screen that is not blank.
    fn last_line(&self) -> String {
        self.screen().lines().last().unwrap_or("").to_string()
    }

    /// Waits up to `STEP` until `done` holds, or fails showing the screen.
    fn wait(&self, what: &str, done: impl Fn(&Tmux) -> bool) {
        let deadline = Instant::now() + STEP;
        loop {
            if done(self) {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}; the screen:\n{}",
                    self.screen()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the line being edited reads `papertrader> TEXT` with the
    /// cursor after it: `text` may end with a space, which the screen
    /// does not show but the cursor does.
    fn wait_line(&self, text: &str) {
        let want = format!("{PROMPT}{text}");
        self.wait(&format!("the line {want:?}"), |t| {
            t.last_line() == want.trim_end() && t.cursor_x() == want.len()
        });
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

/// Lines that are output, not a prompt with what was typed after it.
fn output_lines(screen: &str) -> Vec<&str> {
    screen.lines().filter(|l| !l.starts_with(PROMPT)).collect()
}

#[test]
fn shell_runs_commands_and_completes_on_a_terminal() {
    let dir = TempDir::new("shell-tty");
    let system = System::start("shell-tty", &csv_market(&dir), "");
    let user = User::new(&dir, &system.worker.addr.to_string());
    user.register_and_login("alice");

    let status = dir.join("status");
    let tmux = Tmux::start("shell", &user.shell_line(&status));
    tmux.wait("the prompt", |t| t.last_line() == PROMPT.trim_end());

    tmux.keys(&["quote AAPL", "Enter"]);
    tmux.wait("a price line for AAPL", |t| {
        output_lines(&t.screen())
            .iter()
            .any(|l| l.contains("AAPL") && l.contains(PRICE))
    });
    tmux.wait("the next prompt", |t| t.last_line() == PROMPT.trim_end());

    tmux.keys(&["bu", "Tab"]);
    tmux.wait_line("buy ");
    tmux.keys(&["C-u"]);
    tmux.wait_line("");
    tmux.keys(&["qu", "Tab"]);
    tmux.wait_line("quote ");
    tmux.keys(&["AA", "Tab"]);
    tmux.wait_line("quote AAPL ");
    tmux.keys(&["C-u"]);
    tmux.wait_line("");

    // The order commands and their options complete too.
    tmux.keys(&["lea", "Tab"]);
    tmux.wait_line("leaderboard ");
    tmux.keys(&["C-u"]);
    tmux.wait_line("");
    tmux.keys(&["buy AAPL 10 --li", "Tab"]);
    tmux.wait_line("buy AAPL 10 --limit ");
    tmux.keys(&["1 --g", "Tab"]);
    tmux.wait_line("buy AAPL 10 --limit 1 --gtc ");
    tmux.keys(&["Enter"]);
    tmux.wait("the order placed", |t| {
        t.screen().contains(
            "placed: buy 10 AAPL at 1.0000 or less, good till cancelled; see papertrader orders",
        )
    });

    // reset asks for the password without echo, then for the username.
    tmux.keys(&["reset", "Enter"]);
    tmux.wait("the password prompt", |t| {
        t.last_line() == "password for alice:"
    });
    tmux.keys(&["correct horse battery staple", "Enter"]);
    tmux.wait("the confirmation prompt", |t| {
        t.last_line() == "type your username (alice) to confirm:"
    });
    tmux.keys(&["alice", "Enter"]);
    tmux.wait("the reset", |t| {
        t.screen()
            .contains("reset alice: no positions, no open orders, cash 100,000.0000")
    });
    assert!(
        !tmux.screen().contains("battery"),
        "the password is not echoed:\n{}",
        tmux.screen()
    );
    tmux.wait("the prompt after the reset", |t| {
        t.last_line() == PROMPT.trim_end()
    });

    tmux.keys(&["shell", "Enter"]);
    tmux.wait("the refusal of a shell in the shell", |t| {
        t.screen().contains("papertrader: already in the shell")
    });
    tmux.wait("the prompt after the refusal", |t| {
        t.last_line() == PROMPT.trim_end()
    });

    tmux.keys(&["exit", "Enter"]);
    tmux.wait("the shell to exit", |t| !t.alive());
    let code = fs::read_to_string(&status).expect("the shell's exit status");
    assert_eq!(code.trim(), "0", "exit status of papertrader shell");

    let history = user.home.join("state/papertrader/history");
    let text = fs::read_to_string(&history).expect("the shell history");
    assert!(text.contains("quote AAPL"), "history: {text}");
    let mode = fs::metadata(&history)
        .expect("history")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "history file mode");
}

#[test]
fn shell_reads_a_script_and_exits_with_the_last_failure() {
    let dir = TempDir::new("shell-pipe");
    let system = System::start("shell-pipe", &csv_market(&dir), "");
    let user = User::new(&dir, &system.worker.addr.to_string());
    user.register_and_login("bob");

    let out = user.run(&["shell"], "quote AAPL\n\"quote\" \"MSFT\"\n");
    assert!(out.status.success(), "{}", util::stderr(&out));
    let text = util::stdout(&out);
    assert!(text.contains(PRICE), "AAPL's price in {text:?}");
    assert!(text.contains("400"), "MSFT's price in {text:?}");

    let out = user.run(&["shell"], "quote NOPE\nshell\nquote AAPL\n");
    assert_eq!(out.status.code(), Some(64), "{}", util::stderr(&out));
    let err = util::stderr(&out);
    assert!(err.contains("NOPE"), "the unknown symbol named in {err:?}");
    assert!(err.contains("papertrader: already in the shell"), "{err}");
    assert!(util::stdout(&out).contains(PRICE), "the shell went on");

    let out = user.run(&["shell"], "quote NOPE\nexit\n");
    assert_eq!(out.status.code(), Some(65), "{}", util::stderr(&out));
}

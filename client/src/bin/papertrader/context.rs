//! The state one `papertrader` invocation (or one `shell`) keeps: where to
//! connect, the connection (opened on first use), the session (read lazily
//! from `<state_dir>/session` and resumed with `loginSession` once per
//! connection), the output settings and the cached asset list. Commands go
//! through [`Context::data`], [`Context::trade`] and [`Context::login`], so
//! a broken connection, an ended session or a stale session file is dealt
//! with in one place.

use std::fs::{self, DirBuilder};
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use papertrader_client::{Asset, Client, Error as ClientError, Progress, TlsSettings};
use papertrader_common::State;
use papertrader_common::value::{ReasonCode, SessionId};

use crate::config::{DEFAULT_SERVER, Target, xdg_dir};
use crate::error::{self, CliError, What};
use crate::output::Output;
use crate::session::{self, Session};

/// Connect, read and write timeout. A trade waits for the next price
/// update (60 s by default), so this must be well above it.
const IO_TIMEOUT: Duration = Duration::from_secs(120);

/// A connection idle this long is replaced before the next command: the
/// worker closes idle clients after 300 s by default, and finding that out
/// in the middle of a trade would leave its outcome unknown.
const IDLE_RECONNECT: Duration = Duration::from_secs(240);

/// Everything a command needs.
pub struct Context {
    target: Target,
    /// TLS for `tls://` addresses (and all, with `tls = yes`).
    tls: TlsSettings,
    client: Option<Client>,
    last_used: Instant,
    /// The connection may be in data state (the client library does not
    /// say); login and register must leave it first.
    in_data: bool,
    session: Option<Session>,
    /// The session file has been read (or found absent or damaged).
    session_read: bool,
    /// Why the session file could not be used, reported when one is needed.
    session_error: Option<CliError>,
    /// `loginSession` done (or `login` made the session) on this connection.
    resumed: bool,
    symbols: Option<Vec<String>>,
    /// Output settings.
    pub out: Output,
    /// Commands run inside `papertrader shell` (set by main).
    pub in_shell: bool,
}

impl Context {
    /// A context that connects to `target` when first needed.
    pub fn new(target: Target, out: Output) -> Context {
        Context {
            target,
            tls: TlsSettings::default(),
            client: None,
            last_used: Instant::now(),
            in_data: false,
            session: None,
            session_read: false,
            session_error: None,
            resumed: false,
            symbols: None,
            out,
            in_shell: false,
        }
    }

    /// How connections use TLS.
    pub fn set_tls(&mut self, tls: TlsSettings) {
        self.tls = tls;
    }

    /// The state directory ($XDG_STATE_HOME/papertrader, default
    /// ~/.local/state/papertrader), created mode 0700.
    pub fn state_dir(&self) -> PathBuf {
        let base = xdg_dir("XDG_STATE_HOME", ".local/state")
            .unwrap_or_else(|| PathBuf::from(".local/state"));
        let dir = base.join("papertrader");
        if !dir.is_dir() {
            // Failures show up when a file in it is written.
            let _ = fs::create_dir_all(&base);
            let _ = DirBuilder::new().mode(0o700).create(&dir);
        }
        dir
    }

    /// `<state_dir>/session`.
    pub fn session_path(&self) -> PathBuf {
        self.state_dir().join("session")
    }

    /// Asset symbols for completion (getAssetList, cached after the first
    /// call; empty when not logged in or on error). Never prints.
    pub fn symbols(&mut self) -> Vec<String> {
        if let Some(symbols) = &self.symbols {
            return symbols.clone();
        }
        match self.data(&What::default(), |c, s| c.assets(s)) {
            Ok(list) => self.set_assets(&list),
            Err(_) => Vec::new(),
        }
    }

    /// Caches the asset list of `assets`; returns the symbols.
    pub fn set_assets(&mut self, list: &[Asset]) -> Vec<String> {
        let symbols: Vec<String> = list.iter().map(|a| a.symbol.to_string()).collect();
        self.symbols = Some(symbols.clone());
        symbols
    }

    /// The logged-in user, or why there is none (no network).
    pub fn me(&mut self) -> Result<String, CliError> {
        Ok(self.stored_session()?.username)
    }

    /// The connection, opened (or replaced when idle too long) as needed.
    pub fn client(&mut self) -> Result<&mut Client, CliError> {
        let expirable = self.session.as_ref().is_some_and(|s| !s.saved);
        if self.client.is_some() && !expirable && self.last_used.elapsed() >= IDLE_RECONNECT {
            self.drop_client();
        }
        self.last_used = Instant::now();
        if self.client.is_none() {
            let mut client = self.connect()?;
            if self.out.stderr_tty {
                client.set_progress(Some(progress_bar()));
            }
            self.client = Some(client);
            self.resumed = false;
            self.in_data = false;
        }
        Ok(self.client.as_mut().expect("connected just above"))
    }

    fn connect(&mut self) -> Result<Client, CliError> {
        let server = match &self.target {
            Target::Server(addr) => addr.clone(),
            Target::Master(master) => {
                return Client::discover_with(master, IO_TIMEOUT, &self.tls).map_err(|err| {
                    if matches!(err, ClientError::Tls(..) | ClientError::CaFile(_)) {
                        return error::from_client(&err, &What::default());
                    }
                    CliError::unavailable(format!(
                        "cannot find a worker through the master at {master}: {}",
                        without_addr(&err, master)
                    ))
                });
            }
            Target::Default => self.saved_or_default_server(),
        };
        Client::connect_with(&server, IO_TIMEOUT, &self.tls)
            .map_err(|err| error::from_client(&err, &What::default()))
    }

    /// The server of the saved session, else the built-in default.
    fn saved_or_default_server(&mut self) -> String {
        self.load_session();
        self.session
            .as_ref()
            .map_or(DEFAULT_SERVER.to_string(), |s| s.server.clone())
    }

    fn drop_client(&mut self) {
        self.client = None;
        self.resumed = false;
        self.in_data = false;
    }

    /// Reads the session file once.
    fn load_session(&mut self) {
        if self.session_read || self.session.is_some() {
            return;
        }
        self.session_read = true;
        match session::read(&self.session_path()) {
            Ok(found) => self.session = found,
            Err(err) => self.session_error = Some(err),
        }
    }

    /// The session file's session, or why there is none.
    fn stored_session(&mut self) -> Result<Session, CliError> {
        self.load_session();
        let error = || self.session_error.clone();
        self.session
            .clone()
            .ok_or_else(|| error().unwrap_or_else(CliError::not_logged_in))
    }

    /// The session, resumed with `loginSession` on this connection.
    pub fn session(&mut self) -> Result<SessionId, CliError> {
        let session = self.stored_session()?;
        self.client()?;
        if !self.resumed {
            let client = self.client.as_mut().expect("connected by client()");
            match client.login_session(&session.id) {
                Ok(_) => self.resumed = true,
                Err(err) => return Err(self.fail(err, &What::default())),
            }
        }
        Ok(session.id)
    }

    /// Runs a data request with the session; a broken connection is
    /// reopened and the request tried once more (it changes nothing).
    pub fn data<T>(
        &mut self,
        what: &What,
        mut call: impl FnMut(&mut Client, &SessionId) -> papertrader_client::Result<T>,
    ) -> Result<T, CliError> {
        let mut retried = false;
        loop {
            let id = self.session()?;
            let client = self.client()?;
            let result = call(client, &id);
            self.in_data = true;
            match result {
                Ok(value) => return Ok(value),
                Err(ClientError::Io(..)) if !retried => {
                    retried = true;
                    self.drop_client();
                }
                Err(err) => return Err(self.fail(err, what)),
            }
        }
    }

    /// Runs a command instruction with the session: a trade, an order, a
    /// cancel or a reset. Never retried: a broken connection leaves its
    /// outcome unknown.
    pub fn trade<T>(
        &mut self,
        what: &What,
        call: impl FnOnce(&mut Client, &SessionId) -> papertrader_client::Result<T>,
    ) -> Result<T, CliError> {
        let id = self.session()?;
        let client = self.client()?;
        let result = call(client, &id);
        // These run in command state (the library switches back).
        self.in_data = false;
        result.map_err(|err| self.fail(err, what))
    }

    /// Runs `register` or another sessionless command instruction.
    pub fn command<T>(
        &mut self,
        what: &What,
        call: impl FnOnce(&mut Client) -> papertrader_client::Result<T>,
    ) -> Result<T, CliError> {
        self.leave_data();
        let client = self.client()?;
        call(client).map_err(|err| self.fail(err, what))
    }

    /// Logs in; a remembered session is written to the session file. The
    /// session it replaces is logged out (best effort), except that an
    /// expirable login leaves a saved session alone for later commands.
    pub fn login(
        &mut self,
        username: &str,
        password: &str,
        expirable: bool,
    ) -> Result<Session, CliError> {
        self.login_with(username, expirable, |c| {
            c.login(username, password, expirable)
        })
    }

    /// Like [`Context::login`], the session made by `call` (`login` or
    /// `loginExternal`).
    pub fn login_with(
        &mut self,
        username: &str,
        expirable: bool,
        call: impl FnOnce(&mut Client) -> papertrader_client::Result<SessionId>,
    ) -> Result<Session, CliError> {
        let what = What::user(username);
        self.load_session();
        let old = self.session.clone();
        let id = self.command(&what, call)?;
        if let Some(old) = old
            && old.id != id
            && (!expirable || !old.saved)
            && let Some(client) = self.client.as_mut()
        {
            // Nothing to report if it had ended already.
            let _ = client.logout(&old.id);
        }
        let server = self.client.as_ref().map_or("", |c| c.addr()).to_string();
        let session = Session {
            server,
            username: username.to_string(),
            id,
            saved: !expirable,
        };
        if session.saved {
            session::save(&self.session_path(), &session)?;
        }
        self.session = Some(session.clone());
        self.session_error = None;
        self.resumed = true;
        self.symbols = None;
        Ok(session)
    }

    /// Ends the session at the server and deletes the session file. Ok
    /// carries the session and whether the server still knew it.
    pub fn logout(&mut self) -> Result<(Session, bool), CliError> {
        let session = self.stored_session()?;
        let result = self.client()?.logout(&session.id);
        self.in_data = false;
        match result {
            Ok(()) => {
                self.forget()?;
                Ok((session, true))
            }
            Err(ClientError::Refused(r)) if r.code == ReasonCode::BadSession => {
                self.forget()?;
                Ok((session, false))
            }
            Err(err) => Err(self.fail(err, &What::default())),
        }
    }

    /// The workers of the master (with `--master`) or those the worker
    /// knows, asked on a connection of their own so this one's state does
    /// not matter.
    pub fn workers(&mut self) -> Result<Vec<String>, CliError> {
        let addr = match &self.target {
            Target::Master(master) => master.clone(),
            Target::Server(addr) => addr.clone(),
            Target::Default => self.saved_or_default_server(),
        };
        papertrader_client::worker_list_with(&addr, IO_TIMEOUT, &self.tls)
            .map_err(|err| error::from_client(&err, &What::default()))
    }

    /// Puts the connection back in command state (login and register
    /// refuse to run in data state); a connection that cannot be switched
    /// back is replaced.
    fn leave_data(&mut self) {
        if !self.in_data {
            return;
        }
        self.in_data = false;
        let switched = match (&mut self.client, &self.session) {
            (Some(client), Some(session)) => {
                client.switch_state(&session.id, State::Command).is_ok()
            }
            _ => false,
        };
        if !switched {
            self.drop_client();
        }
    }

    /// The error for `err`, after dealing with what it says about the
    /// connection (broken: dropped) or the session (ended: forgotten).
    fn fail(&mut self, err: ClientError, what: &What) -> CliError {
        match &err {
            ClientError::Io(..) => self.drop_client(),
            ClientError::Refused(r) if r.code == ReasonCode::BadSession => {
                if let Err(err) = self.forget() {
                    return err;
                }
                return CliError::session_ended();
            }
            _ => {}
        }
        error::from_client(&err, what)
    }

    /// Drops the session and deletes the session file (if it was saved).
    fn forget(&mut self) -> Result<(), CliError> {
        let saved = self.session.take().is_none_or(|s| s.saved);
        self.resumed = false;
        self.symbols = None;
        if !saved {
            return Ok(());
        }
        session::remove(&self.session_path())
    }
}

/// The client error's text without repeating the address.
fn without_addr(err: &ClientError, master: &str) -> String {
    match err {
        ClientError::Io(addr, io) if addr == master => io.to_string(),
        other => other.to_string(),
    }
}

/// A progress bar on stderr for transfers that take more than a second.
fn progress_bar() -> Progress {
    let mut started: Option<Instant> = None;
    let mut drawn = false;
    Box::new(move |n, max| {
        if n <= 1 {
            started = Some(Instant::now());
        }
        let Some(start) = started else { return };
        if n >= max {
            if drawn {
                eprint!("\r\x1b[K");
            }
            started = None;
            drawn = false;
            return;
        }
        if start.elapsed() < Duration::from_secs(1) || max == 0 {
            return;
        }
        const WIDTH: u64 = 30;
        let done = (u64::from(n) * WIDTH / u64::from(max)) as usize;
        let bar = format!("{}{}", "#".repeat(done), " ".repeat(WIDTH as usize - done));
        eprint!("\r[{bar}] {n}/{max} packets");
        drawn = true;
    })
}

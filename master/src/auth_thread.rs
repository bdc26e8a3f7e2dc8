//! The "auth-N" threads: argon2 and the account and session tables (and
//! the other writes a session asks for: API keys, watchlists), off the
//! event loop. Jobs arrive typed (parsed at the edge by `route`) on a
//! bounded channel shared by the pool; each reply, REQID in front, goes
//! back through a [`Notifier`].

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};
use papertrader_common::reply::Reply;
use papertrader_common::request::Request;
use papertrader_common::value::{Reason, ReasonCode, SessionId, Timestamp};
use parking_lot::{Mutex, RwLock};
use rand::RngCore;

use crate::auth::{Auth, AuthConfig, Clocks, SessionPlace};
use crate::db;
use crate::event::Notifier;
use crate::job::{Job, Origin, ReplyTo};
use crate::market::Asset;
use crate::oidc::{self, KeyCache, Oidc};
use crate::ratelimit::RateLimiter;
use crate::trade::queue::TradeMsg;
use crate::watchlist;

/// What the auth threads reach besides the database.
#[derive(Debug, Clone)]
pub struct Shared {
    /// The trade queue, for resets whose password checked out.
    pub trade: Sender<TradeMsg>,
    /// The asset list, which `addToWatchlist` checks symbols against.
    pub assets: Arc<RwLock<Vec<Asset>>>,
}

/// Work for the auth pool: forwarded requests, and work with no reply.
#[derive(Debug)]
pub enum AuthMsg {
    /// An account or session request (`register`, `login`, `loginSession`,
    /// `logout`, `switchState`, `resetAccount`, `loginExternal`,
    /// `registerExternal`, `setPassword`, the API key and watchlist
    /// commands).
    Job(Job),
    /// The worker's connection with this expirable session closed.
    SessionClosed(SessionId),
    /// The link of the named worker was lost for good: its expirable
    /// sessions end.
    WorkerLost(String),
}

/// Starts `threads` auth threads sharing one rate limiter, and the "oidc"
/// thread that fetches the providers' keys for them when any provider is
/// configured. Each auth thread opens its own connection to `database`.
pub fn spawn_auth(
    threads: usize,
    database: PathBuf,
    config: Arc<AuthConfig>,
    limiter: Arc<Mutex<RateLimiter>>,
    jobs: Receiver<AuthMsg>,
    shared: Shared,
    notifier: Notifier,
) -> io::Result<Vec<JoinHandle<()>>> {
    let mut handles = Vec::new();
    let oidc = if config.oidc.providers.is_empty() {
        None
    } else {
        let oidc_config = Arc::new(config.oidc.clone());
        let cache = Arc::new(KeyCache::new(&oidc_config));
        let (refresh, handle) = oidc::keys::spawn(oidc_config.clone(), cache.clone())?;
        handles.push(handle);
        Some(Arc::new(Oidc::new(oidc_config, cache, refresh)))
    };
    let auth_handles: io::Result<Vec<JoinHandle<()>>> = (0..threads)
        .map(|i| {
            let conn = db::open(&database).map_err(|e| io::Error::other(e.to_string()))?;
            let mut auth = Auth::new(conn, config.clone(), limiter.clone())
                .map_err(|e| io::Error::other(format!("argon2 parameters: {e}")))?;
            if let Some(oidc) = &oidc {
                auth = auth.with_oidc(oidc.clone());
            }
            let (jobs, notifier, shared) = (jobs.clone(), notifier.clone(), shared.clone());
            thread::Builder::new()
                .name(format!("auth-{i}"))
                .spawn(move || {
                    let mut rng = rand::rng();
                    let mut purged = Instant::now();
                    for msg in jobs.iter() {
                        // The first thread keeps the sessions table from
                        // growing forever.
                        if i == 0 && purged.elapsed() >= PURGE_EVERY {
                            purged = Instant::now();
                            purge(&mut auth);
                        }
                        let job = match msg {
                            AuthMsg::Job(job) => job,
                            AuthMsg::SessionClosed(id) => {
                                session_closed(&mut auth, &id);
                                continue;
                            }
                            AuthMsg::WorkerLost(name) => {
                                worker_lost(&mut auth, &name);
                                continue;
                            }
                        };
                        let instr = job.request.instr();
                        let reply = match run_auth(&mut auth, &job, &shared, &mut rng) {
                            Ok(Some(reply)) => reply,
                            Ok(None) => continue,
                            Err(reason) => Reply::failure(instr, reason),
                        };
                        if !job.answer(&notifier, reply) {
                            return;
                        }
                    }
                })
        })
        .collect();
    handles.extend(auth_handles?);
    Ok(handles)
}

/// Hands a reset whose password checked out to the trade thread, which
/// answers it.
fn hand_reset(
    account: crate::auth::AccountId,
    to: &ReplyTo,
    trade: &Sender<TradeMsg>,
) -> Result<Option<Reply>, Reason> {
    let msg = TradeMsg::Reset {
        to: to.clone(),
        account: account.0,
    };
    match trade.try_send(msg) {
        Ok(()) => Ok(None),
        Err(_) => Err(Reason::new(
            ReasonCode::Unavailable,
            "the trade queue is full; nothing was changed, try again",
        )),
    }
}

/// How often the first auth thread deletes long-dead sessions.
const PURGE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

fn purge(auth: &mut Auth) {
    match auth.purge_expired(Timestamp::now()) {
        Ok(0) => {}
        Ok(n) => papertrader_common::info!("purged {n} sessions ended more than a day ago"),
        Err(r) => papertrader_common::error!("cannot purge old sessions: {r}"),
    }
}

fn session_closed(auth: &mut Auth, id: &SessionId) {
    if let Err(r) = auth.session_closed(id, Timestamp::now()) {
        papertrader_common::debug!("sessionClosed not applied: {r}");
    }
}

fn worker_lost(auth: &mut Auth, worker: &str) {
    match auth.worker_lost(worker, Timestamp::now()) {
        Ok(0) => {}
        Ok(n) => papertrader_common::info!(
            "worker {worker} did not come back: {n} expirable sessions ended"
        ),
        Err(r) => papertrader_common::error!("sessions of worker {worker}: {r}"),
    }
}

/// Runs one job: its reply, or `None` when another thread answers it (a
/// reset whose password checked out goes on to the trade thread).
fn run_auth(
    auth: &mut Auth,
    job: &Job,
    shared: &Shared,
    rng: &mut impl RngCore,
) -> Result<Option<Reply>, Reason> {
    let at = Clocks {
        now: Timestamp::now(),
        mono: Instant::now(),
    };
    let Origin { client, worker, .. } = &job.origin;
    let reply = match &job.request {
        Request::Register {
            username,
            email,
            pass,
        } => {
            let salt = random16(rng);
            auth.register(username, email, pass, client, salt, at)?;
            Reply::Registered
        }
        Request::Login {
            username,
            pass,
            expirable,
        } => {
            let place = place(client, worker, *expirable);
            let session = auth.login(username, pass, &place, at, random16(rng))?;
            Reply::Session(session)
        }
        Request::LoginSession { session } => Reply::Session(auth.login_session(session, at.now)?),
        Request::Logout { session } => {
            auth.logout(session, at.now)?;
            Reply::LoggedOut
        }
        Request::SwitchState { session, state } => {
            auth.validate(session, at.now)?;
            Reply::StateSwitched(*state)
        }
        Request::ResetAccount { session, proof } => {
            auth.confirm_reset(session, proof, client, at)?;
            // The portfolio the session acts on starts over.
            let book = crate::auth::AccountId(auth.viewer(session, at.now)?.book);
            return hand_reset(book, &job.to, &shared.trade);
        }
        Request::LoginExternal {
            provider,
            token,
            expirable,
        } => {
            let place = place(client, worker, *expirable);
            let session = auth.login_external(provider, token, &place, at, random16(rng))?;
            Reply::Session(session)
        }
        Request::RegisterExternal {
            username,
            provider,
            token,
        } => {
            auth.register_external(username, provider, token, client, at)?;
            Reply::Registered
        }
        Request::SetPassword { session, pass } => {
            auth.set_password(session, pass, random16(rng), at.now)?;
            Reply::PasswordSet
        }
        Request::CreateKey { session, label } => {
            let mut id = [0u8; 12];
            let mut secret = [0u8; 32];
            rng.fill_bytes(&mut id);
            rng.fill_bytes(&mut secret);
            let (id, secret) = auth.create_key(session, label, at.now, id, secret)?;
            Reply::KeyCreated { id, secret }
        }
        Request::RevokeKey { session, id } => {
            auth.revoke_key(session, id, at.now)?;
            Reply::KeyRevoked(id.clone())
        }
        Request::LoginKey { id, secret } => {
            let place = place(client, worker, false);
            let (session, username) = auth.login_key(id, secret, &place, at.now)?;
            Reply::KeySession { session, username }
        }
        Request::Watch { session, symbol } => {
            let listed = shared.assets.read().iter().any(|a| &a.symbol == symbol);
            watchlist::add(auth.conn(), session, symbol, listed, at.now)?;
            Reply::WatchlistUpdated(symbol.clone())
        }
        Request::Unwatch { session, symbol } => {
            watchlist::remove(auth.conn(), session, symbol, at.now)?;
            Reply::WatchlistUpdated(symbol.clone())
        }
        other => {
            let text = format!("{} is not an account request", other.instr().name());
            return Err(Reason::new(ReasonCode::Internal, text));
        }
    };
    Ok(Some(reply))
}

/// 16 random bytes: a salt, a session id or a nonce.
pub fn random16(rng: &mut impl RngCore) -> [u8; 16] {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    bytes
}

fn place<'a>(client_addr: &'a str, worker: &'a str, expirable: bool) -> SessionPlace<'a> {
    SessionPlace {
        client_addr,
        worker,
        expirable,
    }
}

//! The "auth-N" threads: argon2 and the account and session tables, off
//! the event loop. Jobs arrive typed (parsed at the edge by `route`) on a
//! bounded channel shared by the pool; each reply, REQID in front, goes
//! back through a [`Notifier`].

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};
use mio::Token;
use papertrader_common::instr::State;
use papertrader_common::message::frame;
use papertrader_common::value::{
    Email, HashedPass, IdToken, Provider, Reason, ReasonCode, ResetProof, SessionId, Timestamp,
    Username,
};
use papertrader_common::{Frame, Instr};
use parking_lot::Mutex;
use rand::RngCore;

use crate::auth::{Auth, AuthConfig};
use crate::db;
use crate::event::{Event, Notifier};
use crate::oidc::{self, KeyCache, Oidc};
use crate::ratelimit::RateLimiter;
use crate::trade::queue::TradeMsg;

/// An account or session request forwarded by a worker.
#[derive(Debug)]
pub struct AuthJob {
    /// The worker link it came on.
    pub token: Token,
    /// The worker's REQID, put in front of the reply.
    pub reqid: String,
    /// What to do.
    pub work: AuthWork,
}

/// The account and session operations, their arguments parsed.
#[derive(Debug)]
pub enum AuthWork {
    /// `register username email hashedPass`.
    Register {
        /// The new name.
        username: Username,
        /// Its email address.
        email: Email,
        /// The client's password hash.
        pass: HashedPass,
        /// The client's address as the worker saw it.
        client: String,
    },
    /// `login username hashedPass isExpirable`, from a client at an address
    /// through a named worker.
    Login {
        /// Who.
        username: Username,
        /// The client's password hash.
        pass: HashedPass,
        /// Whether the session ends with the client's connection.
        expirable: bool,
        /// The client's address as the worker saw it.
        client: String,
        /// The worker's name, recorded with the session.
        worker: String,
    },
    /// `loginSession sessionID`.
    LoginSession(SessionId),
    /// `logout sessionID`.
    Logout(SessionId),
    /// `switchState sessionID state`: the worker keeps the state, the master
    /// vouches for the session.
    SwitchState(SessionId, State),
    /// The worker's connection with this expirable session closed.
    SessionClosed(SessionId),
    /// The link of the named worker was lost for good: its expirable
    /// sessions end.
    WorkerLost(String),
    /// `resetAccount sessionID hashedPass|idToken`: the password (or the
    /// ID token) is checked here, the reset itself runs on the trade
    /// thread.
    Reset {
        /// Whose account.
        session: SessionId,
        /// The password again, or a fresh ID token.
        proof: ResetProof,
        /// The client's address as the worker saw it.
        client: String,
    },
    /// `loginExternal provider idToken isExpirable`.
    LoginExternal {
        /// Which provider.
        provider: Provider,
        /// Its ID token.
        token: IdToken,
        /// Whether the session ends with the client's connection.
        expirable: bool,
        /// The client's address as the worker saw it.
        client: String,
        /// The worker's name, recorded with the session.
        worker: String,
    },
    /// `registerExternal username provider idToken`.
    RegisterExternal {
        /// The new name.
        username: Username,
        /// Which provider.
        provider: Provider,
        /// Its ID token.
        token: IdToken,
        /// The client's address as the worker saw it.
        client: String,
    },
    /// `setPassword sessionID hashedPass`.
    SetPassword {
        /// Whose account.
        session: SessionId,
        /// The new password's hash.
        pass: HashedPass,
    },
}

impl AuthWork {
    /// The instruction this work answers.
    pub fn instr(&self) -> Instr {
        match self {
            AuthWork::Register { .. } => Instr::Register,
            AuthWork::Login { .. } => Instr::Login,
            AuthWork::LoginSession(_) => Instr::LoginSession,
            AuthWork::Logout(_) => Instr::Logout,
            AuthWork::SwitchState(..) => Instr::SwitchState,
            AuthWork::SessionClosed(_) | AuthWork::WorkerLost(_) => Instr::SessionClosed,
            AuthWork::Reset { .. } => Instr::ResetAccount,
            AuthWork::LoginExternal { .. } => Instr::LoginExternal,
            AuthWork::RegisterExternal { .. } => Instr::RegisterExternal,
            AuthWork::SetPassword { .. } => Instr::SetPassword,
        }
    }
}

/// Starts `threads` auth threads sharing one rate limiter, and the "oidc"
/// thread that fetches the providers' keys for them when any provider is
/// configured. Each auth thread opens its own connection to `database`.
pub fn spawn_auth(
    threads: usize,
    database: PathBuf,
    config: Arc<AuthConfig>,
    limiter: Arc<Mutex<RateLimiter>>,
    jobs: Receiver<AuthJob>,
    trade: Sender<TradeMsg>,
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
            let (jobs, notifier, trade) = (jobs.clone(), notifier.clone(), trade.clone());
            thread::Builder::new()
                .name(format!("auth-{i}"))
                .spawn(move || {
                    let mut rng = rand::rng();
                    let mut purged = Instant::now();
                    for job in jobs.iter() {
                        // The first thread keeps the sessions table from
                        // growing forever.
                        if i == 0 && purged.elapsed() >= PURGE_EVERY {
                            purged = Instant::now();
                            purge(&mut auth);
                        }
                        let reply =
                            run_auth(&mut auth, job.work, job.token, &job.reqid, &trade, &mut rng);
                        if let Some(frame) = reply
                            && !notifier.send(Event::Reply {
                                token: job.token,
                                frame,
                            })
                        {
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
/// answers it; `resetFail` now otherwise.
fn hand_reset(
    check: Result<crate::auth::AccountId, Reason>,
    token: Token,
    reqid: &str,
    trade: &Sender<TradeMsg>,
) -> Option<Frame> {
    let fail = |reason: Reason| frame(Instr::ResetFail, &[reqid.to_string(), reason.to_string()]);
    let account = match check {
        Ok(account) => account,
        Err(reason) => return Some(fail(reason)),
    };
    let msg = TradeMsg::Reset {
        token,
        reqid: reqid.to_string(),
        account: account.0,
    };
    match trade.try_send(msg) {
        Ok(()) => None,
        Err(_) => Some(fail(Reason::new(
            ReasonCode::Unavailable,
            "the trade queue is full; nothing was changed, try again",
        ))),
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

/// Runs one job; `None` for work that has no reply.
fn run_auth(
    auth: &mut Auth,
    work: AuthWork,
    token: Token,
    reqid: &str,
    trade: &Sender<TradeMsg>,
    rng: &mut impl RngCore,
) -> Option<Frame> {
    let now = Timestamp::now();
    let fail =
        |instr: Instr, reason: Reason| frame(instr, &[reqid.to_string(), reason.to_string()]);
    let reply = match work {
        AuthWork::Register {
            username,
            email,
            pass,
            client,
        } => {
            let salt = random16(rng);
            match auth.register(&username, &email, &pass, &client, salt, now, Instant::now()) {
                Ok(()) => frame(Instr::RegisterSuccess, &[reqid]),
                Err(r) => fail(Instr::RegisterFail, r),
            }
        }
        AuthWork::Login {
            username,
            pass,
            expirable,
            client,
            worker,
        } => {
            let id = random16(rng);
            match auth.login(
                &username,
                &pass,
                expirable,
                &client,
                &worker,
                now,
                Instant::now(),
                id,
            ) {
                Ok(session) => frame(Instr::SessionId, &[reqid, session.as_str()]),
                Err(r) => fail(Instr::LoginFail, r),
            }
        }
        AuthWork::LoginSession(id) => match auth.login_session(&id, now) {
            Ok(session) => frame(Instr::SessionId, &[reqid, session.as_str()]),
            Err(r) => fail(Instr::LoginFail, r),
        },
        AuthWork::Logout(id) => match auth.logout(&id, now) {
            Ok(()) => frame(Instr::LogoutSuccess, &[reqid]),
            Err(r) => fail(Instr::LogoutFail, r),
        },
        AuthWork::SwitchState(id, state) => match auth.validate(&id, now) {
            Ok(_) => frame(Instr::StateSwitchSuccess, &[reqid, state.name()]),
            Err(r) => fail(Instr::StateSwitchFail, r),
        },
        AuthWork::WorkerLost(worker) => {
            match auth.worker_lost(&worker, now) {
                Ok(0) => {}
                Ok(n) => papertrader_common::info!(
                    "worker {worker} did not come back: {n} expirable sessions ended"
                ),
                Err(r) => papertrader_common::error!("sessions of worker {worker}: {r}"),
            }
            return None;
        }
        AuthWork::Reset {
            session,
            proof,
            client,
        } => {
            let check = auth.confirm_reset(&session, &proof, &client, now, Instant::now());
            return hand_reset(check, token, reqid, trade);
        }
        AuthWork::LoginExternal {
            provider,
            token: id_token,
            expirable,
            client,
            worker,
        } => {
            let id = random16(rng);
            let mono = Instant::now();
            match auth.login_external(
                &provider, &id_token, expirable, &client, &worker, now, mono, id,
            ) {
                Ok(session) => frame(Instr::SessionId, &[reqid, session.as_str()]),
                Err(r) => fail(Instr::LoginFail, r),
            }
        }
        AuthWork::RegisterExternal {
            username,
            provider,
            token: id_token,
            client,
        } => {
            let mono = Instant::now();
            match auth.register_external(&username, &provider, &id_token, &client, now, mono) {
                Ok(()) => frame(Instr::RegisterSuccess, &[reqid]),
                Err(r) => fail(Instr::RegisterFail, r),
            }
        }
        AuthWork::SetPassword { session, pass } => {
            match auth.set_password(&session, &pass, random16(rng), now) {
                Ok(()) => frame(Instr::PasswordSet, &[reqid]),
                Err(r) => fail(Instr::PasswordFail, r),
            }
        }
        AuthWork::SessionClosed(id) => {
            if let Err(r) = auth.session_closed(&id, now) {
                papertrader_common::debug!("sessionClosed not applied: {r}");
            }
            return None;
        }
    };
    Some(reply)
}

/// 16 random bytes: a salt, a session id or a nonce.
pub fn random16(rng: &mut impl RngCore) -> [u8; 16] {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    bytes
}

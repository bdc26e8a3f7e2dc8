//! The slow work of the master, off the event loop: the "auth" pool
//! (argon2 and the account and session tables) and the "gpg" thread (the
//! handshake signatures). Jobs arrive on bounded channels; results go back
//! through a [`Notifier`].

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Instant;

use crossbeam_channel::Receiver;
use mio::Token;
use papertrader_common::gpg::{Role, Signer, handshake_message};
use papertrader_common::instr::State;
use papertrader_common::message::frame;
use papertrader_common::value::{Reason, ReasonCode, Timestamp};
use papertrader_common::{Frame, Instr};
use parking_lot::Mutex;
use rand::RngCore;

use crate::auth::{Auth, AuthConfig};
use crate::db;
use crate::event::{Event, Notifier};
use crate::ratelimit::RateLimiter;

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

/// The account and session operations, with their raw arguments.
#[derive(Debug)]
pub enum AuthWork {
    /// `register username email hashedPass`.
    Register(String, String, String),
    /// `login username hashedPass isExpirable`, from a client at an address
    /// through a named worker.
    Login {
        /// The three arguments.
        args: [String; 3],
        /// The client's address as the worker saw it.
        client: String,
        /// The worker's name, recorded with the session.
        worker: String,
    },
    /// `loginSession sessionID`.
    LoginSession(String),
    /// `logout sessionID`.
    Logout(String),
    /// `switchState sessionID state`: the worker keeps the state, the master
    /// vouches for the session.
    SwitchState(String, String),
    /// The worker's connection with this expirable session closed.
    SessionClosed(String),
}

/// Starts `threads` auth threads sharing one rate limiter. Each opens its
/// own connection to `database`.
pub fn spawn_auth(
    threads: usize,
    database: PathBuf,
    config: Arc<AuthConfig>,
    limiter: Arc<Mutex<RateLimiter>>,
    jobs: Receiver<AuthJob>,
    notifier: Notifier,
) -> io::Result<Vec<JoinHandle<()>>> {
    (0..threads)
        .map(|i| {
            let conn = db::open(&database).map_err(|e| io::Error::other(e.to_string()))?;
            let mut auth = Auth::new(conn, config.clone(), limiter.clone());
            let (jobs, notifier) = (jobs.clone(), notifier.clone());
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
                        if let Some(frame) = run_auth(&mut auth, job.work, &job.reqid, &mut rng)
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
        .collect()
}

/// How often the first auth thread deletes long-dead sessions.
const PURGE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

fn purge(auth: &mut Auth) {
    match auth.purge_expired(Timestamp::now()) {
        Ok(0) => {}
        Ok(n) => log::info!("purged {n} sessions ended more than a day ago"),
        Err(r) => log::error!("cannot purge old sessions: {r}"),
    }
}

/// Runs one job; `None` for work that has no reply.
fn run_auth(auth: &mut Auth, work: AuthWork, reqid: &str, rng: &mut impl RngCore) -> Option<Frame> {
    let now = Timestamp::now();
    let fail =
        |instr: Instr, reason: Reason| frame(instr, &[reqid.to_string(), reason.to_string()]);
    let reply = match work {
        AuthWork::Register(user, email, pass) => {
            let salt = random16(rng);
            match auth.register(&user, &email, &pass, salt, now) {
                Ok(()) => frame(Instr::RegisterSuccess, &[reqid]),
                Err(r) => fail(Instr::RegisterFail, r),
            }
        }
        AuthWork::Login {
            args: [user, pass, expirable],
            client,
            worker,
        } => {
            let id = random16(rng);
            match auth.login(
                &user,
                &pass,
                &expirable,
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
        AuthWork::SwitchState(id, state) => match switch_state(auth, &id, &state, now) {
            Ok(state) => frame(Instr::StateSwitchSuccess, &[reqid, state.name()]),
            Err(r) => fail(Instr::StateSwitchFail, r),
        },
        AuthWork::SessionClosed(id) => {
            if let Err(r) = auth.session_closed(&id, now) {
                log::debug!("sessionClosed not applied: {r}");
            }
            return None;
        }
    };
    Some(reply)
}

fn switch_state(auth: &Auth, id: &str, state: &str, now: Timestamp) -> Result<State, Reason> {
    let state = State::parse(state).ok_or_else(|| {
        Reason::new(
            ReasonCode::BadArguments,
            format!("state {state:?}: expected command or data"),
        )
    })?;
    auth.validate(id, now)?;
    Ok(state)
}

/// 16 random bytes: a salt, a session id or a nonce.
pub fn random16(rng: &mut impl RngCore) -> [u8; 16] {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    bytes
}

/// A handshake signature job for the gpg thread.
#[derive(Debug)]
pub enum GpgJob {
    /// Sign the master's side of the handshake for a worker's nonce.
    Sign {
        /// The connection in its handshake.
        token: Token,
        /// The worker's UUID.
        uuid: String,
        /// The worker's nonce from `workerHello`.
        worker_nonce: String,
    },
    /// Check a worker's proof over the master's nonce.
    Verify {
        /// The connection in its handshake.
        token: Token,
        /// The worker's UUID.
        uuid: String,
        /// The nonce the master sent.
        master_nonce: String,
        /// The worker's armored signature.
        signature: String,
        /// The fingerprint registered for the worker.
        fingerprint: String,
    },
}

/// Starts the "gpg" thread with the master's signing key. Fails at once if
/// the key is not in the GnuPG home, so a bad setup stops the daemon.
pub fn spawn_gpg(
    home: PathBuf,
    fingerprint: String,
    jobs: Receiver<GpgJob>,
    notifier: Notifier,
) -> io::Result<JoinHandle<()>> {
    let (ready_tx, ready_rx) = crossbeam_channel::bounded(1);
    let handle = thread::Builder::new().name("gpg".into()).spawn(move || {
        let mut signer = match Signer::new(Some(&home), &fingerprint) {
            Ok(signer) => {
                let _ = ready_tx.send(Ok(()));
                signer
            }
            Err(err) => {
                let _ = ready_tx.send(Err(err.to_string()));
                return;
            }
        };
        for job in jobs.iter() {
            let event = match job {
                GpgJob::Sign {
                    token,
                    uuid,
                    worker_nonce,
                } => {
                    let data = handshake_message(Role::Master, &uuid, &worker_nonce);
                    let result = signer.sign(&data).map_err(|e| e.to_string());
                    Event::Signed { token, result }
                }
                GpgJob::Verify {
                    token,
                    uuid,
                    master_nonce,
                    signature,
                    fingerprint,
                } => {
                    let data = handshake_message(Role::Worker, &uuid, &master_nonce);
                    let result = signer
                        .verify(&signature, &data, &fingerprint)
                        .map_err(|e| e.to_string());
                    Event::Verified { token, result }
                }
            };
            if !notifier.send(event) {
                return;
            }
        }
    })?;
    match ready_rx.recv() {
        Ok(Ok(())) => Ok(handle),
        Ok(Err(message)) => Err(io::Error::other(message)),
        Err(_) => Err(io::Error::other("gpg thread died while starting")),
    }
}

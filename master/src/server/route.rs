//! Routing of forwarded requests (PROTOCOL.md section 6). Runs on the
//! event loop thread as part of [`Server`]: a frame from an accepted worker
//! link is checked, its prefix and arguments parsed once into a
//! [`Forwarded`] and a [`Request`], and the typed request handed to the
//! thread that owns it (auth pool, data threads, trade thread), or
//! answered here (`getWorkerList`, malformed input).

use mio::Token;
use papertrader_common::message::{self, CheckError};
use papertrader_common::reply::{LinkMsg, Reply, ReplyError};
use papertrader_common::request::{Forwarded, Request, excerpt};
use papertrader_common::value::ReasonCode;
use papertrader_common::{Frame, Instr, MessageType};

use super::Server;
use crate::auth_thread::AuthMsg;
use crate::job::{Job, Origin, ReplyTo};
use crate::trade::queue::TradeMsg;

impl Server {
    /// A frame on an accepted link: a control frame, or a forwarded request.
    pub(super) fn on_link_frame(&mut self, token: Token, frame: Frame) {
        if frame.message_type == MessageType::Control as u8 {
            return self.on_link_control(token, frame);
        }
        let reqid = Forwarded::reqid_of(&frame);
        let checked = match message::check(&frame, Forwarded::ARGS) {
            Ok(checked) => checked,
            Err(err) => {
                if let Some(conn) = self.conns.get(token) {
                    papertrader_common::warn!("{}: {err}", conn.peer());
                }
                return self.answer_bad_request(token, reqid, &err);
            }
        };
        let instr = checked.instr;
        let Some(link) = self.conns.link_mut(token) else {
            return;
        };
        let prefix = match Forwarded::parse(&checked.prefix) {
            Ok(prefix) if prefix.uuid.eq_ignore_ascii_case(&link.uuid) => prefix,
            Ok(prefix) => {
                let text = format!("prefix UUID {} is not this link's", excerpt(&prefix.uuid));
                return self.fail(token, &prefix.reqid, instr, ReasonCode::Forbidden, text);
            }
            Err(err) => {
                let reqid = reqid.unwrap_or_default();
                return self.fail(token, &reqid, instr, ReasonCode::Forbidden, err.to_string());
            }
        };
        link.count_served();
        let worker = link.name.clone();
        let to = ReplyTo {
            link: token,
            reqid: prefix.reqid,
        };
        match Request::parse(instr, &checked.args) {
            Ok(request) => {
                let origin = Origin {
                    client: prefix.client,
                    worker,
                    arrival_ms: prefix.ts_ms,
                };
                self.route(Job {
                    to,
                    origin,
                    request,
                });
            }
            Err(reason) => self.answer(&to, Reply::failure(instr, reason)),
        }
    }

    /// Hands a parsed request to the thread that owns it.
    fn route(&mut self, job: Job) {
        let instr = job.request.instr();
        let busy = match owner(instr) {
            Owner::Auth => match self
                .queues
                .auth
                .try_send(AuthMsg::Job(job))
                .map_err(|e| e.into_inner())
            {
                Err(AuthMsg::Job(job)) => Some((job.to, "the master is busy; try again")),
                _ => None,
            },
            Owner::Data => self
                .queues
                .data
                .try_send(job)
                .err()
                .map(|e| (e.into_inner().to, "the master is busy; try again")),
            Owner::Trade => match self
                .queues
                .trade
                .try_send(TradeMsg::Job(job))
                .map_err(|e| e.into_inner())
            {
                Err(TradeMsg::Job(job)) => Some((job.to, FULL)),
                _ => None,
            },
            Owner::Loop => {
                let list = Reply::WorkerList(self.worker_list());
                self.answer(&job.to, list);
                None
            }
        };
        if let Some((to, text)) = busy {
            self.answer(&to, Reply::fail(instr, ReasonCode::Unavailable, text));
        }
    }

    /// Sends `reply` to its return address.
    fn answer(&mut self, to: &ReplyTo, reply: Reply) {
        self.send(to.link, &to.frame(&reply));
    }

    /// Answers `instr`'s failure with a REQID in front.
    fn fail(
        &mut self,
        token: Token,
        reqid: &str,
        instr: Instr,
        code: ReasonCode,
        text: impl Into<String>,
    ) {
        let to = ReplyTo {
            link: token,
            reqid: reqid.to_string(),
        };
        self.answer(&to, Reply::fail(instr, code, text));
    }

    /// A frame that breaks the table: its answer, with the REQID in front
    /// when one could be read; numbering errors close the link.
    fn answer_bad_request(&mut self, token: Token, reqid: Option<String>, err: &CheckError) {
        let answer = Reply::checked(err).encode(reqid.as_deref());
        if err.closes() {
            self.send_and_close(token, &answer);
        } else {
            self.send(token, &answer);
        }
    }

    /// Keepalive and `sessionClosed` on an accepted link.
    fn on_link_control(&mut self, token: Token, frame: Frame) {
        let message = match LinkMsg::parse(&frame) {
            Ok(message) => message,
            Err(ReplyError::Check(err)) => return self.answer_bad_request(token, None, &err),
            Err(ReplyError::NotAReply(instr)) => return self.unexpected_control(token, instr),
            Err(err) => {
                return papertrader_common::debug!("a control frame not applied: {err}");
            }
        };
        match message {
            LinkMsg::Ping(word) => self.send(token, &LinkMsg::Pong(word).encode()),
            LinkMsg::Pong(_) => self.pong(token),
            LinkMsg::SessionClosed(session) => {
                if self
                    .queues
                    .auth
                    .try_send(AuthMsg::SessionClosed(session))
                    .is_err()
                {
                    papertrader_common::warn!("auth queue full: a sessionClosed was dropped");
                }
            }
            other => self.unexpected_control(token, other.instr()),
        }
    }

    /// `protocolError` for a control frame a worker does not send
    /// (`quotes`, `kick`, the handshake's frames after it).
    fn unexpected_control(&mut self, token: Token, instr: Instr) {
        let text = format!("{} is not expected from a worker", instr.name());
        let answer = Reply::fail(Instr::ProtocolError, ReasonCode::Protocol, text);
        self.send(token, &answer.encode(None));
    }
}

/// The answer to an order that finds the trade queue full.
const FULL: &str = "the trade queue is full; nothing was changed, try again";

/// Which thread answers a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// The auth pool: accounts, sessions, passwords.
    Auth,
    /// The data pool: read-only answers from SQLite.
    Data,
    /// The trade thread: orders, cancels.
    Trade,
    /// The event loop itself (`getWorkerList`).
    Loop,
}

/// The owner column of the instruction table: every client request, the
/// thread that answers it.
pub fn owner(instr: Instr) -> Owner {
    match instr {
        Instr::Login
        | Instr::LoginSession
        | Instr::Register
        | Instr::SwitchState
        | Instr::Logout
        | Instr::ResetAccount
        | Instr::LoginExternal
        | Instr::RegisterExternal
        | Instr::SetPassword
        | Instr::CreateApiKey
        | Instr::RevokeApiKey
        | Instr::LoginApiKey
        | Instr::AddToWatchlist
        | Instr::RemoveFromWatchlist => Owner::Auth,
        Instr::PurchaseAsset
        | Instr::SellAsset
        | Instr::PurchaseNotional
        | Instr::SellNotional
        | Instr::PlaceOrder
        | Instr::ReplaceOrder
        | Instr::PlaceOrderClass
        | Instr::PlaceOrderTagged
        | Instr::PlaceOrderClassTagged
        | Instr::CancelOrder
        | Instr::CreatePortfolio
        | Instr::RenamePortfolio
        | Instr::ClosePortfolio
        | Instr::UsePortfolio
        | Instr::CreateGame
        | Instr::ChangeGame
        | Instr::JoinGame
        | Instr::LeaveGame
        | Instr::RemovePlayer
        | Instr::NewGameCode => Owner::Trade,
        Instr::GetWorkerList => Owner::Loop,
        _ => Owner::Data,
    }
}

//! Routing of forwarded requests (PROTOCOL.md section 6). Runs on the
//! event loop thread as part of [`Server`]: a frame from an accepted worker
//! link is checked, its prefix and arguments parsed once into a
//! [`Forwarded`] and a [`Request`], and the typed request handed to the
//! thread that owns it (auth pool, data threads, trade thread), or
//! answered here (`getWorkerList`, malformed input).

use mio::Token;
use papertrader_common::message::{self, CheckError, frame};
use papertrader_common::request::{Forwarded, Request, excerpt};
use papertrader_common::value::{Reason, ReasonCode};
use papertrader_common::{Frame, Instr, MessageType};

use crate::auth_thread::{AuthJob, AuthWork};
use crate::data::DataJob;
use crate::link::Role;
use crate::server::Server;
use crate::trade::queue::{Arrival, Placement, TradeMsg};

impl Server {
    /// A frame on an accepted link: a control frame, or a forwarded request.
    pub(crate) fn on_link_frame(&mut self, token: Token, frame: Frame) {
        if frame.message_type == MessageType::Control as u8 {
            return self.on_link_control(token, frame);
        }
        let reqid = Forwarded::reqid_of(&frame);
        let checked = match message::check(&frame, Forwarded::ARGS) {
            Ok(checked) => checked,
            Err(err) => {
                if let Some(conn) = self.conns.get(&token) {
                    papertrader_common::warn!("{}: {err}", conn.peer());
                }
                return self.answer_bad_request(token, reqid, &err);
            }
        };
        let instr = checked.instr;
        let Some(Role::Link(link)) = self.conns.get_mut(&token).map(|c| &mut c.role) else {
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
        link.served += 1;
        let worker = link.name.clone();
        match Request::parse(instr, &checked.args) {
            Ok(request) => self.route(token, prefix, worker, request),
            Err(reason) => {
                let answer = with_reqid(instr, &prefix.reqid, reason);
                self.send(token, &answer);
            }
        }
    }

    /// Hands a parsed request to the thread that owns it.
    fn route(&mut self, token: Token, prefix: Forwarded, worker: String, request: Request) {
        let Forwarded {
            reqid,
            ts_ms,
            client,
            ..
        } = prefix;
        let work = match request {
            Request::Register {
                username,
                email,
                pass,
            } => AuthWork::Register {
                username,
                email,
                pass,
                client,
            },
            Request::Login {
                username,
                pass,
                expirable,
            } => AuthWork::Login {
                username,
                pass,
                expirable,
                client,
                worker,
            },
            Request::LoginSession { session } => AuthWork::LoginSession(session),
            Request::Logout { session } => AuthWork::Logout(session),
            Request::SwitchState { session, state } => AuthWork::SwitchState(session, state),
            Request::WorkerList => return self.answer_worker_list(token, &reqid),
            Request::Trade {
                side,
                session,
                symbol,
                quantity,
            } => {
                let arrival = Arrival {
                    token,
                    reqid,
                    side,
                    session,
                    symbol,
                    quantity,
                    ts_ms,
                };
                return self.queue_trade(TradeMsg::Order(arrival));
            }
            Request::PlaceOrder { session, order } => {
                let placement = Placement {
                    token,
                    reqid,
                    session,
                    order,
                    ts_ms,
                };
                return self.queue_trade(TradeMsg::Place(placement));
            }
            Request::CancelOrder { session, id } => {
                let cancel = TradeMsg::Cancel {
                    token,
                    reqid,
                    session,
                    id,
                };
                return self.queue_trade(cancel);
            }
            Request::ResetAccount { session, proof } => AuthWork::Reset {
                session,
                proof,
                client,
            },
            Request::LoginExternal {
                provider,
                token,
                expirable,
            } => AuthWork::LoginExternal {
                provider,
                token,
                expirable,
                client,
                worker,
            },
            Request::RegisterExternal {
                username,
                provider,
                token,
            } => AuthWork::RegisterExternal {
                username,
                provider,
                token,
                client,
            },
            Request::SetPassword { session, pass } => AuthWork::SetPassword { session, pass },
            data => return self.queue_data(token, reqid, data),
        };
        self.queue_auth(AuthJob { token, reqid, work });
    }

    fn queue_auth(&mut self, job: AuthJob) {
        let instr = job.work.instr();
        if let Err(err) = self.auth_tx.try_send(job) {
            let job = err.into_inner();
            let text = "the master is busy; try again";
            self.fail(job.token, &job.reqid, instr, ReasonCode::Unavailable, text);
        }
    }

    fn queue_data(&mut self, token: Token, reqid: String, request: Request) {
        let instr = request.instr();
        let job = DataJob {
            token,
            reqid,
            request,
        };
        if let Err(err) = self.data_tx.try_send(job) {
            let job = err.into_inner();
            let text = "the master is busy; try again";
            self.fail(token, &job.reqid, instr, ReasonCode::Unavailable, text);
        }
    }

    fn queue_trade(&mut self, msg: TradeMsg) {
        let Err(err) = self.trade_tx.try_send(msg) else {
            return;
        };
        let (token, reqid, instr) = match err.into_inner() {
            TradeMsg::Order(a) => (a.token, a.reqid, a.side.instr()),
            TradeMsg::Place(p) => (p.token, p.reqid, Instr::PlaceOrder),
            TradeMsg::Cancel { token, reqid, .. } => (token, reqid, Instr::CancelOrder),
            _ => return,
        };
        let text = "the trade queue is full; nothing was changed, try again";
        self.fail(token, &reqid, instr, ReasonCode::Unavailable, text);
    }

    fn answer_worker_list(&mut self, token: Token, reqid: &str) {
        let list = crate::link::frame_worker_list(&self.worker_list(), Some(reqid));
        self.send(token, &list);
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
        let answer = with_reqid(instr, reqid, Reason::new(code, text));
        self.send(token, &answer);
    }

    /// A frame that breaks the table: its answer, with the REQID in front
    /// when one could be read; numbering errors close the link.
    fn answer_bad_request(&mut self, token: Token, reqid: Option<String>, err: &CheckError) {
        let answer = match (reqid, err) {
            (Some(reqid), CheckError::Arguments(instr, _)) => {
                let reason = Reason::new(ReasonCode::BadArguments, err.to_string());
                with_reqid(*instr, &reqid, reason)
            }
            (Some(reqid), _) => {
                let reason = Reason::new(ReasonCode::Protocol, err.to_string());
                with_reqid(Instr::ProtocolError, &reqid, reason)
            }
            (None, _) => err.reply(),
        };
        if err.closes() {
            self.send_and_close(token, &answer);
        } else {
            self.send(token, &answer);
        }
    }

    /// Keepalive and `sessionClosed` on an accepted link.
    fn on_link_control(&mut self, token: Token, frame: Frame) {
        let req = match message::check(&frame, 0) {
            Ok(req) => req,
            Err(err) => return self.answer_bad_request(token, None, &err),
        };
        match req.instr {
            Instr::Ping => {
                let pong = message::frame(Instr::Pong, &[req.args[0]]);
                self.send(token, &pong);
            }
            Instr::Pong => self.pong(token),
            Instr::SessionClosed => {
                let session = match papertrader_common::value::SessionId::parse(req.args[0]) {
                    Ok(session) => session,
                    Err(err) => {
                        return papertrader_common::debug!("sessionClosed not applied: {err}");
                    }
                };
                let job = AuthJob {
                    token,
                    reqid: String::new(),
                    work: AuthWork::SessionClosed(session),
                };
                if self.auth_tx.try_send(job).is_err() {
                    papertrader_common::warn!("auth queue full: a sessionClosed was dropped");
                }
            }
            other => {
                let text = format!("{} is not expected from a worker", other.name());
                self.send(
                    token,
                    &message::failure(Instr::ProtocolError, ReasonCode::Protocol, text),
                );
            }
        }
    }
}

/// `instr`'s failure return (or `protocolError`) with a REQID in front.
fn with_reqid(instr: Instr, reqid: &str, reason: Reason) -> Frame {
    let failure = instr.failure().unwrap_or(Instr::ProtocolError);
    frame(failure, &[reqid.to_string(), reason.to_string()])
}

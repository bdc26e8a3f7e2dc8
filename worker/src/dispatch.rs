//! What the worker does with each client request (PROTOCOL.md sections 4
//! and 5): the state check, answers from the caches, `switchState`, and
//! forwarding the rest to the master. Runs on the event loop thread as part
//! of [`Server`].

use mio::Token;
use papertrader_common::message::{self, frame, reply};
use papertrader_common::transfer;
use papertrader_common::value::{Reason, ReasonCode, SessionId, Symbol};
use papertrader_common::{Frame, Instr, MAX_DATA, MessageType, State};

use crate::link::{Note, Pending};
use crate::server::Server;

/// The frames of a data transfer carrying `payload`, or a `dataFail`
/// `internal` for one too large to send.
pub fn transfer_frames(payload: &[u8]) -> Vec<Frame> {
    transfer::packets(Instr::Data, payload, None).unwrap_or_else(|err| {
        log::error!("cannot send a data answer: {err}");
        let text = "the answer is too large to send; nothing was changed";
        vec![reply(
            Instr::DataFail,
            Reason::new(ReasonCode::Internal, text),
        )]
    })
}

/// The failure return of `instr` with a reason.
fn failure(instr: Instr, code: ReasonCode, text: impl Into<String>) -> Frame {
    reply(
        instr.failure().unwrap_or(Instr::ProtocolError),
        Reason::new(code, text),
    )
}

impl Server {
    pub(crate) fn on_client_frame(&mut self, token: Token, frame: Frame) {
        let Some(client) = self.clients.get_mut(&token) else {
            return;
        };
        if client.switching {
            if !client.hold(frame) {
                log::warn!("{}: too many frames during a switchState", client.peer);
                self.close_client(token);
            }
            return;
        }
        let req = match message::check(&frame, 0) {
            Ok(req) => req,
            Err(err) => {
                client.answer(&err.reply());
                client.close_when_flushed |= err.closes();
                return;
            }
        };
        let instr = req.instr;
        if matches!(instr.kind(), MessageType::Return | MessageType::Control) {
            let text = format!("{} is not a request", instr.name());
            client.answer(&reply(
                Instr::ProtocolError,
                Reason::new(ReasonCode::Protocol, text),
            ));
            return;
        }
        if let Some(state) = instr.state()
            && state != client.state
        {
            let text = format!(
                "{} is not allowed in {} state",
                instr.name(),
                client.state.name()
            );
            client.answer(&failure(instr, ReasonCode::WrongState, text));
            return;
        }
        let args: Vec<String> = req.args.iter().map(|s| s.to_string()).collect();
        match instr {
            Instr::GetWorkerList => {
                let list = message::frame(Instr::WorkerList, &self.worker_list);
                client.answer(&list);
            }
            Instr::SwitchState => self.switch_state(token, &frame, &args),
            Instr::GetAssetValueCurrent | Instr::GetAssetInfo => {
                self.quote(token, &frame, instr, &args[0]);
            }
            Instr::GetAssetValueDay
            | Instr::GetAssetValueWeek
            | Instr::GetAssetValueMonth
            | Instr::GetAssetValueYear
            | Instr::GetAssetValueAllTime
            | Instr::GetAssetList => self.history(token, &frame, instr, &args),
            Instr::Login => {
                let note = Note::Login {
                    expirable: args[2] == "true",
                };
                self.forward(token, &frame, instr, note);
            }
            Instr::LoginSession => {
                self.forward(token, &frame, instr, Note::LoginSession);
            }
            Instr::Logout => {
                let note = SessionId::parse(&args[0]).map_or(Note::None, Note::Logout);
                self.forward(token, &frame, instr, note);
            }
            _ => {
                self.forward(token, &frame, instr, Note::None);
            }
        }
    }

    /// `switchState`: answered here when the session was vouched for
    /// lately, else checked by the master while later frames wait.
    fn switch_state(&mut self, token: Token, frame: &Frame, args: &[String]) {
        let Some(client) = self.clients.get_mut(&token) else {
            return;
        };
        let session = match SessionId::parse(&args[0]) {
            Ok(id) => id,
            Err(err) => return client.answer(&reply(Instr::StateSwitchFail, err.reason())),
        };
        let Some(state) = State::parse(&args[1]) else {
            let text = format!("state {:?}: expected command or data", args[1]);
            return client.answer(&failure(Instr::SwitchState, ReasonCode::BadArguments, text));
        };
        let now = std::time::Instant::now();
        if self.caches.lock().sessions.is_valid(&session, now) {
            client.state = state;
            client.session = Some(session);
            client.answer(&frame_state(state));
            return;
        }
        if self.forward(
            token,
            frame,
            Instr::SwitchState,
            Note::SwitchState { state, session },
        ) && let Some(client) = self.clients.get_mut(&token)
        {
            client.switching = true;
        }
    }

    /// `getAssetValueCurrent` and `getAssetInfo` from the quote cache.
    fn quote(&mut self, token: Token, frame: &Frame, instr: Instr, symbol: &str) {
        let Some(client) = self.clients.get_mut(&token) else {
            return;
        };
        let symbol = match Symbol::parse(symbol) {
            Ok(s) => s,
            Err(err) => return client.answer(&reply(Instr::DataFail, err.reason())),
        };
        let line = self.caches.lock().quotes.get(&symbol).map(|q| match instr {
            Instr::GetAssetInfo => q.info_line(),
            _ => q.current_line(),
        });
        match line {
            Some(line) => client.answer_all(transfer_frames(line.as_bytes())),
            None => {
                self.forward(token, frame, instr, Note::None);
            }
        }
    }

    /// History and the asset list: from the history cache, else from the
    /// master, whose answer is then cached.
    fn history(&mut self, token: Token, frame: &Frame, instr: Instr, args: &[String]) {
        let mut key = instr.code().to_string();
        for (i, arg) in args.iter().enumerate() {
            key.push(' ');
            key.push_str(&if i == 0 {
                arg.to_ascii_uppercase()
            } else {
                arg.clone()
            });
        }
        let now = std::time::Instant::now();
        let cached = self
            .caches
            .lock()
            .history
            .get(&key, now)
            .map(transfer_frames);
        match cached {
            Some(frames) => {
                if let Some(client) = self.clients.get_mut(&token) {
                    client.answer_all(frames);
                }
            }
            None => {
                self.forward(
                    token,
                    frame,
                    instr,
                    Note::History {
                        key,
                        payload: Vec::new(),
                    },
                );
            }
        }
    }

    /// Sends a client request to the master with the section 6 prefix and
    /// reserves its answer's place; `unavailable` at once when the link is
    /// down. Returns whether it went out.
    pub(crate) fn forward(
        &mut self,
        token: Token,
        frame: &Frame,
        instr: Instr,
        note: Note,
    ) -> bool {
        let Some(client) = self.clients.get_mut(&token) else {
            return false;
        };
        if !self.link.is_up() {
            let text = "the master cannot be reached; nothing was changed";
            client.answer(&failure(instr, ReasonCode::Unavailable, text));
            return false;
        }
        let reqid = self.next_reqid;
        self.next_reqid += 1;
        let uuid = self.config.uuid.as_deref().unwrap_or("-");
        let mut data = format!("{uuid} {reqid} {} {}", now_ms(), client.peer).into_bytes();
        if frame.argument_count > 0 {
            data.push(b' ');
            data.extend_from_slice(&frame.data);
        }
        if data.len() > MAX_DATA {
            let text = "request too long to forward";
            client.answer(&failure(instr, ReasonCode::BadArguments, text));
            return false;
        }
        let forwarded = Frame {
            message_type: frame.message_type,
            instruction: frame.instruction,
            argument_count: frame.argument_count + 4,
            data_message_number: 0,
            data_message_max: 0,
            data,
        };
        client.expect(reqid);
        self.pending.insert(reqid, Pending { token, instr, note });
        self.link_send(&forwarded);
        true
    }
}

/// `stateSwitchSuccess STATE`.
pub fn frame_state(state: State) -> Frame {
    frame(Instr::StateSwitchSuccess, &[state.name()])
}

fn now_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

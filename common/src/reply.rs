//! Replies as typed values: one [`Reply`] variant per return instruction of
//! `papertrader-protocol(7)` section 4, and one [`LinkMsg`] variant per control
//! instruction of the master link. Servers build them and [`Reply::encode`]
//! them, REQID in front on the master link; clients and workers
//! [`Reply::parse`] a frame once and read fields, never argument positions.
//! This is the one place where a return or control frame is spelled out.

use std::fmt;

use crate::frame::{Frame, MessageType};
use crate::instr::{Instr, State};
use crate::message::{self, CheckError};
use crate::request::Side;
use crate::value::{
    ApiKeyId, ApiSecret, GameCode, Money, PortfolioName, Quantity, Reason, ReasonCode, SessionId,
    Symbol, Timestamp, Username, ValueError, parse_id, parse_order_id,
};

/// A filled market order: `purchaseSuccess` or `sellSuccess`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fill {
    /// Which of the two returns.
    pub side: Side,
    /// The transaction id of the history line.
    pub txid: i64,
    /// The asset.
    pub symbol: Symbol,
    /// How many.
    pub quantity: Quantity,
    /// The fill price.
    pub price: Money,
    /// When it filled.
    pub time: Timestamp,
}

/// One packet of a data transfer (`data`, `quotes`), its chunk owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataPacket {
    /// 1-based packet number.
    pub number: u32,
    /// Packets in the whole transfer.
    pub max: u32,
    /// This packet's bytes of the payload.
    pub chunk: Vec<u8>,
}

/// Every server return (`message_type` 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `sessionID`: a login succeeded.
    Session(SessionId),
    /// `registerSuccess`.
    Registered,
    /// `purchaseSuccess` or `sellSuccess`.
    Filled(Fill),
    /// `stateSwitchSuccess state`.
    StateSwitched(State),
    /// `data`: one packet of a transfer.
    Data(DataPacket),
    /// `workerList address...`.
    WorkerList(Vec<String>),
    /// `logoutSuccess`.
    LoggedOut,
    /// `orderAccepted orderID`.
    OrderAccepted(u64),
    /// `cancelSuccess orderID`.
    Cancelled(u64),
    /// `resetSuccess cash`.
    Reset(Money),
    /// `passwordSet`.
    PasswordSet,
    /// `apiKeyCreated keyID secretKey` (protocol 1.2).
    KeyCreated {
        /// The new key.
        id: ApiKeyId,
        /// Its secret, shown this once.
        secret: ApiSecret,
    },
    /// `apiKeyRevoked keyID` (protocol 1.2).
    KeyRevoked(ApiKeyId),
    /// `apiKeySession sessionID username` (protocol 1.2): the session a
    /// key works under, and whose it is.
    KeySession {
        /// The key's session.
        session: SessionId,
        /// The owner, as registered.
        username: Username,
    },
    /// `watchlistUpdated symbol` (protocol 1.2): the symbol added to or
    /// removed from the watchlist (or already so).
    WatchlistUpdated(Symbol),
    /// `portfolioUpdated portfolioID name` (protocol 1.2): the portfolio
    /// made, renamed, closed or put to use, or made by joining a
    /// competition.
    PortfolioUpdated {
        /// The login's number for it.
        id: u64,
        /// Its name.
        name: PortfolioName,
    },
    /// `gameCreated gameID code` (protocol 1.2): a competition made, or
    /// its new invitation code.
    GameCreated {
        /// The competition's number.
        id: u64,
        /// Its invitation code.
        code: GameCode,
    },
    /// `gameUpdated gameID` (protocol 1.2): rules changed, a player left
    /// or was removed.
    GameUpdated(u64),
    /// A failure return (`loginFail` ... `passwordFail`, `dataFail`,
    /// `protocolError`) with its reason.
    Failure {
        /// The failure return instruction itself.
        instr: Instr,
        /// Why.
        reason: Reason,
    },
}

/// Why a frame is not a well-formed reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    /// It breaks the instruction table (numbering, type, arguments).
    #[error("{0}")]
    Check(CheckError),
    /// A known instruction that is not a return.
    #[error("{} is not a return", .0.name())]
    NotAReply(Instr),
    /// A return whose argument is not a valid value.
    #[error("malformed {}: {}", .0.name(), .1)]
    Value(Instr, ValueError),
}

impl Reply {
    /// The failure that answers request `request` (its own failure return,
    /// or `protocolError` for one that has none).
    pub fn failure(request: Instr, reason: Reason) -> Reply {
        let instr = if request.is_failure() {
            request
        } else {
            request.failure().unwrap_or(Instr::ProtocolError)
        };
        Reply::Failure { instr, reason }
    }

    /// [`Reply::failure`] from a code and a sentence.
    pub fn fail(request: Instr, code: ReasonCode, text: impl Into<String>) -> Reply {
        Reply::failure(request, Reason::new(code, text))
    }

    /// `protocolError protocol ...`: the answer to a frame that breaks
    /// section 2.
    pub fn protocol_error(err: &impl fmt::Display) -> Reply {
        Reply::fail(Instr::ProtocolError, ReasonCode::Protocol, err.to_string())
    }

    /// The answer to a frame that failed [`message::check`]: the
    /// instruction's failure with `bad-arguments` for wrong arguments,
    /// `protocolError` otherwise.
    pub fn checked(err: &CheckError) -> Reply {
        match err {
            CheckError::Arguments(instr, _) => {
                Reply::fail(*instr, ReasonCode::BadArguments, err.to_string())
            }
            _ => Reply::protocol_error(err),
        }
    }

    /// The return instruction this reply travels as.
    pub fn instr(&self) -> Instr {
        match self {
            Reply::Session(_) => Instr::SessionId,
            Reply::Registered => Instr::RegisterSuccess,
            Reply::Filled(fill) => match fill.side {
                Side::Buy => Instr::PurchaseSuccess,
                Side::Sell => Instr::SellSuccess,
            },
            Reply::StateSwitched(_) => Instr::StateSwitchSuccess,
            Reply::Data(_) => Instr::Data,
            Reply::WorkerList(_) => Instr::WorkerList,
            Reply::LoggedOut => Instr::LogoutSuccess,
            Reply::OrderAccepted(_) => Instr::OrderAccepted,
            Reply::Cancelled(_) => Instr::CancelSuccess,
            Reply::Reset(_) => Instr::ResetSuccess,
            Reply::PasswordSet => Instr::PasswordSet,
            Reply::KeyCreated { .. } => Instr::ApiKeyCreated,
            Reply::KeyRevoked(_) => Instr::ApiKeyRevoked,
            Reply::KeySession { .. } => Instr::ApiKeySession,
            Reply::WatchlistUpdated(_) => Instr::WatchlistUpdated,
            Reply::PortfolioUpdated { .. } => Instr::PortfolioUpdated,
            Reply::GameCreated { .. } => Instr::GameCreated,
            Reply::GameUpdated(_) => Instr::GameUpdated,
            Reply::Failure { instr, .. } => *instr,
        }
    }

    /// The reason, if this is a failure.
    pub fn reason(&self) -> Option<&Reason> {
        match self {
            Reply::Failure { reason, .. } => Some(reason),
            _ => None,
        }
    }

    /// The frame of this reply, with `reqid` as its first argument on the
    /// master link. Never panics: a reply that cannot be framed (an echo
    /// of peer input past the size limit) becomes its failure with
    /// `internal`, as [`message::frame`] does.
    pub fn encode(&self, reqid: Option<&str>) -> Frame {
        let instr = self.instr();
        if let Reply::Data(p) = self {
            return packet_frame(instr, reqid, p);
        }
        let mut args: Vec<String> = reqid.map(str::to_string).into_iter().collect();
        match self {
            Reply::Session(id) => args.push(id.to_string()),
            Reply::Filled(f) => args.extend([
                f.txid.to_string(),
                f.symbol.to_string(),
                f.quantity.to_string(),
                f.price.to_string(),
                f.time.to_string(),
            ]),
            Reply::StateSwitched(state) => args.push(state.name().to_string()),
            Reply::WorkerList(list) => args.extend(list.iter().cloned()),
            Reply::OrderAccepted(id) | Reply::Cancelled(id) => args.push(id.to_string()),
            Reply::Reset(cash) => args.push(cash.to_string()),
            Reply::KeyCreated { id, secret } => args.extend([id.to_string(), secret.to_string()]),
            Reply::KeyRevoked(id) => args.push(id.to_string()),
            Reply::KeySession { session, username } => {
                args.extend([session.to_string(), username.to_string()]);
            }
            Reply::WatchlistUpdated(symbol) => args.push(symbol.to_string()),
            Reply::PortfolioUpdated { id, name } => args.extend([id.to_string(), name.to_string()]),
            Reply::GameCreated { id, code } => args.extend([id.to_string(), code.to_string()]),
            Reply::GameUpdated(id) => args.push(id.to_string()),
            Reply::Failure { reason, .. } => args.push(reason.to_string()),
            Reply::Registered | Reply::LoggedOut | Reply::PasswordSet | Reply::Data(_) => {}
        }
        message::frame(instr, &args)
    }

    /// [`Reply::encode`], taking the reply: a data packet without a REQID
    /// moves its chunk into the frame instead of copying it (the worker
    /// relaying a transfer).
    pub fn into_frame(self, reqid: Option<&str>) -> Frame {
        match self {
            Reply::Data(p) if reqid.is_none() && p.chunk.len() <= crate::MAX_DATA => {
                let mut f = Frame::new(MessageType::Return, Instr::Data.code(), 0, p.chunk);
                f.data_message_number = p.number;
                f.data_message_max = p.max;
                f
            }
            other => other.encode(reqid),
        }
    }

    /// The reply a client reads from a worker (no REQID).
    pub fn parse(frame: &Frame) -> Result<Reply, ReplyError> {
        Ok(Reply::parse_prefixed(frame, 0)?.1)
    }

    /// A reply on the master link: the REQID in front, and the reply.
    pub fn parse_forwarded(frame: &Frame) -> Result<(String, Reply), ReplyError> {
        let (mut prefix, reply) = Reply::parse_prefixed(frame, 1)?;
        Ok((prefix.pop().unwrap_or_default(), reply))
    }

    fn parse_prefixed(frame: &Frame, prefix: u16) -> Result<(Vec<String>, Reply), ReplyError> {
        let checked = message::check(frame, prefix).map_err(ReplyError::Check)?;
        let instr = checked.instr;
        if instr.kind() != MessageType::Return {
            return Err(ReplyError::NotAReply(instr));
        }
        let head = checked.prefix.iter().map(|s| s.to_string()).collect();
        let bad = |err: ValueError| ReplyError::Value(instr, err);
        let args = &checked.args;
        let reply = match instr {
            Instr::SessionId => Reply::Session(SessionId::parse(args[0]).map_err(bad)?),
            Instr::RegisterSuccess => Reply::Registered,
            Instr::PurchaseSuccess | Instr::SellSuccess => Reply::Filled(Fill {
                side: if instr == Instr::PurchaseSuccess {
                    Side::Buy
                } else {
                    Side::Sell
                },
                txid: parse_txid(args[0]).map_err(bad)?,
                symbol: Symbol::parse(args[1]).map_err(bad)?,
                quantity: Quantity::parse(args[2]).map_err(bad)?,
                price: Money::parse(args[3]).map_err(bad)?,
                time: Timestamp::parse(args[4]).map_err(bad)?,
            }),
            Instr::StateSwitchSuccess => Reply::StateSwitched(
                State::parse(args[0])
                    .ok_or_else(|| bad(ValueError::new("state", args[0], "command or data")))?,
            ),
            Instr::Data => {
                let (_, chunk) = message::split_prefix(&frame.data, prefix)
                    .map_err(|e| ReplyError::Check(CheckError::Arguments(instr, e)))?;
                Reply::Data(DataPacket {
                    number: frame.data_message_number,
                    max: frame.data_message_max,
                    chunk: chunk.to_vec(),
                })
            }
            Instr::WorkerList => Reply::WorkerList(args.iter().map(|s| s.to_string()).collect()),
            Instr::LogoutSuccess => Reply::LoggedOut,
            Instr::OrderAccepted => Reply::OrderAccepted(parse_order_id(args[0]).map_err(bad)?),
            Instr::CancelSuccess => Reply::Cancelled(parse_order_id(args[0]).map_err(bad)?),
            Instr::ResetSuccess => Reply::Reset(Money::parse(args[0]).map_err(bad)?),
            Instr::PasswordSet => Reply::PasswordSet,
            Instr::ApiKeyCreated => Reply::KeyCreated {
                id: ApiKeyId::parse(args[0]).map_err(bad)?,
                secret: ApiSecret::parse(args[1]).map_err(bad)?,
            },
            Instr::ApiKeyRevoked => Reply::KeyRevoked(ApiKeyId::parse(args[0]).map_err(bad)?),
            Instr::ApiKeySession => Reply::KeySession {
                session: SessionId::parse(args[0]).map_err(bad)?,
                username: Username::parse(args[1]).map_err(bad)?,
            },
            Instr::WatchlistUpdated => {
                Reply::WatchlistUpdated(Symbol::parse(args[0]).map_err(bad)?)
            }
            Instr::PortfolioUpdated => Reply::PortfolioUpdated {
                id: parse_id("portfolioID", args[0]).map_err(bad)?,
                name: PortfolioName::parse(args[1]).map_err(bad)?,
            },
            Instr::GameCreated => Reply::GameCreated {
                id: parse_id("gameID", args[0]).map_err(bad)?,
                code: GameCode::parse(args[1]).map_err(bad)?,
            },
            Instr::GameUpdated => Reply::GameUpdated(parse_id("gameID", args[0]).map_err(bad)?),
            failure => Reply::Failure {
                instr: failure,
                reason: Reason::parse(args[0]).map_err(bad)?,
            },
        };
        Ok((head, reply))
    }
}

/// The frame of one transfer packet, REQID in front when given.
fn packet_frame(instr: Instr, reqid: Option<&str>, p: &DataPacket) -> Frame {
    let mut data = Vec::with_capacity(p.chunk.len() + 21);
    if let Some(id) = reqid {
        data.extend_from_slice(id.as_bytes());
        data.push(b' ');
    }
    data.extend_from_slice(&p.chunk);
    if data.len() > crate::MAX_DATA {
        let text = "a packet too large to send; nothing was changed";
        return Reply::fail(Instr::DataFail, ReasonCode::Internal, text).encode(reqid);
    }
    let mut f = Frame::new(instr.kind(), instr.code(), u16::from(reqid.is_some()), data);
    f.data_message_number = p.number;
    f.data_message_max = p.max;
    f
}

/// A transaction id: a non-negative decimal `i64`.
fn parse_txid(text: &str) -> Result<i64, ValueError> {
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    text.parse()
        .ok()
        .filter(|_| digits)
        .ok_or_else(|| ValueError::new("transaction id", text, "a non-negative whole number"))
}

/// The control instructions of the master link (`message_type` 4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkMsg {
    /// `workerHello uuid name clientAddress workerNonce`.
    Hello {
        /// The worker's UUID.
        uuid: String,
        /// Its name.
        name: String,
        /// The address clients reach it at.
        address: String,
        /// Its nonce, hex.
        nonce: String,
    },
    /// `masterChallenge masterNonce masterSignature`.
    Challenge {
        /// The master's nonce, hex.
        nonce: String,
        /// The master's signature, encoded for the wire.
        signature: String,
    },
    /// `workerProof workerSignature`.
    Proof(String),
    /// `linkAccepted`.
    Accepted,
    /// `linkRefused reason`.
    Refused(Reason),
    /// `ping token`.
    Ping(String),
    /// `pong token`.
    Pong(String),
    /// `sessionClosed sessionID`.
    SessionClosed(SessionId),
    /// `kick reason`.
    Kick(Reason),
    /// `workerListUpdate address...`.
    WorkerListUpdate(Vec<String>),
}

impl LinkMsg {
    /// The control instruction this travels as.
    pub fn instr(&self) -> Instr {
        match self {
            LinkMsg::Hello { .. } => Instr::WorkerHello,
            LinkMsg::Challenge { .. } => Instr::MasterChallenge,
            LinkMsg::Proof(_) => Instr::WorkerProof,
            LinkMsg::Accepted => Instr::LinkAccepted,
            LinkMsg::Refused(_) => Instr::LinkRefused,
            LinkMsg::Ping(_) => Instr::Ping,
            LinkMsg::Pong(_) => Instr::Pong,
            LinkMsg::SessionClosed(_) => Instr::SessionClosed,
            LinkMsg::Kick(_) => Instr::Kick,
            LinkMsg::WorkerListUpdate(_) => Instr::WorkerListUpdate,
        }
    }

    /// Its frame. Never panics (see [`message::frame`]).
    pub fn encode(&self) -> Frame {
        let args: Vec<String> = match self {
            LinkMsg::Hello {
                uuid,
                name,
                address,
                nonce,
            } => vec![uuid.clone(), name.clone(), address.clone(), nonce.clone()],
            LinkMsg::Challenge { nonce, signature } => vec![nonce.clone(), signature.clone()],
            LinkMsg::Proof(word) | LinkMsg::Ping(word) | LinkMsg::Pong(word) => vec![word.clone()],
            LinkMsg::Accepted => Vec::new(),
            LinkMsg::Refused(reason) | LinkMsg::Kick(reason) => vec![reason.to_string()],
            LinkMsg::SessionClosed(id) => vec![id.to_string()],
            LinkMsg::WorkerListUpdate(list) => list.clone(),
        };
        message::frame(self.instr(), &args)
    }

    /// A control frame, checked and its arguments read.
    pub fn parse(frame: &Frame) -> Result<LinkMsg, ReplyError> {
        let checked = message::check(frame, 0).map_err(ReplyError::Check)?;
        let instr = checked.instr;
        let a: Vec<String> = checked.args.iter().map(|s| s.to_string()).collect();
        let bad = |err: ValueError| ReplyError::Value(instr, err);
        let reason = |i: usize| Reason::parse(&a[i]).map_err(bad);
        Ok(match instr {
            Instr::WorkerHello => LinkMsg::Hello {
                uuid: a[0].clone(),
                name: a[1].clone(),
                address: a[2].clone(),
                nonce: a[3].clone(),
            },
            Instr::MasterChallenge => LinkMsg::Challenge {
                nonce: a[0].clone(),
                signature: a[1].clone(),
            },
            Instr::WorkerProof => LinkMsg::Proof(a[0].clone()),
            Instr::LinkAccepted => LinkMsg::Accepted,
            Instr::LinkRefused => LinkMsg::Refused(reason(0)?),
            Instr::Ping => LinkMsg::Ping(a[0].clone()),
            Instr::Pong => LinkMsg::Pong(a[0].clone()),
            Instr::SessionClosed => LinkMsg::SessionClosed(SessionId::parse(&a[0]).map_err(bad)?),
            Instr::Kick => LinkMsg::Kick(reason(0)?),
            Instr::WorkerListUpdate => LinkMsg::WorkerListUpdate(a),
            other => return Err(ReplyError::NotAReply(other)),
        })
    }
}

#[cfg(test)]
mod tests;

//! A blocking PaperTrader client: one TCP connection (plain or TLS, see
//! [`tls`]) to a worker, every
//! instruction of `papertrader-protocol(7)` as a typed call, data transfers
//! reassembled. The `papertrader` command is built on it; other front ends
//! (desktop, web) can be too.
//!
//! The client keeps its connection's state: data calls switch it to data
//! state with the session they are given, command calls switch it back.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use papertrader_common::payload::{self, PayloadError};
use papertrader_common::reply::Reply;
use papertrader_common::request::{Request, UserView};
use papertrader_common::transfer::Reassembler;
pub use papertrader_common::value::{ApiKeyId, ApiSecret};
use papertrader_common::value::{
    Date, Email, HashedPass, IdToken, KeyLabel, Money, Provider, Quantity, Reason, ResetProof,
    SessionId, Symbol, Timestamp, Username, ValueError,
};
use papertrader_common::{Decoder, Frame, MessageType, State};
use sha2::{Digest, Sha256};

/// The lines of data answers, parsed by common's one parser per line.
pub use papertrader_common::payload::{
    Asset, Bar, Current, EquityPoint, GameDetail, GameLine, GameRole, GameState, Info, KeyLine,
    OrderLine, PortfolioLine, PortfolioStatus, Position, PrivateInfo, Standing, Trade, TradeSide,
    UserInfo, Valuation, WatchLine,
};
/// A filled market order, as `purchaseSuccess` / `sellSuccess` carry it.
pub use papertrader_common::reply::Fill;
/// What `placeOrder` takes, and the history ranges.
pub use papertrader_common::request::{
    ClassSpec, NewStop, OrderChange, OrderSpec, Range, Side, Size,
};
/// What the portfolio and competition calls take and answer.
pub use papertrader_common::value::{
    GameCode, GameFees, GameRules, OrderTypes, PortfolioName, Visibility,
};

pub mod tls;

pub use tls::TlsSettings;

/// Longest wait for a TCP connection to a server.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest payload a client accepts (a long Day history is a few MB).
const MAX_PAYLOAD: usize = 256 << 20;

/// What can go wrong with a call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server could not be reached or the connection broke.
    #[error("{0}: {1}")]
    Io(String, io::Error),
    /// The server answered with a failure return, or would have: an
    /// argument the server refuses is refused before sending, with the
    /// reason the server gives.
    #[error("{0}")]
    Refused(Reason),
    /// The server answered something the protocol does not allow here.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The TLS handshake with the server failed: its certificate was
    /// refused (expired, another host's, an unknown authority) or it does
    /// not speak TLS. The address and one sentence.
    #[error("{0}: {1}")]
    Tls(String, String),
    /// The trust roots could not be loaded (a bad `--ca` file, none on
    /// the system).
    #[error("{0}")]
    CaFile(String),
}

/// A data answer whose lines are malformed is the server's fault.
impl From<PayloadError> for Error {
    fn from(err: PayloadError) -> Error {
        Error::Protocol(err.to_string())
    }
}

/// The result of a call.
pub type Result<T> = std::result::Result<T, Error>;

/// How a data call parses its payload.
type Parse<T> = fn(&str) -> std::result::Result<T, PayloadError>;

/// The value a reply of the shape `$pat` carries; any other reply is one
/// the protocol does not allow as the answer.
macro_rules! answer {
    ($reply:expr, $pat:pat $(if $guard:expr)? => $value:expr) => {
        match $reply {
            $pat $(if $guard)? => Ok($value),
            other => Err(unexpected(&other)),
        }
    };
}

// After `answer!`, which its calls use.
mod games;
pub use games::join_by;
/// How `joinGame` names a competition.
pub use papertrader_common::request::JoinBy;

/// The reference client's hashedPass: lowercase hex SHA-256 of
/// `"papertrader\0" + lowercase(username) + "\0" + password`.
pub fn hashed_pass(username: &str, password: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(b"papertrader\0");
    hash.update(username.to_ascii_lowercase().as_bytes());
    hash.update(b"\0");
    hash.update(password.as_bytes());
    papertrader_common::value::hex(&hash.finalize())
}

/// Called with (packet number, packets in all) as a transfer arrives.
pub type Progress = Box<dyn FnMut(u32, u32)>;

/// A connection to a worker.
pub struct Client {
    stream: tls::Conn,
    addr: String,
    decoder: Decoder,
    state: State,
    progress: Option<Progress>,
}

impl Client {
    /// Connects to a worker at `addr` (`host:port`). `timeout` bounds each
    /// read and write (a trade waits for the next price update); the
    /// connection attempt itself gives up after at most CONNECT_TIMEOUT.
    pub fn connect(addr: &str, timeout: Duration) -> Result<Client> {
        Client::connect_with(addr, timeout, &TlsSettings::default())
    }

    /// Like [`Client::connect`]; `addr` may be `tls://host:port`, and
    /// `tls` says how to check the certificate (and whether plain
    /// addresses use TLS too).
    pub fn connect_with(addr: &str, timeout: Duration, tls: &TlsSettings) -> Result<Client> {
        let (secure, target) = tls.split(addr);
        let io = |e| Error::Io(addr.to_string(), e);
        let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
        for sock in target.to_socket_addrs().map_err(io)? {
            match TcpStream::connect_timeout(&sock, timeout.min(CONNECT_TIMEOUT)) {
                Ok(stream) => {
                    stream.set_read_timeout(Some(timeout)).map_err(io)?;
                    stream.set_write_timeout(Some(timeout)).map_err(io)?;
                    let _ = stream.set_nodelay(true);
                    let stream = if secure {
                        let host = target.rsplit_once(':').map_or(target, |(h, _)| h);
                        tls::Conn::tls(stream, host, addr, tls)?
                    } else {
                        tls::Conn::Plain(stream)
                    };
                    return Ok(Client {
                        stream,
                        addr: addr.to_string(),
                        decoder: Decoder::new(),
                        state: State::Command,
                        progress: None,
                    });
                }
                Err(err) => last = err,
            }
        }
        Err(io(last))
    }

    /// Asks the master at `master` for its workers and connects to the
    /// first that answers.
    pub fn discover(master: &str, timeout: Duration) -> Result<Client> {
        Client::discover_with(master, timeout, &TlsSettings::default())
    }

    /// Like [`Client::discover`], with `tls` for the master and the workers.
    pub fn discover_with(master: &str, timeout: Duration, tls: &TlsSettings) -> Result<Client> {
        let workers = worker_list_with(master, timeout, tls)?;
        let mut last = Error::Protocol(format!("the master at {master} lists no worker"));
        for addr in workers {
            match Client::connect_with(&addr, timeout, tls) {
                Ok(client) => return Ok(client),
                Err(err) => last = err,
            }
        }
        Err(last)
    }

    /// The worker's address.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Reports transfer progress to `progress`.
    pub fn set_progress(&mut self, progress: Option<Progress>) {
        self.progress = progress;
    }

    fn send(&mut self, f: &Frame) -> Result<()> {
        let io = |e| Error::Io(self.addr.clone(), e);
        self.stream.write_all(&f.to_bytes()).map_err(io)
    }

    fn recv(&mut self) -> Result<Frame> {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match self.decoder.next_frame() {
                Ok(Some(f)) => return Ok(f),
                Ok(None) => {}
                Err(err) => return Err(Error::Protocol(format!("{}: {err}", self.addr))),
            }
            let n = self
                .stream
                .read(&mut buf)
                .map_err(|e| Error::Io(self.addr.clone(), e))?;
            if n == 0 {
                let closed = io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the server closed the connection",
                );
                return Err(Error::Io(self.addr.clone(), closed));
            }
            self.decoder.push(&buf[..n]);
        }
    }

    /// Reads one reply; a failure return is the server's reason.
    fn reply(&mut self) -> Result<Reply> {
        let answer = self.recv()?;
        match Reply::parse(&answer) {
            Ok(Reply::Failure { reason, .. }) => Err(Error::Refused(reason)),
            Ok(reply) => Ok(reply),
            Err(err) => Err(Error::Protocol(format!("{}: {err}", self.addr))),
        }
    }

    /// Sends `request` and reads its reply.
    fn call(&mut self, request: &Request) -> Result<Reply> {
        self.send(&request.encode())?;
        self.reply()
    }

    /// Puts the connection in `state`, with `session` for data state.
    fn ensure(&mut self, session: &SessionId, state: State) -> Result<()> {
        if self.state != state {
            self.switch_state(session, state)?;
        }
        Ok(())
    }

    /// `switchState`.
    pub fn switch_state(&mut self, session: &SessionId, state: State) -> Result<()> {
        let request = Request::SwitchState {
            session: session.clone(),
            state,
        };
        let mut f = request.encode();
        if self.state == State::Data {
            f.message_type = MessageType::Data as u8;
        }
        self.send(&f)?;
        answer!(self.reply()?, Reply::StateSwitched(_) => ())?;
        self.state = state;
        Ok(())
    }

    /// `register`, hashing the password the reference way.
    pub fn register(&mut self, username: &str, email: &str, password: &str) -> Result<()> {
        let hashed = hashed_pass(username, password);
        self.leave_data()?;
        let request = Request::Register {
            username: arg(Username::parse(username))?,
            email: arg(Email::parse(email))?,
            pass: arg(HashedPass::parse(&hashed))?,
        };
        answer!(self.call(&request)?, Reply::Registered => ())
    }

    /// `login` with a password.
    pub fn login(&mut self, username: &str, password: &str, expirable: bool) -> Result<SessionId> {
        let hashed = hashed_pass(username, password);
        self.leave_data()?;
        let request = Request::Login {
            username: arg(Username::parse(username))?,
            pass: arg(HashedPass::parse(&hashed))?,
            expirable,
        };
        answer!(self.call(&request)?, Reply::Session(id) => id)
    }

    /// `loginExternal` with an ID token of `provider`.
    pub fn login_external(
        &mut self,
        provider: &str,
        id_token: &str,
        expirable: bool,
    ) -> Result<SessionId> {
        self.leave_data()?;
        let request = Request::LoginExternal {
            provider: arg(Provider::parse(provider))?,
            token: arg(IdToken::parse(id_token))?,
            expirable,
        };
        answer!(self.call(&request)?, Reply::Session(id) => id)
    }

    /// `registerExternal`: an account without a password, linked to the
    /// identity of `id_token`.
    pub fn register_external(
        &mut self,
        username: &str,
        provider: &str,
        id_token: &str,
    ) -> Result<()> {
        self.leave_data()?;
        let request = Request::RegisterExternal {
            username: arg(Username::parse(username))?,
            provider: arg(Provider::parse(provider))?,
            token: arg(IdToken::parse(id_token))?,
        };
        answer!(self.call(&request)?, Reply::Registered => ())
    }

    /// `setPassword`, hashing the password as for `login` (with the
    /// account's `username`).
    pub fn set_password(
        &mut self,
        session: &SessionId,
        username: &str,
        password: &str,
    ) -> Result<()> {
        let hashed = hashed_pass(username, password);
        self.ensure(session, State::Command)?;
        let request = Request::SetPassword {
            session: session.clone(),
            pass: arg(HashedPass::parse(&hashed))?,
        };
        answer!(self.call(&request)?, Reply::PasswordSet => ())
    }

    /// `loginSession`: resumes a remembered session.
    pub fn login_session(&mut self, session: &SessionId) -> Result<SessionId> {
        self.leave_data()?;
        let session = session.clone();
        answer!(self.call(&Request::LoginSession { session })?, Reply::Session(id) => id)
    }

    /// `logout`.
    pub fn logout(&mut self, session: &SessionId) -> Result<()> {
        self.ensure(session, State::Command)?;
        let session = session.clone();
        answer!(self.call(&Request::Logout { session })?, Reply::LoggedOut => ())
    }

    /// `purchaseAsset` of `quantity` (`3`, `0.25`); waits for the fill at
    /// the next price update.
    pub fn buy(&mut self, session: &SessionId, symbol: &str, quantity: &str) -> Result<Fill> {
        let size = Quantity::parse(quantity).map(Size::Shares);
        self.trade(Side::Buy, session, symbol, size)
    }

    /// `sellAsset` of `quantity`; waits for the fill at the next price
    /// update.
    pub fn sell(&mut self, session: &SessionId, symbol: &str, quantity: &str) -> Result<Fill> {
        let size = Quantity::parse(quantity).map(Size::Shares);
        self.trade(Side::Sell, session, symbol, size)
    }

    /// `purchaseNotional` (`buy`) or `sellNotional` of as many shares as
    /// `amount` (`100`, `99.95`) pays for at the next price update; waits
    /// for the fill, whose quantity says how many that was.
    pub fn trade_notional(
        &mut self,
        side: Side,
        session: &SessionId,
        symbol: &str,
        amount: &str,
    ) -> Result<Fill> {
        self.trade(side, session, symbol, Size::notional(amount))
    }

    /// A market order; the symbol is checked before the size, both
    /// before anything is sent.
    fn trade(
        &mut self,
        side: Side,
        session: &SessionId,
        symbol: &str,
        size: std::result::Result<Size, ValueError>,
    ) -> Result<Fill> {
        let symbol = arg(Symbol::parse(symbol))?;
        let size = arg(size)?;
        self.ensure(session, State::Command)?;
        let request = Request::Trade {
            side,
            session: session.clone(),
            symbol,
            size,
        };
        answer!(self.call(&request)?, Reply::Filled(fill) if fill.side == side => fill)
    }

    /// `getWorkerList` from this worker.
    pub fn workers(&mut self) -> Result<Vec<String>> {
        answer!(self.call(&Request::WorkerList)?, Reply::WorkerList(list) => list)
    }

    /// Refuses a sessionless command in data state: there is no session
    /// to switch back to command state with.
    fn leave_data(&mut self) -> Result<()> {
        if self.state == State::Data {
            return Err(Error::Protocol(
                "in data state without a session to leave it".into(),
            ));
        }
        Ok(())
    }

    /// A data request; the whole payload of its transfer, parsed by
    /// `parse`.
    fn data<T>(&mut self, session: &SessionId, request: &Request, parse: Parse<T>) -> Result<T> {
        self.ensure(session, State::Data)?;
        self.send(&request.encode())?;
        let mut reassembler = Reassembler::new(MAX_PAYLOAD);
        loop {
            let packet = answer!(self.reply()?, Reply::Data(packet) => packet)?;
            if let Some(progress) = self.progress.as_mut() {
                progress(packet.number, packet.max);
            }
            let done = reassembler
                .push(packet.number, packet.max, &packet.chunk)
                .map_err(|e| Error::Protocol(format!("{}: {e}", self.addr)))?;
            if let Some(payload) = done {
                let text = String::from_utf8(payload)
                    .map_err(|_| Error::Protocol("a data transfer that is not UTF-8".into()))?;
                return Ok(parse(&text)?);
            }
        }
    }

    /// A user data request (`getUserInfo`, `getUserPortfolio`,
    /// `getUserTransactionHistory`) of `username`.
    fn user_data<T>(
        &mut self,
        view: UserView,
        session: &SessionId,
        username: &str,
        parse: Parse<T>,
    ) -> Result<T> {
        let request = Request::User {
            view,
            session: session.clone(),
            username: arg(Username::parse(username))?,
        };
        self.data(session, &request, parse)
    }

    /// `getAssetValueCurrent`.
    pub fn quote(&mut self, session: &SessionId, symbol: &str) -> Result<Current> {
        let symbol = arg(Symbol::parse(symbol))?;
        let request = Request::AssetCurrent { symbol };
        self.data(session, &request, payload::parse_one)
    }

    /// `getAssetInfo`.
    pub fn info(&mut self, session: &SessionId, symbol: &str) -> Result<Info> {
        let symbol = arg(Symbol::parse(symbol))?;
        let request = Request::AssetInfo { symbol };
        self.data(session, &request, payload::parse_one)
    }

    /// `getAssetList`, sorted by symbol.
    pub fn assets(&mut self, session: &SessionId) -> Result<Vec<Asset>> {
        self.data(session, &Request::AssetList, payload::parse_lines)
    }

    /// A history range; `date` defaults to today (UTC) where one is needed.
    pub fn history(
        &mut self,
        session: &SessionId,
        symbol: &str,
        range: Range,
        date: Option<Date>,
    ) -> Result<Vec<Bar>> {
        let date = match range {
            Range::AllTime => None,
            _ => Some(date.unwrap_or_else(|| Date::of_timestamp(Timestamp::now()))),
        };
        let request = Request::History {
            range,
            symbol: arg(Symbol::parse(symbol))?,
            date,
        };
        self.data(session, &request, payload::parse_lines)
    }

    /// `getUserInfo`: the private view for the session's owner.
    pub fn user_info(&mut self, session: &SessionId, username: &str) -> Result<UserInfo> {
        self.user_data(UserView::Info, session, username, UserInfo::parse)
    }

    /// `getUserPortfolio`.
    pub fn portfolio(&mut self, session: &SessionId, username: &str) -> Result<Vec<Position>> {
        self.user_data(UserView::Portfolio, session, username, payload::parse_lines)
    }

    /// `getUserTransactionHistory` (the session owner's only).
    pub fn trades(&mut self, session: &SessionId, username: &str) -> Result<Vec<Trade>> {
        let view = UserView::Transactions;
        self.user_data(view, session, username, payload::parse_lines)
    }

    /// `placeOrder`: the order is stored and waits for its price; the
    /// answer is its orderID, not a fill (see `orders`).
    pub fn place_order(&mut self, session: &SessionId, order: &OrderSpec) -> Result<u64> {
        self.ensure(session, State::Command)?;
        let request = Request::PlaceOrder {
            session: session.clone(),
            order: order.clone(),
        };
        answer!(self.call(&request)?, Reply::OrderAccepted(id) => id)
    }

    /// `placeOrderClass` (protocol 1.2): an entry with its exit legs, or
    /// an OCO's two exits; the answer is the entry's orderID (an OCO's:
    /// its take-profit's), its legs listed by `orders` with it as parent.
    pub fn place_order_class(
        &mut self,
        session: &SessionId,
        order: &OrderSpec,
        class: &ClassSpec,
    ) -> Result<u64> {
        self.ensure(session, State::Command)?;
        let request = Request::PlaceOrderClass {
            session: session.clone(),
            order: order.clone(),
            class: *class,
        };
        answer!(self.call(&request)?, Reply::OrderAccepted(id) => id)
    }

    /// `replaceOrder` (protocol 1.2): the open order `id` with `change`
    /// becomes a new order; the answer is the new order's orderID (the
    /// old one ends `replaced`).
    pub fn replace_order(
        &mut self,
        session: &SessionId,
        id: u64,
        change: &OrderChange,
    ) -> Result<u64> {
        self.ensure(session, State::Command)?;
        let request = Request::ReplaceOrder {
            session: session.clone(),
            id,
            change: *change,
        };
        answer!(self.call(&request)?, Reply::OrderAccepted(id) => id)
    }

    /// `cancelOrder`; the answer echoes the cancelled orderID.
    pub fn cancel_order(&mut self, session: &SessionId, id: u64) -> Result<u64> {
        self.ensure(session, State::Command)?;
        let session = session.clone();
        answer!(self.call(&Request::CancelOrder { session, id })?, Reply::Cancelled(id) => id)
    }

    /// `resetAccount`, the password hashed as for `login` (with the
    /// account's `username`); the answer is the new cash.
    pub fn reset_account(
        &mut self,
        session: &SessionId,
        username: &str,
        password: &str,
    ) -> Result<Money> {
        let hashed = hashed_pass(username, password);
        self.reset_account_with(session, &hashed)
    }

    /// `resetAccount` of an account without a password, with a fresh ID
    /// token of its identity; the answer is the new cash.
    pub fn reset_account_with_token(
        &mut self,
        session: &SessionId,
        id_token: &str,
    ) -> Result<Money> {
        self.reset_account_with(session, id_token)
    }

    fn reset_account_with(&mut self, session: &SessionId, proof: &str) -> Result<Money> {
        self.ensure(session, State::Command)?;
        let request = Request::ResetAccount {
            session: session.clone(),
            proof: arg(ResetProof::parse(proof))?,
        };
        answer!(self.call(&request)?, Reply::Reset(cash) => cash)
    }

    /// `getOrders`: the session owner's orders, newest first.
    pub fn orders(&mut self, session: &SessionId) -> Result<Vec<OrderLine>> {
        let request = Request::Orders {
            session: session.clone(),
        };
        self.data(session, &request, payload::parse_lines)
    }

    /// `getLeaderboard`, best first (a data request, so it needs a
    /// session for the switch to data state).
    pub fn leaderboard(&mut self, session: &SessionId) -> Result<Vec<Standing>> {
        self.data(session, &Request::Leaderboard, payload::parse_lines)
    }

    /// `createApiKey` (protocol 1.2): a new API key of the session's
    /// account, and its secret, shown this once.
    pub fn create_key(
        &mut self,
        session: &SessionId,
        label: &str,
    ) -> Result<(ApiKeyId, ApiSecret)> {
        self.ensure(session, State::Command)?;
        let request = Request::CreateKey {
            session: session.clone(),
            label: arg(KeyLabel::parse(label))?,
        };
        answer!(self.call(&request)?, Reply::KeyCreated { id, secret } => (id, secret))
    }

    /// `revokeApiKey` (protocol 1.2).
    pub fn revoke_key(&mut self, session: &SessionId, id: &str) -> Result<()> {
        self.ensure(session, State::Command)?;
        let request = Request::RevokeKey {
            session: session.clone(),
            id: arg(ApiKeyId::parse(id))?,
        };
        answer!(self.call(&request)?, Reply::KeyRevoked(_) => ())
    }

    /// `getApiKeys` (protocol 1.2): the keys not revoked, oldest first.
    pub fn keys(&mut self, session: &SessionId) -> Result<Vec<KeyLine>> {
        let request = Request::Keys {
            session: session.clone(),
        };
        self.data(session, &request, payload::parse_lines)
    }

    /// `getWatchlist` (protocol 1.2): the account's watched symbols,
    /// oldest first.
    pub fn watchlist(&mut self, session: &SessionId) -> Result<Vec<WatchLine>> {
        let request = Request::Watchlist {
            session: session.clone(),
        };
        self.data(session, &request, payload::parse_lines)
    }

    /// `addToWatchlist` (protocol 1.2): a symbol already on the list is
    /// no error. The answer is the symbol as the server spells it.
    pub fn watch(&mut self, session: &SessionId, symbol: &str) -> Result<Symbol> {
        self.ensure(session, State::Command)?;
        let request = Request::Watch {
            session: session.clone(),
            symbol: arg(Symbol::parse(symbol))?,
        };
        answer!(self.call(&request)?, Reply::WatchlistUpdated(symbol) => symbol)
    }

    /// `removeFromWatchlist` (protocol 1.2): a symbol not on the list is
    /// no error.
    pub fn unwatch(&mut self, session: &SessionId, symbol: &str) -> Result<Symbol> {
        self.ensure(session, State::Command)?;
        let request = Request::Unwatch {
            session: session.clone(),
            symbol: arg(Symbol::parse(symbol))?,
        };
        answer!(self.call(&request)?, Reply::WatchlistUpdated(symbol) => symbol)
    }

    /// `getEquityHistory`: one point per UTC day, oldest first (the
    /// session owner's only).
    pub fn equity_history(
        &mut self,
        session: &SessionId,
        username: &str,
    ) -> Result<Vec<EquityPoint>> {
        let request = Request::EquityHistory {
            session: session.clone(),
            username: arg(Username::parse(username))?,
        };
        self.data(session, &request, payload::parse_lines)
    }
}

/// An argument as the protocol's value; one the server would refuse is
/// refused here, before anything is sent, with the server's reason.
fn arg<T>(parsed: std::result::Result<T, ValueError>) -> Result<T> {
    parsed.map_err(|err| Error::Refused(err.reason()))
}

/// A reply the protocol does not allow as the answer to the request sent.
fn unexpected(reply: &Reply) -> Error {
    Error::Protocol(format!("unexpected {} answer", reply.instr().name()))
}

/// Asks a master for its worker list (`getWorkerList` on the master port).
pub fn worker_list(master: &str, timeout: Duration) -> Result<Vec<String>> {
    worker_list_with(master, timeout, &TlsSettings::default())
}

/// Like [`worker_list`], with `tls` (`master` may be `tls://host:port`).
pub fn worker_list_with(master: &str, timeout: Duration, tls: &TlsSettings) -> Result<Vec<String>> {
    let mut client = Client::connect_with(master, timeout, tls)?;
    client.workers()
}

#[cfg(test)]
mod tests {
    use papertrader_common::message::frame;
    use papertrader_common::payload::Line;
    use papertrader_common::{Instr, ReasonCode};

    use super::*;

    #[test]
    fn hashed_pass_matches_the_protocol_vector() {
        assert_eq!(
            hashed_pass("Alice", "correct horse battery staple"),
            "af867c0d4a1b9dd62fed9f1a62a04a89369c5d94eb5c4094d36b48fec15c97bb"
        );
    }

    #[test]
    fn parses_bars_and_positions() {
        let bar =
            Bar::parse("1732147200 189.5000 191.2500 188.0000 190.7500 53200000").expect("bar");
        assert_eq!(
            (bar.time.0, bar.close, bar.volume),
            (1_732_147_200, Money(1_907_500), 53_200_000)
        );
        let private = Position::parse("AAPL 15 100.5000 101.0000 1515.0000").expect("private");
        assert_eq!(
            private.valuation.map(|v| v.avg_cost),
            Some(Money(1_005_000))
        );
        let public = Position::parse("AAPL 15").expect("public");
        assert_eq!(
            (public.quantity, public.valuation),
            (
                papertrader_common::value::Shares::whole(15).expect("15"),
                None
            )
        );
        assert!(Position::parse("AAPL").is_err());
        assert!(Bar::parse("1 2 3").is_err());
    }

    /// A one-connection server on loopback: for each frame it receives it
    /// sends the next answer of `script`; the frames received come back
    /// from the join handle (asserted on the test's thread).
    pub(crate) fn fake_server(
        script: Vec<Vec<Frame>>,
    ) -> (String, std::thread::JoinHandle<Vec<Frame>>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let handle = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("accept");
            let mut decoder = Decoder::new();
            let mut received = Vec::new();
            let mut buf = [0u8; 4096];
            for answers in script {
                let f = loop {
                    if let Some(f) = decoder.next_frame().expect("frame") {
                        break f;
                    }
                    let n = stream.read(&mut buf).expect("read");
                    if n == 0 {
                        return received;
                    }
                    decoder.push(&buf[..n]);
                };
                received.push(f);
                for a in answers {
                    stream.write_all(&a.to_bytes()).expect("write");
                }
            }
            received
        });
        (addr, handle)
    }

    pub(crate) fn args_of(f: &Frame) -> (u8, String) {
        (
            f.instruction,
            String::from_utf8(f.data.clone()).expect("utf-8"),
        )
    }

    pub(crate) fn sid() -> SessionId {
        SessionId::parse("0123456789abcdef0123456789abcdef").expect("session")
    }

    pub(crate) fn transfer(payload: &str) -> Vec<Frame> {
        papertrader_common::transfer::packets(Instr::Data, payload.as_bytes(), None)
            .expect("packets")
    }

    #[test]
    fn place_order_sends_the_eight_arguments() {
        use papertrader_common::value::{OrderKind, Quantity, Symbol, Tif};
        let (addr, server) = fake_server(vec![
            vec![frame(Instr::OrderAccepted, &["42"])],
            vec![frame(
                Instr::OrderFail,
                &["bad-price a stop order needs a stop"],
            )],
            vec![frame(Instr::OrderAccepted, &["forty-two"])],
        ]);
        let mut client = Client::connect(&addr, Duration::from_secs(5)).expect("connect");
        let mut order = OrderSpec {
            side: Side::Buy,
            symbol: Symbol::parse("aapl").expect("symbol"),
            quantity: Quantity::parse("10").expect("quantity"),
            kind: OrderKind::StopLimit {
                stop: Money(1_750_000),
                limit: Money(1_700_000),
            },
            tif: Tif::Gtc,
        };
        assert_eq!(client.place_order(&sid(), &order).expect("accepted"), 42);
        order.side = Side::Sell;
        order.kind = OrderKind::Market;
        order.tif = Tif::Day;
        match client.place_order(&sid(), &order) {
            Err(Error::Refused(r)) => assert_eq!(r.code, ReasonCode::BadPrice),
            other => panic!("{other:?}"),
        }
        match client.place_order(&sid(), &order) {
            Err(Error::Protocol(text)) => assert!(text.contains("orderAccepted"), "{text}"),
            other => panic!("{other:?}"),
        }
        let got = server.join().expect("server");
        let s = sid();
        assert_eq!(
            args_of(&got[0]),
            (
                9,
                format!("{s} buy AAPL 10 stop-limit 170.0000 175.0000 gtc")
            )
        );
        assert_eq!(got[0].argument_count, 8);
        assert_eq!(
            args_of(&got[1]),
            (9, format!("{s} sell AAPL 10 market - - day"))
        );
    }

    #[test]
    fn cancel_and_reset() {
        let (addr, server) = fake_server(vec![
            vec![frame(Instr::CancelSuccess, &["7"])],
            vec![frame(Instr::CancelFail, &["unknown-order"])],
            vec![frame(Instr::ResetSuccess, &["100000.0000"])],
            vec![frame(Instr::ResetSuccess, &["lots"])],
        ]);
        let mut client = Client::connect(&addr, Duration::from_secs(5)).expect("connect");
        assert_eq!(client.cancel_order(&sid(), 7).expect("cancel"), 7);
        match client.cancel_order(&sid(), 7) {
            Err(Error::Refused(r)) => assert_eq!(r.code, ReasonCode::UnknownOrder),
            other => panic!("{other:?}"),
        }
        let cash = client.reset_account(&sid(), "Alice", "correct horse battery staple");
        assert_eq!(cash.expect("reset"), Money(1_000_000_000));
        assert!(matches!(
            client.reset_account(&sid(), "alice", "x"),
            Err(Error::Protocol(_))
        ));
        let got = server.join().expect("server");
        let s = sid();
        assert_eq!(args_of(&got[0]), (10, format!("{s} 7")));
        assert_eq!(
            args_of(&got[2]),
            (
                11,
                format!(
                    "{s} {}",
                    hashed_pass("alice", "correct horse battery staple")
                )
            )
        );
    }

    #[test]
    fn orders_leaderboard_and_equity_are_data_transfers() {
        let switched = || vec![frame(Instr::StateSwitchSuccess, &["data"])];
        let (addr, server) = fake_server(vec![
            switched(),
            transfer("12 1732147200 buy AAPL 10 limit 170.0000 - day open 1732147200 -\n"),
            transfer("1 alice 12.34\n1 bob 12.34\n3 carol -0.50\n"),
            transfer("2026-11-20 100000.0000\n2026-11-21 101234.5000\n"),
            transfer("1 alice twelve\n"),
        ]);
        let mut client = Client::connect(&addr, Duration::from_secs(5)).expect("connect");
        let orders = client.orders(&sid()).expect("orders");
        assert_eq!((orders.len(), orders[0].id), (1, 12));
        assert_eq!(orders[0].kind.limit(), Some(Money(1_700_000)));
        let board = client.leaderboard(&sid()).expect("leaderboard");
        assert_eq!(board.iter().map(|s| s.rank).collect::<Vec<_>>(), [1, 1, 3]);
        let equity = client.equity_history(&sid(), "alice").expect("equity");
        assert_eq!(equity[1].equity, Money(1_012_345_000));
        assert!(matches!(
            client.leaderboard(&sid()),
            Err(Error::Protocol(_))
        ));
        let got = server.join().expect("server");
        let s = sid();
        assert_eq!(args_of(&got[0]), (6, format!("{s} data")));
        assert_eq!(args_of(&got[1]), (27, s.to_string()));
        assert_eq!((got[2].instruction, got[2].argument_count), (28, 0));
        assert_eq!(args_of(&got[3]), (29, format!("{s} alice")));
    }

    #[test]
    fn failure_returns_become_reasons() {
        let reason = Reason::new(ReasonCode::InsufficientFunds, "cash 1.0000 is below 2.0000");
        let failure = Reply::failure(Instr::PurchaseAsset, reason).encode(None);
        let (addr, _server) = fake_server(vec![vec![failure]]);
        let mut client = Client::connect(&addr, Duration::from_secs(5)).expect("connect");
        match client.buy(&sid(), "AAPL", "1") {
            Err(Error::Refused(r)) => assert_eq!(r.code, ReasonCode::InsufficientFunds),
            other => panic!("{other:?}"),
        }
    }
}

//! The load loop of ptbench: one mio `Poll` per thread driving its share
//! of the connections, each a small state machine (connect, switch to
//! data state if its role needs it, then send operations and time their
//! answers). Closed loop keeps one operation outstanding per connection;
//! open loop sends on a fixed schedule and times each answer from the
//! moment it was due, so a slow server cannot hide behind the client
//! waiting (coordinated omission).

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use papertrader_common::request::{OrderSpec, Range, Request, Side, Size, UserView};
use papertrader_common::value::{
    Date, HashedPass, Money, OrderKind, Quantity, SessionId, Symbol, Tif, Username, parse_order_id,
};
use papertrader_common::{Decoder, Frame, Instr, State};

use crate::tally::{Live, PART, Tally, op_index};

/// What one connection does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Cached quotes (getAssetValueCurrent), in data state.
    Quotes,
    /// History (getAssetValueDay, Month, Year in turn), in data state.
    History,
    /// Quotes and history in turn, in data state.
    Reader,
    /// login then logout, over and over, in command state.
    Login,
    /// A buy and a sell of one share in turn, each at most once per
    /// `trade_every`, in command state.
    Trader,
    /// placeOrder (a limit far under the market) then cancelOrder.
    Orders,
    /// What `GET /v2/account` reads, over the protocol: getUserInfo,
    /// getUserPortfolio, getOrders and getEquityHistory, sent together.
    Account,
    /// `GET /v2/account` on the HTTP API.
    HttpAccount,
    /// `POST /v2/orders` (a limit far under the market) then its
    /// `DELETE`, on the HTTP API.
    HttpOrders,
    /// redis GET of one key.
    Redis,
}

impl Role {
    fn data_state(self) -> bool {
        matches!(
            self,
            Role::Quotes | Role::History | Role::Reader | Role::Account
        )
    }

    fn http(self) -> bool {
        matches!(self, Role::HttpAccount | Role::HttpOrders)
    }
}

/// One connection's plan.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Where it connects.
    pub addr: SocketAddr,
    /// What it does.
    pub role: Role,
    /// Its user's session, for the roles that need one.
    pub session: Option<SessionId>,
    /// Its user's name and hashedPass, for the login and account roles.
    pub user: Option<(Username, HashedPass)>,
    /// The API key and secret, for the HTTP roles.
    pub key: Option<(String, String)>,
}

/// Settings every connection of a run shares.
#[derive(Debug, Clone)]
pub struct Shared {
    /// Symbols asked and traded, round robin.
    pub symbols: Vec<Symbol>,
    /// Per symbol, its `getAssetValueCurrent` frame and its redis GET,
    /// encoded once: the request costs the same copy on either side.
    pub quote_requests: Vec<(Vec<u8>, Vec<u8>)>,
    /// The day asked for history.
    pub date: Date,
    /// Open loop: requests per second per connection; `None`: closed loop.
    pub rate_per_conn: Option<f64>,
    /// A trader's least time between two trades.
    pub trade_every: Duration,
    /// Results before this instant are not recorded (warm-up).
    pub record_from: Instant,
    /// The run ends here.
    pub until: Instant,
    /// Most requests one connection may have outstanding in open loop.
    pub max_outstanding: usize,
}

/// Each symbol's `getAssetValueCurrent` frame and redis GET, encoded.
pub fn quote_requests(symbols: &[Symbol]) -> Vec<(Vec<u8>, Vec<u8>)> {
    symbols
        .iter()
        .map(|s| {
            let quote = Request::AssetCurrent { symbol: s.clone() };
            let quote = quote.encode().to_bytes();
            let s = s.as_str();
            let get = format!("*2\r\n$3\r\nGET\r\n${}\r\n{s}\r\n", s.len());
            (quote, get.into_bytes())
        })
        .collect()
}

/// A request sent and not yet answered.
struct Outstanding {
    op: usize,
    /// When it was sent, or when it was due in open loop.
    since: Instant,
}

enum Phase {
    Connecting,
    Switching,
    Running,
    Dead,
}

struct Conn {
    plan: Plan,
    stream: TcpStream,
    phase: Phase,
    decoder: Decoder,
    out: Vec<u8>,
    outstanding: VecDeque<Outstanding>,
    /// Open loop: when the next request is due.
    due: Instant,
    /// Closed loop trader: no trade before this.
    not_before: Instant,
    /// Position in the round robin of symbols (starts at the connection's
    /// index, so connections spread over the symbols).
    step: usize,
    /// Requests sent: alternating roles start with the first kind (a
    /// trader buys before it sells).
    turn: usize,
    /// A redis reply being read (bytes kept between reads).
    resp: Vec<u8>,
    writable: bool,
    /// The session the last login made (login role).
    last_session: Option<SessionId>,
    /// The order the last placeOrder made (orders role).
    last_order: Option<u64>,
    /// The UUID of the order the last `POST /v2/orders` made.
    last_uuid: Option<String>,
    /// The symbol of a trader's last buy, which its next turn sells.
    held: Option<Symbol>,
}

/// Runs `plans` until `shared.until`; returns what it measured.
pub fn run(plans: Vec<Plan>, shared: &Shared, live: &Arc<Live>) -> io::Result<Tally> {
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(1024);
    let mut tally = Tally::new();
    let mut conns: Vec<Option<Conn>> = Vec::with_capacity(plans.len());
    let start = Instant::now();
    for (i, plan) in plans.into_iter().enumerate() {
        match TcpStream::connect(plan.addr) {
            Ok(mut stream) => {
                poll.registry().register(
                    &mut stream,
                    Token(i),
                    Interest::READABLE | Interest::WRITABLE,
                )?;
                let spread = shared.rate_per_conn.map_or(Duration::ZERO, |r| {
                    Duration::from_secs_f64(i as f64 % 97.0 / 97.0 / r)
                });
                conns.push(Some(Conn {
                    plan,
                    stream,
                    phase: Phase::Connecting,
                    decoder: Decoder::new(),
                    out: Vec::new(),
                    outstanding: VecDeque::new(),
                    due: start + spread,
                    not_before: start,
                    step: i,
                    turn: 0,
                    resp: Vec::new(),
                    writable: false,
                    last_session: None,
                    last_order: None,
                    last_uuid: None,
                    held: None,
                }));
            }
            Err(err) => {
                tally
                    .broken
                    .push(format!("connect to {}: {err}", plan.addr));
                conns.push(None);
            }
        }
    }
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let now = Instant::now();
        if now >= shared.until || live.stop.load(Ordering::Relaxed) {
            break;
        }
        let timeout = next_wakeup(&conns, shared, now).min(shared.until - now);
        poll.poll(&mut events, Some(timeout))?;
        for event in events.iter() {
            let i = event.token().0;
            let Some(conn) = conns.get_mut(i).and_then(Option::as_mut) else {
                continue;
            };
            if event.is_writable() {
                conn.writable = true;
            }
            if matches!(conn.phase, Phase::Connecting)
                && (event.is_writable() || event.is_readable())
            {
                conn.connected(&mut tally, live);
            }
            if event.is_readable() || event.is_read_closed() {
                conn.read(&mut buf, shared, &mut tally, live);
            }
        }
        let now = Instant::now();
        for conn in conns.iter_mut().flatten() {
            if matches!(conn.phase, Phase::Running) {
                conn.send_due(shared, now, &mut tally);
            }
            conn.flush(&mut tally);
        }
    }
    Ok(tally)
}

/// How long the loop may sleep: until the earliest open-loop send or
/// trader turn, at most 50 ms.
fn next_wakeup(conns: &[Option<Conn>], shared: &Shared, now: Instant) -> Duration {
    let mut wake = Duration::from_millis(50);
    for conn in conns.iter().flatten() {
        if !matches!(conn.phase, Phase::Running) {
            continue;
        }
        let at = if conn.plan.role == Role::Trader {
            if !conn.outstanding.is_empty() {
                continue;
            }
            conn.not_before
        } else if shared.rate_per_conn.is_some() {
            conn.due
        } else {
            continue;
        };
        wake = wake.min(at.saturating_duration_since(now));
    }
    wake
}

impl Conn {
    fn connected(&mut self, tally: &mut Tally, live: &Live) {
        match self.stream.take_error() {
            Ok(None) => {}
            Ok(Some(err)) | Err(err) => {
                return self.die(tally, format!("connect to {}: {err}", self.plan.addr));
            }
        }
        match self.stream.peer_addr() {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotConnected => return,
            Err(e) => return self.die(tally, format!("connect to {}: {e}", self.plan.addr)),
        }
        let _ = self.stream.set_nodelay(true);
        if self.plan.role.data_state() && !self.plan.role.http() {
            let switch = Request::SwitchState {
                session: self.session(),
                state: State::Data,
            };
            switch.encode().encode(&mut self.out);
            self.phase = Phase::Switching;
        } else {
            self.phase = Phase::Running;
            live.running.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn die(&mut self, tally: &mut Tally, why: String) {
        if !matches!(self.phase, Phase::Dead) {
            tally.broken.push(why);
            self.phase = Phase::Dead;
        }
    }

    fn read(&mut self, buf: &mut [u8], shared: &Shared, tally: &mut Tally, live: &Live) {
        loop {
            match self.stream.read(buf) {
                Ok(0) => {
                    return self.die(tally, format!("{} closed the connection", self.plan.addr));
                }
                Ok(n) => {
                    if self.plan.role == Role::Redis {
                        self.resp.extend_from_slice(&buf[..n]);
                        self.redis_replies(shared, tally, live);
                    } else if self.plan.role.http() {
                        self.resp.extend_from_slice(&buf[..n]);
                        self.http_answers(shared, tally, live);
                    } else {
                        self.decoder.push(&buf[..n]);
                        self.frames(shared, tally, live);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return self.die(tally, format!("{}: {e}", self.plan.addr)),
            }
        }
    }

    fn frames(&mut self, shared: &Shared, tally: &mut Tally, live: &Live) {
        loop {
            let frame = match self.decoder.next_frame() {
                Ok(Some(frame)) => frame,
                Ok(None) => return,
                Err(err) => {
                    return self.die(tally, format!("{}: bad frame: {err}", self.plan.addr));
                }
            };
            self.answer(&frame, shared, tally, live);
        }
    }

    /// One answer frame: ends the oldest outstanding operation (a data
    /// transfer ends with its last packet).
    fn answer(&mut self, f: &Frame, shared: &Shared, tally: &mut Tally, live: &Live) {
        let instr = Instr::from_code(f.instruction);
        if matches!(self.phase, Phase::Switching) {
            if instr == Some(Instr::StateSwitchSuccess) {
                self.phase = Phase::Running;
                live.running.fetch_add(1, Ordering::Relaxed);
            } else {
                let text = String::from_utf8_lossy(&f.data).into_owned();
                self.die(tally, format!("switchState refused: {text}"));
            }
            return;
        }
        if instr == Some(Instr::Data) && f.data_message_number < f.data_message_max {
            return;
        }
        let Some(done) = self.outstanding.pop_front() else {
            return self.die(
                tally,
                format!("{}: an answer nobody asked for", self.plan.addr),
            );
        };
        let ok = matches!(
            instr,
            Some(
                Instr::Data
                    | Instr::SessionId
                    | Instr::LogoutSuccess
                    | Instr::PurchaseSuccess
                    | Instr::SellSuccess
                    | Instr::OrderAccepted
                    | Instr::CancelSuccess
            )
        );
        if !ok {
            let text = String::from_utf8_lossy(&f.data);
            let code = text.split(' ').next().unwrap_or("?").to_string();
            self.record_failure(done.op, &code, shared, tally, live);
        } else {
            // The logout or cancel that follows names what this made.
            let text = || String::from_utf8_lossy(&f.data);
            if done.op == op_index("place") {
                self.last_order = parse_order_id(&text()).ok();
            }
            if done.op == op_index("login") {
                self.last_session = SessionId::parse(&text()).ok();
            }
            self.record(done, shared, tally, live);
        }
    }

    fn record(&mut self, done: Outstanding, shared: &Shared, tally: &mut Tally, live: &Live) {
        if done.op == PART {
            return;
        }
        let now = Instant::now();
        if done.since >= shared.record_from {
            let micros = now.saturating_duration_since(done.since).as_micros() as u64;
            let _ = tally.hist[done.op].record(micros.max(1));
            live.done.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn record_failure(
        &mut self,
        op: usize,
        code: &str,
        shared: &Shared,
        tally: &mut Tally,
        live: &Live,
    ) {
        if Instant::now() >= shared.record_from && op != PART {
            tally.failed[op] += 1;
            tally.reason(code, 1);
            live.failed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// HTTP answers, as [`http_answer`] cuts them.
    fn http_answers(&mut self, shared: &Shared, tally: &mut Tally, live: &Live) {
        while let Some((len, status, body)) = http_answer(&self.resp) {
            let id = body_id(&self.resp[body..len]);
            self.resp.drain(..len);
            let Some(done) = self.outstanding.pop_front() else {
                return self.die(tally, "an HTTP answer nobody asked for".to_string());
            };
            if (200..300).contains(&status) {
                if done.op == op_index("place") {
                    self.last_uuid = id;
                }
                self.record(done, shared, tally, live);
            } else {
                self.record_failure(done.op, &format!("http-{status}"), shared, tally, live);
            }
        }
    }

    /// The next HTTP request of an HTTP role: the operation's name.
    fn http_request(&mut self, shared: &Shared, index: usize) -> &'static str {
        let (id, secret) = self.plan.key.clone().expect("an HTTP role's key");
        let keys = format!("APCA-API-KEY-ID: {id}\r\nAPCA-API-SECRET-KEY: {secret}\r\n");
        let host = self.plan.addr;
        let (op, request) = match (self.plan.role, self.last_uuid.take()) {
            (Role::HttpAccount, _) => (
                "account",
                format!("GET /v2/account HTTP/1.1\r\nHost: {host}\r\n{keys}\r\n"),
            ),
            (_, Some(uuid)) => (
                "cancel",
                format!("DELETE /v2/orders/{uuid} HTTP/1.1\r\nHost: {host}\r\n{keys}\r\n"),
            ),
            (_, None) => {
                let symbol = &shared.symbols[index];
                let body = format!(
                    r#"{{"symbol":"{symbol}","qty":"1","side":"buy","type":"limit","limit_price":"0.0001","time_in_force":"gtc"}}"#
                );
                let request = format!(
                    "POST /v2/orders HTTP/1.1\r\nHost: {host}\r\n{keys}Content-Type: application/json\r\n\
                     Content-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                ("place", request)
            }
        };
        self.out.extend_from_slice(request.as_bytes());
        op
    }

    /// Redis replies, as [`resp_reply`] cuts them.
    fn redis_replies(&mut self, shared: &Shared, tally: &mut Tally, live: &Live) {
        while let Some((len, failed)) = resp_reply(&self.resp) {
            self.resp.drain(..len);
            let Some(done) = self.outstanding.pop_front() else {
                return self.die(tally, "redis answered nothing asked".to_string());
            };
            if failed {
                self.record_failure(done.op, "redis-error", shared, tally, live);
            } else {
                self.record(done, shared, tally, live);
            }
        }
    }

    /// Sends what is due: in closed loop one request when none is
    /// outstanding (a trader also waits for its turn); in open loop every
    /// request whose time has come.
    fn send_due(&mut self, shared: &Shared, now: Instant, tally: &mut Tally) {
        // Traders keep their own pace (--trade-every) in either loop.
        let rate = shared
            .rate_per_conn
            .filter(|_| self.plan.role != Role::Trader);
        match rate {
            None => {
                if !self.outstanding.is_empty() {
                    return;
                }
                if self.plan.role == Role::Trader {
                    if now < self.not_before {
                        return;
                    }
                    self.not_before = now + shared.trade_every;
                }
                self.send_next(shared, now);
            }
            Some(rate) => {
                let every = Duration::from_secs_f64(1.0 / rate);
                while self.due <= now {
                    let due = self.due;
                    self.due += every;
                    if self.outstanding.len() >= shared.max_outstanding {
                        tally.skipped += 1;
                        continue;
                    }
                    self.send_next(shared, due);
                }
            }
        }
    }

    fn send_next(&mut self, shared: &Shared, since: Instant) {
        let index = self.step % shared.symbols.len();
        self.step += 1;
        let turn = self.turn;
        self.turn += 1;
        let (quote, get) = &shared.quote_requests[index];
        if self.plan.role.http() {
            let op = self.http_request(shared, index);
            return self.outstanding.push_back(Outstanding {
                op: op_index(op),
                since,
            });
        }
        if self.plan.role == Role::Account {
            let (username, _) = self.plan.user.clone().expect("an account role's user");
            let session = self.session();
            let view = |view| Request::User {
                view,
                session: session.clone(),
                username: username.clone(),
            };
            let requests = [
                view(UserView::Info),
                view(UserView::Portfolio),
                Request::Orders {
                    session: session.clone(),
                },
                Request::EquityHistory {
                    session: session.clone(),
                    username: username.clone(),
                },
            ];
            for (i, request) in requests.iter().enumerate() {
                request.encode().encode(&mut self.out);
                let op = if i == 3 { op_index("account") } else { PART };
                self.outstanding.push_back(Outstanding { op, since });
            }
            return;
        }
        let (op, bytes): (&str, &[u8]) = match self.plan.role {
            Role::Quotes => ("quote", quote),
            Role::Reader if turn.is_multiple_of(2) => ("quote", quote),
            Role::Redis => ("get", get),
            _ => {
                let (op, request) = self.made_request(shared, index, turn);
                request.encode().encode(&mut self.out);
                (op, &[])
            }
        };
        self.out.extend_from_slice(bytes);
        self.outstanding.push_back(Outstanding {
            op: op_index(op),
            since,
        });
    }

    /// The next request of a role whose requests are made afresh each
    /// time (history, login, trading): the operation's name and the
    /// request.
    fn made_request(
        &mut self,
        shared: &Shared,
        index: usize,
        turn: usize,
    ) -> (&'static str, Request) {
        let symbol = &shared.symbols[index];
        let one = Quantity::whole(1).expect("1 is a quantity");
        match self.plan.role {
            Role::Reader => history(turn / 2, symbol, shared.date),
            Role::Login => match self.last_session.take() {
                Some(session) => ("logout", Request::Logout { session }),
                None => {
                    let (username, pass) = self.plan.user.clone().expect("a login role's user");
                    let login = Request::Login {
                        username,
                        pass,
                        expirable: true,
                    };
                    ("login", login)
                }
            },
            // A trader sells the share its last buy bought.
            Role::Trader => {
                let (op, side, symbol) = match self.held.take() {
                    Some(held) => ("sell", Side::Sell, held),
                    None => {
                        self.held = Some(symbol.clone());
                        ("buy", Side::Buy, symbol.clone())
                    }
                };
                let trade = Request::Trade {
                    side,
                    session: self.session(),
                    symbol,
                    size: Size::Shares(one),
                };
                (op, trade)
            }
            Role::Orders => match self.last_order.take() {
                Some(id) => {
                    let session = self.session();
                    ("cancel", Request::CancelOrder { session, id })
                }
                // A limit far under the market: it stays open.
                None => {
                    let order = OrderSpec {
                        side: Side::Buy,
                        symbol: symbol.clone(),
                        quantity: one,
                        kind: OrderKind::Limit(Money(1)),
                        tif: Tif::Gtc,
                    };
                    let session = self.session();
                    ("place", Request::PlaceOrder { session, order })
                }
            },
            // (Quotes, redis GETs, the account and the HTTP roles are
            // made in `send_next`.)
            Role::History
            | Role::Quotes
            | Role::Redis
            | Role::Account
            | Role::HttpAccount
            | Role::HttpOrders => history(turn, symbol, shared.date),
        }
    }

    /// The plan's session: every role that sends one has it (see
    /// `plan` in main.rs).
    fn session(&self) -> SessionId {
        let session = self.plan.session.clone();
        session.expect("a session for a role that needs one")
    }

    fn flush(&mut self, tally: &mut Tally) {
        if self.out.is_empty()
            || !self.writable
            || matches!(self.phase, Phase::Connecting | Phase::Dead)
        {
            return;
        }
        let mut written = 0;
        while written < self.out.len() {
            match self.stream.write(&self.out[written..]) {
                Ok(0) => break,
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.writable = false;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.die(tally, format!("{}: {e}", self.plan.addr));
                    break;
                }
            }
        }
        self.out.drain(..written);
    }
}

/// The length of the first whole RESP reply in `buf` and whether it is an
/// error (`-ERR ...`), or `None` while it is incomplete: a bulk string
/// `$len\r\n...\r\n`, a null `$-1\r\n`, or a one-line `+`, `-`, `:` reply.
pub fn resp_reply(buf: &[u8]) -> Option<(usize, bool)> {
    let end = buf.windows(2).position(|w| w == b"\r\n")?;
    let line = end + 2;
    match buf.first()? {
        b'$' => {
            let len: i64 = std::str::from_utf8(&buf[1..end]).ok()?.parse().ok()?;
            if len < 0 {
                return Some((line, false));
            }
            let total = line + usize::try_from(len).ok()? + 2;
            (buf.len() >= total).then_some((total, false))
        }
        b'-' => Some((line, true)),
        _ => Some((line, false)),
    }
}

/// The first whole HTTP answer in `buf`: its length, its status and where
/// its body starts; `None` while it is incomplete (framed by
/// Content-Length; none is an empty body).
pub fn http_answer(buf: &[u8]) -> Option<(usize, u16, usize)> {
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&buf[..head_end]).ok()?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    let total = head_end + length;
    (buf.len() >= total).then_some((total, status, head_end))
}

/// The `"id"` of a JSON body, found by its text (the first one).
fn body_id(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find(r#""id":""#)? + 6;
    let len = text[start..].find('"')?;
    Some(text[start..start + len].to_string())
}

/// The history request of turn `n`: day, month, year in turn.
fn history(n: usize, symbol: &Symbol, date: Date) -> (&'static str, Request) {
    let range = match n % 3 {
        0 => Range::Day,
        1 => Range::Month,
        _ => Range::Year,
    };
    let request = Request::History {
        range,
        symbol: symbol.clone(),
        date: Some(date),
    };
    ("history", request)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resp_replies_are_cut_whole() {
        assert_eq!(resp_reply(b"$5\r\nhello\r\n$-1"), Some((11, false)));
        assert_eq!(resp_reply(b"$5\r\nhel"), None);
        assert_eq!(resp_reply(b"$-1\r\n"), Some((5, false)));
        assert_eq!(resp_reply(b"-ERR wrong\r\n"), Some((12, true)));
        assert_eq!(resp_reply(b"+OK\r\n"), Some((5, false)));
        assert_eq!(resp_reply(b"$x\r\n"), None);
        assert_eq!(resp_reply(b""), None);
    }

    #[test]
    fn history_cycles_day_month_year() {
        let symbol = Symbol::parse("AAPL").expect("symbol");
        let date = Date::parse("2026-12-01").expect("date");
        let names: Vec<Instr> = (0..4)
            .map(|n| history(n, &symbol, date).1.instr())
            .collect();
        assert_eq!(
            names,
            [
                Instr::GetAssetValueDay,
                Instr::GetAssetValueMonth,
                Instr::GetAssetValueYear,
                Instr::GetAssetValueDay
            ]
        );
    }
}

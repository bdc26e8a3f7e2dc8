//! Requests as typed values, parsed once where they enter a daemon
//! (STYLE.md, "Shape of a request, end to end"), and the forwarding prefix
//! of PROTOCOL.md section 6. [`message::check`](crate::message::check)
//! settles the frame (type, arity, numbering); [`Request::parse`] turns the
//! arguments into values, so a malformed one is answered with its
//! instruction's failure and its own reason code right there, and no thread
//! behind the edge ever parses a string again.

use std::fmt;

use crate::frame::Frame;
use crate::instr::{Instr, State};
use crate::value::{
    ApiKeyId, ApiSecret, ClientOrderId, Date, Email, GameCode, GameRules, HashedPass, IdToken,
    KeyLabel, Money, OrderClass, OrderKind, PortfolioName, Provider, Quantity, Reason, ReasonCode,
    ResetProof, SessionId, Symbol, Tif, Trail, Username, ValueError, parse_bool, parse_id,
    parse_order_id,
};

/// The most bytes of a REQID: a `u64` in decimal has 20 digits.
const MAX_REQID: usize = 20;

/// The prefix a worker puts in front of a forwarded request's arguments:
/// `UUID REQID TIMESTAMP_MS CLIENT_ADDRESS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarded {
    /// The worker's UUID.
    pub uuid: String,
    /// The worker's request id, decimal, echoed in front of the reply.
    pub reqid: String,
    /// When the worker received the request (ms since the epoch).
    pub ts_ms: u64,
    /// The client's address as the worker saw it (`host:port`).
    pub client: String,
}

/// Why a forwarding prefix is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrefixError {
    /// REQID is not a decimal number of at most 20 digits.
    #[error("REQID {} is not a decimal", excerpt(.0))]
    Reqid(String),
    /// TIMESTAMP_MS is not a decimal number.
    #[error("TIMESTAMP_MS {} is not a decimal", excerpt(.0))]
    Timestamp(String),
}

impl Forwarded {
    /// Arguments the prefix adds.
    pub const ARGS: u16 = 4;

    /// Parses the four prefix words (as split by `message::check`).
    pub fn parse(words: &[&str]) -> Result<Forwarded, PrefixError> {
        let [uuid, reqid, ts, client] = words else {
            return Err(PrefixError::Reqid(String::new()));
        };
        let decimal = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !decimal(reqid) || reqid.len() > MAX_REQID {
            return Err(PrefixError::Reqid(reqid.to_string()));
        }
        let ts_ms = ts
            .parse()
            .ok()
            .filter(|_| decimal(ts))
            .ok_or_else(|| PrefixError::Timestamp(ts.to_string()))?;
        Ok(Forwarded {
            uuid: uuid.to_string(),
            reqid: reqid.to_string(),
            ts_ms,
            client: client.to_string(),
        })
    }

    /// The REQID as the worker gave it, even when the rest is malformed,
    /// so a refusal can still be routed back.
    pub fn reqid_of(frame: &Frame) -> Option<String> {
        let (words, _) = crate::message::split_prefix(&frame.data, 2).ok()?;
        let reqid = words.get(1)?;
        let decimal = reqid.bytes().all(|b| b.is_ascii_digit()) && reqid.len() <= MAX_REQID;
        decimal.then(|| reqid.to_string())
    }

    /// `frame` (a client's request) with this prefix in front of its
    /// arguments; `None` if the result would not fit a frame.
    pub fn wrap(&self, frame: &Frame) -> Option<Frame> {
        let mut data = format!(
            "{} {} {} {}",
            self.uuid, self.reqid, self.ts_ms, self.client
        )
        .into_bytes();
        if frame.argument_count > 0 {
            data.push(b' ');
            data.extend_from_slice(&frame.data);
        }
        if data.len() > crate::MAX_DATA {
            return None;
        }
        Some(Frame {
            argument_count: frame.argument_count + Forwarded::ARGS,
            data,
            ..frame.clone()
        })
    }
}

/// Which stretch of history a history request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Range {
    /// `getAssetValueDay`: interval bars of one UTC day.
    Day,
    /// `getAssetValueWeek`: daily bars of 7 days.
    Week,
    /// `getAssetValueMonth`: daily bars of a month.
    Month,
    /// `getAssetValueYear`: monthly bars of 12 months.
    Year,
    /// `getAssetValueAllTime`: every monthly bar.
    AllTime,
}

impl Range {
    /// The history instruction of this range.
    pub fn instr(self) -> Instr {
        match self {
            Range::Day => Instr::GetAssetValueDay,
            Range::Week => Instr::GetAssetValueWeek,
            Range::Month => Instr::GetAssetValueMonth,
            Range::Year => Instr::GetAssetValueYear,
            Range::AllTime => Instr::GetAssetValueAllTime,
        }
    }
}

/// Which user view a user request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserView {
    /// `getUserInfo`.
    Info,
    /// `getUserPortfolio`.
    Portfolio,
    /// `getUserTransactionHistory`.
    Transactions,
}

/// What a portfolio command does (protocol 1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortfolioOp {
    /// `createPortfolio sessionID cash name`; `cash` `-`: the master's
    /// starting cash.
    Create {
        /// Its starting cash; `None`: the master's.
        cash: Option<Money>,
        /// Its name, unique among the login's open portfolios.
        name: PortfolioName,
    },
    /// `renamePortfolio sessionID portfolioID name`.
    Rename {
        /// Which portfolio (the login's own number).
        id: u64,
        /// The new name.
        name: PortfolioName,
    },
    /// `closePortfolio sessionID portfolioID`.
    Close {
        /// Which portfolio.
        id: u64,
    },
    /// `usePortfolio sessionID portfolioID`: the session's trading and
    /// reading instructions act on it from now on.
    Use {
        /// Which portfolio.
        id: u64,
    },
}

/// How `joinGame` names a competition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinBy {
    /// Its invitation code (any competition).
    Code(GameCode),
    /// Its number (public competitions only).
    Id(u64),
}

/// What a competition command does (protocol 1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GameOp {
    /// `createGame sessionID rules`.
    Create(Box<GameRules>),
    /// `changeGame sessionID gameID rules`: before the start only.
    Change {
        /// Which competition.
        id: u64,
        /// Its new rules.
        rules: Box<GameRules>,
    },
    /// `joinGame sessionID code|gameID`.
    Join(JoinBy),
    /// `leaveGame sessionID gameID`.
    Leave(u64),
    /// `removePlayer sessionID gameID username`: the organiser's.
    Remove {
        /// Which competition.
        id: u64,
        /// The player.
        username: Username,
    },
    /// `newGameCode sessionID gameID`: a new invitation code, the old
    /// one revoked.
    NewCode(u64),
}

/// What a competition data instruction reads (protocol 1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GameView {
    /// `getGames sessionID`.
    List,
    /// `getGame sessionID gameID`.
    Show(u64),
    /// `getStandings sessionID gameID`.
    Standings(u64),
    /// `getGameHoldings sessionID gameID username`.
    Holdings {
        /// Which competition.
        id: u64,
        /// Whose holdings.
        username: Username,
    },
}

/// A buy or a sell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// `purchaseAsset`.
    Buy,
    /// `sellAsset`.
    Sell,
}

impl Side {
    /// The opposite side.
    pub fn other(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }

    /// The wire word of a history line: `buy` or `sell`.
    pub fn name(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }

    /// Parses `buy` or `sell`.
    pub fn parse(word: &str) -> Option<Side> {
        [Side::Buy, Side::Sell]
            .into_iter()
            .find(|s| s.name() == word)
    }

    /// The instruction of a market order on this side.
    pub fn instr(self) -> Instr {
        match self {
            Side::Buy => Instr::PurchaseAsset,
            Side::Sell => Instr::SellAsset,
        }
    }
}

/// How much a market order trades: a number of shares (`purchaseAsset`,
/// `sellAsset`) or an amount of money (`purchaseNotional`,
/// `sellNotional`, protocol 1.2), turned into shares at the fill price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Size {
    /// This many shares.
    Shares(Quantity),
    /// As many shares as this amount buys at the fill price, to 10^-9.
    Notional(Money),
}

impl Size {
    /// The instruction of a market order of this size on `side`.
    pub fn instr(self, side: Side) -> Instr {
        match (self, side) {
            (Size::Shares(_), side) => side.instr(),
            (Size::Notional(_), Side::Buy) => Instr::PurchaseNotional,
            (Size::Notional(_), Side::Sell) => Instr::SellNotional,
        }
    }

    /// Parses a notional `amount`: positive money with at most 4 decimals
    /// (`bad-quantity` otherwise: it is the order's size).
    pub fn notional(text: &str) -> Result<Size, ValueError> {
        match Money::parse(text) {
            Ok(amount) if amount.raw() > 0 => Ok(Size::Notional(amount)),
            _ => Err(ValueError::new(
                "quantity",
                text,
                "an amount of money above 0 with at most 4 decimals, like 100 or 99.95",
            )),
        }
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Size::Shares(quantity) => quantity.fmt(f),
            Size::Notional(amount) => amount.fmt(f),
        }
    }
}

/// A client request with every argument parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `login username hashedPass isExpirable`.
    Login {
        /// Who.
        username: Username,
        /// The client's password hash.
        pass: HashedPass,
        /// Whether the session ends with the connection.
        expirable: bool,
    },
    /// `loginSession sessionID`.
    LoginSession {
        /// The session to resume.
        session: SessionId,
    },
    /// `register username email hashedPass`.
    Register {
        /// The new name.
        username: Username,
        /// Its email address.
        email: Email,
        /// The client's password hash.
        pass: HashedPass,
    },
    /// `purchaseAsset`, `sellAsset`, `purchaseNotional` or `sellNotional`.
    Trade {
        /// Buy or sell.
        side: Side,
        /// Whose.
        session: SessionId,
        /// What.
        symbol: Symbol,
        /// How many shares, or for how much.
        size: Size,
    },
    /// `switchState sessionID state`.
    SwitchState {
        /// The session the connection is to use.
        session: SessionId,
        /// The state asked for.
        state: State,
    },
    /// `logout sessionID`.
    Logout {
        /// The session to end.
        session: SessionId,
    },
    /// `getWorkerList`.
    WorkerList,
    /// `getAssetInfo symbol`.
    AssetInfo {
        /// Which asset.
        symbol: Symbol,
    },
    /// `getAssetValueCurrent symbol`.
    AssetCurrent {
        /// Which asset.
        symbol: Symbol,
    },
    /// The `getAssetValue*` history instructions.
    History {
        /// Which stretch.
        range: Range,
        /// Which asset.
        symbol: Symbol,
        /// The day the stretch ends on (`None` for all time).
        date: Option<Date>,
    },
    /// `getAssetList`.
    AssetList,
    /// `getAssetDetails` (protocol 1.2).
    AssetDetails,
    /// `watchPrices` (protocol 1.2): this connection hears `prices` after
    /// each price set.
    WatchPrices,
    /// `getUserInfo`, `getUserPortfolio`, `getUserTransactionHistory`.
    User {
        /// Which view.
        view: UserView,
        /// The asker's session.
        session: SessionId,
        /// Whose account.
        username: Username,
    },
    /// `placeOrder sessionID side symbol quantity orderType limit stop tif`.
    PlaceOrder {
        /// Whose order.
        session: SessionId,
        /// The order itself.
        order: OrderSpec,
    },
    /// `cancelOrder sessionID orderID`.
    CancelOrder {
        /// Whose order.
        session: SessionId,
        /// Which order.
        id: u64,
    },
    /// `placeOrderClass sessionID class side symbol quantity orderType
    /// limit stop tif takeProfit stopLoss` (protocol 1.2): an entry with
    /// exit legs, or two exits that cancel each other.
    PlaceOrderClass {
        /// Whose order.
        session: SessionId,
        /// The entry (for `oco`: the take-profit limit).
        order: OrderSpec,
        /// The class and its exits.
        class: ClassSpec,
    },
    /// `replaceOrder sessionID orderID quantity limit stop tif` (protocol
    /// 1.2): the order with those changes, as a new order.
    ReplaceOrder {
        /// Whose order.
        session: SessionId,
        /// Which order.
        id: u64,
        /// What changes.
        change: OrderChange,
    },
    /// `resetAccount sessionID hashedPass`, or `resetAccount sessionID
    /// idToken` for an account without a password.
    ResetAccount {
        /// Whose account.
        session: SessionId,
        /// The password again, or a fresh ID token.
        proof: ResetProof,
    },
    /// `loginExternal provider idToken isExpirable`.
    LoginExternal {
        /// Which provider signed the token.
        provider: Provider,
        /// The ID token.
        token: IdToken,
        /// Whether the session ends with the connection.
        expirable: bool,
    },
    /// `registerExternal username provider idToken`.
    RegisterExternal {
        /// The new name.
        username: Username,
        /// Which provider signed the token.
        provider: Provider,
        /// The ID token of the identity to link.
        token: IdToken,
    },
    /// `setPassword sessionID hashedPass`.
    SetPassword {
        /// Whose account (a session made in the last 10 minutes).
        session: SessionId,
        /// The new password's hash.
        pass: HashedPass,
    },
    /// `getOrders sessionID`.
    Orders {
        /// Whose orders.
        session: SessionId,
    },
    /// `getLeaderboard`.
    Leaderboard,
    /// `getEquityHistory sessionID username`.
    EquityHistory {
        /// The asker's session.
        session: SessionId,
        /// Whose account.
        username: Username,
    },
    /// `createApiKey sessionID label` (protocol 1.2).
    CreateKey {
        /// The owner's session (not one of a key).
        session: SessionId,
        /// What the owner calls it.
        label: KeyLabel,
    },
    /// `revokeApiKey sessionID keyID` (protocol 1.2).
    RevokeKey {
        /// The owner's session (not one of a key).
        session: SessionId,
        /// Which key.
        id: ApiKeyId,
    },
    /// `loginApiKey keyID secretKey` (protocol 1.2): the key's session.
    LoginKey {
        /// Which key.
        id: ApiKeyId,
        /// Its secret.
        secret: ApiSecret,
    },
    /// `getApiKeys sessionID` (protocol 1.2).
    Keys {
        /// The owner's session (not one of a key).
        session: SessionId,
    },
    /// `getWatchlist sessionID` (protocol 1.2): the account's watched
    /// symbols, oldest first.
    Watchlist {
        /// Whose watchlist (any session of the account, a key's too).
        session: SessionId,
    },
    /// `addToWatchlist sessionID symbol` (protocol 1.2).
    Watch {
        /// Whose watchlist.
        session: SessionId,
        /// A listed asset.
        symbol: Symbol,
    },
    /// `removeFromWatchlist sessionID symbol` (protocol 1.2).
    Unwatch {
        /// Whose watchlist.
        session: SessionId,
        /// The symbol to drop (one not on the list is no error).
        symbol: Symbol,
    },
    /// A portfolio command (protocol 1.2).
    Portfolio {
        /// The login's session (not one of a key).
        session: SessionId,
        /// What to do.
        op: PortfolioOp,
    },
    /// `getPortfolios sessionID` (protocol 1.2).
    Portfolios {
        /// Any session of the login.
        session: SessionId,
    },
    /// A competition command (protocol 1.2).
    Game {
        /// The login's session (not one of a key).
        session: SessionId,
        /// What to do.
        op: GameOp,
    },
    /// A competition data instruction (protocol 1.2).
    GameView {
        /// Any session.
        session: SessionId,
        /// What to read.
        view: GameView,
    },
    /// `placeOrderTagged` or `placeOrderClassTagged` (protocol 1.2): a
    /// `placeOrder` or `placeOrderClass` whose order (a class's entry)
    /// keeps the trading program's own id.
    Tagged {
        /// The id, unique among the account's orders.
        client: ClientOrderId,
        /// The `PlaceOrder` or `PlaceOrderClass` it tags.
        inner: Box<Request>,
    },
}

/// What a `placeOrder` asks for, its arguments parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderSpec {
    /// Buy or sell.
    pub side: Side,
    /// What.
    pub symbol: Symbol,
    /// How many.
    pub quantity: Quantity,
    /// Its type and prices.
    pub kind: OrderKind,
    /// How long it stays open.
    pub tif: Tif,
}

/// The class of a `placeOrderClass` and its exit prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassSpec {
    /// Bracket, OCO or OTO.
    pub class: OrderClass,
    /// The limit of the take-profit exit.
    pub take_profit: Option<Money>,
    /// The stop of the stop-loss exit.
    pub stop_loss: Option<Money>,
}

impl ClassSpec {
    /// The exit legs of an entry on `side`: (kind, which) for each, on the
    /// other side; for `oco` the stop-loss only (the take-profit limit is
    /// the order itself).
    pub fn legs(&self) -> Vec<OrderKind> {
        let mut legs = Vec::new();
        if self.class != OrderClass::Oco {
            legs.extend(self.take_profit.map(OrderKind::Limit));
        }
        legs.extend(self.stop_loss.map(OrderKind::Stop));
        legs
    }
}

/// What a `replaceOrder` changes: each field `None` where the argument
/// is `=` (kept as it is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OrderChange {
    /// The new quantity.
    pub quantity: Option<Quantity>,
    /// The new limit (for a type that takes one).
    pub limit: Option<Money>,
    /// The new stop price, or a trailing stop's new trail.
    pub stop: Option<NewStop>,
    /// The new time in force.
    pub tif: Option<Tif>,
}

/// A `replaceOrder` `stop` argument: a price (a stop price, or a
/// trailing stop's trail as an amount) or a percent (a trail).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewStop {
    /// A positive price.
    Price(Money),
    /// A percent trail.
    Trail(Trail),
}

impl OrderChange {
    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == OrderChange::default()
    }

    /// `kind` with the new limit and stop (or trail); a price the type
    /// does not take is `bad-price`, and so is a trail of a percent on
    /// anything but a trailing stop.
    pub fn apply(&self, kind: OrderKind) -> Result<OrderKind, Reason> {
        let refuse = |what: &str| -> Result<OrderKind, Reason> {
            let text = format!("a {} order takes no {what}", kind.name());
            Err(Reason::new(ReasonCode::BadPrice, text))
        };
        let limit = |old: Money| self.limit.unwrap_or(old);
        let stop = |old: Money| match self.stop {
            None => Ok(old),
            Some(NewStop::Price(price)) => Ok(price),
            Some(NewStop::Trail(_)) => refuse("percent trail").map(|_| old),
        };
        match kind {
            OrderKind::Market | OrderKind::TrailingStop(_) if self.limit.is_some() => {
                refuse("limit")
            }
            OrderKind::Market if self.stop.is_some() => refuse("stop"),
            OrderKind::Market => Ok(kind),
            OrderKind::Limit(_) if self.stop.is_some() => refuse("stop"),
            OrderKind::Limit(old) => Ok(OrderKind::Limit(limit(old))),
            OrderKind::Stop(_) if self.limit.is_some() => refuse("limit"),
            OrderKind::Stop(old) => Ok(OrderKind::Stop(stop(old)?)),
            OrderKind::StopLimit {
                stop: old_stop,
                limit: old_limit,
            } => Ok(OrderKind::StopLimit {
                stop: stop(old_stop)?,
                limit: limit(old_limit),
            }),
            OrderKind::TrailingStop(old) => Ok(OrderKind::TrailingStop(match self.stop {
                None => old,
                Some(NewStop::Price(amount)) => Trail::Amount(amount),
                Some(NewStop::Trail(trail)) => trail,
            })),
        }
    }
}

impl Request {
    /// Parses the arguments of a client instruction (already checked for
    /// count by `message::check`). `Err` is the reason for the
    /// instruction's failure return; it never echoes more than a short
    /// excerpt of the input.
    pub fn parse(instr: Instr, args: &[&str]) -> Result<Request, Reason> {
        let a = args::Args { instr, args };
        Ok(match instr {
            Instr::Login => Request::Login {
                username: a.value(0, Username::parse)?,
                pass: a.value(1, HashedPass::parse)?,
                expirable: a.value(2, parse_bool)?,
            },
            Instr::LoginSession => Request::LoginSession {
                session: a.value(0, SessionId::parse)?,
            },
            Instr::Register => Request::Register {
                username: a.value(0, Username::parse)?,
                email: a.value(1, Email::parse)?,
                pass: a.value(2, HashedPass::parse)?,
            },
            Instr::PurchaseAsset => a.trade(Side::Buy, |t| Quantity::parse(t).map(Size::Shares))?,
            Instr::SellAsset => a.trade(Side::Sell, |t| Quantity::parse(t).map(Size::Shares))?,
            Instr::PurchaseNotional => a.trade(Side::Buy, Size::notional)?,
            Instr::SellNotional => a.trade(Side::Sell, Size::notional)?,
            Instr::SwitchState => Request::SwitchState {
                session: a.value(0, SessionId::parse)?,
                state: a.state(1)?,
            },
            Instr::Logout => Request::Logout {
                session: a.value(0, SessionId::parse)?,
            },
            Instr::GetWorkerList => Request::WorkerList,
            Instr::GetAssetInfo => Request::AssetInfo {
                symbol: a.value(0, Symbol::parse)?,
            },
            Instr::GetAssetValueCurrent => Request::AssetCurrent {
                symbol: a.value(0, Symbol::parse)?,
            },
            Instr::GetAssetValueDay => a.history(Range::Day)?,
            Instr::GetAssetValueWeek => a.history(Range::Week)?,
            Instr::GetAssetValueMonth => a.history(Range::Month)?,
            Instr::GetAssetValueYear => a.history(Range::Year)?,
            Instr::GetAssetValueAllTime => a.history(Range::AllTime)?,
            Instr::GetAssetList => Request::AssetList,
            Instr::GetAssetDetails => Request::AssetDetails,
            Instr::WatchPrices => Request::WatchPrices,
            Instr::GetUserInfo => a.user(UserView::Info)?,
            Instr::GetUserPortfolio => a.user(UserView::Portfolio)?,
            Instr::GetUserTransactionHistory => a.user(UserView::Transactions)?,
            Instr::PlaceOrder => a.place_order()?,
            Instr::ReplaceOrder => a.replace_order()?,
            Instr::PlaceOrderClass => a.place_order_class()?,
            Instr::CancelOrder => Request::CancelOrder {
                session: a.value(0, SessionId::parse)?,
                id: a.value(1, parse_order_id)?,
            },
            Instr::ResetAccount => Request::ResetAccount {
                session: a.value(0, SessionId::parse)?,
                proof: a.value(1, ResetProof::parse)?,
            },
            Instr::LoginExternal => Request::LoginExternal {
                provider: a.value(0, Provider::parse)?,
                token: a.value(1, IdToken::parse)?,
                expirable: a.value(2, parse_bool)?,
            },
            Instr::RegisterExternal => Request::RegisterExternal {
                username: a.value(0, Username::parse)?,
                provider: a.value(1, Provider::parse)?,
                token: a.value(2, IdToken::parse)?,
            },
            Instr::SetPassword => Request::SetPassword {
                session: a.value(0, SessionId::parse)?,
                pass: a.value(1, HashedPass::parse)?,
            },
            Instr::GetOrders => Request::Orders {
                session: a.value(0, SessionId::parse)?,
            },
            Instr::GetLeaderboard => Request::Leaderboard,
            Instr::GetEquityHistory => Request::EquityHistory {
                session: a.value(0, SessionId::parse)?,
                username: a.value(1, Username::parse)?,
            },
            Instr::CreateApiKey => Request::CreateKey {
                session: a.value(0, SessionId::parse)?,
                label: a.value(1, KeyLabel::parse)?,
            },
            Instr::RevokeApiKey => Request::RevokeKey {
                session: a.value(0, SessionId::parse)?,
                id: a.value(1, ApiKeyId::parse)?,
            },
            Instr::LoginApiKey => Request::LoginKey {
                id: a.value(0, ApiKeyId::parse)?,
                secret: a.value(1, ApiSecret::parse)?,
            },
            Instr::GetApiKeys => Request::Keys {
                session: a.value(0, SessionId::parse)?,
            },
            Instr::GetWatchlist => Request::Watchlist {
                session: a.value(0, SessionId::parse)?,
            },
            Instr::AddToWatchlist => Request::Watch {
                session: a.value(0, SessionId::parse)?,
                symbol: a.value(1, Symbol::parse)?,
            },
            Instr::RemoveFromWatchlist => Request::Unwatch {
                session: a.value(0, SessionId::parse)?,
                symbol: a.value(1, Symbol::parse)?,
            },
            Instr::CreatePortfolio => a.portfolio(PortfolioOp::Create {
                cash: a.start_cash(1)?,
                name: a.value(2, PortfolioName::parse)?,
            })?,
            Instr::RenamePortfolio => a.portfolio(PortfolioOp::Rename {
                id: a.id(1, "portfolioID")?,
                name: a.value(2, PortfolioName::parse)?,
            })?,
            Instr::ClosePortfolio => a.portfolio(PortfolioOp::Close {
                id: a.id(1, "portfolioID")?,
            })?,
            Instr::UsePortfolio => a.portfolio(PortfolioOp::Use {
                id: a.id(1, "portfolioID")?,
            })?,
            Instr::GetPortfolios => Request::Portfolios {
                session: a.value(0, SessionId::parse)?,
            },
            Instr::CreateGame => a.game(GameOp::Create(Box::new(GameRules::parse(a.get(1)?)?)))?,
            Instr::ChangeGame => a.game(GameOp::Change {
                id: a.id(1, "gameID")?,
                rules: Box::new(GameRules::parse(a.get(2)?)?),
            })?,
            Instr::JoinGame => a.game(GameOp::Join(a.join_by(1)?))?,
            Instr::LeaveGame => a.game(GameOp::Leave(a.id(1, "gameID")?))?,
            Instr::RemovePlayer => a.game(GameOp::Remove {
                id: a.id(1, "gameID")?,
                username: a.value(2, Username::parse)?,
            })?,
            Instr::NewGameCode => a.game(GameOp::NewCode(a.id(1, "gameID")?))?,
            Instr::GetGames => a.game_view(GameView::List)?,
            Instr::GetGame => a.game_view(GameView::Show(a.id(1, "gameID")?))?,
            Instr::GetStandings => a.game_view(GameView::Standings(a.id(1, "gameID")?))?,
            Instr::GetGameHoldings => a.game_view(GameView::Holdings {
                id: a.id(1, "gameID")?,
                username: a.value(2, Username::parse)?,
            })?,
            Instr::PlaceOrderTagged | Instr::PlaceOrderClassTagged => {
                let client = a.value(1, ClientOrderId::parse)?;
                let base = if instr == Instr::PlaceOrderTagged {
                    Instr::PlaceOrder
                } else {
                    Instr::PlaceOrderClass
                };
                let rest: Vec<&str> = args
                    .iter()
                    .take(1)
                    .chain(args.iter().skip(2))
                    .copied()
                    .collect();
                Request::Tagged {
                    client,
                    inner: Box::new(Request::parse(base, &rest)?),
                }
            }
            other => {
                let text = format!("{} is not a client request", other.name());
                return Err(Reason::new(ReasonCode::Protocol, text));
            }
        })
    }

    /// The frame of this request, as a client sends it: [`Request::parse`]
    /// of its arguments gives it back.
    pub fn encode(&self) -> Frame {
        crate::message::frame(self.instr(), &self.args())
    }

    /// The arguments of [`Request::encode`], in the protocol's order.
    fn args(&self) -> Vec<String> {
        let flag = |b: &bool| if *b { "true" } else { "false" }.to_string();
        let s = |v: &dyn fmt::Display| v.to_string();
        match self {
            Request::Login {
                username,
                pass,
                expirable,
            } => vec![s(username), s(pass), flag(expirable)],
            Request::Register {
                username,
                email,
                pass,
            } => vec![s(username), s(email), s(pass)],
            Request::Trade {
                session,
                symbol,
                size,
                ..
            } => vec![s(session), s(symbol), s(size)],
            Request::SwitchState { session, state } => vec![s(session), state.name().into()],
            Request::LoginSession { session }
            | Request::Logout { session }
            | Request::Orders { session }
            | Request::Keys { session }
            | Request::Watchlist { session }
            | Request::Portfolios { session } => vec![s(session)],
            Request::Portfolio { session, op } => {
                let mut args = vec![s(session)];
                match op {
                    PortfolioOp::Create { cash, name } => {
                        args.push(cash.map_or_else(|| "-".to_string(), |c| c.to_string()));
                        args.push(s(name));
                    }
                    PortfolioOp::Rename { id, name } => args.extend([s(id), s(name)]),
                    PortfolioOp::Close { id } | PortfolioOp::Use { id } => args.push(s(id)),
                }
                args
            }
            Request::Game { session, op } => {
                let mut args = vec![s(session)];
                match op {
                    GameOp::Create(rules) => args.push(s(rules)),
                    GameOp::Change { id, rules } => args.extend([s(id), s(rules)]),
                    GameOp::Join(JoinBy::Code(code)) => args.push(s(code)),
                    GameOp::Join(JoinBy::Id(id)) | GameOp::Leave(id) | GameOp::NewCode(id) => {
                        args.push(s(id))
                    }
                    GameOp::Remove { id, username } => args.extend([s(id), s(username)]),
                }
                args
            }
            Request::GameView { session, view } => {
                let mut args = vec![s(session)];
                match view {
                    GameView::List => {}
                    GameView::Show(id) | GameView::Standings(id) => args.push(s(id)),
                    GameView::Holdings { id, username } => args.extend([s(id), s(username)]),
                }
                args
            }
            Request::Watch { session, symbol } | Request::Unwatch { session, symbol } => {
                vec![s(session), s(symbol)]
            }
            Request::CreateKey { session, label } => vec![s(session), s(label)],
            Request::RevokeKey { session, id } => vec![s(session), s(id)],
            Request::LoginKey { id, secret } => vec![s(id), s(secret)],
            Request::Tagged { client, inner } => {
                let mut args = inner.args();
                args.insert(1.min(args.len()), s(client));
                args
            }
            Request::WorkerList
            | Request::AssetList
            | Request::AssetDetails
            | Request::WatchPrices
            | Request::Leaderboard => Vec::new(),
            Request::AssetInfo { symbol } | Request::AssetCurrent { symbol } => vec![s(symbol)],
            Request::History { symbol, date, .. } => {
                let mut args = vec![s(symbol)];
                args.extend(date.as_ref().map(|d| d.to_string()));
                args
            }
            Request::User {
                session, username, ..
            }
            | Request::EquityHistory { session, username } => vec![s(session), s(username)],
            Request::PlaceOrder { session, order } => {
                let price = |p: Option<Money>| crate::value::OrderPrice::show(p);
                vec![
                    s(session),
                    order.side.name().into(),
                    s(&order.symbol),
                    s(&order.quantity),
                    order.kind.name().into(),
                    price(order.kind.limit()),
                    order.kind.stop_arg(),
                    order.tif.name().into(),
                ]
            }
            Request::PlaceOrderClass {
                session,
                order,
                class,
            } => {
                let price = |p: Option<Money>| crate::value::OrderPrice::show(p);
                let oco = class.class == OrderClass::Oco;
                let word = |w: &str| if oco { "-".to_string() } else { w.to_string() };
                vec![
                    s(session),
                    class.class.name().into(),
                    order.side.name().into(),
                    s(&order.symbol),
                    s(&order.quantity),
                    word(order.kind.name()),
                    if oco {
                        "-".into()
                    } else {
                        price(order.kind.limit())
                    },
                    if oco {
                        "-".into()
                    } else {
                        order.kind.stop_arg()
                    },
                    order.tif.name().into(),
                    price(class.take_profit),
                    price(class.stop_loss),
                ]
            }
            Request::ReplaceOrder {
                session,
                id,
                change,
            } => {
                let keep = |v: Option<String>| v.unwrap_or_else(|| "=".to_string());
                vec![
                    s(session),
                    id.to_string(),
                    keep(change.quantity.map(|q| q.to_string())),
                    keep(change.limit.map(|p| p.to_string())),
                    keep(change.stop.map(|stop| match stop {
                        NewStop::Price(price) => price.to_string(),
                        NewStop::Trail(trail) => trail.to_string(),
                    })),
                    keep(change.tif.map(|t| t.name().to_string())),
                ]
            }
            Request::CancelOrder { session, id } => vec![s(session), id.to_string()],
            Request::ResetAccount { session, proof } => {
                let proof = match proof {
                    ResetProof::Pass(pass) => s(pass),
                    ResetProof::Token(token) => token.as_str().to_string(),
                };
                vec![s(session), proof]
            }
            Request::LoginExternal {
                provider,
                token,
                expirable,
            } => vec![s(provider), token.as_str().to_string(), flag(expirable)],
            Request::RegisterExternal {
                username,
                provider,
                token,
            } => vec![s(username), s(provider), token.as_str().to_string()],
            Request::SetPassword { session, pass } => vec![s(session), s(pass)],
        }
    }

    /// The instruction this request came as.
    pub fn instr(&self) -> Instr {
        match self {
            Request::Login { .. } => Instr::Login,
            Request::LoginSession { .. } => Instr::LoginSession,
            Request::Register { .. } => Instr::Register,
            Request::Trade { side, size, .. } => size.instr(*side),
            Request::SwitchState { .. } => Instr::SwitchState,
            Request::Logout { .. } => Instr::Logout,
            Request::WorkerList => Instr::GetWorkerList,
            Request::AssetInfo { .. } => Instr::GetAssetInfo,
            Request::AssetCurrent { .. } => Instr::GetAssetValueCurrent,
            Request::History { range, .. } => range.instr(),
            Request::AssetList => Instr::GetAssetList,
            Request::AssetDetails => Instr::GetAssetDetails,
            Request::WatchPrices => Instr::WatchPrices,
            Request::User { view, .. } => match view {
                UserView::Info => Instr::GetUserInfo,
                UserView::Portfolio => Instr::GetUserPortfolio,
                UserView::Transactions => Instr::GetUserTransactionHistory,
            },
            Request::PlaceOrder { .. } => Instr::PlaceOrder,
            Request::CancelOrder { .. } => Instr::CancelOrder,
            Request::ReplaceOrder { .. } => Instr::ReplaceOrder,
            Request::PlaceOrderClass { .. } => Instr::PlaceOrderClass,
            Request::ResetAccount { .. } => Instr::ResetAccount,
            Request::LoginExternal { .. } => Instr::LoginExternal,
            Request::RegisterExternal { .. } => Instr::RegisterExternal,
            Request::SetPassword { .. } => Instr::SetPassword,
            Request::Orders { .. } => Instr::GetOrders,
            Request::Leaderboard => Instr::GetLeaderboard,
            Request::EquityHistory { .. } => Instr::GetEquityHistory,
            Request::CreateKey { .. } => Instr::CreateApiKey,
            Request::RevokeKey { .. } => Instr::RevokeApiKey,
            Request::LoginKey { .. } => Instr::LoginApiKey,
            Request::Keys { .. } => Instr::GetApiKeys,
            Request::Watchlist { .. } => Instr::GetWatchlist,
            Request::Watch { .. } => Instr::AddToWatchlist,
            Request::Unwatch { .. } => Instr::RemoveFromWatchlist,
            Request::Portfolio { op, .. } => match op {
                PortfolioOp::Create { .. } => Instr::CreatePortfolio,
                PortfolioOp::Rename { .. } => Instr::RenamePortfolio,
                PortfolioOp::Close { .. } => Instr::ClosePortfolio,
                PortfolioOp::Use { .. } => Instr::UsePortfolio,
            },
            Request::Portfolios { .. } => Instr::GetPortfolios,
            Request::Game { op, .. } => match op {
                GameOp::Create(_) => Instr::CreateGame,
                GameOp::Change { .. } => Instr::ChangeGame,
                GameOp::Join(_) => Instr::JoinGame,
                GameOp::Leave(_) => Instr::LeaveGame,
                GameOp::Remove { .. } => Instr::RemovePlayer,
                GameOp::NewCode(_) => Instr::NewGameCode,
            },
            Request::GameView { view, .. } => match view {
                GameView::List => Instr::GetGames,
                GameView::Show(_) => Instr::GetGame,
                GameView::Standings(_) => Instr::GetStandings,
                GameView::Holdings { .. } => Instr::GetGameHoldings,
            },
            Request::Tagged { inner, .. } => match inner.instr() {
                Instr::PlaceOrderClass => Instr::PlaceOrderClassTagged,
                _ => Instr::PlaceOrderTagged,
            },
        }
    }
}

/// Longest excerpt of peer input a reply or log line echoes.
pub const EXCERPT_CHARS: usize = crate::value::SHOWN_INPUT;

/// A short, printable excerpt of peer input for a reply or a log line,
/// quoted: at most [`EXCERPT_CHARS`] characters, control characters
/// escaped, and `...` when it was cut (as value errors show input).
/// Building a frame from it can never overflow.
pub fn excerpt(input: &str) -> String {
    format!("{:?}", crate::value::shown(input))
}

mod args;

#[cfg(test)]
mod tests;

//! Portfolios and competitions on the trade thread (protocol 1.2): the
//! commands that make, rename, close and choose portfolios, organise and
//! join competitions, and the rules an order of a competition's
//! portfolio must keep when it arrives. The trade thread is the one
//! writer of cash, orders and portfolios, so closing a portfolio sees
//! every open and waiting order of it, and a removed player's orders end
//! in the same step.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

use papertrader_common::payload::PortfolioStatus;
use papertrader_common::request::{GameOp, JoinBy, PortfolioOp};
use papertrader_common::value::OrderKind;
use papertrader_common::value::{
    GameCode, GameFees, GameRules, PortfolioName, SHARE_SCALE, Shares, Username,
};
use rand::RngCore;
use rusqlite::OptionalExtension;

use super::*;
use crate::auth::keys::owner_account;
use crate::auth::session_viewer;
use crate::db::games::{self as sql, Game, NewPortfolio, Portfolio};
use crate::trade::standing::position_value;

/// Most open portfolios of one login, its first and its competitions'
/// included.
pub const MAX_PORTFOLIOS: u32 = 20;
/// Most portfolios one login may make in all, closed ones included (every
/// one stays in the database, the standings' memory and the snapshots).
pub const MAX_PORTFOLIOS_MADE: u32 = 100;
/// Most competitions one login organises that have not ended.
pub const MAX_ORGANISED: u32 = 20;
/// Most competitions one login may organise in all.
pub const MAX_ORGANISED_EVER: u32 = 500;
/// Most players of one competition.
pub const MAX_PLAYERS: u64 = 10_000;
/// Longest competition, from start to end: five years.
const MAX_LENGTH_SECS: i64 = 5 * 366 * 86_400;
/// Wrong invitation codes (or numbers of no public competition) a login
/// may try per [`WRONG_WINDOW`].
pub const MAX_WRONG_CODES: usize = 10;
/// The same for one client address (a class behind one NAT shares it).
pub const MAX_WRONG_PER_ADDRESS: usize = 50;
/// The window of [`MAX_WRONG_CODES`].
pub const WRONG_WINDOW: Duration = Duration::from_secs(600);
/// Logins and addresses the wrong-code counter remembers at most; past
/// it, the oldest entries go first.
const MAX_WRONG_KEYS: usize = 100_000;

/// What the trade thread keeps of competitions.
#[derive(Default)]
pub(in crate::trade) struct Games {
    /// Competitions read so far, by number (only this thread changes
    /// them, so the copy stays true).
    known: HashMap<i64, Arc<Game>>,
    /// The competition of each open game portfolio whose competition has
    /// not ended, for its fees and its orders' end.
    players: HashMap<i64, i64>,
    /// `(end, number)` of every competition whose standings are not
    /// frozen yet.
    unfrozen: BTreeSet<(i64, i64)>,
    /// Wrong invitation codes, per login and per address.
    wrong: WrongCodes,
}

impl Games {
    /// Reads the competitions not frozen (one that ended while the master
    /// was down among them: `end_games` ends it before the first fill),
    /// their rules and their players.
    pub(in crate::trade) fn load(conn: &Connection) -> rusqlite::Result<Games> {
        let mut games = Games::default();
        for (account, game) in sql::live_players(conn)? {
            games.players.insert(account, game);
        }
        let ids: Vec<(i64, i64)> = {
            let mut stmt = conn.prepare("SELECT end, id FROM games WHERE standings IS NULL")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for (end, id) in ids {
            games.unfrozen.insert((end, id));
            if let Some(game) = sql::game_by_id(conn, id)? {
                games.known.insert(id, Arc::new(game));
            }
        }
        Ok(games)
    }

    /// Competition `id`, read once.
    fn get(&mut self, conn: &Connection, id: i64) -> Result<Option<Arc<Game>>, Reason> {
        if let Some(game) = self.known.get(&id) {
            return Ok(Some(game.clone()));
        }
        let found = sql::game_by_id(conn, id)
            .map_err(|err| crate::trade::internal("cannot read a competition", err))?;
        Ok(found.map(|game| {
            let game = Arc::new(game);
            self.known.insert(id, game.clone());
            game
        }))
    }

    /// What `account`'s competition changes for its fills: fees, short
    /// selling, fractions.
    pub(in crate::trade) fn bounds(&self, account: i64) -> crate::trade::Bounds {
        let Some(game) = self.players.get(&account).and_then(|g| self.known.get(g)) else {
            return crate::trade::Bounds::default();
        };
        crate::trade::Bounds {
            fee_free: game.rules.fees == GameFees::None,
            no_short: !game.rules.short,
            whole_shares: !game.rules.fractional,
        }
    }
}

/// Wrong invitation codes in the last [`WRONG_WINDOW`], per login and per
/// client address (its host, without the port).
#[derive(Default)]
struct WrongCodes {
    by_login: HashMap<i64, VecDeque<Instant>>,
    by_host: HashMap<String, VecDeque<Instant>>,
}

impl WrongCodes {
    /// When the next try is allowed, if `login` or `host` has used up its
    /// wrong codes.
    fn blocked(&mut self, login: i64, host: &str, now: Instant) -> Option<Duration> {
        let left = |tries: Option<&mut VecDeque<Instant>>, most: usize| {
            let tries = tries?;
            while tries
                .front()
                .is_some_and(|t| now.duration_since(*t) >= WRONG_WINDOW)
            {
                tries.pop_front();
            }
            (tries.len() >= most).then(|| WRONG_WINDOW.saturating_sub(now.duration_since(tries[0])))
        };
        left(self.by_login.get_mut(&login), MAX_WRONG_CODES)
            .or_else(|| left(self.by_host.get_mut(host), MAX_WRONG_PER_ADDRESS))
    }

    fn record(&mut self, login: i64, host: &str, now: Instant) {
        bound(&mut self.by_login, now);
        bound(&mut self.by_host, now);
        push_bounded(
            self.by_login.entry(login).or_default(),
            now,
            MAX_WRONG_CODES,
        );
        let host = self.by_host.entry(host.to_string()).or_default();
        push_bounded(host, now, MAX_WRONG_PER_ADDRESS);
    }
}

/// Keeps `map` under [`MAX_WRONG_KEYS`]: when full, forgets whoever tried
/// last outside the window, and if that frees nothing, the whole map (the
/// other map keeps counting).
fn bound<K: std::hash::Hash + Eq>(map: &mut HashMap<K, VecDeque<Instant>>, now: Instant) {
    if map.len() < MAX_WRONG_KEYS {
        return;
    }
    map.retain(|_, t| {
        t.back()
            .is_some_and(|b| now.duration_since(*b) < WRONG_WINDOW)
    });
    if map.len() >= MAX_WRONG_KEYS {
        map.clear();
    }
}

fn push_bounded(tries: &mut VecDeque<Instant>, now: Instant, most: usize) {
    if tries.len() >= most {
        tries.pop_front();
    }
    tries.push_back(now);
}

/// What the wrong codes of a client address count against: its IPv4
/// address or its IPv6 /64, as the login limits count them
/// ([`crate::ratelimit::Net`]).
fn host_of(client: &str) -> String {
    crate::ratelimit::Net::of(client).to_string()
}

/// The portfolio an order is for, and its competition if any.
pub(super) struct Trader {
    /// The portfolio's account id.
    pub(super) account: i64,
    /// The competition it plays in.
    pub(super) game: Option<Arc<Game>>,
}

fn fail(code: ReasonCode, text: impl Into<String>) -> Reason {
    Reason::new(code, text)
}

fn db_fail(what: &str) -> impl Fn(rusqlite::Error) -> Reason + '_ {
    move |err| crate::trade::internal(what, err)
}

impl Queue {
    /// The portfolio `session` trades in: not removed from its
    /// competition, and the competition running at `now`.
    pub(super) fn trader(&mut self, session: &SessionId, now: Timestamp) -> Result<Trader, Reason> {
        let viewer = session_viewer(&self.conn, session, now)?;
        if viewer.book == viewer.login {
            // A login's own portfolio plays in no competition.
            return Ok(Trader {
                account: viewer.login,
                game: None,
            });
        }
        let found =
            sql::by_id(&self.conn, viewer.book).map_err(db_fail("cannot read a portfolio"))?;
        let Some(portfolio) = found else {
            return Err(fail(
                ReasonCode::UnknownPortfolio,
                "the portfolio in use is gone",
            ));
        };
        match portfolio.status {
            PortfolioStatus::Open => {}
            PortfolioStatus::Removed => {
                return Err(fail(
                    ReasonCode::NotAPlayer,
                    "the organiser removed you from this portfolio's competition; it no longer trades",
                ));
            }
            PortfolioStatus::Closed => {
                return Err(fail(
                    ReasonCode::UnknownPortfolio,
                    "the portfolio in use is closed",
                ));
            }
        }
        let game = match portfolio.game {
            Some(id) => self.games.get(&self.conn, id)?,
            None => None,
        };
        if let Some(game) = &game {
            let rules = &game.rules;
            if now < rules.start {
                let text = format!(
                    "competition {} starts at {}; no trading before",
                    game.id,
                    rules.start.iso()
                );
                return Err(fail(ReasonCode::GameNotRunning, text));
            }
            if now >= rules.end {
                let text = format!("competition {} ended at {}", game.id, rules.end.iso());
                return Err(fail(ReasonCode::GameNotRunning, text));
            }
        }
        Ok(Trader {
            account: viewer.book,
            game,
        })
    }

    /// An order of `trader` keeps its competition's rules: the asset, the
    /// order types, fractions, short selling and the cap on a position.
    pub(super) fn keeps_rules(
        &self,
        trader: &Trader,
        side: Side,
        symbol: &Symbol,
        size: Size,
        kinds: &[OrderKind],
        replacing: Option<i64>,
    ) -> Result<(), Reason> {
        let Some(game) = &trader.game else {
            return Ok(());
        };
        let rules = &game.rules;
        let rule = |text: String| Err(fail(ReasonCode::GameRule, text));
        if !rules.allows_asset(symbol) {
            return rule(format!("{symbol} is not among this competition's assets"));
        }
        if let Some(kind) = kinds.iter().find(|k| !rules.orders.allows(k.name())) {
            return rule(format!(
                "{} orders are not allowed in this competition (allowed: {})",
                kind.name(),
                rules.orders
            ));
        }
        if !rules.fractional {
            match size {
                Size::Shares(q) if !q.is_whole() => {
                    return rule(format!(
                        "this competition trades whole shares only, not {q}"
                    ));
                }
                Size::Notional(amount) => {
                    return rule(format!(
                        "this competition trades whole shares only; an order for an amount ({amount}) needs fractions"
                    ));
                }
                Size::Shares(_) => {}
            }
        }
        let held = db::positions::held(&self.conn, trader.account, symbol.as_str())
            .map_err(db_fail("cannot read a position"))?;
        // Valued at the higher of the price the order names and the last
        // one: a sale limited far below the market fills at the market.
        let last = self.last.get(symbol).copied();
        let named = kinds.first().and_then(|k| k.limit().or(k.stop()));
        let price = match (named, last) {
            (Some(n), Some(l)) => Some(n.max(l)),
            (n, l) => n.or(l),
        };
        let shares_of = |size: Size| match (size, price) {
            (Size::Shares(q), _) => Some(q.raw()),
            (Size::Notional(amount), Some(p)) if p.raw() > 0 => Some(
                i64::try_from(
                    i128::from(amount.raw()) * i128::from(SHARE_SCALE) / i128::from(p.raw()),
                )
                .unwrap_or(i64::MAX),
            ),
            (Size::Notional(_), _) => None,
        };
        let shares = shares_of(size);
        // The account's other orders of this symbol and side count as
        // filled: the open ones (but the one replaced, and legs waiting
        // for their entry) and those waiting for the next price set, so
        // that many orders cannot pass the rules one by one.
        let mine: Vec<&OpenOrder> = self
            .open
            .iter()
            .filter(|o| o.account == trader.account && Some(o.id) != replacing)
            .collect();
        let waiting = self
            .waiting
            .iter()
            .filter(|q| {
                q.order.account == trader.account
                    && &q.order.symbol == symbol
                    && q.order.side == side
            })
            .map(|q| shares_of(q.order.size).unwrap_or(0))
            .fold(0i64, i64::saturating_add);
        if !rules.short && side == Side::Sell {
            let free = held
                .max(0)
                .saturating_sub(self.reserved_sales(symbol, &mine))
                .saturating_sub(waiting);
            if shares.is_none_or(|s| s > free) {
                return rule(format!(
                    "no short selling in this competition: {} {symbol} free to sell",
                    Shares(free.max(0))
                ));
            }
        }
        if let (Some(cap), Some(shares), Some(price)) = (rules.cap, shares, price) {
            let open = mine
                .iter()
                .filter(|o| &o.symbol == symbol && o.side == side && !o.held)
                .map(|o| o.remaining().raw())
                .fold(0i64, i64::saturating_add);
            let pending = shares.saturating_add(open).saturating_add(waiting);
            let after = match side {
                Side::Buy => held.saturating_add(pending),
                Side::Sell => held.saturating_sub(pending),
            };
            if after.unsigned_abs() > held.unsigned_abs() {
                let value = position_value(Some(price), after, 0).abs();
                let equity = self.equity_of(trader.account)?;
                if value * 100 > equity * i128::from(cap) {
                    return rule(format!(
                        "a position of {} {symbol} would be worth {}, more than {cap}% of your equity {}",
                        Shares(after),
                        crate::trade::position::shown(value),
                        crate::trade::position::shown(equity)
                    ));
                }
            }
        }
        Ok(())
    }

    /// Cash plus every position at the last prices (at cost without one).
    fn equity_of(&self, account: i64) -> Result<i128, Reason> {
        let cash = db::accounts::cash(&self.conn, account).map_err(db_fail("cannot read cash"))?;
        let held =
            db::positions::all(&self.conn, account).map_err(db_fail("cannot read positions"))?;
        Ok(i128::from(cash)
            + held
                .iter()
                .map(|(s, q, c)| position_value(self.last.get(s.as_str()).copied(), *q, *c))
                .sum::<i128>())
    }

    /// A portfolio command of a login's own session.
    pub(super) fn portfolio_op(&mut self, session: &SessionId, op: &PortfolioOp) -> Reply {
        let instr = Request::Portfolio {
            session: session.clone(),
            op: op.clone(),
        }
        .instr();
        match self.portfolio_result(session, op) {
            Ok((id, name)) => Reply::PortfolioUpdated { id, name },
            Err(reason) => Reply::failure(instr, reason),
        }
    }

    fn portfolio_result(
        &mut self,
        session: &SessionId,
        op: &PortfolioOp,
    ) -> Result<(u64, PortfolioName), Reason> {
        let now = Timestamp::now();
        let what = match op {
            PortfolioOp::Create { .. } => "createPortfolio",
            PortfolioOp::Rename { .. } => "renamePortfolio",
            PortfolioOp::Close { .. } => "closePortfolio",
            PortfolioOp::Use { .. } => "usePortfolio",
        };
        let login = owner_account(&self.conn, session, now, what)?;
        let tx = write(&self.conn, "cannot change portfolios")?;
        let mut closed = None;
        let fault = db_fail("cannot change portfolios");
        let found = |no: u64| -> Result<Portfolio, Reason> {
            sql::by_no(&tx, login, no)
                .map_err(db_fail("cannot read a portfolio"))?
                .filter(|p| p.status != PortfolioStatus::Closed)
                .ok_or_else(|| {
                    fail(
                        ReasonCode::UnknownPortfolio,
                        format!("you have no open portfolio {no}"),
                    )
                })
        };
        let done = match op {
            PortfolioOp::Create { cash, name } => {
                self.room_for_portfolio(&tx, login)?;
                if sql::name_taken(&tx, login, name.as_str(), None).map_err(&fault)? {
                    return Err(name_taken(name));
                }
                let cash = cash.unwrap_or(self.limits.starting_cash);
                let new = NewPortfolio {
                    login,
                    name: name.as_str(),
                    cash,
                    game: None,
                    now,
                };
                let (_, no) = sql::insert(&tx, &new).map_err(&fault)?;
                papertrader_common::info!(
                    "account {login} opened portfolio {no} ({name}) with {cash}"
                );
                (no as u64, name.clone())
            }
            PortfolioOp::Rename { id, name } => {
                let portfolio = found(*id)?;
                if sql::name_taken(&tx, login, name.as_str(), Some(portfolio.id)).map_err(&fault)? {
                    return Err(name_taken(name));
                }
                sql::rename(&tx, portfolio.id, name.as_str()).map_err(&fault)?;
                (*id, name.clone())
            }
            PortfolioOp::Close { id } => {
                if *id == 1 {
                    return Err(fail(
                        ReasonCode::Forbidden,
                        "portfolio 1 is the account's own and cannot be closed",
                    ));
                }
                let portfolio = found(*id)?;
                if portfolio.status == PortfolioStatus::Removed {
                    let text = format!(
                        "portfolio {id} was removed from its competition and stays as it is"
                    );
                    return Err(fail(ReasonCode::Forbidden, text));
                }
                self.check_idle(portfolio.id, *id)?;
                close_rows(&tx, &portfolio, PortfolioStatus::Closed, now)?;
                closed = Some(portfolio.id);
                (*id, stored_name(&portfolio)?)
            }
            PortfolioOp::Use { id } => {
                let portfolio = found(*id)?;
                let book = (portfolio.id != login).then_some(portfolio.id);
                db::sessions::use_portfolio(&tx, &db::sessions::hash(session), book)
                    .map_err(&fault)?;
                (*id, stored_name(&portfolio)?)
            }
        };
        tx.commit().map_err(&fault)?;
        if let Some(id) = closed {
            self.games.players.remove(&id);
            // A competition's portfolio leaves its standings.
            self.board.advance();
        }
        Ok(done)
    }

    /// `too-many-portfolios` when the login has its most open portfolios.
    fn room_for_portfolio(&self, conn: &Connection, login: i64) -> Result<(), Reason> {
        let open = sql::open_count(conn, login).map_err(db_fail("cannot count portfolios"))?;
        if open >= MAX_PORTFOLIOS {
            let text =
                format!("you have {open} open portfolios, the most allowed; close one first");
            return Err(fail(ReasonCode::TooManyPortfolios, text));
        }
        let made = sql::made_count(conn, login).map_err(db_fail("cannot count portfolios"))?;
        if made >= MAX_PORTFOLIOS_MADE {
            let text = format!(
                "you have made {made} portfolios, closed ones included, the most one login may"
            );
            return Err(fail(ReasonCode::TooManyPortfolios, text));
        }
        Ok(())
    }

    /// `portfolio-busy` while portfolio `account` has orders open,
    /// held or waiting for a price.
    fn check_idle(&self, account: i64, no: u64) -> Result<(), Reason> {
        let open = self.open.iter().filter(|o| o.account == account).count();
        let waiting = self.per_account.get(&account).copied().unwrap_or(0);
        if open + waiting > 0 {
            let text = format!(
                "portfolio {no} has {} open and {waiting} waiting orders; cancel them first",
                open
            );
            return Err(fail(ReasonCode::PortfolioBusy, text));
        }
        Ok(())
    }

    /// A competition command of a login's own session.
    pub(super) fn game_op(&mut self, session: &SessionId, op: &GameOp, client: &str) -> Reply {
        let instr = Request::Game {
            session: session.clone(),
            op: op.clone(),
        }
        .instr();
        let now = Timestamp::now();
        let result =
            owner_account(&self.conn, session, now, instr.name()).and_then(|login| match op {
                GameOp::Create(rules) => self.create_game(login, rules, now),
                GameOp::Change { id, rules } => self.change_game(login, *id, rules, now),
                GameOp::Join(by) => self.join_game(login, by, client, now),
                GameOp::Leave(id) => self.leave_game(login, *id, now),
                GameOp::Remove { id, username } => self.remove_player(login, *id, username, now),
                GameOp::NewCode(id) => self.new_code(login, *id),
            });
        result.unwrap_or_else(|reason| Reply::failure(instr, reason))
    }

    fn create_game(
        &mut self,
        login: i64,
        rules: &GameRules,
        now: Timestamp,
    ) -> Result<Reply, Reason> {
        check_times(rules, now)?;
        self.check_assets(rules)?;
        let running = sql::running_count(&self.conn, login, now)
            .map_err(db_fail("cannot count competitions"))?;
        if running >= MAX_ORGANISED {
            let text = format!(
                "you organise {running} competitions that have not ended, the most allowed"
            );
            return Err(fail(ReasonCode::RateLimited, text));
        }
        let ever = sql::organised_count(&self.conn, login)
            .map_err(db_fail("cannot count competitions"))?;
        if ever >= MAX_ORGANISED_EVER {
            let text = format!("you have organised {ever} competitions, the most one login may");
            return Err(fail(ReasonCode::RateLimited, text));
        }
        let code = new_code();
        let id = sql::insert_game(&self.conn, login, rules, code.as_str(), now)
            .map_err(db_fail("cannot store a competition"))?;
        self.games.unfrozen.insert((rules.end.0, id));
        papertrader_common::info!(
            "account {login} organised competition {id} ({})",
            rules.name
        );
        Ok(Reply::GameCreated {
            id: id as u64,
            code,
        })
    }

    /// `unknown-asset` for a symbol of the allow-list not in the asset
    /// list.
    fn check_assets(&self, rules: &GameRules) -> Result<(), Reason> {
        let Some(list) = &rules.assets else {
            return Ok(());
        };
        let assets = self.assets.read();
        if let Some(symbol) = list
            .iter()
            .find(|s| !assets.iter().any(|a| &a.symbol == *s))
        {
            let text = format!("{symbol} is not in the asset list");
            return Err(fail(ReasonCode::UnknownAsset, text));
        }
        Ok(())
    }

    /// Competition `id` as its organiser `login` sees it: `unknown-game`
    /// for no such competition, `forbidden` for someone else's.
    fn organised(&mut self, login: i64, id: u64) -> Result<Arc<Game>, Reason> {
        let game = self.visible_game(login, id)?;
        if game.organiser != login {
            let text = format!("only the organiser of competition {id} may do that");
            return Err(fail(ReasonCode::Forbidden, text));
        }
        Ok(game)
    }

    /// Competition `id` if `login` may know of it: its organiser, a
    /// player (also a past one) or, when public, anyone.
    fn visible_game(&mut self, login: i64, id: u64) -> Result<Arc<Game>, Reason> {
        let unknown = || {
            fail(
                ReasonCode::UnknownGame,
                format!("there is no competition {id}"),
            )
        };
        let id = i64::try_from(id).map_err(|_| unknown())?;
        let game = self.games.get(&self.conn, id)?.ok_or_else(unknown)?;
        let player = sql::player(&self.conn, id, login).map_err(db_fail("cannot read a player"))?;
        if game.organiser == login || player.is_some() || game.rules.public {
            return Ok(game);
        }
        Err(unknown())
    }

    fn change_game(
        &mut self,
        login: i64,
        id: u64,
        rules: &GameRules,
        now: Timestamp,
    ) -> Result<Reply, Reason> {
        let game = self.organised(login, id)?;
        if now >= game.rules.start {
            let text = format!(
                "competition {id} started at {}; its rules can no longer change",
                game.rules.start.iso()
            );
            return Err(fail(ReasonCode::GameStarted, text));
        }
        check_times(rules, now)?;
        self.check_assets(rules)?;
        let fault = db_fail("cannot change a competition");
        let tx = write(&self.conn, "cannot change a competition")?;
        sql::set_rules(&tx, game.id, rules).map_err(&fault)?;
        if rules.cash != game.rules.cash {
            sql::restart_players(&tx, game.id, rules.cash).map_err(&fault)?;
        }
        tx.commit().map_err(&fault)?;
        self.games.unfrozen.remove(&(game.rules.end.0, game.id));
        self.games.unfrozen.insert((rules.end.0, game.id));
        let changed = Game {
            rules: rules.clone(),
            ..(*game).clone()
        };
        self.games.known.insert(game.id, Arc::new(changed));
        self.board.advance();
        Ok(Reply::GameUpdated(id))
    }

    fn join_game(
        &mut self,
        login: i64,
        by: &JoinBy,
        client: &str,
        now: Timestamp,
    ) -> Result<Reply, Reason> {
        let host = &host_of(client);
        let mono = Instant::now();
        if let Some(left) = self.games.wrong.blocked(login, host, mono) {
            let text = format!(
                "too many wrong invitation codes; try again in {} s",
                left.as_secs().max(1)
            );
            return Err(fail(ReasonCode::RateLimited, text));
        }
        let found = match by {
            JoinBy::Code(code) => sql::game_by_code(&self.conn, code.as_str()),
            JoinBy::Id(id) => sql::game_by_id(&self.conn, i64::try_from(*id).unwrap_or(i64::MAX))
                .map(|g| g.filter(|g| g.rules.public)),
        }
        .map_err(db_fail("cannot look up a competition"))?;
        let Some(game) = found else {
            self.games.wrong.record(login, host, mono);
            let text = match by {
                JoinBy::Code(_) => "no competition has this invitation code".to_string(),
                JoinBy::Id(id) => format!("there is no public competition {id}"),
            };
            return Err(fail(ReasonCode::UnknownGame, text));
        };
        let rules = &game.rules;
        let fault = db_fail("cannot join a competition");
        if let Some(was) = sql::player(&self.conn, game.id, login).map_err(&fault)? {
            let text = match was.status {
                PortfolioStatus::Open => format!("you play in competition {} already", game.id),
                PortfolioStatus::Closed => format!("you left competition {}", game.id),
                PortfolioStatus::Removed => {
                    format!("the organiser removed you from competition {}", game.id)
                }
            };
            return Err(fail(ReasonCode::AlreadyJoined, text));
        }
        if now >= rules.end {
            let text = format!("competition {} ended at {}", game.id, rules.end.iso());
            return Err(fail(ReasonCode::GameNotRunning, text));
        }
        if now >= rules.start && !rules.late {
            let text = format!(
                "competition {} started at {} and takes no late players",
                game.id,
                rules.start.iso()
            );
            return Err(fail(ReasonCode::GameStarted, text));
        }
        let tx = write(&self.conn, "cannot join a competition")?;
        if sql::player_count(&tx, game.id).map_err(&fault)? >= MAX_PLAYERS {
            let text = format!("competition {} is full ({MAX_PLAYERS} players)", game.id);
            return Err(fail(ReasonCode::GameRule, text));
        }
        self.room_for_portfolio(&tx, login)?;
        let mut name = format!("game-{}", game.id);
        let mut n = 1;
        while sql::name_taken(&tx, login, &name, None).map_err(&fault)? {
            n += 1;
            name = format!("game-{}-{n}", game.id);
        }
        let new = NewPortfolio {
            login,
            name: &name,
            cash: rules.cash,
            game: Some(game.id),
            now,
        };
        let (account, no) = sql::insert(&tx, &new).map_err(&fault)?;
        tx.commit().map_err(&fault)?;
        self.games.known.insert(game.id, Arc::new(game.clone()));
        self.games.players.insert(account, game.id);
        papertrader_common::info!(
            "account {login} joined competition {} as portfolio {no}",
            game.id
        );
        let name = PortfolioName::parse(&name)
            .map_err(|err| crate::trade::internal("a portfolio name", err))?;
        Ok(Reply::PortfolioUpdated {
            id: no as u64,
            name,
        })
    }

    fn leave_game(&mut self, login: i64, id: u64, now: Timestamp) -> Result<Reply, Reason> {
        let game = self.visible_game(login, id)?;
        let player = sql::player(&self.conn, game.id, login)
            .map_err(db_fail("cannot read a player"))?
            .filter(|p| p.status == PortfolioStatus::Open)
            .ok_or_else(|| {
                fail(
                    ReasonCode::NotAPlayer,
                    format!("you do not play in competition {id}"),
                )
            })?;
        self.check_idle(player.id, player.no as u64)?;
        let tx = write(&self.conn, "cannot leave a competition")?;
        close_rows(&tx, &player, PortfolioStatus::Closed, now)?;
        tx.commit().map_err(db_fail("cannot leave a competition"))?;
        self.games.players.remove(&player.id);
        self.board.advance();
        Ok(Reply::GameUpdated(id))
    }

    fn remove_player(
        &mut self,
        login: i64,
        id: u64,
        username: &Username,
        now: Timestamp,
    ) -> Result<Reply, Reason> {
        let game = self.organised(login, id)?;
        let unknown = || {
            fail(
                ReasonCode::UnknownUser,
                format!("{username} does not play in competition {id}"),
            )
        };
        let who: Option<i64> = self
            .conn
            .query_row(
                "SELECT id FROM accounts WHERE username_key = ?1 AND owner_id IS NULL",
                [username.key()],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_fail("cannot look up a user"))?;
        let player = who
            .map(|who| sql::player(&self.conn, game.id, who))
            .transpose()
            .map_err(db_fail("cannot read a player"))?
            .flatten()
            .ok_or_else(unknown)?;
        if player.status != PortfolioStatus::Open {
            return Err(unknown());
        }
        // Its orders end with it: the open ones cancelled, the waiting
        // ones answered.
        let group: Vec<i64> = self
            .open
            .iter()
            .filter(|o| o.account == player.id)
            .map(|o| o.id)
            .collect();
        let fault = db_fail("cannot remove a player");
        let tx = write(&self.conn, "cannot remove a player")?;
        tx.execute(orders::CANCEL_ALL, params![player.id, now.0])
            .map_err(&fault)?;
        close_rows(&tx, &player, PortfolioStatus::Removed, now)?;
        tx.commit().map_err(&fault)?;
        self.games.players.remove(&player.id);
        self.open.retain(|o| !group.contains(&o.id));
        let (theirs, rest): (Vec<Queued>, Vec<Queued>) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|q| q.order.account == player.id);
        self.waiting = rest;
        self.count_waiting();
        let reason = fail(
            ReasonCode::NotAPlayer,
            format!("the organiser removed you from competition {id}"),
        );
        self.refuse(&theirs, &reason);
        self.board.advance();
        papertrader_common::info!(
            "account {login} removed {username} from competition {}",
            game.id
        );
        Ok(Reply::GameUpdated(id))
    }

    fn new_code(&mut self, login: i64, id: u64) -> Result<Reply, Reason> {
        let game = self.organised(login, id)?;
        let code = new_code();
        sql::set_code(&self.conn, game.id, code.as_str())
            .map_err(db_fail("cannot change an invitation code"))?;
        let changed = Game {
            code: Some(code.to_string()),
            ..(*game).clone()
        };
        self.games.known.insert(game.id, Arc::new(changed));
        Ok(Reply::GameCreated { id, code })
    }

    /// What resetAccount starts portfolio `account` over with: a
    /// competition's starting cash (if its rules allow resets), what a
    /// further portfolio was opened with, or the master's starting cash
    /// for a login's own.
    pub(super) fn reset_cash(&mut self, account: i64) -> Result<Money, Reason> {
        let found = sql::by_id(&self.conn, account).map_err(db_fail("cannot read a portfolio"))?;
        let Some(portfolio) = found.filter(|p| p.no != 1) else {
            return Ok(self.limits.starting_cash);
        };
        if portfolio.status == PortfolioStatus::Closed {
            return Err(fail(
                ReasonCode::UnknownPortfolio,
                "the portfolio in use is closed",
            ));
        }
        if portfolio.status == PortfolioStatus::Removed {
            return Err(fail(
                ReasonCode::NotAPlayer,
                "the organiser removed this portfolio from its competition",
            ));
        }
        let Some(id) = portfolio.game else {
            let opened: i64 = self
                .conn
                .query_row(
                    "SELECT opening_cash FROM accounts WHERE id = ?1",
                    [account],
                    |r| r.get(0),
                )
                .map_err(db_fail("cannot read a portfolio"))?;
            return Ok(Money(opened));
        };
        let Some(game) = self.games.get(&self.conn, id)? else {
            return Ok(self.limits.starting_cash);
        };
        if !game.rules.resets {
            return Err(fail(
                ReasonCode::GameRule,
                format!("competition {id} allows no resets"),
            ));
        }
        let now = Timestamp::now();
        if now < game.rules.start || now >= game.rules.end {
            return Err(fail(
                ReasonCode::GameNotRunning,
                format!("competition {id} is not running"),
            ));
        }
        Ok(game.rules.cash)
    }

    /// Ends every competition whose end has come: its players' open
    /// orders expire, their waiting ones are refused, and its standings
    /// freeze at the last prices. Runs before a price set fills anything,
    /// and every half minute without one.
    pub(super) fn end_games(&mut self, now: Timestamp) {
        while let Some(&(end, id)) = self.games.unfrozen.first() {
            if end > now.0 {
                return;
            }
            self.games.unfrozen.pop_first();
            let players: std::collections::HashSet<i64> = self
                .games
                .players
                .iter()
                .filter(|&(_, g)| *g == id)
                .map(|(a, _)| *a)
                .collect();
            if !self.end_orders_of(&players, id, now) {
                // Tried again at the next price set or half minute; until
                // then nothing of it fills (`trader` refuses after the end).
                self.games.unfrozen.insert((end, id));
                return;
            }
            let last = &self.last;
            let ranked = crate::trade::game_views::rank_game(&self.conn, id, &|s: &str| {
                last.get(s).copied()
            });
            let frozen = ranked.and_then(|payload| {
                sql::freeze(&self.conn, id, &payload)
                    .map_err(db_fail("cannot store final standings"))
            });
            match frozen {
                Ok(_) => papertrader_common::info!("competition {id} ended: standings frozen"),
                Err(reason) => {
                    papertrader_common::error!("competition {id}: {reason}");
                }
            }
            self.games.players.retain(|_, g| *g != id);
        }
    }

    /// Expires the open orders of `players` and refuses their waiting
    /// ones: competition `id` has ended. `false` if the expiry could not be
    /// written.
    fn end_orders_of(
        &mut self,
        players: &std::collections::HashSet<i64>,
        id: i64,
        now: Timestamp,
    ) -> bool {
        let ended: Vec<i64> = self
            .open
            .iter()
            .filter(|o| players.contains(&o.account))
            .map(|o| o.id)
            .collect();
        if !ended.is_empty() {
            match orders::expire_all(&mut self.conn, &ended, now) {
                Ok(()) => {
                    let ended: std::collections::HashSet<i64> = ended.into_iter().collect();
                    self.open.retain(|o| !ended.contains(&o.id));
                }
                Err(err) => {
                    papertrader_common::error!("competition {id}: cannot expire orders: {err}");
                    return false;
                }
            }
        }
        let (theirs, rest): (Vec<Queued>, Vec<Queued>) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|q| players.contains(&q.order.account));
        self.waiting = rest;
        if !theirs.is_empty() {
            self.count_waiting();
            let text = format!("competition {id} has ended");
            self.refuse(&theirs, &fail(ReasonCode::GameNotRunning, text));
        }
        true
    }
}

/// The end is to come and at most five years after the start.
fn check_times(rules: &GameRules, now: Timestamp) -> Result<(), Reason> {
    if rules.end <= now {
        let text = format!("the end {} has passed", rules.end.iso());
        return Err(fail(ReasonCode::BadArguments, text));
    }
    if rules.end.0.saturating_sub(rules.start.0) > MAX_LENGTH_SECS {
        return Err(fail(
            ReasonCode::BadArguments,
            "a competition lasts at most five years",
        ));
    }
    Ok(())
}

fn new_code() -> GameCode {
    loop {
        let mut bytes = [0u8; 8];
        rand::rng().fill_bytes(&mut bytes);
        let code = GameCode::from_bytes(bytes);
        // All of 2-7 would read as a competition's number.
        if !code.as_str().bytes().all(|b| b.is_ascii_digit()) {
            return code;
        }
    }
}

/// Marks `portfolio` closed or removed: its sessions go back to their
/// login's first portfolio and its API keys stop working.
fn close_rows(
    conn: &Connection,
    portfolio: &Portfolio,
    status: PortfolioStatus,
    now: Timestamp,
) -> Result<(), Reason> {
    let fault = db_fail("cannot close a portfolio");
    sql::set_status(conn, portfolio.id, status).map_err(&fault)?;
    db::sessions::leave_portfolio(conn, portfolio.id).map_err(&fault)?;
    sql::revoke_keys(conn, portfolio.id, now).map_err(&fault)?;
    Ok(())
}

/// A write transaction on the trade thread's connection.
fn write<'c>(
    conn: &'c Connection,
    what: &'static str,
) -> Result<rusqlite::Transaction<'c>, Reason> {
    rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)
        .map_err(db_fail(what))
}

fn name_taken(name: &PortfolioName) -> Reason {
    fail(
        ReasonCode::PortfolioExists,
        format!("you have an open portfolio called {name} already"),
    )
}

fn stored_name(portfolio: &Portfolio) -> Result<PortfolioName, Reason> {
    PortfolioName::parse(&portfolio.name)
        .map_err(|err| crate::trade::internal("a stored portfolio name", err))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_codes_block_a_login_and_a_host_for_the_window() {
        let mut wrong = WrongCodes::default();
        let t0 = Instant::now();
        for _ in 0..MAX_WRONG_CODES {
            assert!(wrong.blocked(1, "10.0.0.1", t0).is_none());
            wrong.record(1, "10.0.0.1", t0);
        }
        assert!(wrong.blocked(1, "10.0.0.2", t0).is_some(), "the login");
        assert!(
            wrong.blocked(2, "10.0.0.1", t0).is_none(),
            "the address has more"
        );
        for login in 2..=5 {
            for _ in 0..MAX_WRONG_CODES {
                wrong.record(login, "10.0.0.1", t0);
            }
        }
        assert!(wrong.blocked(9, "10.0.0.1", t0).is_some(), "the address");
        assert!(wrong.blocked(9, "10.0.0.2", t0).is_none());
        assert!(wrong.blocked(1, "10.0.0.1", t0 + WRONG_WINDOW).is_none());
        assert_eq!(host_of("10.0.0.1:5000"), "10.0.0.1");
        assert_eq!(host_of("[::ffff:10.0.0.1]:5000"), "10.0.0.1");
        assert_eq!(host_of("[2001:db8::7]:5000"), host_of("[2001:db8::9]:1"));
    }

    /// A competition that ended while the master was down is loaded with
    /// its players and rules, so that its orders end and its standings
    /// freeze before anything fills; a frozen one is not.
    #[test]
    fn a_competition_ended_while_down_is_still_ended_at_start() {
        let dir = crate::db::TempDir::new("games-load");
        let conn = crate::db::open(&dir.join("pt.db")).expect("open");
        conn.execute_batch(
            "INSERT INTO accounts (id, username, username_key, email, cash, created,
                                   opening_cash, start_cash, started)
                VALUES (1, 'ann', 'ann', 'a@b', 0, 0, 0, 0, 0);",
        )
        .expect("login");
        let ended = GameRules {
            fees: GameFees::None,
            short: false,
            ..GameRules::new("old", Timestamp(10), Timestamp(20))
        };
        for (id, code) in [(1, "AAAAAAAAAAAA"), (2, "BBBBBBBBBBBB")] {
            let game = sql::insert_game(&conn, 1, &ended, code, Timestamp(5)).expect("game");
            assert_eq!(game, id);
            let new = NewPortfolio {
                login: 1,
                name: &format!("game-{id}"),
                cash: Money(100),
                game: Some(id),
                now: Timestamp(6),
            };
            sql::insert(&conn, &new).expect("player");
        }
        sql::freeze(&conn, 2, "").expect("freeze");
        let games = Games::load(&conn).expect("load");
        assert_eq!(games.unfrozen.iter().collect::<Vec<_>>(), [&(20, 1)]);
        assert_eq!(games.players.len(), 1);
        let (&account, &game) = games.players.iter().next().expect("a player");
        assert_eq!(game, 1);
        let bounds = games.bounds(account);
        assert!(bounds.fee_free && bounds.no_short && !bounds.whole_shares);
    }

    #[test]
    fn the_counter_stays_bounded() {
        let mut map: HashMap<u32, VecDeque<Instant>> = HashMap::new();
        let t0 = Instant::now();
        for k in 0..MAX_WRONG_KEYS as u32 {
            map.entry(k).or_default().push_back(t0);
        }
        bound(&mut map, t0 + WRONG_WINDOW);
        assert!(map.is_empty(), "the tries outside the window are forgotten");
        for k in 0..MAX_WRONG_KEYS as u32 {
            map.entry(k).or_default().push_back(t0);
        }
        bound(&mut map, t0);
        assert!(map.is_empty(), "a full map of live tries starts over");
    }
}

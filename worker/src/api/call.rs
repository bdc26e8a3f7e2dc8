//! One API call as a state machine without I/O: it asks for protocol
//! requests ([`Step::Ask`], answered together in their order), reads the
//! answers, and ends with a [`Response`]. Every piece of account data
//! comes from the master through the typed replies, the same requests a
//! client sends; only the clock and calendar are the worker's own.

use papertrader_common::calendar::{self, Market};
use papertrader_common::payload::{
    self, AssetDetail, Bar, EquityPoint, OrderLine, PortfolioLine, Position, Quote, Trade, UserInfo,
};
use papertrader_common::reply::{Fill, Reply};
use papertrader_common::request::{OrderSpec, Range, Request, Side, Size as ProtoSize, UserView};
use papertrader_common::value::{
    Date, Money, OrderKind, OrderStatus, Quantity, Reason, ReasonCode, SessionId, Symbol, Tif,
    Timestamp, Username,
};
use serde_json::{Value, json};

use super::data::{self, BarsQuery};
use super::json::{self as aj, Book, Exposure};
use super::keys::Who;
use super::query::Query;
use super::query::rfc3339;
use super::route::{self, DataKind, NewOrder, OrderQuery, Part, Route, Size};
use super::{Response, ids};

/// A whole answer to one request of a [`Step::Ask`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A return that is not a data transfer (a failure included).
    Reply(Reply),
    /// A whole data transfer's payload.
    Payload(String),
}

/// What a call does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Send these requests; hand every answer back, in this order.
    Ask(Vec<Request>),
    /// The master refused the key's session: check the key again, then
    /// start over (nothing was changed).
    Reauth,
    /// Answer the client.
    Done(Response),
}

/// What a call may look at besides the master's answers.
pub struct Ctx<'a> {
    /// Now.
    pub now: Timestamp,
    /// The latest quote the worker has of a symbol (the master pushes
    /// them at every price set).
    pub quote: &'a dyn Fn(&Symbol) -> Option<Quote>,
}

impl Ctx<'_> {
    fn price(&self, symbol: &Symbol) -> Option<Money> {
        (self.quote)(symbol).map(|q| q.price)
    }
}

/// Where a call stands.
#[derive(Debug, Clone)]
enum Stage {
    /// The first requests are out.
    First,
    /// A cancel was refused: is the order there at all?
    CancelCheck,
    /// The cancels of `DELETE /v2/orders` are out, for these orders.
    Cancelling(Vec<u64>),
    /// `DELETE /v2/positions?cancel_orders=true`: the cancels are out.
    CloseAllCancelled,
    /// The portfolio and the book are asked for, to close positions.
    Closing,
    /// The orders closing these positions are out.
    ClosingAll(Vec<OrderSpec>, Book),
    /// A replace went through: the orders are asked for, for this id.
    Replaced(u64),
    /// The order closing a position is out.
    Closed(OrderSpec, Book),
    /// The history of each symbol is out: (API symbol, requests).
    Bars(BarsQuery, Vec<(String, usize)>),
    /// The last week of each symbol is out.
    Snapshots(Vec<(String, Symbol)>),
    /// The asset details are out, to tell the crypto-currencies.
    CryptoBook,
}

/// One call in progress.
pub struct Call {
    route: Route,
    /// The key's owner; `None` for market data asked without a key.
    who: Option<Who>,
    stage: Stage,
}

impl Call {
    /// A call of `route` under `who`'s session (none for public market
    /// data).
    pub fn new(route: Route, who: Option<Who>) -> Call {
        Call {
            route,
            who,
            stage: Stage::First,
        }
    }

    /// The session (one that does not exist without a key: the master
    /// refuses it).
    fn session(&self) -> SessionId {
        self.who
            .as_ref()
            .map_or_else(|| SessionId::from_bytes([0; 16]), |w| w.session.clone())
    }

    /// The key's owner, when there is one.
    pub fn owner(&self) -> Option<&Username> {
        self.who.as_ref().map(|w| &w.username)
    }

    fn username(&self) -> Username {
        self.who
            .as_ref()
            .map(|w| w.username.clone())
            .unwrap_or_else(|| Username::parse("-").expect("a valid name"))
    }

    fn user(&self, view: UserView) -> Request {
        Request::User {
            view,
            session: self.session(),
            username: self.username(),
        }
    }

    fn orders(&self) -> Request {
        Request::Orders {
            session: self.session(),
        }
    }

    /// The first step.
    pub fn start(&mut self, ctx: &Ctx<'_>) -> Step {
        let details = Request::AssetDetails;
        match &self.route {
            Route::Account => Step::Ask(vec![
                self.user(UserView::Info),
                self.user(UserView::Portfolio),
                self.orders(),
                Request::EquityHistory {
                    session: self.session(),
                    username: self.username(),
                },
                // Which of the login's portfolios the key trades in.
                Request::Portfolios {
                    session: self.session(),
                },
            ]),
            Route::Clock => Step::Done(clock(ctx.now)),
            Route::PortfolioHistory(_) => Step::Ask(vec![Request::EquityHistory {
                session: self.session(),
                username: self.username(),
            }]),
            Route::Activities { .. } => Step::Ask(vec![self.user(UserView::Transactions), details]),
            Route::Calendar { start, end } => Step::Done(calendar_days(*start, *end, ctx.now)),
            Route::Assets { .. } | Route::Asset(_) => Step::Ask(vec![details]),
            Route::Place(order) => Step::Ask(vec![self.place(order), details]),
            Route::Orders(_) | Route::Order { .. } | Route::ByClientId(_) => {
                Step::Ask(vec![self.orders(), details])
            }
            Route::Cancel(id) => Step::Ask(vec![Request::CancelOrder {
                session: self.session(),
                id: *id,
            }]),
            Route::CancelAll => Step::Ask(vec![self.orders()]),
            Route::Replace { id, change } => Step::Ask(vec![Request::ReplaceOrder {
                session: self.session(),
                id: *id,
                change: *change,
            }]),
            Route::Positions | Route::Position(_) | Route::Close { .. } => {
                if matches!(self.route, Route::Close { .. }) {
                    self.stage = Stage::Closing;
                }
                Step::Ask(vec![self.user(UserView::Portfolio), details])
            }
            Route::CloseAll { cancel: true } => Step::Ask(vec![self.orders()]),
            Route::CloseAll { cancel: false } => {
                self.stage = Stage::Closing;
                Step::Ask(vec![self.user(UserView::Portfolio), details])
            }
            Route::Data {
                kind,
                query,
                single,
                crypto,
            } => {
                let (kind, query, single, crypto) = (*kind, query.clone(), single.clone(), *crypto);
                if crypto {
                    // Crypto data needs no key: it serves crypto-currencies
                    // only, which the asset details tell.
                    self.stage = Stage::CryptoBook;
                    return Step::Ask(vec![details]);
                }
                self.data_start(kind, &query, single, ctx, None)
                    .unwrap_or_else(Step::Done)
            }
        }
    }

    /// The first step of a market data call.
    fn data_start(
        &mut self,
        kind: DataKind,
        query: &Query,
        single: Option<String>,
        ctx: &Ctx<'_>,
        only: Option<&Book>,
    ) -> Result<Step, Response> {
        // The crypto routes name crypto-currencies only.
        let allowed = |s: &Symbol| only.is_none_or(|book| book.is_crypto(s));
        let names: Vec<String> = match &single {
            Some(s) => vec![s.clone()],
            None => query
                .list("symbols")
                .iter()
                .map(|s| s.to_string())
                .collect(),
        };
        if kind != DataKind::Bars && names.is_empty() {
            return Err(Response::error(400, 40010001, "symbols is required"));
        }
        if names.len() > data::MAX_SYMBOLS {
            return Err(Response::error(400, 40010001, "too many symbols"));
        }
        let ours: Vec<(String, Symbol)> = names
            .iter()
            .filter_map(|n| aj::our_symbol(n).map(|s| (n.clone(), s)))
            .filter(|(_, s)| allowed(s))
            .collect();
        match kind {
            DataKind::Quotes | DataKind::Trades => {
                let quotes = kind == DataKind::Quotes;
                let one = |q: &Quote| {
                    if quotes {
                        data::quote(q)
                    } else {
                        data::trade(q)
                    }
                };
                let mut map = serde_json::Map::new();
                for (name, s) in &ours {
                    if let Some(q) = (ctx.quote)(s) {
                        map.insert(name.clone(), one(&q));
                    }
                }
                let body = match &single {
                    Some(name) => {
                        let key = if quotes { "quote" } else { "trade" };
                        let v = map
                            .remove(name)
                            .ok_or_else(|| Response::not_found("no data for this symbol"))?;
                        json!({"symbol": name, key: v})
                    }
                    None => json!({if quotes { "quotes" } else { "trades" }: map}),
                };
                Ok(Step::Done(Response::json(200, &body)))
            }
            DataKind::Snapshots => {
                let today = Date::of_timestamp(ctx.now);
                let asks = ours
                    .iter()
                    .map(|(_, s)| Request::History {
                        range: Range::Week,
                        symbol: s.clone(),
                        date: Some(today),
                    })
                    .collect();
                self.stage = Stage::Snapshots(ours);
                Ok(Step::Ask(asks))
            }
            DataKind::Bars => {
                let q = data::bars_query(query, single.as_deref(), ctx.now)?;
                let mut asks = Vec::new();
                let mut counts = Vec::new();
                for name in &q.symbols {
                    let Some(symbol) = aj::our_symbol(name).filter(|s| allowed(s)) else {
                        continue;
                    };
                    let these = data::bar_requests(&symbol, &q);
                    counts.push((name.clone(), these.len()));
                    asks.extend(these);
                }
                if asks.len() > data::MAX_REQUESTS {
                    return Err(Response::unprocessable(
                        "ask for fewer symbols or a shorter span: it needs too many history reads",
                    ));
                }
                if asks.is_empty() {
                    let empty = serde_json::Map::new();
                    return Ok(Step::Done(bars_answer(empty, None, &single)));
                }
                self.stage = Stage::Bars(q, counts);
                Ok(Step::Ask(asks))
            }
        }
    }

    /// The request that places `order`.
    fn place(&self, order: &NewOrder) -> Request {
        let session = self.session();
        let spec = |quantity| OrderSpec {
            side: order.side,
            symbol: order.symbol.clone(),
            quantity,
            kind: order.kind,
            tif: order.tif,
        };
        let placing = match (order.size, order.class) {
            (Size::Notional(amount), _) => {
                return Request::Trade {
                    side: order.side,
                    session,
                    symbol: order.symbol.clone(),
                    size: ProtoSize::Notional(amount),
                };
            }
            (Size::Qty(q), None) => Request::PlaceOrder {
                session,
                order: spec(q),
            },
            (Size::Qty(q), Some(class)) => Request::PlaceOrderClass {
                session,
                order: spec(q),
                class,
            },
        };
        // The bot's id is kept with the order (placeOrderTagged).
        match &order.client_order_id {
            Some(client) => Request::Tagged {
                client: client.clone(),
                inner: Box::new(placing),
            },
            None => placing,
        }
    }

    /// The answers to the last [`Step::Ask`], in its order.
    pub fn on_answers(&mut self, answers: Vec<Answer>, ctx: &Ctx<'_>) -> Step {
        if answers.iter().any(is_bad_session) {
            return Step::Reauth;
        }
        match self.next(answers, ctx) {
            Ok(step) => step,
            Err(response) => Step::Done(response),
        }
    }

    fn next(&mut self, answers: Vec<Answer>, ctx: &Ctx<'_>) -> Result<Step, Response> {
        let stage = std::mem::replace(&mut self.stage, Stage::First);
        let route = self.route.clone();
        let done = |r: Response| Ok(Step::Done(r));
        match (&route, stage) {
            (Route::Account, _) => done(self.account(&answers, ctx)?),
            (Route::PortfolioHistory(q), _) => {
                let points = payload::parse_lines::<EquityPoint>(text(answers.first())?)
                    .map_err(unreadable)?;
                done(super::history::portfolio(
                    &points,
                    q,
                    Date::of_timestamp(ctx.now),
                ))
            }
            (Route::Activities { types, query }, _) => {
                let lines =
                    payload::parse_lines::<Trade>(text(answers.first())?).map_err(unreadable)?;
                let book = book(answers.get(1))?;
                done(super::history::activities(&lines, types, query, &book))
            }
            (Route::Assets { status, class }, _) => {
                let book = book(answers.first())?;
                let wanted = |d: &&AssetDetail| {
                    status.as_deref().is_none_or(|s| s == "active")
                        && class
                            .as_deref()
                            .is_none_or(|c| c == if d.crypto { "crypto" } else { "us_equity" })
                };
                let list: Vec<Value> = book
                    .assets()
                    .iter()
                    .filter(wanted)
                    .map(|d| aj::asset(d, &book))
                    .collect();
                done(Response::json(200, &Value::Array(list)))
            }
            (Route::Asset(symbol), _) => {
                let book = book(answers.first())?;
                let found = book
                    .find(symbol)
                    .ok_or_else(|| Response::not_found("asset not found"))?;
                done(Response::json(200, &aj::asset(found, &book)))
            }
            (Route::Place(order), _) => {
                let book = book(answers.get(1)).unwrap_or_default();
                match answers.first() {
                    Some(Answer::Reply(Reply::OrderAccepted(id))) => {
                        done(Response::json(200, &placed(order, *id, &book, ctx.now)))
                    }
                    Some(Answer::Reply(Reply::Filled(fill))) => {
                        done(Response::json(200, &notional_fill(order, fill, &book)))
                    }
                    other => Err(refusal(other, Context::Order)),
                }
            }
            (Route::Orders(q), _) => {
                let (lines, book) = (order_lines(answers.first())?, book(answers.get(1))?);
                done(Response::json(200, &Value::Array(listed(&lines, q, &book))))
            }
            (Route::Order { id, nested }, _) => {
                let (lines, book) = (order_lines(answers.first())?, book(answers.get(1))?);
                done(one_order(&lines, *id, *nested, &book))
            }
            (Route::ByClientId(cid), _) => {
                let (lines, book) = (order_lines(answers.first())?, book(answers.get(1))?);
                let kept = lines
                    .iter()
                    .find(|l| l.client.as_ref().is_some_and(|c| c.as_str() == cid))
                    .map(|l| l.id);
                match kept.or_else(|| ids::order_id(cid)) {
                    Some(id) => done(one_order(&lines, id, false, &book)),
                    None => done(Response::not_found("order not found")),
                }
            }
            (Route::Cancel(id), Stage::CancelCheck) => {
                let lines = order_lines(answers.first())?;
                match lines.iter().find(|l| l.id == *id) {
                    Some(line) => done(Response::unprocessable(&format!(
                        "order is not cancelable: it is {}",
                        aj::status(line.status, line.filled.is_some())
                    ))),
                    None => done(Response::not_found("order not found")),
                }
            }
            (Route::Cancel(_), _) => match answers.first() {
                Some(Answer::Reply(Reply::Cancelled(_))) => done(Response::no_content()),
                Some(Answer::Reply(r))
                    if r.reason()
                        .is_some_and(|r| r.code == ReasonCode::UnknownOrder) =>
                {
                    self.stage = Stage::CancelCheck;
                    Ok(Step::Ask(vec![self.orders()]))
                }
                other => Err(refusal(other, Context::Order)),
            },
            (Route::CancelAll, Stage::Cancelling(ids)) => {
                let items: Vec<Value> = ids
                    .iter()
                    .zip(&answers)
                    .map(|(id, answer)| cancel_item(*id, answer))
                    .collect();
                done(Response::json(207, &Value::Array(items)))
            }
            (Route::CancelAll, _) => {
                let lines = order_lines(answers.first())?;
                let ids = cancellable(&lines);
                if ids.is_empty() {
                    return done(Response::json(207, &json!([])));
                }
                let asks = ids.iter().map(|&id| self.cancel(id)).collect();
                self.stage = Stage::Cancelling(ids);
                Ok(Step::Ask(asks))
            }
            (Route::Replace { .. }, Stage::Replaced(new_id)) => {
                let (lines, book) = (order_lines(answers.first())?, book(answers.get(1))?);
                done(one_order(&lines, new_id, false, &book))
            }
            (Route::Replace { .. }, _) => match answers.first() {
                Some(Answer::Reply(Reply::OrderAccepted(new_id))) => {
                    self.stage = Stage::Replaced(*new_id);
                    Ok(Step::Ask(vec![self.orders(), Request::AssetDetails]))
                }
                other => Err(refusal(other, Context::Order)),
            },
            (Route::Positions, _) => {
                let (positions, book) = (portfolio(answers.first())?, book(answers.get(1))?);
                let list: Vec<Value> = positions.iter().map(|p| aj::position(p, &book)).collect();
                done(Response::json(200, &Value::Array(list)))
            }
            (Route::Position(symbol), _) => {
                let (positions, book) = (portfolio(answers.first())?, book(answers.get(1))?);
                let found = find_position(&positions, &book, symbol)
                    .ok_or_else(|| Response::not_found("position does not exist"))?;
                done(Response::json(200, &aj::position(found, &book)))
            }
            (Route::Close { .. }, Stage::Closed(spec, book)) => match answers.first() {
                Some(Answer::Reply(Reply::OrderAccepted(id))) => done(Response::json(
                    200,
                    &placed_spec(&spec, None, *id, &book, ctx.now),
                )),
                other => Err(refusal(other, Context::Order)),
            },
            (Route::Close { symbol, part }, _) => {
                let (positions, book) = (portfolio(answers.first())?, book(answers.get(1))?);
                let found = find_position(&positions, &book, symbol)
                    .ok_or_else(|| Response::not_found("position does not exist"))?;
                // A percentage of an asset traded in whole shares closes
                // the whole shares it comes to.
                let whole = book.get(&found.symbol).is_some_and(|d| !d.fractional);
                let qty = route::part_of(*part, found.quantity)
                    .and_then(|q| {
                        if whole {
                            Quantity::from_shares(whole_part(q.shares()))
                        } else {
                            Some(q)
                        }
                    })
                    .ok_or_else(|| Response::forbidden("insufficient qty available for order"))?;
                let spec = closing(&found.symbol, found.quantity.0 < 0, qty);
                let ask = self.placing(&spec);
                self.stage = Stage::Closed(spec, book);
                Ok(Step::Ask(vec![ask]))
            }
            (Route::CloseAll { .. }, Stage::ClosingAll(specs, book)) => {
                let items: Vec<Value> = specs
                    .iter()
                    .zip(&answers)
                    .map(|(spec, answer)| close_item(spec, answer, &book, ctx.now))
                    .collect();
                done(Response::json(207, &Value::Array(items)))
            }
            (Route::CloseAll { .. }, Stage::Closing) => {
                let (positions, book) = (portfolio(answers.first())?, book(answers.get(1))?);
                if positions.is_empty() {
                    return done(Response::json(207, &json!([])));
                }
                let specs: Vec<OrderSpec> = positions
                    .iter()
                    .filter_map(|p| {
                        let qty = route::part_of(Part::All, p.quantity)?;
                        Some(closing(&p.symbol, p.quantity.0 < 0, qty))
                    })
                    .collect();
                let asks = specs.iter().map(|spec| self.placing(spec)).collect();
                self.stage = Stage::ClosingAll(specs, book);
                Ok(Step::Ask(asks))
            }
            (Route::CloseAll { .. }, Stage::CloseAllCancelled) => {
                self.stage = Stage::Closing;
                Ok(Step::Ask(vec![
                    self.user(UserView::Portfolio),
                    Request::AssetDetails,
                ]))
            }
            (Route::CloseAll { .. }, _) => {
                let lines = order_lines(answers.first())?;
                let ids = cancellable(&lines);
                if ids.is_empty() {
                    self.stage = Stage::Closing;
                    return Ok(Step::Ask(vec![
                        self.user(UserView::Portfolio),
                        Request::AssetDetails,
                    ]));
                }
                self.stage = Stage::CloseAllCancelled;
                Ok(Step::Ask(ids.iter().map(|&id| self.cancel(id)).collect()))
            }
            (
                Route::Data {
                    kind,
                    query,
                    single,
                    ..
                },
                Stage::CryptoBook,
            ) => {
                let book = book(answers.first())?;
                let single = single.clone();
                self.data_start(*kind, query, single, ctx, Some(&book))
                    .or_else(|r| Ok(Step::Done(r)))
            }
            (Route::Data { single, .. }, Stage::Bars(q, counts)) => {
                let mut answers = answers.into_iter();
                let mut by_symbol = Vec::new();
                for (name, n) in counts {
                    let mut bars = Vec::new();
                    for answer in answers.by_ref().take(n) {
                        if let Answer::Payload(p) = answer {
                            bars.extend(payload::parse_lines::<Bar>(&p).map_err(unreadable)?);
                        }
                    }
                    by_symbol.push((name, data::gather(&bars, &q)));
                }
                let (page, next) = data::page(by_symbol, &q);
                done(bars_answer(page, next, single))
            }
            (Route::Data { single, crypto, .. }, Stage::Snapshots(symbols)) => {
                let today = Date::of_timestamp(ctx.now).start();
                let mut map = serde_json::Map::new();
                for ((name, symbol), answer) in symbols.iter().zip(&answers) {
                    let Some(quote) = (ctx.quote)(symbol) else {
                        continue;
                    };
                    let previous = match answer {
                        Answer::Payload(p) => payload::parse_lines::<Bar>(p)
                            .map_err(unreadable)?
                            .into_iter()
                            .filter(|b| b.time < today)
                            .max_by_key(|b| b.time),
                        Answer::Reply(_) => None,
                    };
                    map.insert(name.clone(), data::snapshot(&quote, previous.as_ref()));
                }
                let body = match (single, *crypto) {
                    (Some(name), _) => map
                        .remove(name)
                        .ok_or_else(|| Response::not_found("no data for this symbol"))?,
                    (None, true) => json!({"snapshots": map}),
                    (None, false) => Value::Object(map),
                };
                done(Response::json(200, &body))
            }
            (Route::Clock | Route::Calendar { .. } | Route::Data { .. }, _) => {
                done(Response::internal("no request was made"))
            }
        }
    }

    fn cancel(&self, id: u64) -> Request {
        Request::CancelOrder {
            session: self.session(),
            id,
        }
    }

    fn placing(&self, spec: &OrderSpec) -> Request {
        Request::PlaceOrder {
            session: self.session(),
            order: spec.clone(),
        }
    }

    /// `/v2/account`: info, portfolio, orders, equity history.
    fn account(&self, answers: &[Answer], ctx: &Ctx<'_>) -> Result<Response, Response> {
        let info = UserInfo::parse(text(answers.first())?).map_err(unreadable)?;
        let Some(private) = info.private else {
            return Err(Response::internal(
                "the master sent the public view of the account",
            ));
        };
        let positions = portfolio(answers.get(1))?;
        let lines = order_lines(answers.get(2))?;
        let today = Date::of_timestamp(ctx.now);
        let last_equity = match answers.get(3) {
            Some(Answer::Payload(p)) => payload::parse_lines::<EquityPoint>(p)
                .map_err(unreadable)?
                .iter()
                .rfind(|point| point.date < today)
                .map(|point| point.equity),
            _ => None,
        };
        // The portfolio the key trades in (protocol 1.2): its number names
        // the account; an older master's refusal means the first.
        let portfolio = match answers.get(4) {
            Some(Answer::Payload(p)) => payload::parse_lines::<PortfolioLine>(p)
                .map_err(unreadable)?
                .iter()
                .find(|line| line.in_use)
                .map_or(1, |line| line.id),
            _ => 1,
        };
        let facts = aj::AccountFacts {
            username: info.username.as_str(),
            portfolio,
            created: info.created,
            cash: private.cash,
            equity: private.equity,
            last_equity,
            exposure: Exposure::of(&positions),
            reserved: reserved(&lines, ctx),
        };
        Ok(Response::json(200, &aj::account(&facts)))
    }
}

/// A market order for the day that closes `qty` of a position (buys back
/// a short).
fn closing(symbol: &Symbol, short: bool, qty: Quantity) -> OrderSpec {
    OrderSpec {
        side: if short { Side::Buy } else { Side::Sell },
        symbol: symbol.clone(),
        quantity: qty,
        kind: OrderKind::Market,
        tif: Tif::Day,
    }
}

/// The whole shares of `s`, rounded down.
fn whole_part(s: papertrader_common::value::Shares) -> papertrader_common::value::Shares {
    let scale = papertrader_common::value::SHARE_SCALE;
    papertrader_common::value::Shares(s.0 - s.0.rem_euclid(scale))
}

/// One item of `DELETE /v2/positions`.
fn close_item(spec: &OrderSpec, answer: &Answer, book: &Book, now: Timestamp) -> Value {
    let api = book.api_symbol(&spec.symbol);
    match answer {
        Answer::Reply(Reply::OrderAccepted(id)) => json!({
            "symbol": api,
            "status": 200,
            "order_id": ids::order_uuid(*id),
            "body": placed_spec(spec, None, *id, book, now),
        }),
        other => {
            let r = refusal(Some(other), Context::Order);
            let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
            json!({"symbol": api, "status": r.status, "body": body})
        }
    }
}

/// One item of `DELETE /v2/orders`.
fn cancel_item(id: u64, answer: &Answer) -> Value {
    let status = match answer {
        Answer::Reply(Reply::Cancelled(_)) => 200,
        other => refusal(Some(other), Context::Order).status,
    };
    json!({"id": ids::order_uuid(id), "status": status, "body": Value::Null})
}

/// The orders a cancel-all cancels: open or triggered, and held legs whose
/// entry is not among them (cancelling an entry cancels its legs).
fn cancellable(lines: &[OrderLine]) -> Vec<u64> {
    lines
        .iter()
        .filter(|l| matches!(l.status, OrderStatus::Open | OrderStatus::Triggered))
        .map(|l| l.id)
        .collect()
}

/// What open buy orders hold back of the cash: what is left of each at
/// its limit, or at the latest price for a market or stop order.
fn reserved(lines: &[OrderLine], ctx: &Ctx<'_>) -> Money {
    let mut sum: i64 = 0;
    for l in lines
        .iter()
        .filter(|l| l.side == Side::Buy && l.status.is_live())
    {
        let left = l.quantity.shares().0 - l.filled.map_or(0, |f| f.quantity.shares().0);
        let price = l
            .kind
            .limit()
            .or_else(|| ctx.price(&l.symbol))
            .unwrap_or(Money::ZERO);
        let cost = price
            .buy_cost(papertrader_common::value::Shares(left.max(0)))
            .unwrap_or(Money::ZERO);
        sum = sum.saturating_add(cost.0);
    }
    Money(sum)
}

fn is_bad_session(answer: &Answer) -> bool {
    matches!(answer, Answer::Reply(r) if r.reason().is_some_and(|r| r.code == ReasonCode::BadSession))
}

fn unreadable(err: impl std::fmt::Display) -> Response {
    Response::internal(&format!("the master's answer could not be read: {err}"))
}

/// The payload of a data answer, or the refusal it was.
fn text(answer: Option<&Answer>) -> Result<&str, Response> {
    match answer {
        Some(Answer::Payload(p)) => Ok(p),
        other => Err(refusal(other, Context::Data)),
    }
}

fn book(answer: Option<&Answer>) -> Result<Book, Response> {
    let details = payload::parse_lines::<AssetDetail>(text(answer)?).map_err(unreadable)?;
    Ok(Book::new(details))
}

fn order_lines(answer: Option<&Answer>) -> Result<Vec<OrderLine>, Response> {
    payload::parse_lines(text(answer)?).map_err(unreadable)
}

fn portfolio(answer: Option<&Answer>) -> Result<Vec<Position>, Response> {
    payload::parse_lines(text(answer)?).map_err(unreadable)
}

fn find_position<'a>(positions: &'a [Position], book: &Book, api: &str) -> Option<&'a Position> {
    let symbol = book
        .find(api)
        .map(|d| d.symbol.clone())
        .or_else(|| aj::our_symbol(api))?;
    positions.iter().find(|p| p.symbol == symbol)
}

/// `GET /v2/orders`: the lines the query keeps, as orders (legs under
/// their entry when nested).
fn listed(lines: &[OrderLine], q: &OrderQuery, book: &Book) -> Vec<Value> {
    let symbols: Vec<Symbol> = q
        .symbols
        .iter()
        .filter_map(|s| {
            book.find(s)
                .map(|d| d.symbol.clone())
                .or_else(|| aj::our_symbol(s))
        })
        .collect();
    let keep = |l: &&OrderLine| {
        let open = l.status.is_live();
        let status_ok = match q.status.as_str() {
            "open" => open,
            "closed" => !open,
            _ => true,
        };
        status_ok
            && (symbols.is_empty() || symbols.contains(&l.symbol))
            && q.side.is_none_or(|s| s == l.side)
            && q.after.is_none_or(|t| l.created > t)
            && q.until.is_none_or(|t| l.created <= t)
            && !(q.nested && l.parent.is_some() && lines.iter().any(|p| Some(p.id) == l.parent))
    };
    let mut kept: Vec<&OrderLine> = lines.iter().filter(keep).collect();
    if q.ascending {
        kept.reverse();
    }
    kept.truncate(q.limit);
    kept.iter()
        .map(|l| aj::order(l, book, q.nested.then(|| legs(lines, l.id, book))))
        .collect()
}

fn legs(lines: &[OrderLine], parent: u64, book: &Book) -> Vec<Value> {
    lines
        .iter()
        .filter(|l| l.parent == Some(parent))
        .map(|l| aj::order(l, book, None))
        .collect()
}

fn one_order(lines: &[OrderLine], id: u64, nested: bool, book: &Book) -> Response {
    match lines.iter().find(|l| l.id == id) {
        Some(line) => {
            let legs = nested.then(|| legs(lines, id, book));
            Response::json(200, &aj::order(line, book, legs))
        }
        None => Response::not_found("order not found"),
    }
}

/// The order object of an order just accepted, from what was asked.
fn placed(order: &NewOrder, id: u64, book: &Book, now: Timestamp) -> Value {
    let Size::Qty(quantity) = order.size else {
        return json!({});
    };
    let spec = OrderSpec {
        side: order.side,
        symbol: order.symbol.clone(),
        quantity,
        kind: order.kind,
        tif: order.tif,
    };
    let client = order.client_order_id.as_ref().map(|c| c.as_str());
    let mut v = placed_spec(&spec, client, id, book, now);
    if let Some(class) = order.class {
        v["order_class"] = Value::String(class.class.name().to_string());
    }
    v
}

fn placed_spec(
    spec: &OrderSpec,
    client_id: Option<&str>,
    id: u64,
    book: &Book,
    now: Timestamp,
) -> Value {
    let line = OrderLine {
        id,
        created: now,
        side: spec.side,
        symbol: spec.symbol.clone(),
        quantity: spec.quantity,
        kind: spec.kind,
        tif: spec.tif,
        status: OrderStatus::Open,
        updated: now,
        txid: None,
        mark: None,
        class: None,
        parent: None,
        filled: None,
        client: None,
    };
    let mut v = aj::order(&line, book, None);
    if let Some(cid) = client_id {
        v["client_order_id"] = Value::String(cid.to_string());
    }
    v["status"] = Value::String("accepted".into());
    v
}

/// The order object of a notional order, filled when it answers.
fn notional_fill(order: &NewOrder, fill: &Fill, book: &Book) -> Value {
    let id = ids::fill_uuid(u64::try_from(fill.txid).unwrap_or_default());
    let at = rfc3339(fill.time);
    let notional = match order.size {
        Size::Notional(m) => aj::money(m),
        Size::Qty(_) => Value::Null,
    };
    json!({
        "id": id,
        "client_order_id": order
            .client_order_id
            .as_ref()
            .map_or_else(|| id.clone(), |c| c.to_string()),
        "created_at": at, "updated_at": at, "submitted_at": at, "filled_at": at,
        "expired_at": Value::Null, "canceled_at": Value::Null, "failed_at": Value::Null,
        "replaced_at": Value::Null, "replaced_by": Value::Null, "replaces": Value::Null,
        "asset_id": ids::named_uuid("asset", fill.symbol.as_str()),
        "symbol": book.api_symbol(&fill.symbol),
        "asset_class": if book.is_crypto(&fill.symbol) { "crypto" } else { "us_equity" },
        "notional": notional,
        "qty": Value::Null,
        "filled_qty": fill.quantity.to_string(),
        "filled_avg_price": aj::money(fill.price),
        "order_class": "",
        "order_type": "market", "type": "market",
        "side": fill.side.name(),
        "time_in_force": "day",
        "limit_price": Value::Null, "stop_price": Value::Null,
        "trail_price": Value::Null, "trail_percent": Value::Null, "hwm": Value::Null,
        "status": "filled",
        "extended_hours": false,
        "legs": Value::Null,
    })
}

/// What a refused request was about, for the sentence.
#[derive(Debug, Clone, Copy)]
enum Context {
    /// An order, a cancel or a replace.
    Order,
    /// A read.
    Data,
}

/// The HTTP answer to a failure return (or to an answer of the wrong
/// kind).
fn refusal(answer: Option<&Answer>, context: Context) -> Response {
    let reason = match answer {
        Some(Answer::Reply(reply)) => match reply.reason() {
            Some(reason) => reason.clone(),
            None => Reason::new(
                ReasonCode::Internal,
                format!("unexpected {}", reply.instr().name()),
            ),
        },
        Some(Answer::Payload(_)) => {
            Reason::new(ReasonCode::Internal, "an unexpected data transfer")
        }
        None => Reason::new(ReasonCode::Internal, "no answer"),
    };
    let text = reason.text.as_str();
    let with = |s: &str| {
        if text.is_empty() {
            s.to_string()
        } else {
            format!("{s}: {text}")
        }
    };
    match reason.code {
        ReasonCode::BadSession | ReasonCode::BadCredentials => {
            Response::unauthorized("request is not authorized")
        }
        ReasonCode::InsufficientFunds => Response::forbidden(&with(
            "insufficient buying power (insufficient balance for USD)",
        )),
        ReasonCode::InsufficientShares => {
            Response::forbidden(&with("insufficient qty available for order"))
        }
        ReasonCode::TooManyOrders => Response::forbidden(&with("too many open orders")),
        ReasonCode::Forbidden => Response::forbidden(&with("forbidden")),
        ReasonCode::UnknownOrder => Response::not_found("order not found"),
        ReasonCode::UnknownAsset => Response::error(422, 40010001, &with("asset not found")),
        ReasonCode::BadQuantity
        | ReasonCode::BadPrice
        | ReasonCode::BadArguments
        | ReasonCode::BadDate => Response::error(422, 40010001, &with("invalid order")),
        ReasonCode::MarketClosed => Response::unprocessable(&with("market is closed")),
        ReasonCode::RateLimited => Response::rate_limited(&with("rate limit exceeded")),
        ReasonCode::Unavailable | ReasonCode::UnknownOutcome => {
            Response::unavailable(&with(match context {
                Context::Order => {
                    "the master could not be reached; see GET /v2/orders for what happened"
                }
                Context::Data => "the master could not be reached",
            }))
        }
        _ => Response::internal(&with("the server failed")),
    }
}

/// `/v2/clock` for the NYSE.
fn clock(now: Timestamp) -> Response {
    let open = calendar::is_open(Market::Nyse, now);
    let (next_open, next_close) = match calendar::current_or_next_session(Market::Nyse, now) {
        Some((o, c)) if open => {
            let after = calendar::next_open(Market::Nyse, Timestamp(c.0 + 1)).unwrap_or(o);
            (after, c)
        }
        Some((o, c)) => (o, c),
        None => (now, now),
    };
    Response::json(
        200,
        &json!({
            "timestamp": rfc3339(now),
            "is_open": open,
            "next_open": rfc3339(next_open),
            "next_close": rfc3339(next_close),
        }),
    )
}

/// `/v2/calendar`: the NYSE's trading days from `start` to `end` (by
/// default, today and the year after), at most
/// [`route::MAX_CALENDAR_DAYS`] days apart.
fn calendar_days(start: Option<Date>, end: Option<Date>, now: Timestamp) -> Response {
    let start = start.unwrap_or_else(|| Date::of_timestamp(now));
    let end = end.unwrap_or_else(|| Date(start.0.saturating_add(time_days(365))));
    if end < start {
        return Response::unprocessable("end is before start");
    }
    if (end.0 - start.0).whole_days() > route::MAX_CALENDAR_DAYS {
        return Response::unprocessable(&format!(
            "at most {} days at once",
            route::MAX_CALENDAR_DAYS
        ));
    }
    let mut days = Vec::new();
    let mut d = start;
    while d <= end {
        if let Some((is_trading, early)) =
            calendar::trading_day(d.0.year(), d.0.month() as u8, d.0.day())
            && is_trading
        {
            let close = if early { "13:00" } else { "16:00" };
            days.push(json!({
                "date": d.to_string(),
                "open": "09:30",
                "close": close,
                "session_open": "0400",
                "session_close": "2000",
                "settlement_date": d.to_string(),
            }));
        }
        match d.0.next_day() {
            Some(next) => d = Date(next),
            None => break,
        }
    }
    Response::json(200, &Value::Array(days))
}

/// The answer of a bars call: keyed by symbol, or the list of the path
/// form's one symbol.
fn bars_answer(
    page: serde_json::Map<String, Value>,
    next: Option<String>,
    single: &Option<String>,
) -> Response {
    let body = match single {
        Some(name) => {
            let bars = page.get(name).cloned().unwrap_or_else(|| json!([]));
            json!({"bars": bars, "symbol": name, "next_page_token": next})
        }
        None => json!({"bars": page, "next_page_token": next}),
    };
    Response::json(200, &body)
}

fn time_days(n: i64) -> time::Duration {
    time::Duration::days(n)
}

#[cfg(test)]
mod tests;

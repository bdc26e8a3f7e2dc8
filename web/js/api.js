// The app's view of the server: a session over two WebSockets, one in
// command state (login, trades, orders) and one switched to data state
// (prices, history, portfolio), each reopened when it closes. Every
// payload line is parsed here once, money into BigInt units.
//
// Live: once signed in, the data connection watches prices (protocol
// 1.2 watchPrices): `quotes` holds every asset's day so far, and each
// price set the worker pushes reaches the 'prices' listeners. When that
// connection closes the status turns 'reconnecting' (after 30 s of
// failures 'offline') and it is reopened with a backoff of at most 2 s;
// orders are refused here meanwhile. Open orders are followed: after a
// price set that finds any open, getOrders tells which filled ('order'
// listeners).
//
// Portfolios (protocol 1.2): the session acts on one portfolio, kept at
// the master (usePortfolio). A switch clears the orders followed, tells
// the 'portfolio' listeners (the screens draw again) and, for a session
// kept in the browser, the other tabs sharing it (a storage event, as a
// logout is told).
import * as codec from './codec.js';
import { Conn } from './connection.js';
import { ReasonError } from './reasons.js';
import { SignInError } from './oidc.js';

const STORE = 'papertrader.session';
// The last portfolio switch of a kept session, for the other tabs.
const SWITCHED = 'papertrader.portfolio';
const BACKOFF_MS = [250, 500, 1000, 2000];
const OFFLINE_AFTER_MS = 30000;
const KEEPALIVE_MS = 60000;
// A keepalive (or going live) unanswered this long means the connection
// died silently.
const ANSWER_WITHIN_MS = 15000;
const LIVE = new Set(['open', 'triggered', 'held']);

/** An order or trade not sent because the connection is down. */
export class OfflineError extends Error {
  constructor() {
    super('You are offline: nothing was sent. The app reconnects by itself; try again once it says Live.');
  }
}

/** A position line (getUserPortfolio, getGameHoldings): SYMBOL QUANTITY
 *  AVG_COST PRICE VALUE. */
export function positionOf([symbol, quantity, avg, price, value]) {
  return {
    symbol, quantity: codec.parseShares(quantity), avgCost: codec.parseMoney(avg),
    price: codec.parseMoney(price), value: codec.parseMoney(value),
  };
}

/** A leaderboard line (getLeaderboard, getStandings): RANK USERNAME
 *  RETURN, the return a percent with 2 decimals as text. */
export function standingOf([rank, username, ret]) {
  return { rank, username, ret };
}

/** A getPortfolios line: PORTFOLIO_ID STATUS IN_USE GAME_ID CASH
 *  START_CASH NAME. Ids stay text (digits, up to 2^53). */
export function portfolioOf([id, status, inUse, game, cash, startCash, name]) {
  return {
    id, status, inUse: inUse === 'yes', game: game === '-' ? null : game,
    cash: codec.parseMoney(cash), startCash: codec.parseMoney(startCash), name,
  };
}

/** A getGames line: GAME_ID STATE ROLE PLAYERS START END NAME (the name
 *  the rest, spaces and all); role null for `-` (a public game). */
export function gameOf([id, state, role, players, start, end, name]) {
  return {
    id, state, role: role === '-' ? null : role, players: Number(players),
    start: Number(start), end: Number(end), name,
  };
}

/** The getGame line: GAME_ID STATE ORGANISER PLAYERS CODE RULES; code
 *  null for `-` (only the organiser is told it). */
export function gameDetailOf([id, state, organiser, players, code, rules]) {
  return {
    id, state, organiser, players: Number(players), code: code === '-' ? null : code,
    rules: parseRules(rules),
  };
}

/** The order types a game may allow, in the server's order. */
export const ORDER_TYPES = ['market', 'limit', 'stop', 'stop-limit', 'trailing-stop'];

/** A game's rules with every default but its name and times. */
export function defaultRules(name, start, end) {
  return {
    name, start, end, cash: 100000n * codec.UNIT, assets: null, orders: [...ORDER_TYPES],
    short: true, fractional: true, fees: 'master', cap: null, late: true, holdings: 'end',
    resets: false, public: false,
  };
}

/** A rules text (papertrader-protocol(7): KEY=VALUE words, `name=` last
 *  and running to the end) as values: times in Unix seconds, cash in
 *  units, assets null for all, cap null for none; keys left out take
 *  their default. Null when it is not rules. */
export function parseRules(text) {
  const t = String(text ?? '');
  const at = t.startsWith('name=') ? 0 : t.indexOf(' name=') + 1;
  if (at === 0 && !t.startsWith('name=')) return null;
  const rules = defaultRules(t.slice(at + 5), null, null);
  const yes = { yes: true, no: false };
  for (const word of t.slice(0, at).split(' ').filter((w) => w)) {
    const eq = word.indexOf('=');
    if (eq < 0) return null;
    const [key, value] = [word.slice(0, eq), word.slice(eq + 1)];
    if (key === 'start' || key === 'end') {
      if (!/^\d{1,12}$/.test(value)) return null;
      rules[key] = Number(value);
    } else if (key === 'cash') {
      rules.cash = codec.parseMoney(value);
      if (rules.cash === null) return null;
    } else if (key === 'assets') {
      rules.assets = value === 'all' ? null : value.split(',');
    } else if (key === 'orders') {
      rules.orders = value.split(',');
      if (!rules.orders.every((o) => ORDER_TYPES.includes(o))) return null;
    } else if (['short', 'fractional', 'late', 'resets', 'public'].includes(key)) {
      if (!(value in yes)) return null;
      rules[key] = yes[value];
    } else if (key === 'fees' && (value === 'master' || value === 'none')) {
      rules.fees = value;
    } else if (key === 'cap') {
      rules.cap = value === 'none' ? null : Number(value);
      if (value !== 'none' && !/^\d{1,3}$/.test(value)) return null;
    } else if (key === 'holdings' && ['never', 'end', 'always'].includes(value)) {
      rules.holdings = value;
    } else {
      return null;
    }
  }
  return rules.start === null || rules.end === null ? null : rules;
}

/** Rules as createGame and changeGame take them: every key, in the
 *  server's order, the name last. */
export function rulesText(r) {
  const yn = (b) => (b ? 'yes' : 'no');
  const orders = ORDER_TYPES.filter((o) => r.orders.includes(o));
  return [
    `start=${r.start}`, `end=${r.end}`, `cash=${codec.formatMoney(r.cash).replaceAll(',', '')}`,
    `assets=${r.assets === null ? 'all' : r.assets.join(',')}`, `orders=${orders.join(',')}`,
    `short=${yn(r.short)}`, `fractional=${yn(r.fractional)}`, `fees=${r.fees}`,
    `cap=${r.cap === null ? 'none' : r.cap}`, `late=${yn(r.late)}`, `holdings=${r.holdings}`,
    `resets=${yn(r.resets)}`, `public=${yn(r.public)}`, `name=${r.name}`,
  ].join(' ');
}

/** One line of getAssetInfo or of a price push, parsed. */
export function quoteOf([sym, open, high, low, close, volume, time]) {
  return {
    symbol: sym, open: codec.parseMoney(open), high: codec.parseMoney(high),
    low: codec.parseMoney(low), close: codec.parseMoney(close), volume, time: Number(time),
  };
}

export class Api {
  constructor(url) {
    this.url = url ?? `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`;
    this.cmd = null;
    this.data = null;
    this.opening = { cmd: null, data: null };
    this.session = null;
    this.username = null;
    this.portfolioId = null;  // the portfolio in use, once getPortfolios told
    this.switches = 0;        // switches seen, so a stale getPortfolios is known
    this.onSessionEnd = null;
    this.status = 'idle';     // idle (signed out), live, reconnecting, offline
    this.quotes = new Map();  // symbol -> quoteOf(), the newest of each
    this.listeners = { prices: new Set(), status: new Set(), order: new Set(), portfolio: new Set() };
    this.orderState = new Map(); // open orders followed: id -> {status, filled, symbol}
    this.attempt = 0;
    this.failingSince = null;
    this.retry = null;
    this.connecting = false;
    this.checking = false;
    this.recheck = false;
    this.keepalive = null;
    addEventListener('offline', () => {
      if (this.session && (this.retry || this.connecting)) this.setStatus('offline');
    });
    addEventListener('online', () => { if (this.retry) { clearTimeout(this.retry); this.retry = null; this.goLive(); } });
    // Another tab logged this kept session out (or in as someone else),
    // or switched its portfolio.
    addEventListener('storage', (ev) => {
      if (ev.key === SWITCHED && this.session && this.kept) {
        let told = null;
        try { told = JSON.parse(ev.newValue ?? 'null'); } catch { told = null; }
        if (told?.session === this.session) this.switched(String(told.id), false);
        return;
      }
      if (ev.key !== STORE || !this.session || !this.kept) return;
      let saved = null;
      try { saved = JSON.parse(ev.newValue ?? 'null'); } catch { saved = null; }
      if (saved?.session !== this.session) {
        this.forget();
        if (this.onSessionEnd) this.onSessionEnd();
      }
    });
  }

  /** Calls `fn` on each event of `kind` (prices, status, order,
   *  portfolio: {id, here, moved} after a switch, here false when another
   *  tab made it, moved when the master did); returns
   *  the function that stops it. */
  on(kind, fn) {
    this.listeners[kind].add(fn);
    return () => this.listeners[kind].delete(fn);
  }

  emit(kind, value) {
    for (const fn of [...this.listeners[kind]]) fn(value);
  }

  setStatus(status) {
    if (status === this.status) return;
    this.status = status;
    this.emit('status', status);
  }

  /** Opens the data connection and watches prices; on failure tries
   *  again after the backoff. Resolves when live or given up for now. */
  async goLive() {
    if (!this.session || this.connecting) return;
    this.connecting = true;
    if (this.status === 'idle') this.setStatus('connecting');
    this.startKeepalive();
    // A switchState or watchPrices that never comes back fails the try.
    const late = setTimeout(() => { if (this.data && !this.data.closed) this.data.close(); }, ANSWER_WITHIN_MS);
    try {
      const c = await this.conn('data');
      c.onprices = (text) => this.applyPrices(text);
      c.onclose = () => { if (this.data === c) this.lost(); };
      const r = await c.request('watchPrices');
      if (r.name !== 'data') {
        this.checkSession(r);
        throw new ReasonError(r);
      }
      this.applyPrices(r.text);
      this.attempt = 0;
      this.failingSince = null;
      this.setStatus('live');
      this.startKeepalive();
      this.checkOrders();
    } catch {
      this.lost();
    } finally {
      clearTimeout(late);
      this.connecting = false;
    }
  }

  /** The data connection closed or could not open: one retry is
   *  scheduled (a second report of the same loss changes nothing), after
   *  the backoff with a quarter of it random, so that many browsers do not
   *  come back in step. */
  lost() {
    if (!this.session) { this.setStatus('idle'); return; }
    this.failingSince ??= Date.now();
    const gone = Date.now() - this.failingSince > OFFLINE_AFTER_MS || navigator.onLine === false;
    this.setStatus(gone ? 'offline' : 'reconnecting');
    if (this.retry) return;
    const base = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    this.attempt += 1;
    this.retry = setTimeout(() => { this.retry = null; this.goLive(); }, base * (0.75 + Math.random() / 4));
  }

  /** Both connections send something at least once a minute, so the
   *  worker's idle timeout never ends them (an expirable session ends
   *  with its connection). */
  startKeepalive() {
    if (this.keepalive) return;
    let seen = {};
    this.keepalive = setInterval(() => {
      for (const kind of ['cmd', 'data']) {
        const c = this[kind];
        if (!c || c.closed || c.ws?.readyState !== WebSocket.OPEN || !this.session) continue;
        // The data connection is asked every minute, with the session (a
        // logout elsewhere shows as bad-session); the command connection
        // when it has been quiet. One that died without a close (no pushes
        // come while markets are shut) shows by its silence.
        if (kind === 'data' || (seen[kind] === c.sent && !c.inFlight.length)) {
          const silent = setTimeout(() => {
            if (this[kind] !== c || c.closed) return;
            c.onclose = null;
            c.close();
            if (kind === 'data') this.lost();
          }, ANSWER_WITHIN_MS);
          const probe = kind === 'data' ? ['getWatchlist', [this.session]] : ['getWorkerList', []];
          c.request(...probe).then((r) => {
            clearTimeout(silent);
            if (kind === 'data' && r.name !== 'data') this.checkSession(r);
          }, () => clearTimeout(silent));
        }
        seen = { ...seen, [kind]: c.sent };
      }
    }, KEEPALIVE_MS);
  }

  /** A watchPrices answer or a push: the quotes it holds. */
  applyPrices(text) {
    const changed = codec.lines(text).filter((l) => l.length >= 7).map(quoteOf);
    for (const q of changed) this.quotes.set(q.symbol, q);
    this.emit('prices', changed);
    // Orders can fill only where prices moved.
    const moved = new Set(changed.map((q) => q.symbol));
    if ([...this.orderState.values()].some((o) => !o.symbol || moved.has(o.symbol))) this.checkOrders();
  }

  /** Newest quote time of all. */
  newest() {
    let t = 0;
    for (const q of this.quotes.values()) if (q.time > t) t = q.time;
    return t;
  }

  /** Follows an order just placed: the next price sets tell its fate. */
  follow(id, symbol) {
    if (!this.orderState.has(id)) this.orderState.set(id, { status: 'open', filled: 0n, symbol });
  }

  /** Reads the orders and tells the 'order' listeners what changed for
   *  those followed ({order, before}); open ones not followed yet (placed
   *  elsewhere, a class's exits) are followed from now on. */
  async checkOrders() {
    if (!this.session) return;
    if (this.checking) { this.recheck = true; return; }
    this.checking = true;
    // Only orders followed before the read can be missing from it (one
    // placed meanwhile is not in it yet).
    const asked = new Set(this.orderState.keys());
    try {
      const orders = await this.orders();
      const seen = new Set();
      for (const o of orders) {
        seen.add(o.id);
        const before = this.orderState.get(o.id);
        const now = { status: o.status, filled: o.filled ?? 0n, symbol: o.symbol };
        if (before && (before.status !== now.status || before.filled !== now.filled)) {
          this.emit('order', { order: o, before });
        }
        if (LIVE.has(o.status)) this.orderState.set(o.id, now);
        else this.orderState.delete(o.id);
      }
      for (const id of asked) if (!seen.has(id)) this.orderState.delete(id);
    } catch { /* the next price set tries again */ } finally {
      this.checking = false;
    }
    if (this.recheck) {
      this.recheck = false;
      this.checkOrders();
    }
  }

  requireLive() {
    if (this.status !== 'live') throw new OfflineError();
  }

  /** The connection of `kind` (cmd or data), opened (and for data
   *  switched) once however many callers ask at the same time: the
   *  switchState must be the first request on it. */
  conn(kind) {
    const c = this[kind];
    if (c && !c.closed) return this.opening[kind];
    const fresh = new Conn(this.url);
    this[kind] = fresh;
    this.opening[kind] = (async () => {
      await fresh.open();
      if (kind === 'data') {
        const r = await fresh.request('switchState', [this.session, 'data']);
        if (r.name !== 'stateSwitchSuccess') {
          fresh.close();
          this.checkSession(r);
          throw new ReasonError(r);
        }
      }
      return fresh;
    })();
    return this.opening[kind];
  }

  /** A command; resolves with the reply when it is `success`, throws a
   *  ReasonError otherwise. */
  async command(name, args, success) {
    const r = await (await this.conn('cmd')).request(name, args);
    if (r.name !== success) {
      this.checkSession(r);
      throw new ReasonError(r);
    }
    return r.args;
  }

  /** A data request's payload text. */
  async fetch(name, args = []) {
    const r = await (await this.conn('data')).request(name, args);
    if (r.name !== 'data') {
      this.checkSession(r);
      throw new ReasonError(r);
    }
    return r.text;
  }

  checkSession(reply) {
    const reason = reply.args?.[reply.args.length - 1] ?? '';
    if (reason.startsWith('bad-session') && this.session) {
      this.forget();
      if (this.onSessionEnd) this.onSessionEnd();
    }
  }

  // ---- accounts ----

  async register(username, email, password) {
    await this.command('register', [username, email, codec.hashedPass(username, password)], 'registerSuccess');
  }

  /** Logs in: with `keep`, a remembered session kept in the browser
   *  (isExpirable false); without, an expirable one that ends with the
   *  page (and after the short session lifetime). */
  async login(username, password, keep = true) {
    const [sid] = await this.command('login',
      [username, codec.hashedPass(username, password), keep ? 'false' : 'true'], 'sessionID');
    this.remember(sid, username, keep);
  }

  /** Registers `username` linked to the identity of an ID token. */
  async registerExternal(username, provider, idToken) {
    await this.command('registerExternal', [username, provider, idToken], 'registerSuccess');
  }

  /** Signs in with an ID token of `provider` (a remembered session). The
   *  token names no username, so the one typed is checked: only the
   *  owner's getUserInfo holds `cash`. */
  async loginExternal(provider, idToken, username) {
    const [sid] = await this.command('loginExternal', [provider, idToken, 'false'], 'sessionID');
    this.remember(sid, username);
    let own = null;
    try {
      const info = new Map(codec.lines(await this.fetch('getUserInfo', [sid, username]), 2));
      if (info.has('cash')) own = info.get('username') ?? username;
    } catch { own = null; }
    if (!own) {
      await this.logout();
      throw new SignInError(`You signed in, but not as ${username}: type the username of the account linked to this identity.`);
    }
    this.remember(sid, own);
  }

  /** Resumes the session kept in the browser; false if there is none. */
  async resume() {
    let saved;
    try { saved = JSON.parse(localStorage.getItem(STORE) ?? 'null'); } catch { saved = null; }
    if (!saved?.session || !/^[0-9a-f]{32}$/.test(saved.session)) return false;
    try {
      await this.command('loginSession', [saved.session], 'sessionID');
    } catch (err) {
      if (err instanceof ReasonError) { this.forget(); return false; }
      throw err;
    }
    this.session = saved.session;
    this.username = saved.username;
    this.kept = true;
    return true;
  }

  remember(sid, username, keep = true) {
    this.session = sid;
    this.username = username;
    this.kept = keep;
    if (keep) localStorage.setItem(STORE, JSON.stringify({ session: sid, username }));
  }

  forget() {
    // Another tab's kept session stays where it is.
    let saved = null;
    try { saved = JSON.parse(localStorage.getItem(STORE) ?? 'null'); } catch { saved = null; }
    if (!saved || saved.session === this.session) {
      localStorage.removeItem(STORE);
      localStorage.removeItem(SWITCHED);
    }
    this.session = null;
    this.username = null;
    this.portfolioId = null;
    clearTimeout(this.retry);
    this.retry = null;
    clearInterval(this.keepalive);
    this.keepalive = null;
    this.orderState.clear();
    if (this.data) {
      this.data.onclose = null;
      this.data.close();
      this.data = null;
    }
    this.setStatus('idle');
  }

  async logout() {
    const sid = this.session;
    this.forget();
    if (sid) {
      try { await this.command('logout', [sid], 'logoutSuccess'); } catch { /* gone anyway */ }
    }
  }

  // ---- market data ----

  async assets() {
    return codec.lines(await this.fetch('getAssetList'), 2).map(([symbol, name]) => ({ symbol, name }));
  }

  /** Today so far: {symbol, open, high, low, close, volume, time}. */
  async info(symbol) {
    const [line] = codec.lines(await this.fetch('getAssetInfo', [symbol]));
    return quoteOf(line);
  }

  async current(symbol) {
    const [[sym, price, time]] = codec.lines(await this.fetch('getAssetValueCurrent', [symbol]));
    return { symbol: sym, price: codec.parseMoney(price), time: Number(time) };
  }

  /** Bars of a range: day, week, month, year or all. */
  async bars(range, symbol, date) {
    const instr = {
      day: 'getAssetValueDay', week: 'getAssetValueWeek', month: 'getAssetValueMonth',
      year: 'getAssetValueYear', all: 'getAssetValueAllTime',
    }[range];
    const args = range === 'all' ? [symbol] : [symbol, date];
    return codec.lines(await this.fetch(instr, args)).map(([t, o, h, l, c, v]) => ({
      time: Number(t), open: codec.parseMoney(o), high: codec.parseMoney(h),
      low: codec.parseMoney(l), close: codec.parseMoney(c), volume: v,
    }));
  }

  // ---- the account ----

  async userInfo() {
    const out = {};
    for (const [k, v] of codec.lines(await this.fetch('getUserInfo', [this.session, this.username]), 2)) out[k] = v;
    return {
      username: out.username, email: out.email, created: Number(out.created),
      cash: codec.parseMoney(out.cash), equity: codec.parseMoney(out.equity),
    };
  }

  /** The positions of the portfolio in use. */
  async portfolio() {
    return codec.lines(await this.fetch('getUserPortfolio', [this.session, this.username])).map(positionOf);
  }

  async history() {
    return codec.lines(await this.fetch('getUserTransactionHistory', [this.session, this.username]))
      .map(([txid, time, side, symbol, quantity, price]) => ({
        txid, time: Number(time), side, symbol, quantity: codec.parseShares(quantity), price: codec.parseMoney(price),
      }));
  }

  async orders() {
    return codec.lines(await this.fetch('getOrders', [this.session]))
      .map(([id, created, side, symbol, quantity, type, limit, stop, tif, status, updated, txid, ...more]) => {
        // Protocol 1.2: KEY=VALUE fields after TXID (a trailing stop's
        // trail= and mark=, a class's class= and parent=, what has filled:
        // filled= and avg=); keys this app does not know are skipped.
        const extra = Object.fromEntries(more.map((f) => [f.slice(0, f.indexOf('=')), f.slice(f.indexOf('=') + 1)]));
        return {
          id, created: Number(created), side, symbol, quantity: codec.parseShares(quantity), type,
          limit: limit === '-' ? null : codec.parseMoney(limit),
          stop: stop === '-' ? null : codec.parseMoney(stop),
          tif, status, updated: Number(updated), txid,
          trail: extra.trail ?? null,
          mark: extra.mark === undefined ? null : codec.parseMoney(extra.mark),
          orderClass: extra.class ?? null,
          parent: extra.parent ?? null,
          filled: extra.filled === undefined ? null : codec.parseShares(extra.filled),
          avg: extra.avg === undefined ? null : codec.parseMoney(extra.avg),
        };
      });
  }

  async leaderboard() {
    return codec.lines(await this.fetch('getLeaderboard')).map(standingOf);
  }

  async equity() {
    return codec.lines(await this.fetch('getEquityHistory', [this.session, this.username]))
      .map(([date, equity]) => ({ date, equity: codec.parseMoney(equity) }));
  }

  // ---- trading ----

  /** A market buy or sell, answered after it fills: {txid, symbol,
   *  quantity, price, time}. */
  async trade(side, symbol, quantity) {
    this.requireLive();
    const [name, success] = side === 'buy' ? ['purchaseAsset', 'purchaseSuccess'] : ['sellAsset', 'sellSuccess'];
    const [txid, sym, qty, price, time] = await this.command(name, [this.session, symbol, quantity], success);
    return { txid, symbol: sym, quantity: codec.parseShares(qty), price: codec.parseMoney(price), time: Number(time) };
  }

  /** A market buy or sell of `amount` (money, as typed) worth, answered
   *  after it fills with what trade() gives: the quantity says how much. */
  async tradeNotional(side, symbol, amount) {
    this.requireLive();
    const [name, success] = side === 'buy' ? ['purchaseNotional', 'purchaseSuccess'] : ['sellNotional', 'sellSuccess'];
    const [txid, sym, qty, price, time] = await this.command(name, [this.session, symbol, amount], success);
    return { txid, symbol: sym, quantity: codec.parseShares(qty), price: codec.parseMoney(price), time: Number(time) };
  }

  /** An order that waits for its price; resolves with its orderID. */
  async placeOrder({ side, symbol, quantity, type, limit, stop, tif }) {
    this.requireLive();
    // A trailing stop's stop argument is its trail (protocol 1.2).
    const [id] = await this.command('placeOrder',
      [this.session, side, symbol, quantity, type, limit ?? '-', stop ?? '-', tif], 'orderAccepted');
    this.follow(id, symbol);
    return id;
  }

  /** An entry with exit legs (protocol 1.2 placeOrderClass): a bracket
   *  with both `takeProfit` and `stopLoss` (wire prices), an OTO with one;
   *  resolves with the entry's orderID. */
  async placeOrderClass({ side, symbol, quantity, type, limit, stop, tif }, takeProfit, stopLoss) {
    this.requireLive();
    const cls = takeProfit && stopLoss ? 'bracket' : 'oto';
    const [id] = await this.command('placeOrderClass',
      [this.session, cls, side, symbol, quantity, type, limit ?? '-', stop ?? '-', tif,
        takeProfit ?? '-', stopLoss ?? '-'], 'orderAccepted');
    this.follow(id, symbol);
    // Its exits show on the next read of the orders, and are followed then.
    this.checkOrders();
    return id;
  }

  /** Changes an open order (protocol 1.2 replaceOrder): each of
   *  quantity, limit, stop (a trailing stop's trail) and tif as wire text,
   *  or null to keep it; resolves with the new order's ID. */
  async replaceOrder(id, { quantity = null, limit = null, stop = null, tif = null }) {
    this.requireLive();
    const [newId] = await this.command('replaceOrder',
      [this.session, id, quantity ?? '=', limit ?? '=', stop ?? '=', tif ?? '='], 'orderAccepted');
    const symbol = this.orderState.get(id)?.symbol;
    this.orderState.delete(id);
    this.follow(newId, symbol);
    return newId;
  }

  async cancelOrder(id) {
    this.requireLive();
    await this.command('cancelOrder', [this.session, id], 'cancelSuccess');
  }

  /** Resets the account; resolves with the new cash. */
  async reset(password) {
    const [cash] = await this.command('resetAccount', [this.session, codec.hashedPass(this.username, password)], 'resetSuccess');
    return codec.parseMoney(cash);
  }

  /** Resets an account that has no password, confirmed by a fresh ID
   *  token of its linked identity; resolves with the new cash. */
  async resetWithToken(idToken) {
    const [cash] = await this.command('resetAccount', [this.session, idToken], 'resetSuccess');
    return codec.parseMoney(cash);
  }

  /** Whether `password` is the account's: a login that makes an
   *  expirable session, ended at once. Throws a ReasonError when not. */
  async checkPassword(password) {
    const [sid] = await this.command('login',
      [this.username, codec.hashedPass(this.username, password), 'true'], 'sessionID');
    try { await this.command('logout', [sid], 'logoutSuccess'); } catch { /* ends with the connection */ }
  }

  /** Adds a password to the account, or changes it; the server wants a
   *  session made in the last 10 minutes. */
  async setPassword(password) {
    await this.command('setPassword', [this.session, codec.hashedPass(this.username, password)], 'passwordSet');
  }

  // ---- the watchlist (protocol 1.2) ----

  /** The symbols watched, oldest first. */
  async watchlist() {
    return codec.lines(await this.fetch('getWatchlist', [this.session])).map(([symbol]) => symbol);
  }

  async addToWatchlist(symbol) {
    await this.command('addToWatchlist', [this.session, symbol], 'watchlistUpdated');
  }

  async removeFromWatchlist(symbol) {
    await this.command('removeFromWatchlist', [this.session, symbol], 'watchlistUpdated');
  }

  // ---- API keys (protocol 1.2) ----

  /** The account's API keys, oldest first: {id, created, label}. */
  async apiKeys() {
    return codec.lines(await this.fetch('getApiKeys', [this.session]))
      .map(([id, created, label]) => ({ id, created: Number(created), label }));
  }

  /** A new key: {id, secret}; the secret is sent this once. */
  async createApiKey(label) {
    const [id, secret] = await this.command('createApiKey', [this.session, label], 'apiKeyCreated');
    return { id, secret };
  }

  async revokeApiKey(id) {
    await this.command('revokeApiKey', [this.session, id], 'apiKeyRevoked');
  }

  // ---- portfolios (protocol 1.2) ----

  /** The login's portfolios by id: {id, status, inUse, game, cash,
   *  startCash, name}. */
  async portfolios() {
    const epoch = this.switches;
    const list = codec.lines(await this.fetch('getPortfolios', [this.session]), 7).map(portfolioOf);
    // An answer asked before a switch may predate it: it says nothing
    // of the portfolio in use now.
    if (epoch !== this.switches) return list;
    const before = this.portfolioId;
    this.portfolioId = list.find((p) => p.inUse)?.id ?? null;
    // The master moved the session (its portfolio closed or removed):
    // told as a switch.
    if (before !== null && this.portfolioId !== null && this.portfolioId !== before) {
      this.switched(this.portfolioId, true, true);
    }
    return list;
  }

  /** A new portfolio, with `cash` (money as the wire writes it) or the
   *  server's starting cash when null; resolves with {id, name}. The
   *  session stays on the one it uses. */
  async createPortfolio(name, cash = null) {
    const [id, named] = await this.command('createPortfolio', [this.session, cash ?? '-', name], 'portfolioUpdated');
    return { id, name: named };
  }

  async renamePortfolio(id, name) {
    const [, named] = await this.command('renamePortfolio', [this.session, id, name], 'portfolioUpdated');
    return { id, name: named };
  }

  /** Closes a portfolio; a session using it goes back to the first. */
  async closePortfolio(id) {
    await this.command('closePortfolio', [this.session, id], 'portfolioUpdated');
    if (id === this.portfolioId) this.switched('1', true);
  }

  /** Makes the session trade and read on portfolio `id`. */
  async usePortfolio(id) {
    const [used, name] = await this.command('usePortfolio', [this.session, id], 'portfolioUpdated');
    this.switched(used, true);
    return { id: used, name };
  }

  /** The portfolio in use is now `id`: the orders followed were the old
   *  one's; `here`: this tab made the change (or found it, `moved`: the
   *  master made it), so the tabs sharing its session are told. */
  switched(id, here, moved = false) {
    this.switches += 1;
    this.portfolioId = id;
    this.orderState.clear();
    if (here && this.kept) {
      localStorage.setItem(SWITCHED, JSON.stringify({ session: this.session, id, at: Date.now() }));
    }
    this.emit('portfolio', { id, here, moved });
    this.checkOrders();
  }

  // ---- games (protocol 1.2) ----

  /** My games, then public ones I am not in: {id, state, role, players,
   *  start, end, name}. */
  async games() {
    return codec.lines(await this.fetch('getGames', [this.session]), 7).map(gameOf);
  }

  /** One game: {id, state, organiser, players, code, rules}. */
  async game(id) {
    const [line] = codec.lines(await this.fetch('getGame', [this.session, id]), 6);
    return line ? gameDetailOf(line) : null;
  }

  /** The players best first: {rank, username, ret}. */
  async standings(id) {
    return codec.lines(await this.fetch('getStandings', [this.session, id])).map(standingOf);
  }

  /** A player's positions in a game, when the rules let me see them. */
  async gameHoldings(id, username) {
    return codec.lines(await this.fetch('getGameHoldings', [this.session, id, username])).map(positionOf);
  }

  /** A new game from rules values (see parseRules); resolves with {id,
   *  code}, the invitation code. */
  async createGame(rules) {
    const [id, code] = await this.command('createGame', [this.session, rulesText(rules)], 'gameCreated');
    return { id, code };
  }

  /** New rules for a game that has not started. */
  async changeGame(id, rules) {
    await this.command('changeGame', [this.session, id, rulesText(rules)], 'gameUpdated');
  }

  /** Joins by invitation code or a public game's number; resolves with
   *  the game's new portfolio {id, name} (not switched to). */
  async joinGame(codeOrId) {
    const [id, name] = await this.command('joinGame', [this.session, codeOrId], 'portfolioUpdated');
    return { id, name };
  }

  async leaveGame(id) {
    await this.command('leaveGame', [this.session, id], 'gameUpdated');
  }

  async removePlayer(id, username) {
    await this.command('removePlayer', [this.session, id, username], 'gameUpdated');
  }

  /** A new invitation code; the old one stops working. */
  async newGameCode(id) {
    const [, code] = await this.command('newGameCode', [this.session, id], 'gameCreated');
    return code;
  }
}

// PaperTrader in the browser: the screens and the hash router. Every
// string from the server reaches the page through textContent (h()),
// never as HTML. See api.js for the protocol side.
import { Api } from './api.js';
import * as codec from './codec.js';
import * as charts from './chart.js';
import { pct, signed, tone } from './format.js';
import { ReasonError } from './reasons.js';
import * as oidc from './oidc.js';

const api = new Api();
const main = document.getElementById('main');
const nav = document.getElementById('nav');
const statusLine = document.getElementById('status');
let cleanup = [];       // what the current screen must stop when left
let routeToken = 0;     // a newer navigation makes older renders give up
let providers = [];     // sign-in providers the worker offers (/providers.json)
let notice = null;      // shown once on the login screen (a sign-in's outcome)
let accountNotice = null; // shown once on the account screen (a reset confirmed elsewhere)
let orderNotice = null; // shown once on the orders screen (an order replaced)
const fetchFn = (...args) => fetch(...args);

// ---- small helpers ----

/** An element with attributes and children (strings become text). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const money = (units) => codec.showMoney(units);
/** A price: 2 decimals, or 4 when it has them. */
const price = (units) => (units % 100n === 0n ? codec.formatMoney(units, 2) : codec.formatMoney(units, 4));
const when = (ts) => new Date(ts * 1000).toLocaleString();
const today = () => new Date().toISOString().slice(0, 10);

function say(text) { statusLine.textContent = text; }

/** Goes to `hash`, rendering even when it is the current one. */
function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

/** A box for a failure: the reason's sentence and the server's text. */
function failure(err) {
  if (err instanceof oidc.SignInError) {
    return h('div', { class: 'error', role: 'alert' }, h('strong', {}, err.message));
  }
  if (err instanceof ReasonError) {
    return h('div', { class: 'error', role: 'alert', 'data-code': err.code },
      h('strong', {}, err.message), err.detail ? h('span', { class: 'detail' }, ` (${err.detail})`) : null);
  }
  return h('div', { class: 'error', role: 'alert' }, h('strong', {}, 'The server cannot be reached right now. '),
    'Check your connection; the app reconnects by itself.');
}

function screen(title, ...children) {
  // replaceChildren writes a null as the text "null": leave them out.
  const shown = children.filter((c) => c !== null && c !== undefined && c !== false);
  main.replaceChildren(h('h1', { id: 'title' }, title), ...shown);
  document.title = `${title} · PaperTrader`;
}

/** Asks for confirmation in the dialog; resolves true on `okLabel`.
 *  `backLabel` names the way out, so that the two buttons never read
 *  alike ("Cancel" beside "Cancel order"). */
function confirmDialog(title, body, okLabel = 'Confirm', backLabel = 'Cancel') {
  const dialog = document.getElementById('confirm');
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-body').replaceChildren(...body);
  document.getElementById('confirm-ok').textContent = okLabel;
  document.getElementById('confirm-cancel').textContent = backLabel;
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.returnValue = 'cancel';
    dialog.showModal();
  });
}

function table(caption, headers, rows, empty) {
  if (!rows.length) return h('p', { class: 'empty' }, empty);
  return h('div', { class: 'scroll' }, h('table', {},
    h('caption', { class: 'sr-only' }, caption),
    // Each header sits over its column: right-aligned over numbers.
    h('thead', {}, h('tr', {}, headers.map((x, i) => h('th', {
      scope: 'col', class: rows[0].children[i]?.classList.contains('num') ? 'num' : null,
    }, x)))),
    h('tbody', {}, rows)));
}

// ---- sign in ----

function loginScreen() {
  nav.hidden = true;
  const out = h('div', { id: 'login-result' });
  const user = h('input', { id: 'username', name: 'username', autocomplete: 'username', required: true, maxlength: 24 });
  const pass = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const login = h('form', { id: 'login-form', onsubmit: async (ev) => {
    ev.preventDefault();
    out.replaceChildren(h('p', {}, 'Logging in…'));
    try {
      await api.login(user.value.trim(), pass.value);
      go('#/markets');
    } catch (err) { out.replaceChildren(failure(err)); }
  } },
  h('label', { for: 'username' }, 'Username'), user,
  h('label', { for: 'password' }, 'Password'), pass,
  h('button', { type: 'submit', id: 'login-button' }, 'Log in'),
  providerButtons('login', user, out));

  const rOut = h('div', { id: 'register-result' });
  const rUser = h('input', { id: 'r-username', autocomplete: 'username', required: true, maxlength: 24, pattern: '[A-Za-z0-9_.\\-]{1,24}' });
  const rMail = h('input', { id: 'r-email', type: 'email', autocomplete: 'email', required: true });
  const rPass = h('input', { id: 'r-password', type: 'password', autocomplete: 'new-password', required: true, minlength: 8 });
  const register = h('form', { id: 'register-form', onsubmit: async (ev) => {
    ev.preventDefault();
    rOut.replaceChildren(h('p', {}, 'Registering…'));
    try {
      await api.register(rUser.value.trim(), rMail.value.trim(), rPass.value);
      await api.login(rUser.value.trim(), rPass.value);
      go('#/markets');
    } catch (err) { rOut.replaceChildren(failure(err)); }
  } },
  h('label', { for: 'r-username' }, 'Username'), rUser,
  h('label', { for: 'r-email' }, 'Email'), rMail,
  h('label', { for: 'r-password' }, 'Password (8 or more characters)'), rPass,
  h('button', { type: 'submit', id: 'register-button' }, 'Register'),
  providerButtons('register', rUser, rOut));

  const shown = notice;
  notice = null;
  screen('Practise investing with paper money',
    shown ? h('div', { id: 'external-result' }, shown) : null,
    h('div', { class: 'cards' },
      h('section', { class: 'card', 'aria-labelledby': 'login-h' }, h('h2', { id: 'login-h' }, 'Log in'), login, out),
      h('section', { class: 'card', 'aria-labelledby': 'reg-h' }, h('h2', { id: 'reg-h' }, 'New here? Register'), register, rOut)));
}

// ---- sign in with a provider (oidc.js) ----

/** "Sign in with NAME" / "Register with NAME" for each provider; the
 *  account's username comes from the form's field. */
function providerButtons(intent, userField, out) {
  if (!providers.length) return null;
  const verb = intent === 'login' ? 'Sign in' : 'Register';
  return h('div', { class: 'providers', role: 'group', 'aria-label': `${verb} with a provider` },
    h('p', { class: 'muted' }, `Or ${verb.toLowerCase()} with an account elsewhere, under the username above:`),
    providers.map((p) => h('button', {
      type: 'button', class: 'secondary', id: `${intent}-with-${p.name}`,
      onclick: () => startExternal(p, intent, userField, out),
    }, `${verb} with ${p.name}`)));
}

async function startExternal(provider, intent, userField, out) {
  const username = userField.value.trim();
  if (!username || !/^[A-Za-z0-9_.-]{1,24}$/.test(username)) {
    out.replaceChildren(h('div', { class: 'error', role: 'alert' },
      h('strong', {}, 'Type a username first: 1 to 24 letters, digits, dots, dashes or underscores.')));
    userField.focus();
    return;
  }
  out.replaceChildren(h('p', {}, `Going to ${provider.name}…`));
  try {
    const url = await oidc.begin(provider, intent, username, { storage: sessionStorage, fetchFn, loc: location });
    location.assign(url);
  } catch (err) { out.replaceChildren(failure(err)); }
}

/** The provider sent the browser back: finish, register if asked, sign
 *  in. A failure, or the offer to register an identity not linked yet,
 *  waits in `notice` for the login screen. */
async function completeExternal(search) {
  let done;
  try {
    done = await oidc.finish(search, { storage: sessionStorage, fetchFn });
    if (done.intent === 'reset') return await completeReset(done);
    if (done.intent === 'register') await api.registerExternal(done.username, done.provider, done.idToken);
    await api.loginExternal(done.provider, done.idToken, done.username);
  } catch (err) {
    notice = err instanceof ReasonError && err.code === 'not-linked' ? linkOffer(done, err) : failure(err);
  }
}

/** Back from confirming a reset with the provider: the session kept in
 *  the browser makes the reset, and the account screen shows how it went. */
async function completeReset(done) {
  try {
    if (!(await api.resume())) throw new oidc.SignInError('Your session has ended. Please log in again.');
    const cash = await api.resetWithToken(done.idToken);
    accountNotice = h('div', { class: 'ok', role: 'status' }, `Your account was reset: cash ${money(cash)}.`);
  } catch (err) {
    if (api.session) accountNotice = failure(err);
    else notice = failure(err);
  }
}

/** `not-linked`: register the identity under a username, then sign in. */
function linkOffer(done, err) {
  const out = h('div', { id: 'link-result' });
  const user = h('input', { id: 'link-username', autocomplete: 'username', required: true, maxlength: 24,
    pattern: '[A-Za-z0-9_.\\-]{1,24}', value: done.username });
  return h('form', { id: 'link-form', class: 'card', onsubmit: async (ev) => {
    ev.preventDefault();
    out.replaceChildren(h('p', {}, 'Registering…'));
    try {
      await api.registerExternal(user.value.trim(), done.provider, done.idToken);
      await api.loginExternal(done.provider, done.idToken, user.value.trim());
      say(`Logged in as ${api.username}.`);
      go('#/markets');
    } catch (e) { out.replaceChildren(failure(e)); }
  } },
  h('p', {}, h('strong', {}, err.message), ` Register your ${done.provider} identity as a new account:`),
  h('label', { for: 'link-username' }, 'Username'), user,
  h('button', { type: 'submit', id: 'link-button' }, `Register with ${done.provider}`), out);
}

// ---- markets ----

async function marketsScreen(token) {
  const body = h('tbody', { id: 'markets-body' });
  const updated = h('p', { class: 'muted', id: 'markets-updated' });
  screen('Markets', updated, h('div', { class: 'scroll' }, h('table', { id: 'markets' },
    h('caption', { class: 'sr-only' }, 'Every asset with its price and change today'),
    h('thead', {}, h('tr', {}, ['Symbol', 'Name', 'Price', 'Change', 'Market'].map((x) => h('th', {
      scope: 'col', class: x === 'Price' || x === 'Change' ? 'num' : null,
    }, x)))),
    body)));
  const assets = await api.assets();
  let last = 0;
  let busy = false;
  const refresh = async () => {
    if (busy) return;
    busy = true;
    try {
      const infos = await Promise.all(assets.map((a) => api.info(a.symbol).catch(() => null)));
      if (token !== routeToken) return;
      const newest = Math.max(0, ...infos.filter(Boolean).map((i) => i.time));
      body.replaceChildren(...assets.map((a, k) => {
        const i = infos[k];
        if (!i) return h('tr', {}, h('th', { scope: 'row' }, a.symbol), h('td', {}, a.name), h('td', { colspan: 3 }, 'no price yet'));
        const change = i.close - i.open;
        const open = newest - i.time < 600;
        return h('tr', { 'data-symbol': a.symbol },
          h('th', { scope: 'row' }, h('a', { href: `#/asset/${encodeURIComponent(a.symbol)}` }, a.symbol)),
          h('td', {}, a.name),
          h('td', { class: 'num price' }, price(i.close)),
          h('td', { class: `num ${tone(change)}` }, `${signed(change)} (${pct(change, i.open)})`),
          h('td', {}, h('span', { class: open ? 'badge open' : 'badge closed' }, open ? 'open' : 'closed')));
      }));
      last = newest;
      updated.textContent = `Prices of ${new Date(newest * 1000).toLocaleTimeString()}, refreshed at every update.`;
    } finally { busy = false; }
  };
  await refresh();
  // One quote is watched; when its time moves, a price set has come.
  const probe = assets[0]?.symbol;
  const timer = setInterval(async () => {
    if (!probe || busy) return;
    try {
      const q = await api.current(probe);
      if (q.time !== last) await refresh();
    } catch { /* reconnects on the next tick */ }
  }, 1000);
  cleanup.push(() => clearInterval(timer));
}

// ---- an asset: candles and the order ticket ----

async function assetScreen(token, symbol) {
  const chartBox = h('div', { class: 'chart', id: 'chart', role: 'img', 'aria-label': `Price chart of ${symbol}` });
  const quote = h('p', { class: 'quote', id: 'quote' });
  const ranges = ['day', 'week', 'month', 'year', 'all'];
  const labels = { day: 'Day', week: 'Week', month: 'Month', year: 'Year', all: 'All time' };
  let chart = null;
  const show = async (range) => {
    for (const b of rangeBar.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.range === range));
    try {
      const bars = await api.bars(range, symbol, today());
      if (token !== routeToken) return;
      if (chart) chart.remove();
      chart = null;
      if (!bars.length) { chartBox.replaceChildren(h('p', { class: 'empty' }, 'No prices in this range yet.')); return; }
      chart = charts.candles(chartBox, bars);
    } catch (err) { chartBox.replaceChildren(failure(err)); }
  };
  const rangeBar = h('div', { class: 'ranges', role: 'group', 'aria-label': 'Time range' },
    ranges.map((r) => h('button', { type: 'button', class: 'secondary', 'data-range': r, onclick: () => show(r) }, labels[r])));
  screen(symbol, quote, rangeBar, chartBox, ticket(symbol));
  cleanup.push(() => { if (chart) chart.remove(); });
  const info = await api.info(symbol);
  const change = info.close - info.open;
  quote.replaceChildren(h('span', { class: 'big' }, price(info.close)), ' ',
    h('span', { class: tone(change) }, `${signed(change)} (${pct(change, info.open)}) today`));
  await show('day');
}

/** What a market order did: `Bought 0.5 AAPL at …`. */
function fillNotice(side, fill) {
  return h('div', { class: 'ok', role: 'status', id: 'fill' },
    `${side === 'buy' ? 'Bought' : 'Sold'} ${codec.formatShares(fill.quantity)} ${fill.symbol} at ${price(fill.price)} `,
    `(${money(codec.times(fill.price, fill.quantity))} in all; transaction ${fill.txid}).`);
}

/** A market order for an amount of money (purchaseNotional, sellNotional),
 *  confirmed first; `text` as typed. */
async function tradeAmount(side, symbol, text, out) {
  const amount = codec.parseMoney(text);
  if (amount === null || amount <= 0n) {
    out.replaceChildren(h('div', { class: 'error', role: 'alert' }, h('strong', {}, 'Enter an amount of money above zero, with at most 4 decimals.')));
    return;
  }
  const verb = side === 'buy' ? 'Buy' : 'Sell';
  const worth = money(amount);
  const body = [h('p', { id: 'confirm-summary' }, `${verb} ${worth} worth of ${symbol} at the market price of the next update, in fractions of a share.`)];
  if (!(await confirmDialog(`${verb} ${symbol}?`, body, `${verb} ${worth} of ${symbol}`))) return;
  out.replaceChildren(h('p', {}, 'Waiting for the next price…'));
  try {
    const wire = codec.formatMoney(amount).replaceAll(',', '');
    out.replaceChildren(fillNotice(side, await api.tradeNotional(side, symbol, wire)));
  } catch (err) { out.replaceChildren(failure(err)); }
}

/** How the confirmation says each time in force. */
const TIF_WORDS = {
  day: ', today only',
  gtc: ', until cancelled',
  ioc: ' at the next price or never',
  fok: ' all at the next price or nothing',
};

/** The buy/sell form with its confirmation. */
function ticket(symbol) {
  const out = h('div', { id: 'trade-result', 'aria-live': 'polite' });
  const side = h('select', { id: 'side' }, h('option', { value: 'buy' }, 'Buy'), h('option', { value: 'sell' }, 'Sell'));
  // No pattern or required: the browser's generic "Please match the
  // requested format." would stand in for the sentence below.
  const qty = h('input', { id: 'quantity', inputmode: 'decimal', value: '1' });
  const by = h('select', { id: 'size-by' }, h('option', { value: 'shares' }, 'Shares'), h('option', { value: 'amount' }, 'Amount of money'));
  const qtyLabel = h('label', { for: 'quantity' }, 'Quantity');
  const type = h('select', { id: 'order-type' },
    h('option', { value: 'market' }, 'Market'), h('option', { value: 'limit' }, 'Limit'),
    h('option', { value: 'stop' }, 'Stop'), h('option', { value: 'stop-limit' }, 'Stop-limit'),
    h('option', { value: 'trailing-stop' }, 'Trailing stop'));
  const limit = h('input', { id: 'limit', inputmode: 'decimal', placeholder: 'e.g. 180.00' });
  const stop = h('input', { id: 'stop', inputmode: 'decimal', placeholder: 'e.g. 175.00' });
  const trail = h('input', { id: 'trail', placeholder: 'e.g. 2% or 1.50' });
  const takeProfit = h('input', { id: 'take-profit', inputmode: 'decimal', placeholder: 'optional' });
  const stopLoss = h('input', { id: 'stop-loss', inputmode: 'decimal', placeholder: 'optional' });
  const immediate = [h('option', { value: 'ioc' }, 'Next price or never (ioc)'), h('option', { value: 'fok' }, 'All at the next price or nothing (fok)')];
  const tif = h('select', { id: 'tif' }, h('option', { value: 'day' }, 'Today only (day)'), h('option', { value: 'gtc' }, 'Until cancelled (gtc)'), ...immediate);
  const limitRow = h('div', { class: 'field' }, h('label', { for: 'limit' }, 'Limit price'), limit);
  const stopRow = h('div', { class: 'field' }, h('label', { for: 'stop' }, 'Stop price'), stop);
  const trailRow = h('div', { class: 'field' }, h('label', { for: 'trail' }, 'Trail (amount or %)'), trail);
  // Exits once the entry fills (a bracket with both, else one-triggers-other).
  const exitRows = [
    h('div', { class: 'field' }, h('label', { for: 'take-profit' }, 'Take profit at'), takeProfit),
    h('div', { class: 'field' }, h('label', { for: 'stop-loss' }, 'Stop loss at'), stopLoss)];
  const tifRow = h('div', { class: 'field' }, h('label', { for: 'tif' }, 'Time in force'), tif);
  const sync = () => {
    // An amount of money buys at the market, in fractions of a share.
    const amount = by.value === 'amount';
    if (amount) type.value = 'market';
    type.disabled = amount;
    qtyLabel.textContent = amount ? 'Amount' : 'Quantity';
    const t = type.value;
    limitRow.hidden = !(t === 'limit' || t === 'stop-limit');
    stopRow.hidden = !(t === 'stop' || t === 'stop-limit');
    trailRow.hidden = t !== 'trailing-stop';
    // Exits need an order that rests (not by amount, not ioc or fok).
    for (const r of exitRows) r.hidden = amount || t === 'trailing-stop';
    tifRow.hidden = t === 'market';
    // ioc and fok are for limit orders here (a market order fills at the
    // next price anyway); the server refuses them on stops.
    for (const o of immediate) o.disabled = t !== 'limit';
    if (t !== 'limit' && (tif.value === 'ioc' || tif.value === 'fok')) tif.value = 'day';
  };
  type.addEventListener('change', sync);
  by.addEventListener('change', sync);
  sync();
  const form = h('form', { id: 'trade-form', class: 'card ticket', onsubmit: async (ev) => {
    ev.preventDefault();
    out.replaceChildren();
    if (by.value === 'amount') return tradeAmount(side.value, symbol, qty.value.trim(), out);
    const q = qty.value.trim();
    const shares = codec.parseShares(q);
    if (shares === null || shares <= 0n || shares > 1000000000n * codec.SHARE) {
      out.replaceChildren(h('div', { class: 'error', role: 'alert' }, h('strong', {},
        'The quantity must be a number of shares above 0 and at most 1,000,000,000, with at most 9 decimals.')));
      return;
    }
    const order = { side: side.value, symbol, quantity: q, type: type.value, tif: tif.value, limit: null, stop: null };
    for (const [field, input, label] of [['limit', limit, 'limit'], ['stop', stop, 'stop']]) {
      if ((field === 'limit' ? limitRow : stopRow).hidden) continue;
      const v = codec.parseMoney(input.value);
      if (v === null || v <= 0n) {
        out.replaceChildren(h('div', { class: 'error', role: 'alert' }, h('strong', {}, `Enter a ${label} price above zero, with at most 4 decimals.`)));
        return;
      }
      order[field] = codec.formatMoney(v).replaceAll(',', '');
    }
    const exits = {};
    for (const [key, input, label] of [['takeProfit', takeProfit, 'take-profit'], ['stopLoss', stopLoss, 'stop-loss']]) {
      if (exitRows[0].hidden || !input.value.trim()) continue;
      const v = codec.parseMoney(input.value);
      if (v === null || v <= 0n) {
        out.replaceChildren(h('div', { class: 'error', role: 'alert' }, h('strong', {}, `Enter a ${label} price above zero, with at most 4 decimals, or leave it empty.`)));
        return;
      }
      exits[key] = codec.formatMoney(v).replaceAll(',', '');
    }
    const withExits = Object.keys(exits).length > 0;
    if (withExits && (order.tif === 'ioc' || order.tif === 'fok')) order.tif = 'day';
    if (!trailRow.hidden) {
      order.stop = codec.parseTrail(trail.value);
      if (order.stop === null) {
        out.replaceChildren(h('div', { class: 'error', role: 'alert' }, h('strong', {},
          'Enter a trail: an amount above zero (1.50) or a percent above 0 and below 100 (2%).')));
        return;
      }
    }
    let estimate = null;
    try { estimate = (await api.current(symbol)).price; } catch { /* shown without */ }
    const verb = order.side === 'buy' ? 'Buy' : 'Sell';
    const how = {
      market: 'at the market price of the next update',
      limit: `at ${order.limit} or better`,
      stop: `at the market once the price reaches ${order.stop}`,
      'stop-limit': `at ${order.limit} or better once the price reaches ${order.stop}`,
      'trailing-stop': `at the market once the price ${order.side === 'buy' ? 'rises' : 'falls'} ${order.stop} from its ${order.side === 'buy' ? 'lowest' : 'highest'}`,
    }[order.type];
    const shown = codec.formatShares(shares);
    const exitSide = order.side === 'buy' ? 'sell' : 'buy';
    const exitWords = [exits.takeProfit && `at ${exits.takeProfit} or better`,
      exits.stopLoss && `at the market once the price reaches ${exits.stopLoss}`].filter(Boolean);
    const then = withExits ? ` Once it fills: ${exitSide} ${exitWords.join(', or ')}.` : '';
    const body = [h('p', { id: 'confirm-summary' }, `${verb} ${shown} ${symbol} ${how}${order.type === 'market' ? '' : TIF_WORDS[order.tif]}.${then}`)];
    if (estimate !== null) body.push(h('p', { class: 'muted' }, `Last price ${price(estimate)}: about ${money(codec.times(estimate, shares))} in all.`));
    if (!(await confirmDialog(`${verb} ${symbol}?`, body, `${verb} ${shown} ${symbol}`))) return;
    out.replaceChildren(h('p', {}, order.type === 'market' ? 'Waiting for the next price…' : 'Placing the order…'));
    try {
      if (withExits) {
        const id = await api.placeOrderClass(order, exits.takeProfit, exits.stopLoss);
        out.replaceChildren(h('div', { class: 'ok', role: 'status' }, `Order ${id} placed with its exits. `,
          h('a', { href: '#/orders' }, 'See your orders')));
      } else if (order.type === 'market') {
        out.replaceChildren(fillNotice(order.side, await api.trade(order.side, symbol, q)));
      } else {
        const id = await api.placeOrder(order);
        out.replaceChildren(h('div', { class: 'ok', role: 'status' }, `Order ${id} placed: it waits for its price. `,
          h('a', { href: '#/orders' }, 'See your orders')));
      }
    } catch (err) { out.replaceChildren(failure(err)); }
  } },
  h('h2', {}, 'Trade'),
  h('div', { class: 'grid' },
    h('div', { class: 'field' }, h('label', { for: 'side' }, 'Buy or sell'), side),
    h('div', { class: 'field' }, h('label', { for: 'size-by' }, 'Trade by'), by),
    h('div', { class: 'field' }, qtyLabel, qty),
    h('div', { class: 'field' }, h('label', { for: 'order-type' }, 'Order type'), type),
    limitRow, stopRow, trailRow, tifRow, ...exitRows),
  h('button', { type: 'submit', id: 'review' }, 'Review order'), out);
  return form;
}

// ---- the account's screens ----

async function portfolioScreen(token) {
  const [info, positions] = await Promise.all([api.userInfo(), api.portfolio()]);
  if (token !== routeToken) return;
  let cost = 0n;
  let value = 0n;
  const rows = positions.map((p) => {
    const c = codec.times(p.avgCost, p.quantity);
    const pl = p.value - c;
    cost += c; value += p.value;
    return h('tr', { 'data-symbol': p.symbol },
      h('th', { scope: 'row' }, h('a', { href: `#/asset/${encodeURIComponent(p.symbol)}` }, p.symbol)),
      h('td', { class: 'num' }, codec.formatShares(p.quantity)),
      h('td', { class: 'num' }, price(p.avgCost)), h('td', { class: 'num' }, price(p.price)),
      h('td', { class: 'num' }, money(p.value)),
      h('td', { class: `num ${tone(pl)}` }, `${signed(pl)} (${pct(pl, c)})`));
  });
  const pl = value - cost;
  const equityBox = h('div', { class: 'chart small', id: 'equity-chart', role: 'img', 'aria-label': 'Equity per day' });
  screen('Portfolio',
    h('div', { class: 'summary' },
      h('div', {}, h('span', { class: 'muted' }, 'Equity'), h('strong', { id: 'equity' }, money(info.equity))),
      h('div', {}, h('span', { class: 'muted' }, 'Cash'), h('strong', { id: 'cash' }, money(info.cash))),
      h('div', {}, h('span', { class: 'muted' }, 'Unrealised P/L'), h('strong', { class: tone(pl), id: 'pl' }, `${signed(pl)}`))),
    h('h2', {}, 'Positions'),
    table('Positions', ['Symbol', 'Shares', 'Avg cost', 'Price', 'Value', 'P/L'], rows, 'No positions yet: buy something on the Markets page.'),
    h('h2', {}, 'Equity'), equityBox);
  const points = await api.equity();
  if (token !== routeToken) return;
  if (points.length) {
    const chart = charts.equity(equityBox, points);
    cleanup.push(() => chart.remove());
  } else equityBox.replaceChildren(h('p', { class: 'empty' }, 'No history yet.'));
}

async function historyScreen(token) {
  const entries = (await api.history()).reverse();
  if (token !== routeToken) return;
  screen('History', table('Transactions, newest first', ['When', 'What', 'Symbol', 'Shares', 'Price', 'Amount', 'Tx'],
    entries.map((e) => h('tr', { 'data-side': e.side },
      h('td', {}, when(e.time)), h('td', {}, e.side), h('td', {}, e.symbol),
      h('td', { class: 'num' }, codec.formatShares(e.quantity)), h('td', { class: 'num' }, price(e.price)),
      // A reset's PRICE is the new cash, a fee's the fee itself.
      h('td', { class: 'num' }, e.side === 'reset' || e.side === 'fee' ? money(e.price) : money(codec.times(e.price, e.quantity))),
      h('td', { class: 'num muted' }, e.txid))),
    'No transactions yet.'));
}

/** What of an order has filled, after its status: ` at 15.0000` when all
 *  of it did, ` (4 of 10 filled at 15.0000)` for a part. */
function filledText(o) {
  if (o.filled === null || o.avg === null) return '';
  if (o.filled === o.quantity) return ` at ${price(o.avg)}`;
  return ` (${codec.formatShares(o.filled)} of ${codec.formatShares(o.quantity)} filled at ${price(o.avg)})`;
}

async function ordersScreen(token) {
  const out = h('div', { id: 'orders-result', 'aria-live': 'polite' });
  if (orderNotice) out.replaceChildren(h('div', { class: 'ok', role: 'status' }, orderNotice));
  orderNotice = null;
  const orders = await api.orders();
  if (token !== routeToken) return;
  const rows = orders.map((o) => {
    const live = o.status === 'open' || o.status === 'triggered' || o.status === 'held';
    return h('tr', { 'data-order': o.id },
      h('td', {}, when(o.created)),
      h('td', {}, `${o.side} ${o.type}` + (o.orderClass ? (o.parent ? ` (${o.orderClass} exit of ${o.parent})` : ` (${o.orderClass})`) : '')),
      h('td', {}, o.symbol),
      h('td', { class: 'num' }, codec.formatShares(o.quantity)),
      h('td', { class: 'num' }, o.limit === null ? '–' : price(o.limit)),
      h('td', { class: 'num' }, (o.stop === null ? '–' : price(o.stop)) + (o.trail ? ` (${o.trail})` : '')),
      h('td', {}, o.tif), h('td', {}, o.status + filledText(o)),
      h('td', {}, live ? [
        // An order of a class is cancelled with it, not changed.
        o.orderClass ? null : h('button', { type: 'button', class: 'secondary', 'data-action': 'change', onclick: () => changeOrder(o, out) }, 'Change'),
        o.orderClass ? null : ' ',
        h('button', { type: 'button', class: 'secondary', 'data-action': 'cancel', onclick: async () => {
          const ok = await confirmDialog('Cancel this order?', [h('p', {}, `${o.side} ${codec.formatShares(o.quantity)} ${o.symbol} (${o.type}), order ${o.id}.`)], 'Cancel order', 'Keep order');
          if (!ok) return;
          try { await api.cancelOrder(o.id); route(); } catch (err) { out.replaceChildren(failure(err)); }
        } }, 'Cancel')] : ''));
  });
  screen('Orders', out, table('Orders, newest first', ['Placed', 'Order', 'Symbol', 'Shares', 'Limit', 'Stop', 'Good for', 'Status', ''], rows,
    'No orders yet: choose Limit, Stop or Stop-limit on an asset\'s page.'));
}

/** The Change dialog of an open order (replaceOrder): its quantity, the
 *  prices its type takes and its time in force, prefilled; what is left
 *  as it was is kept. */
async function changeOrder(o, out) {
  const field = (id, label, value) => {
    const input = h('input', { id, value, inputmode: id === 'change-trail' ? 'text' : 'decimal' });
    return [input, h('div', { class: 'field' }, h('label', { for: id }, label), input)];
  };
  const wire = (units) => codec.formatMoney(units).replaceAll(',', '');
  const [qty, qtyRow] = field('change-quantity', 'Quantity', codec.formatShares(o.quantity).replaceAll(',', ''));
  const takesLimit = o.type === 'limit' || o.type === 'stop-limit';
  const takesStop = o.type === 'stop' || o.type === 'stop-limit';
  const [limit, limitRow] = field('change-limit', 'Limit price', o.limit === null ? '' : wire(o.limit));
  const [stop, stopRow] = field('change-stop', 'Stop price', o.stop === null ? '' : wire(o.stop));
  const [trail, trailRow] = field('change-trail', 'Trail (amount or %)', o.trail ?? '');
  const tif = h('select', { id: 'change-tif' }, ['day', 'gtc'].map((t) => h('option', { value: t, selected: t === o.tif }, t)));
  const rows = [qtyRow];
  if (takesLimit) rows.push(limitRow);
  if (takesStop) rows.push(stopRow);
  if (o.type === 'trailing-stop') rows.push(trailRow);
  if (o.tif === 'day' || o.tif === 'gtc') rows.push(h('div', { class: 'field' }, h('label', { for: 'change-tif' }, 'Time in force'), tif));
  const ok = await confirmDialog(`Change order ${o.id}?`,
    [h('p', {}, `${o.side} ${o.symbol} (${o.type}): the order is replaced by a new one with these values.`), ...rows],
    'Change order', 'Keep order');
  if (!ok) return;
  const bad = (text) => out.replaceChildren(h('div', { class: 'error', role: 'alert' }, h('strong', {}, text)));
  const change = {};
  const shares = codec.parseShares(qty.value);
  if (shares === null || shares <= 0n) return bad('The quantity must be a number of shares above 0, with at most 9 decimals.');
  if (shares !== o.quantity) change.quantity = qty.value.trim();
  for (const [takes, input, old, key] of [[takesLimit, limit, o.limit, 'limit'], [takesStop, stop, o.stop, 'stop']]) {
    if (!takes) continue;
    const v = codec.parseMoney(input.value);
    if (v === null || v <= 0n) return bad(`Enter a ${key} price above zero, with at most 4 decimals.`);
    if (v !== old) change[key] = wire(v);
  }
  if (o.type === 'trailing-stop') {
    const t = codec.parseTrail(trail.value);
    if (t === null) return bad('Enter a trail: an amount above zero (1.50) or a percent above 0 and below 100 (2%).');
    if (t !== o.trail) change.stop = t;
  }
  if (rows.some((r) => r.contains(tif)) && tif.value !== o.tif) change.tif = tif.value;
  if (!Object.keys(change).length) return bad('Nothing was changed.');
  try {
    const id = await api.replaceOrder(o.id, change);
    orderNotice = `Order ${o.id} was replaced by order ${id}.`;
    route();
  } catch (err) { out.replaceChildren(failure(err)); }
}

async function leaderboardScreen(token) {
  const rows = await api.leaderboard();
  if (token !== routeToken) return;
  screen('Leaderboard', table('Best returns', ['Rank', 'Trader', 'Return'], rows.map((r) =>
    h('tr', { class: r.username.toLowerCase() === api.username?.toLowerCase() ? 'me' : '' },
      h('td', { class: 'num' }, r.rank), h('td', {}, r.username),
      h('td', { class: `num ${r.ret.startsWith('-') ? 'down' : r.ret === '0.00' ? '' : 'up'}` }, `${r.ret}%`))),
  'Nobody has traded yet.'));
}

async function accountScreen(token) {
  const info = await api.userInfo();
  if (token !== routeToken) return;
  const shown = accountNotice;
  accountNotice = null;
  screen('Account', h('dl', { class: 'facts' },
    h('dt', {}, 'Username'), h('dd', {}, info.username), h('dt', {}, 'Email'), h('dd', {}, info.email),
    h('dt', {}, 'Member since'), h('dd', {}, when(info.created))),
  passwordForm(), keysCard(), resetForm(info, shown));
}

/** API keys for trading programs (papertrader-api(7)): the account's
 *  keys with a revoke button each, and a form that makes one and shows
 *  its secret once. */
function keysCard() {
  const out = h('div', { id: 'keys-result', 'aria-live': 'polite' });
  const list = h('div', { id: 'keys-list' }, h('p', {}, 'Loading…'));
  // No pattern: the browser's generic "Please match the requested format"
  // says less than the server's sentence about the label.
  const label = h('input', { id: 'key-label', name: 'label', required: true, maxlength: 32, value: 'bot' });
  const refresh = async () => {
    try {
      const keys = await api.apiKeys();
      list.replaceChildren(table('Your API keys', ['Key id', 'Label', 'Made', ''], keys.map((k) =>
        h('tr', { 'data-key': k.id }, h('td', {}, h('code', {}, k.id)), h('td', {}, k.label),
          h('td', {}, when(k.created)),
          h('td', {}, h('button', { type: 'button', class: 'secondary', 'aria-label': `Revoke key ${k.label} (${k.id})`,
            onclick: async () => {
              if (!await confirmDialog('Revoke this key?', `Programs using ${k.id} stop working at once.`,
                'Revoke key', 'Keep key')) return;
              try {
                await api.revokeApiKey(k.id);
                out.replaceChildren(h('div', { class: 'ok', role: 'status' }, `Key ${k.id} is revoked.`));
              } catch (err) { out.replaceChildren(failure(err)); }
              await refresh();
            } }, 'Revoke')))),
      'No API keys yet.'));
    } catch (err) { list.replaceChildren(failure(err)); }
  };
  refresh();
  return h('form', { id: 'keys-form', class: 'card', onsubmit: async (ev) => {
    ev.preventDefault();
    out.replaceChildren(h('p', {}, 'Making a key…'));
    try {
      const key = await api.createApiKey(label.value);
      out.replaceChildren(h('div', { class: 'ok', role: 'status' },
        h('p', {}, h('strong', {}, 'Copy the secret now: it is shown only this once.')),
        h('dl', { class: 'facts' },
          h('dt', {}, 'Key id'), h('dd', {}, h('code', { id: 'key-id' }, key.id)),
          h('dt', {}, 'Secret key'), h('dd', {}, h('code', { id: 'key-secret' }, key.secret)),
          h('dt', {}, 'Base URL'), h('dd', {}, h('code', {}, location.origin)))));
      await refresh();
    } catch (err) { out.replaceChildren(failure(err)); }
  } },
  h('h2', {}, 'API keys'),
  h('p', {}, 'Trading programs written for Alpaca\'s API (alpaca-py, alpaca-trade-api, ccxt) trade here with a key: give them this address as their base URL.'),
  list,
  h('label', { for: 'key-label' }, 'Label of a new key (1 to 32 letters, digits, dots, dashes or underscores)'), label,
  h('button', { type: 'submit', id: 'key-create' }, 'Make a key'), out);
}

/** Adds a password (an account made with a provider has none) or
 *  changes it. */
function passwordForm() {
  const out = h('div', { id: 'password-result', 'aria-live': 'polite' });
  const pass = h('input', { id: 'new-password', type: 'password', autocomplete: 'new-password', required: true, minlength: 8 });
  const again = h('input', { id: 'new-password-again', type: 'password', autocomplete: 'new-password', required: true, minlength: 8 });
  return h('form', { id: 'password-form', class: 'card', onsubmit: async (ev) => {
    ev.preventDefault();
    if (pass.value !== again.value) {
      out.replaceChildren(h('div', { class: 'error', role: 'alert' }, h('strong', {}, 'The two passwords differ.')));
      return;
    }
    out.replaceChildren(h('p', {}, 'Saving…'));
    try {
      await api.setPassword(pass.value);
      out.replaceChildren(h('div', { class: 'ok', role: 'status' }, 'Your password is set: you can log in with it from now on.'));
      pass.value = ''; again.value = '';
    } catch (err) {
      out.replaceChildren(err instanceof ReasonError && err.code === 'forbidden'
        ? h('div', { class: 'error', role: 'alert' }, h('strong', {},
          'For your safety a password can only be set in the 10 minutes after signing in. Log out, sign in again, then set it.'))
        : failure(err));
    }
  } },
  h('h2', {}, 'Password'),
  h('p', {}, 'Add a password to log in without your provider, or change the one you have.'),
  h('label', { for: 'new-password' }, 'New password (8 or more characters)'), pass,
  h('label', { for: 'new-password-again' }, 'The same again'), again,
  h('button', { type: 'submit', id: 'password-button' }, 'Set password'), out);
}

/** Reset behind the username typed out and a confirmation: the password
 *  proves it is the owner, or, for an account without one, a fresh
 *  sign-in with its provider. */
function resetForm(info, shown) {
  const out = h('div', { id: 'reset-result', 'aria-live': 'polite' }, shown);
  const pass = h('input', { id: 'reset-password', type: 'password', autocomplete: 'current-password' });
  const typed = h('input', { id: 'reset-username', autocomplete: 'off', required: true });
  const confirmed = async () => {
    if (typed.value.trim().toLowerCase() !== info.username.toLowerCase()) {
      out.replaceChildren(h('div', { class: 'error', role: 'alert' }, h('strong', {}, 'Type your username exactly to confirm.')));
      return false;
    }
    return confirmDialog('Reset your account?', [h('p', {},
      'Every open order is cancelled, every position removed and your cash set back to the starting amount. Your history is kept.')], 'Reset my account');
  };
  const withProvider = async (provider) => {
    if (!(await confirmed())) return;
    out.replaceChildren(h('p', {}, `Going to ${provider.name} to confirm…`));
    try {
      location.assign(await oidc.begin(provider, 'reset', info.username, { storage: sessionStorage, fetchFn, loc: location }));
    } catch (err) { out.replaceChildren(failure(err)); }
  };
  return h('form', { id: 'reset-form', class: 'card danger', onsubmit: async (ev) => {
    ev.preventDefault();
    if (!pass.value) {
      out.replaceChildren(h('div', { class: 'error', role: 'alert' }, h('strong', {},
        providers.length ? 'Type your password, or confirm with your provider below.' : 'Type your password.')));
      return;
    }
    if (!(await confirmed())) return;
    try {
      const cash = await api.reset(pass.value);
      out.replaceChildren(h('div', { class: 'ok', role: 'status' }, `Your account was reset: cash ${money(cash)}.`));
      pass.value = ''; typed.value = '';
    } catch (err) { out.replaceChildren(failure(err)); }
  } },
  h('h2', {}, 'Reset the account'),
  h('p', {}, 'Start again with the starting cash. This cannot be undone.'),
  h('label', { for: 'reset-username' }, `Type your username (${info.username}) to confirm`), typed,
  h('label', { for: 'reset-password' }, 'Your password'), pass,
  h('button', { type: 'submit', class: 'danger' }, 'Reset account…'),
  providers.length ? h('div', { class: 'providers', role: 'group', 'aria-label': 'Confirm with a provider' },
    h('p', { class: 'muted' }, 'An account made with a provider has no password: confirm with it instead.'),
    providers.map((p) => h('button', {
      type: 'button', class: 'secondary danger', id: `reset-with-${p.name}`, onclick: () => withProvider(p),
    }, `Reset, confirming with ${p.name}…`))) : null,
  out);
}

// ---- routing ----

const ROUTES = {
  markets: marketsScreen, asset: assetScreen, portfolio: portfolioScreen, history: historyScreen,
  orders: ordersScreen, leaderboard: leaderboardScreen, account: accountScreen,
};

async function route() {
  for (const stop of cleanup) stop();
  cleanup = [];
  const token = ++routeToken;
  const [, page = '', arg = ''] = location.hash.split('/');
  if (!api.session) { loginScreen(); return; }
  if (nav.hidden) say(`Logged in as ${api.username}.`);
  nav.hidden = false;
  for (const a of nav.querySelectorAll('a')) {
    if (a.getAttribute('href') === `#/${page}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const render = ROUTES[page];
  if (!render) { location.hash = '#/markets'; return; }
  main.replaceChildren(h('p', {}, 'Loading…'));
  try {
    await render(token, decodeURIComponent(arg).toUpperCase());
  } catch (err) {
    if (token === routeToken) screen('Something went wrong', failure(err));
  }
  if (token === routeToken) main.focus({ preventScroll: true });
}

document.getElementById('logout').addEventListener('click', async () => {
  await api.logout();
  say('You are logged out.');
  go('#/login');
});

api.onSessionEnd = () => { say('Your session has ended. Please log in again.'); route(); };

window.addEventListener('hashchange', route);
window.addEventListener('DOMContentLoaded', async () => {
  providers = await oidc.providers(fetchFn);
  if (oidc.isCallback(location.search)) {
    // The code and state leave the address bar (and the history) at once.
    const search = location.search;
    history.replaceState(null, '', `${location.pathname}${location.hash}`);
    await completeExternal(search);
    if (api.session && accountNotice) {
      go('#/account');
      return;
    }
    if (api.session) {
      say(`Logged in as ${api.username}.`);
      go('#/markets');
      return;
    }
  }
  try {
    if (await api.resume()) say(`Welcome back, ${api.username}.`);
  } catch {
    say('The server cannot be reached right now.');
  }
  route();
});

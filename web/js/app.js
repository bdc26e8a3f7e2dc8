// PaperTrader in the browser: the screens and the hash router. Every
// string from the server reaches the page through textContent (h()),
// never as HTML. See api.js for the protocol side.
import { Api } from './api.js';
import * as codec from './codec.js';
import * as charts from './chart.js';
import { pct, signed, tone, usd, usdPrice } from './format.js';
import { ReasonError } from './reasons.js';
import * as oidc from './oidc.js';
import { confirmDialog, failure, h, screen, table } from './ui.js';
import { portfolioSwitcher } from './portfolios.js';
import { gameScreens } from './games.js';

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
let greeted = false;    // the status line says "Welcome back": keep it
let page = '';          // the screen shown (markets, asset, ...)
const fetchFn = (...args) => fetch(...args);

// ---- small helpers ----

/** Money with its currency and 2 decimals; a price under $1 keeps 4. */
const money = usd;
const price = usdPrice;
/** A price as the wire writes it (for the server, not for people). */
const wire = (units) => codec.formatMoney(units).replaceAll(',', '');
const when = (ts) => new Date(ts * 1000).toLocaleString();
const today = () => new Date().toISOString().slice(0, 10);

function say(text) { statusLine.textContent = text; }

/** Goes to `hash`, rendering even when it is the current one. */
function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

// ---- portfolios and games (portfolios.js, games.js) ----

/** What the screens of other modules need of the app. */
const app = {
  api, go, route, say,
  isCurrent: (token) => token === routeToken,
  onLeave: (stop) => cleanup.push(stop),
};
const switcher = portfolioSwitcher(app);
app.switcher = switcher;
const games = gameScreens(app);

// The portfolio in use changed (here, or in another tab of this kept
// session): the header names it and the screen shows it.
api.on('portfolio', ({ here, moved }) => {
  switcher.refresh().then((list) => {
    const now = list.find((p) => p.inUse);
    if (moved && now) say(`This session is back on portfolio ${now.name}: the one it used was closed or removed.`);
  });
  if (!here) say('Another tab switched portfolios: this one follows.');
  if (!document.getElementById('confirm').open) route();
});

/** A confirmation of something done in the portfolio in use (an order, a
 *  change, a cancel, a reset): the dialog names the portfolio, and once
 *  confirmed the portfolio in use is read again, so that a switch made
 *  meanwhile (another tab, or the master moving the session off a closed
 *  or removed one) stops it: false, nothing sent, the screen redrawn. */
async function confirmIn(title, body, okLabel, backLabel) {
  const shown = api.portfolioId;
  const epoch = api.switches;
  const name = switcher.current()?.name;
  const where = name ? [h('p', { class: 'muted', id: 'confirm-portfolio' }, `In portfolio ${name}.`)] : [];
  if (!(await confirmDialog(title, [...body, ...where], okLabel, backLabel))) return false;
  try {
    await api.portfolios();
  } catch {
    // Not read (offline): the action itself is refused then.
    return true;
  }
  if (api.switches !== epoch || (shown !== null && api.portfolioId !== shown)) {
    const now = switcher.current()?.name;
    say(`The portfolio in use changed${now ? ` to ${now}` : ''} while you confirmed: nothing was sent.`);
    route();
    return false;
  }
  return true;
}

/** What a reset did: of the account's first portfolio as before
 *  portfolios, else naming the portfolio it reset. */
function resetSaid(cash) {
  const p = switcher.current();
  if (!p || p.id === '1') return `Your account was reset: cash ${money(cash)}.`;
  return `Portfolio ${p.name} was reset: cash ${money(cash)}.`;
}

// ---- the connection, live ----

const connBox = document.getElementById('conn');
const connText = document.getElementById('conn-text');
const CONN_WORDS = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', offline: 'Offline' };

/** Buttons that send orders (marked data-live) work only while live. */
function liveOnly(button) {
  button.setAttribute('data-live', '');
  button.disabled = api.status !== 'live';
  return button;
}

/** The indicator, stale marks and live-only buttons follow the status;
 *  back to live, connection errors go and a screen that failed for want
 *  of the connection is drawn again. */
function showStatus(status) {
  document.body.dataset.conn = status;
  if (status === 'idle') toasts.replaceChildren();
  connBox.hidden = status === 'idle';
  connBox.dataset.state = status;
  connText.textContent = CONN_WORDS[status] ?? '';
  const newest = api.newest();
  connBox.title = status === 'live' || !newest ? ''
    : `Prices shown are from ${new Date(newest * 1000).toLocaleTimeString()} and may be stale.`;
  for (const b of document.querySelectorAll('[data-live]')) b.disabled = status !== 'live';
  if (status !== 'live') return;
  for (const e of document.querySelectorAll('[data-conn-error]')) e.remove();
  if (main.dataset.failed) route();
}

api.on('status', showStatus);

// ---- notices of fills, whichever screen is open ----

const toasts = document.getElementById('toasts');

function toast(text, kind = 'ok') {
  const note = h('div', { class: `toast ${kind}`, 'data-toast': '' }, h('span', {}, text),
    h('button', { type: 'button', class: 'link', 'aria-label': 'Dismiss', onclick: () => note.remove() }, '×'));
  toasts.append(note);
  while (toasts.children.length > 4) toasts.firstChild.remove();
  setTimeout(() => note.remove(), 20000);
}

/** What became of a followed order, as a sentence (or null). */
function orderNews(o, before) {
  const what = `${codec.formatShares(o.filled ?? o.quantity)} ${o.symbol}`;
  const at = o.avg === null ? '' : ` at ${price(o.avg)}`;
  const verb = o.side === 'buy' ? 'bought' : 'sold';
  if (o.status === 'filled') return `Order ${o.id} filled: ${verb} ${what}${at}.`;
  if ((o.filled ?? 0n) > before.filled) {
    return `Order ${o.id} partly filled: ${verb} ${codec.formatShares(o.filled)} of ${codec.formatShares(o.quantity)} ${o.symbol}${at}.`;
  }
  if (o.status === 'expired') return `Order ${o.id} (${o.side} ${o.symbol}) expired${o.filled ? '' : ' unfilled'}.`;
  if (o.status === 'rejected') return `Order ${o.id} (${o.side} ${o.symbol}) was rejected.`;
  return null;
}

api.on('order', ({ order, before }) => {
  const news = orderNews(order, before);
  if (news) toast(news, order.status === 'rejected' ? 'error' : 'ok');
  // Screens built from the orders or positions are drawn again (not
  // under an open dialog, whose outcome would land on the old screen).
  if (news && ['orders', 'portfolio', 'history'].includes(page)
    && !document.getElementById('confirm').open) route();
});

// ---- sign in ----

function loginScreen() {
  nav.hidden = true;
  const out = h('div', { id: 'login-result' });
  const user = h('input', { id: 'username', name: 'username', autocomplete: 'username', required: true, maxlength: 24 });
  const pass = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const keep = h('input', { id: 'keep', type: 'checkbox' });
  const login = h('form', { id: 'login-form', onsubmit: async (ev) => {
    ev.preventDefault();
    out.replaceChildren(h('p', {}, 'Logging in…'));
    try {
      await api.login(user.value.trim(), pass.value, keep.checked);
      go('#/markets');
    } catch (err) { out.replaceChildren(failure(err)); }
  } },
  h('label', { for: 'username' }, 'Username'), user,
  h('label', { for: 'password' }, 'Password'), pass,
  keepBox(keep, 'keep'),
  h('button', { type: 'submit', id: 'login-button' }, 'Log in'),
  providerButtons('login', user, out));

  const rOut = h('div', { id: 'register-result' });
  const rUser = h('input', { id: 'r-username', autocomplete: 'username', required: true, maxlength: 24, pattern: '[A-Za-z0-9_.\\-]{1,24}' });
  const rMail = h('input', { id: 'r-email', type: 'email', autocomplete: 'email', required: true });
  const rPass = h('input', { id: 'r-password', type: 'password', autocomplete: 'new-password', required: true, minlength: 8 });
  const rKeep = h('input', { id: 'r-keep', type: 'checkbox' });
  const register = h('form', { id: 'register-form', onsubmit: async (ev) => {
    ev.preventDefault();
    rOut.replaceChildren(h('p', {}, 'Registering…'));
    try {
      await api.register(rUser.value.trim(), rMail.value.trim(), rPass.value);
      await api.login(rUser.value.trim(), rPass.value, rKeep.checked);
      go('#/markets');
    } catch (err) { rOut.replaceChildren(failure(err)); }
  } },
  h('label', { for: 'r-username' }, 'Username'), rUser,
  h('label', { for: 'r-email' }, 'Email'), rMail,
  h('label', { for: 'r-password' }, 'Password (8 or more characters)'), rPass,
  keepBox(rKeep, 'r-keep'),
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

/** "Keep me signed in": a session kept in this browser until logging
 *  out; without it the session ends with the page. */
function keepBox(box, id) {
  return h('div', { class: 'check' }, box, h('label', { for: id }, 'Keep me signed in on this device'));
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
    accountNotice = h('div', { class: 'ok', role: 'status' }, resetSaid(cash));
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

/** Adds `symbol` to the watchlist or takes it off, and `watched` (the
 *  screen's copy of the list) with it once the server agreed. */
async function toggleWatch(symbol, watched) {
  if (watched.has(symbol)) {
    await api.removeFromWatchlist(symbol);
    watched.delete(symbol);
  } else {
    await api.addToWatchlist(symbol);
    watched.add(symbol);
  }
}

/** A quote is "closed" when it is ten minutes older than the newest. */
const isOpen = (q, newest) => newest - q.time < 600;

async function marketsScreen(token) {
  const [assets, watched] = await Promise.all([api.assets(), api.watchlist().catch(() => [])]);
  if (token !== routeToken) return;
  const watching = new Set(watched);
  const out = h('div', { id: 'markets-result', 'aria-live': 'polite' });
  const updated = h('p', { class: 'muted', id: 'markets-updated' });
  const search = h('input', { id: 'markets-search', type: 'search', autocomplete: 'off', placeholder: 'AAPL, Apple…' });
  const onlyWatched = h('input', { id: 'markets-watched', type: 'checkbox' });
  const none = h('p', { class: 'empty', id: 'markets-none', hidden: true }, 'No asset matches.');
  const cells = new Map();
  const filter = () => {
    const text = search.value.trim().toLowerCase();
    let shown = 0;
    for (const [symbol, c] of cells) {
      const hit = (!text || symbol.toLowerCase().includes(text) || c.name.toLowerCase().includes(text))
        && (!onlyWatched.checked || watching.has(symbol));
      c.row.hidden = !hit;
      if (hit) shown += 1;
    }
    none.hidden = shown > 0;
    if (onlyWatched.checked && !watching.size) none.textContent = 'Your watchlist is empty: add assets with their star.';
    else none.textContent = 'No asset matches.';
  };
  const starFor = (symbol) => {
    const star = h('button', { type: 'button', class: 'star', 'data-watch': symbol }, '★');
    const label = () => {
      const on = watching.has(symbol);
      star.setAttribute('aria-pressed', String(on));
      star.setAttribute('aria-label', `Watch ${symbol}`);
      star.title = on ? `Remove ${symbol} from your watchlist` : `Add ${symbol} to your watchlist`;
    };
    label();
    star.addEventListener('click', async () => {
      try {
        await toggleWatch(symbol, watching);
        out.replaceChildren();
        label();
        filter();
      } catch (err) { out.replaceChildren(failure(err)); }
    });
    return star;
  };
  const rows = assets.map((a) => {
    const priceCell = h('td', { class: 'num price live' }, '–');
    const changeCell = h('td', { class: 'num change live' });
    const badge = h('span', { class: 'badge' });
    const phoneBadge = h('span', { class: 'badge closed phone-only', hidden: true }, 'closed');
    const row = h('tr', { 'data-symbol': a.symbol },
      h('th', { scope: 'row' }, starFor(a.symbol), ' ',
        h('a', { href: `#/asset/${encodeURIComponent(a.symbol)}` }, a.symbol), ' ', phoneBadge),
      h('td', { class: 'col-name' }, a.name), priceCell, changeCell, h('td', { class: 'col-market' }, badge));
    cells.set(a.symbol, { row, priceCell, changeCell, badge, phoneBadge, name: a.name });
    return row;
  });
  // Cells change in place (text only where it differs), so focus,
  // selection and scroll survive a price set.
  const set = (el, text, cls) => {
    if (el.textContent !== text) el.textContent = text;
    if (cls !== undefined && el.className !== cls) el.className = cls;
  };
  const paint = () => {
    const newest = api.newest();
    for (const [symbol, c] of cells) {
      const q = api.quotes.get(symbol);
      if (!q) { set(c.priceCell, 'no price yet'); continue; }
      const change = q.close - q.open;
      const open = isOpen(q, newest);
      set(c.priceCell, price(q.close));
      set(c.changeCell, `${signed(change)} (${pct(change, q.open)})`, `num change live ${tone(change)}`);
      set(c.badge, open ? 'open' : 'closed', open ? 'badge open' : 'badge closed');
      if (c.phoneBadge.hidden !== open) c.phoneBadge.hidden = open;
    }
    const at = newest ? `Prices of ${new Date(newest * 1000).toLocaleTimeString()}` : '';
    set(updated, !newest ? 'No prices yet: they appear with the next update.'
      : api.status === 'live' ? `${at}; they follow every update.`
        : `${at}, not updated while the app is ${api.status === 'offline' ? 'offline' : 'reconnecting'}.`);
  };
  for (const ev of ['input', 'change']) search.addEventListener(ev, filter);
  onlyWatched.addEventListener('change', filter);
  screen('Markets', updated,
    h('div', { class: 'filters', role: 'search' },
      h('div', { class: 'field' }, h('label', { for: 'markets-search' }, 'Find an asset'), search),
      h('div', { class: 'check' }, onlyWatched, h('label', { for: 'markets-watched' }, 'Only my watchlist'))),
    out,
    h('div', { class: 'scroll' }, h('table', { id: 'markets' },
      h('caption', { class: 'sr-only' }, 'Every asset with its price and change today'),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, 'Symbol'), h('th', { scope: 'col', class: 'col-name' }, 'Name'),
        h('th', { scope: 'col', class: 'num' }, 'Price'), h('th', { scope: 'col', class: 'num' }, 'Change'),
        h('th', { scope: 'col', class: 'col-market' }, 'Market'))),
      h('tbody', { id: 'markets-body' }, rows))), none);
  paint();
  filter();
  cleanup.push(api.on('prices', paint), api.on('status', paint));
}

// ---- an asset: candles and the order ticket ----

async function assetScreen(token, symbol) {
  const chartBox = h('div', { class: 'chart', id: 'chart' });
  const figure = h('figure', { class: 'chart-figure' },
    h('figcaption', { class: 'sr-only' }, `Price chart of ${symbol}`), chartBox);
  const quote = h('p', { class: 'quote', id: 'quote' });
  const ranges = ['day', 'week', 'month', 'year', 'all'];
  const labels = { day: 'Day', week: 'Week', month: 'Month', year: 'Year', all: 'All time' };
  let chart = null;
  let range = 'day';
  const show = async (r) => {
    range = r;
    for (const b of rangeBar.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.range === r));
    try {
      const bars = await api.bars(r, symbol, today());
      if (token !== routeToken || r !== range) return;
      if (chart) chart.remove();
      chart = null;
      if (!bars.length) { chartBox.replaceChildren(h('p', { class: 'empty' }, 'No prices in this range yet.')); return; }
      chart = charts.candles(chartBox, bars);
    } catch (err) { chartBox.replaceChildren(failure(err)); }
  };
  const rangeBar = h('div', { class: 'ranges', role: 'group', 'aria-label': 'Time range' },
    ranges.map((r) => h('button', { type: 'button', class: 'secondary', 'data-range': r, onclick: () => show(r) }, labels[r])));
  const watched = new Set(await api.watchlist().catch(() => []));
  if (token !== routeToken) return;
  const star = h('button', { type: 'button', class: 'secondary', id: 'watch' });
  const starLabel = () => {
    star.setAttribute('aria-pressed', String(watched.has(symbol)));
    star.textContent = watched.has(symbol) ? '★ On your watchlist' : '☆ Add to watchlist';
  };
  starLabel();
  const starOut = h('span', { id: 'watch-result', 'aria-live': 'polite' });
  star.addEventListener('click', async () => {
    try {
      await toggleWatch(symbol, watched);
      starLabel();
      starOut.replaceChildren();
    } catch (err) { starOut.replaceChildren(failure(err)); }
  });
  const trade = ticket(symbol);
  screen(symbol, quote, h('div', { class: 'watch-row' }, star, starOut), rangeBar, figure, trade.form);
  cleanup.push(() => { if (chart) chart.remove(); });
  const headline = (q) => {
    const change = q.close - q.open;
    quote.replaceChildren(h('span', { class: 'big live', id: 'headline' }, price(q.close)), ' ',
      h('span', { class: `live ${tone(change)}` }, `${signed(change)} (${pct(change, q.open)}) today`));
  };
  headline(api.quotes.get(symbol) ?? await api.info(symbol));
  if (token !== routeToken) return;
  cleanup.push(api.on('prices', (changed) => {
    const q = changed.find((x) => x.symbol === symbol);
    if (!q) return;
    headline(q);
    trade.follow(q);
    if (chart && range === 'day') chart.tick(q);
  }), api.on('status', (status) => {
    // A chart that failed for want of the connection comes back with it.
    if (status === 'live' && !chart) show(range);
  }));
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
  if (!(await confirmIn(`${verb} ${symbol}?`, body, `${verb} ${worth} of ${symbol}`))) return;
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

/** The buy/sell form with its context (cash, shares held, the last
 *  price, an estimate at the price the order names and what will happen)
 *  and its confirmation: {form, follow(quote)}. */
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

  // The context, kept up to date: cash and shares after each own order,
  // the last price at each price set.
  let cash = null;
  let held = null;
  let last = api.quotes.get(symbol)?.close ?? null;
  const context = h('dl', { class: 'facts ticket-context', id: 'ticket-context' });
  const outcome = h('p', { class: 'muted', id: 'ticket-outcome' });
  const money0 = (v) => (v === null ? '…' : money(v));
  /** The price the order names, as the estimate uses it. */
  const reference = () => {
    const t = type.value;
    const typed = (input) => { const v = codec.parseMoney(input.value); return v !== null && v > 0n ? v : null; };
    if (by.value === 'shares' && (t === 'limit' || t === 'stop-limit')) return [typed(limit), 'at your limit'];
    if (by.value === 'shares' && t === 'stop') return [typed(stop), 'at your stop'];
    return [last, 'at the last price'];
  };
  const estimate = () => {
    const [at, words] = reference();
    if (by.value === 'amount') {
      const amount = codec.parseMoney(qty.value);
      if (amount === null || amount <= 0n || !last) return '–';
      return `about ${codec.formatShares((amount * codec.SHARE) / last)} shares at the last price`;
    }
    const shares = codec.parseShares(qty.value);
    if (shares === null || shares <= 0n || at === null) return '–';
    return `${money(codec.times(at, shares))} ${words}`;
  };
  /** What the order will do, from the last price. */
  /** A sale beyond the shares held, said before it is sent. */
  const shortNote = () => {
    const shares = by.value === 'shares' ? codec.parseShares(qty.value) : null;
    return side.value === 'sell' && held !== null && shares !== null && shares > held
      ? ` You hold ${codec.formatShares(held)}: selling more opens a short position, where the server allows short selling.` : '';
  };
  const fate = () => plainFate() + shortNote();
  const plainFate = () => {
    const t = by.value === 'amount' ? 'market' : type.value;
    const buy = side.value === 'buy';
    const lim = codec.parseMoney(limit.value);
    const stp = codec.parseMoney(stop.value);
    if (t === 'market') return 'It fills at the next price set, at that price.';
    if (t === 'trailing-stop') return `It rests, its stop following the price ${buy ? 'down' : 'up'}; it fills at the market once the price turns by the trail.`;
    if (last === null) return 'It rests until the price reaches it.';
    if (t === 'limit') {
      if (lim === null || lim <= 0n) return '';
      const now = buy ? lim >= last : lim <= last;
      return now ? `The limit is ${buy ? 'at or above' : 'at or below'} the last price: it should fill at the next price set, at ${price(lim)} or better.`
        : `It rests until the price ${buy ? 'falls' : 'rises'} to ${price(lim)}, then fills at that price or better.`;
    }
    if (stp === null || stp <= 0n) return '';
    const now = buy ? stp <= last : stp >= last;
    const then = t === 'stop' ? 'fills at the market' : `becomes a limit order at ${lim ? price(lim) : 'its limit'}`;
    return now ? `The stop is already reached: at the next price set it ${then}.`
      : `It rests until the price ${buy ? 'rises' : 'falls'} to ${price(stp)}, then ${then}.`;
  };
  const paint = () => {
    context.replaceChildren(
      h('dt', {}, 'Cash available'), h('dd', { id: 'ticket-cash' }, money0(cash)),
      h('dt', {}, 'You hold'), h('dd', { id: 'ticket-held' }, held === null ? '…' : `${codec.formatShares(held)} ${symbol}`),
      h('dt', {}, 'Last price'), h('dd', { id: 'ticket-last', class: 'live' }, last === null ? 'none yet' : price(last)),
      h('dt', {}, 'Estimate'), h('dd', { id: 'ticket-estimate' }, estimate()));
    outcome.textContent = fate();
  };
  const learn = async () => {
    try {
      const [info, positions] = await Promise.all([api.userInfo(), api.portfolio()]);
      cash = info.cash;
      held = positions.find((p) => p.symbol === symbol)?.quantity ?? 0n;
      paint();
    } catch { /* shown as … until the next try */ }
  };

  const sync = () => {
    // An amount of money buys at the market, in fractions of a share.
    const amount = by.value === 'amount';
    if (amount) type.value = 'market';
    type.disabled = amount;
    qtyLabel.textContent = amount ? 'Amount ($)' : 'Quantity';
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
    paint();
  };
  for (const el of [type, by, side]) el.addEventListener('change', sync);
  for (const el of [qty, limit, stop]) el.addEventListener('input', paint);
  sync();
  learn();

  const bad = (text) => out.replaceChildren(h('div', { class: 'error', role: 'alert' }, h('strong', {}, text)));
  const review = liveOnly(h('button', { type: 'submit', id: 'review' }, 'Review order'));
  const form = h('form', { id: 'trade-form', class: 'card ticket', onsubmit: async (ev) => {
    ev.preventDefault();
    out.replaceChildren();
    if (by.value === 'amount') {
      await tradeAmount(side.value, symbol, qty.value.trim(), out);
      return learn();
    }
    const q = qty.value.trim();
    const shares = codec.parseShares(q);
    if (shares === null || shares <= 0n || shares > 1000000000n * codec.SHARE) {
      return bad('The quantity must be a number of shares above 0 and at most 1,000,000,000, with at most 9 decimals.');
    }
    const order = { side: side.value, symbol, quantity: q, type: type.value, tif: tif.value, limit: null, stop: null };
    for (const [field, input, label] of [['limit', limit, 'limit'], ['stop', stop, 'stop']]) {
      if ((field === 'limit' ? limitRow : stopRow).hidden) continue;
      const v = codec.parseMoney(input.value);
      if (v === null || v <= 0n) return bad(`Enter a ${label} price above zero, with at most 4 decimals.`);
      order[field] = v;
    }
    const exits = {};
    for (const [key, input, label] of [['takeProfit', takeProfit, 'take-profit'], ['stopLoss', stopLoss, 'stop-loss']]) {
      if (exitRows[0].hidden || !input.value.trim()) continue;
      const v = codec.parseMoney(input.value);
      if (v === null || v <= 0n) return bad(`Enter a ${label} price above zero, with at most 4 decimals, or leave it empty.`);
      exits[key] = v;
    }
    const withExits = Object.keys(exits).length > 0;
    if (withExits && (order.tif === 'ioc' || order.tif === 'fok')) order.tif = 'day';
    let trailText = null;
    if (!trailRow.hidden) {
      trailText = codec.parseTrail(trail.value);
      if (trailText === null) return bad('Enter a trail: an amount above zero (1.50) or a percent above 0 and below 100 (2%).');
    }
    const verb = order.side === 'buy' ? 'Buy' : 'Sell';
    const how = {
      market: 'at the market price of the next update',
      limit: `at ${order.limit === null ? '' : price(order.limit)} or better`,
      stop: `at the market once the price reaches ${order.stop === null ? '' : price(order.stop)}`,
      'stop-limit': `at ${order.limit === null ? '' : price(order.limit)} or better once the price reaches ${order.stop === null ? '' : price(order.stop)}`,
      'trailing-stop': `at the market once the price ${order.side === 'buy' ? 'rises' : 'falls'} ${trailText} from its ${order.side === 'buy' ? 'lowest' : 'highest'}`,
    }[order.type];
    const shown = codec.formatShares(shares);
    const exitSide = order.side === 'buy' ? 'sell' : 'buy';
    const exitWords = [exits.takeProfit && `at ${price(exits.takeProfit)} or better`,
      exits.stopLoss && `at the market once the price reaches ${price(exits.stopLoss)}`].filter(Boolean);
    const then = withExits ? ` Once it fills: ${exitSide} ${exitWords.join(', or ')}.` : '';
    const body = [h('p', { id: 'confirm-summary' }, `${verb} ${shown} ${symbol} ${how}${order.type === 'market' ? '' : TIF_WORDS[order.tif]}.${then}`),
      h('p', { class: 'muted', id: 'confirm-estimate' }, `Estimate: ${estimate()}. ${fate()}`)];
    if (!(await confirmIn(`${verb} ${symbol}?`, body, `${verb} ${shown} ${symbol}`))) return;
    const placed = { ...order, limit: order.limit === null ? null : wire(order.limit), stop: trailText ?? (order.stop === null ? null : wire(order.stop)) };
    out.replaceChildren(h('p', {}, order.type === 'market' ? 'Waiting for the next price…' : 'Placing the order…'));
    try {
      if (withExits) {
        const id = await api.placeOrderClass(placed, exits.takeProfit && wire(exits.takeProfit), exits.stopLoss && wire(exits.stopLoss));
        out.replaceChildren(h('div', { class: 'ok', role: 'status' }, `Order ${id} placed with its exits. ${fate()} A notice appears here when it fills. `,
          h('a', { href: '#/orders' }, 'See your orders')));
      } else if (order.type === 'market') {
        out.replaceChildren(fillNotice(order.side, await api.trade(order.side, symbol, q)));
      } else {
        const id = await api.placeOrder(placed);
        out.replaceChildren(h('div', { class: 'ok', role: 'status' }, `Order ${id} placed. ${fate()} A notice appears when it fills. `,
          h('a', { href: '#/orders' }, 'See your orders')));
      }
    } catch (err) { out.replaceChildren(failure(err)); }
    learn();
  } },
  h('h2', {}, 'Trade'),
  context,
  h('div', { class: 'grid' },
    h('div', { class: 'field' }, h('label', { for: 'side' }, 'Buy or sell'), side),
    h('div', { class: 'field' }, h('label', { for: 'size-by' }, 'Trade by'), by),
    h('div', { class: 'field' }, qtyLabel, qty),
    h('div', { class: 'field' }, h('label', { for: 'order-type' }, 'Order type'), type),
    limitRow, stopRow, trailRow, tifRow, ...exitRows),
  outcome,
  review, out);
  // A fill anywhere changes cash and shares.
  cleanup.push(api.on('order', () => learn()));
  return {
    form,
    follow(q) { last = q.close; paint(); },
  };
}

// ---- the account's screens ----

async function portfolioScreen(token) {
  const [info, positions, list] = await Promise.all([api.userInfo(), api.portfolio(), switcher.refresh()]);
  if (token !== routeToken) return;
  const inUse = list.find((p) => p.inUse);
  // Each price set moves the prices, values and P/L in place; equity is
  // the cash plus every position's value (a short's is below zero).
  const held = positions.map((p) => {
    const cost = codec.times(p.avgCost, p.quantity);
    const priceCell = h('td', { class: 'num live', 'data-label': 'Price' });
    const valueCell = h('td', { class: 'num live', 'data-label': 'Value' });
    const plCell = h('td', { class: 'num live', 'data-label': 'P/L' });
    const row = h('tr', { 'data-symbol': p.symbol },
      h('th', { scope: 'row', 'data-label': 'Symbol' }, h('a', { href: `#/asset/${encodeURIComponent(p.symbol)}` }, p.symbol)),
      h('td', { class: 'num', 'data-label': 'Shares' }, codec.formatShares(p.quantity)),
      h('td', { class: 'num', 'data-label': 'Avg cost' }, price(p.avgCost)), priceCell, valueCell, plCell);
    return { ...p, cost, row, priceCell, valueCell, plCell };
  });
  const equityCell = h('strong', { id: 'equity', class: 'live' });
  const plTotal = h('strong', { id: 'pl', class: 'live' });
  const paint = () => {
    let value = 0n;
    let cost = 0n;
    for (const p of held) {
      const q = api.quotes.get(p.symbol);
      if (q) { p.price = q.close; p.value = codec.times(q.close, p.quantity); }
      const pl = p.value - p.cost;
      value += p.value; cost += p.cost;
      p.priceCell.textContent = price(p.price);
      p.valueCell.textContent = money(p.value);
      p.plCell.textContent = `${signed(pl)} (${pct(pl, p.cost < 0n ? -p.cost : p.cost)})`;
      p.plCell.className = `num live ${tone(pl)}`;
    }
    equityCell.textContent = money(info.cash + value);
    plTotal.textContent = signed(value - cost);
    plTotal.className = `live ${tone(value - cost)}`;
  };
  paint();
  const equityBox = h('div', { class: 'chart small', id: 'equity-chart' });
  screen('Portfolio',
    inUse ? h('p', { class: 'muted', id: 'portfolio-in-use' }, `Portfolio ${inUse.name}`,
      inUse.game ? [', of ', h('a', { href: `#/game/${inUse.game}` }, `game ${inUse.game}`)] : null,
      inUse.status === 'removed' ? ' (removed from its game: read only)' : null,
      ' · ', h('a', { href: '#/portfolios' }, 'All your portfolios')) : null,
    h('div', { class: 'summary' },
      h('div', {}, h('span', { class: 'muted' }, 'Equity'), equityCell),
      h('div', {}, h('span', { class: 'muted' }, 'Cash'), h('strong', { id: 'cash' }, money(info.cash))),
      h('div', {}, h('span', { class: 'muted' }, 'Unrealised P/L'), plTotal)),
    h('h2', {}, 'Positions'),
    table('Positions', ['Symbol', 'Shares', 'Avg cost', 'Price', 'Value', 'P/L'], held.map((p) => p.row),
      'No positions yet: buy something on the Markets page.', 'stack'),
    h('h2', {}, 'Equity'), h('figure', { class: 'chart-figure' },
      h('figcaption', { class: 'sr-only' }, 'Equity at the end of each day'), equityBox));
  cleanup.push(api.on('prices', paint));
  const points = await api.equity();
  if (token !== routeToken) return;
  if (points.length >= 2) {
    const chart = charts.equity(equityBox, points);
    cleanup.push(() => chart.remove());
  } else {
    // One day is no line: say what there is.
    const first = points[0];
    equityBox.classList.add('empty-chart');
    equityBox.replaceChildren(h('p', { class: 'empty' }, first
      ? `Equity history starts today, at ${money(first.equity)}: the chart draws once there are two days.`
      : 'No history yet.'));
  }
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
    'No transactions yet.', 'stack'));
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
      h('td', { class: 'wrap' }, `${o.side} ${o.type}` + (o.orderClass ? (o.parent ? ` (${o.orderClass} exit of ${o.parent})` : ` (${o.orderClass})`) : '')),
      h('td', {}, o.symbol),
      h('td', { class: 'num' }, codec.formatShares(o.quantity)),
      h('td', { class: 'num' }, o.limit === null ? '–' : price(o.limit)),
      h('td', { class: 'num' }, (o.stop === null ? '–' : price(o.stop)) + (o.trail ? ` (${o.trail})` : '')),
      h('td', {}, o.tif), h('td', {}, o.status + filledText(o)),
      h('td', {}, live ? [
        // An order of a class is cancelled with it, not changed.
        o.orderClass ? null : liveOnly(h('button', { type: 'button', class: 'secondary', 'data-action': 'change', onclick: () => changeOrder(o, out) }, 'Change')),
        o.orderClass ? null : ' ',
        liveOnly(h('button', { type: 'button', class: 'secondary', 'data-action': 'cancel', onclick: async () => {
          const ok = await confirmIn('Cancel this order?', [h('p', {}, `${o.side} ${codec.formatShares(o.quantity)} ${o.symbol} (${o.type}), order ${o.id}.`)], 'Cancel order', 'Keep order');
          if (!ok) return;
          try { await api.cancelOrder(o.id); route(); } catch (err) { out.replaceChildren(failure(err)); }
        } }, 'Cancel'))] : null));
  });
  screen('Orders', out, table('Orders, newest first', ['Placed', 'Order', 'Symbol', 'Shares', 'Limit', 'Stop', 'Good for', 'Status', 'Actions'], rows,
    'No orders yet: choose Limit, Stop or Stop-limit on an asset\'s page.', 'stack'));
}

/** The Change dialog of an open order (replaceOrder): its quantity, the
 *  prices its type takes and its time in force, prefilled; what is left
 *  as it was is kept. */
async function changeOrder(o, out) {
  const field = (id, label, value) => {
    const input = h('input', { id, value, inputmode: id === 'change-trail' ? 'text' : 'decimal' });
    return [input, h('div', { class: 'field' }, h('label', { for: id }, label), input)];
  };
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
  const ok = await confirmIn(`Change order ${o.id}?`,
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
      h('td', { class: `num ${r.ret.startsWith('-') ? 'down' : r.ret === '0.00' ? '' : 'up'}` },
        `${r.ret.startsWith('-') || r.ret === '0.00' ? '' : '+'}${r.ret}%`))),
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
      list.replaceChildren(table('Your API keys', ['Key id', 'Label', 'Made', 'Actions'], keys.map((k) =>
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
      'No API keys yet.', 'stack'));
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

/** Changes the password behind the current one, or adds one to an
 *  account made with a provider (which has none). The current password
 *  is checked by a login of its own before the change is sent. */
function passwordForm() {
  const out = h('div', { id: 'password-result', 'aria-live': 'polite' });
  const current = h('input', { id: 'current-password', type: 'password', autocomplete: 'current-password' });
  const pass = h('input', { id: 'new-password', type: 'password', autocomplete: 'new-password', required: true, minlength: 8 });
  const again = h('input', { id: 'new-password-again', type: 'password', autocomplete: 'new-password', required: true, minlength: 8 });
  const bad = (text) => out.replaceChildren(h('div', { class: 'error', role: 'alert' }, h('strong', {}, text)));
  return h('form', { id: 'password-form', class: 'card', onsubmit: async (ev) => {
    ev.preventDefault();
    if (pass.value !== again.value) return bad('The two passwords differ.');
    if (!current.value && !providers.length) return bad('Type your current password.');
    out.replaceChildren(h('p', {}, 'Saving…'));
    try {
      if (current.value) {
        try { await api.checkPassword(current.value); } catch (err) {
          if (err instanceof ReasonError && (err.code === 'bad-credentials' || err.code === 'no-password')) {
            return bad(err.code === 'no-password' ? 'This account has no password yet: leave the current password empty.'
              : 'Your current password is not right.');
          }
          throw err;
        }
      }
      await api.setPassword(pass.value);
      out.replaceChildren(h('div', { class: 'ok', role: 'status' }, 'Your password is set: you can log in with it from now on.'));
      current.value = ''; pass.value = ''; again.value = '';
    } catch (err) {
      out.replaceChildren(err instanceof ReasonError && err.code === 'forbidden'
        ? h('div', { class: 'error', role: 'alert' }, h('strong', {},
          'For your safety a password can only be set in the 10 minutes after signing in. Log out, sign in again, then set it.'))
        : failure(err));
    }
  } },
  h('h2', {}, 'Password'),
  h('p', {}, providers.length ? 'Change your password, or add one to log in without your provider.'
    : 'Change the password you log in with.'),
  h('label', { for: 'current-password' }, providers.length
    ? 'Current password (leave empty if you signed up with a provider and have none)' : 'Current password'), current,
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
    return confirmIn('Reset your account?', [h('p', {},
      'Every open order of the portfolio in use is cancelled, every position removed and its cash set back to what it started with. Your other portfolios are not touched; the history is kept.')], 'Reset my account');
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
      out.replaceChildren(h('div', { class: 'ok', role: 'status' }, resetSaid(cash)));
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
  portfolios: switcher.screen, games: games.gamesScreen, game: games.gameScreen,
};

async function route() {
  for (const stop of cleanup) stop();
  cleanup = [];
  const token = ++routeToken;
  const [, name = '', arg = ''] = location.hash.split('/');
  page = name;
  delete main.dataset.failed;
  closeMenu();
  if (!api.session) { menu.hidden = true; switcher.hide(); loginScreen(); return; }
  if (nav.hidden && !greeted) say(`Logged in as ${api.username}.`);
  greeted = false;
  nav.hidden = false;
  menu.hidden = false;
  switcher.show();
  if (api.status === 'idle') api.goLive();
  for (const a of nav.querySelectorAll('a')) {
    if (a.getAttribute('href') === `#/${name}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const render = ROUTES[name];
  if (!render) { location.hash = '#/markets'; return; }
  main.replaceChildren(h('p', {}, 'Loading…'));
  try {
    await render(token, decodeURIComponent(arg).toUpperCase());
  } catch (err) {
    if (token === routeToken) {
      screen('Something went wrong', failure(err));
      // Drawn again once the connection is back (showStatus).
      if (!(err instanceof ReasonError)) main.dataset.failed = '1';
    }
  }
  if (token === routeToken) main.focus({ preventScroll: true });
}

// On a phone the navigation folds behind a Menu button.
const menu = document.getElementById('menu');
function closeMenu() {
  document.body.classList.remove('menu-open');
  menu.setAttribute('aria-expanded', 'false');
}
menu.addEventListener('click', () => {
  const open = !document.body.classList.contains('menu-open');
  document.body.classList.toggle('menu-open', open);
  menu.setAttribute('aria-expanded', String(open));
});

document.getElementById('logout').addEventListener('click', () => {
  // Not waited for: a dead connection must not keep anyone logged in here.
  api.logout();
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
    if (await api.resume()) {
      say(`Welcome back, ${api.username}.`);
      greeted = true;
    }
  } catch {
    say('The server cannot be reached right now.');
  }
  route();
});

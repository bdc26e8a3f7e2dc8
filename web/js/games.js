// Games (competitions, protocol 1.2): the Games screen (my games, the
// public ones, joining by code, the form that creates one) and a game's
// page (its rules in plain words, the standings, a player's holdings,
// the organiser's controls, Leave, and "Trade in this game", which
// switches to the game's portfolio). The rules travel as values
// (api.js parseRules/rulesText); money stays BigInt units.
import { ORDER_TYPES, defaultRules } from './api.js';
import * as codec from './codec.js';
import { usd as money, usdPrice as price } from './format.js';
import { confirmDialog, failure, h, screen, table } from './ui.js';

const MAX_CASH = 1000000000n * codec.UNIT;
const MAX_ASSETS = 1000;
const ORDER_WORDS = {
  market: 'market', limit: 'limit', stop: 'stop', 'stop-limit': 'stop-limit', 'trailing-stop': 'trailing stop',
};
const STATE_WORDS = { waiting: 'Not started', running: 'Running', ended: 'Ended' };
const ROLE_WORDS = {
  organiser: 'Organiser', player: 'Player', both: 'Organiser and player', removed: 'Removed', left: 'Left',
};
/** How often a running game's standings are read again while shown. */
const STANDINGS_EVERY_MS = 10000;

/** Unix seconds as a datetime-local input writes local time:
 *  `2026-12-01T09:30`, with `:15` when the seconds are not 0 (a time set
 *  elsewhere, `+1h` from the CLI, survives a save unchanged). */
export function toLocalInput(seconds) {
  const d = new Date(seconds * 1000);
  const two = (n) => String(n).padStart(2, '0');
  const secs = d.getSeconds() ? `:${two(d.getSeconds())}` : '';
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${two(d.getMinutes())}${secs}`;
}

/** A datetime-local input's value (local time) as Unix seconds, or null. */
export function fromLocalInput(value) {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$/.test(String(value))) return null;
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? null : Math.floor(ms / 1000);
}

/** A time for people: `Dec 1, 2026, 9:30 AM` in the browser's language. */
export function when(seconds) {
  return new Date(seconds * 1000).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** `a`, `a and b`, `a, b and c`. */
function listed(words) {
  return words.length < 2 ? words.join('') : `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}

/** A game's rules in plain words, one sentence each. */
export function ruleSentences(r) {
  const orders = ORDER_TYPES.filter((o) => r.orders.includes(o)).map((o) => ORDER_WORDS[o]);
  return [
    `Each player starts with ${money(r.cash)}.`,
    r.assets === null ? 'Every asset may be traded.' : `Only ${listed(r.assets)} may be traded.`,
    orders.length === ORDER_TYPES.length ? 'Every order type is allowed: market, limit, stop, stop-limit and trailing stop.'
      : `Only ${listed(orders)} orders are allowed${r.orders.includes('market') ? '' : ' (so no buying or selling at the market)'}.`,
    r.short ? 'Short selling is allowed: a sale may go beyond the shares held.'
      : 'No short selling: a sale may not go beyond the shares held.',
    r.fractional ? 'Fractions of a share may be traded.'
      : 'Whole shares only: no fractions, and no orders for an amount of money.',
    r.fees === 'none' ? 'No fees: trades pay no commission and no slippage.'
      : 'Trades pay the server\'s usual commission and slippage.',
    r.cap === null ? 'A position may be of any size.'
      : `An order may not make a position worth more than ${r.cap}% of the player's equity.`,
    r.late ? 'Players may join after the start.' : 'Players must join before the start.',
    {
      never: 'Each player\'s holdings are seen by that player only.',
      end: 'The players\' holdings are shown to everyone once the game has ended.',
      always: 'The players\' holdings are shown to everyone at all times.',
    }[r.holdings],
    r.resets ? 'Players may reset their portfolio to the starting cash.' : 'No resets: a portfolio cannot start again.',
    r.public ? 'Public: listed for everyone, who may join by its number.' : 'Private: players join with the invitation code.',
  ];
}

/** The fields of a rules form as typed, to rules values or {error}. */
export function readRules(v, now = Math.floor(Date.now() / 1000)) {
  const name = String(v.name).trim();
  if (!name || [...name].length > 64 || /\p{Cc}/u.test(name)) {
    return { error: 'A game\'s name is 1 to 64 characters.' };
  }
  const start = fromLocalInput(v.start);
  const end = fromLocalInput(v.end);
  if (start === null || end === null) return { error: 'Enter the start and the end, each a date and a time.' };
  if (end <= start) return { error: 'The end must come after the start.' };
  if (end <= now) return { error: 'The end must be in the future.' };
  const cash = codec.parseMoney(String(v.cash).trim().replace(/^\$/, '').replaceAll(',', ''));
  if (cash === null || cash <= 0n || cash > MAX_CASH) {
    return { error: 'The starting cash is an amount above 0 and at most 1,000,000,000, with at most 4 decimals.' };
  }
  const symbols = String(v.assets).toUpperCase().split(/[\s,]+/).filter((s) => s);
  if (symbols.length > MAX_ASSETS) return { error: `A game may name at most ${MAX_ASSETS} assets.` };
  const assets = symbols.length ? [...new Set(symbols)].sort() : null;
  if (!v.orders.length) return { error: 'Allow at least one order type.' };
  const capText = String(v.cap).trim().replace(/%$/, '');
  const cap = capText === '' ? null : Number(capText);
  if (cap !== null && !(/^\d{1,3}$/.test(capText) && cap >= 1 && cap <= 100)) {
    return { error: 'The position cap is a whole percent from 1 to 100, or empty for none.' };
  }
  return {
    rules: {
      ...defaultRules(name, start, end), cash, assets, orders: ORDER_TYPES.filter((o) => v.orders.includes(o)),
      short: v.short, fractional: v.fractional, fees: v.fees, cap, late: v.late, holdings: v.holdings,
      resets: v.resets, public: v.public,
    },
  };
}

/** A button that copies `text()` to the clipboard (or selects `shown`,
 *  where the browser does not let a page copy), and what it did. */
function copyButton(id, label, text, shown) {
  const said = h('span', { class: 'muted', role: 'status', id: `${id}-said` });
  const button = h('button', { type: 'button', class: 'secondary', id, onclick: async () => {
    try {
      await navigator.clipboard.writeText(text());
      said.textContent = 'Copied.';
    } catch {
      const range = document.createRange();
      range.selectNodeContents(shown);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      said.textContent = 'Selected: copy it with your keyboard or menu.';
    }
  } }, label);
  return [button, ' ', said];
}

/** The Return cell of a standing, as the leaderboard writes it. */
function returnCell(ret) {
  const down = ret.startsWith('-');
  const flat = /^0(\.0+)?$/.test(ret);
  return h('td', { class: `num ${down ? 'down' : flat ? '' : 'up'}` }, `${down || flat ? '' : '+'}${ret}%`);
}

/** The Games screen and a game's page. `app`: {api, isCurrent(token),
 *  go(hash), route(), say(text), switcher, onLeave(fn)}. */
export function gameScreens(app) {
  const { api, switcher } = app;
  let notice = null; // shown once on the next screen drawn here

  const alert = (text) => h('div', { class: 'error', role: 'alert' }, h('strong', {}, text));
  const takeNotice = () => {
    const shown = notice;
    notice = null;
    return shown ? h('div', { class: 'ok', role: 'status' }, shown) : null;
  };

  /** Makes the session trade in a game's portfolio, then shows it. */
  async function tradeIn(portfolioId, out) {
    try {
      const used = await api.usePortfolio(portfolioId);
      app.say(`Now using portfolio ${used.name}.`);
      app.go('#/portfolio');
    } catch (err) { out.replaceChildren(failure(err)); }
  }

  /** Joins by code or number; says so with a way to trade in it. */
  async function join(codeOrId, out) {
    out.replaceChildren(h('p', {}, 'Joining…'));
    try {
      const made = await api.joinGame(codeOrId);
      const list = await switcher.refresh();
      const game = list.find((p) => p.id === made.id)?.game;
      out.replaceChildren(h('div', { class: 'ok', role: 'status', id: 'joined' },
        h('p', {}, `You joined${game ? ` game ${game}` : ' the game'}: your portfolio for it is ${made.name}.`),
        h('button', { type: 'button', id: 'joined-trade', onclick: () => tradeIn(made.id, out) }, 'Trade in this game'),
        game ? [' ', h('a', { href: `#/game/${game}`, id: 'joined-game' }, 'See the game')] : null));
      await refreshLists();
      return made;
    } catch (err) {
      out.replaceChildren(failure(err));
      return null;
    }
  }

  // ---- the rules form: create, and change before the start ----

  function rulesForm(prefix, rules, submitLabel, onSubmit) {
    const id = (k) => `${prefix}-${k}`;
    const field = (k, label, input, hint = null) => h('div', { class: 'field' },
      h('label', { for: id(k) }, label), input, hint ? h('p', { class: 'muted hint', id: id(`${k}-hint`) }, hint) : null);
    const input = (k, attrs) => h('input', { id: id(k), name: k, autocomplete: 'off', ...attrs });
    const check = (k, label, on) => {
      const box = h('input', { id: id(k), type: 'checkbox', checked: on });
      return [box, h('div', { class: 'check' }, box, h('label', { for: id(k) }, label))];
    };
    const name = input('name', { maxlength: 64, required: true, value: rules.name });
    // step 1: seconds are kept (the browser rounds to its step).
    const start = input('start', { type: 'datetime-local', step: 1, required: true, value: toLocalInput(rules.start) });
    const end = input('end', { type: 'datetime-local', step: 1, required: true, value: toLocalInput(rules.end) });
    // Every digit of the cash, so that saving unchanged rules changes nothing.
    const cash = input('cash', { inputmode: 'decimal', value: codec.formatMoney(rules.cash).replaceAll(',', '').replace(/\.?0+$/, '') });
    const assets = input('assets', { placeholder: 'e.g. AAPL, MSFT', value: rules.assets ? rules.assets.join(', ') : '', 'aria-describedby': id('assets-hint') });
    const orders = ORDER_TYPES.map((o) => check(`order-${o}`, ORDER_WORDS[o], rules.orders.includes(o)));
    const [short, shortRow] = check('short', 'Short selling (sales beyond the shares held)', rules.short);
    const [fractional, fractionalRow] = check('fractional', 'Fractions of a share (and orders for an amount)', rules.fractional);
    const [late, lateRow] = check('late', 'Players may join after the start', rules.late);
    const [resets, resetsRow] = check('resets', 'Players may reset their portfolio', rules.resets);
    const [pub, pubRow] = check('public', 'Public: listed for everyone, who may join by its number', rules.public);
    const fees = h('select', { id: id('fees') },
      h('option', { value: 'master', selected: rules.fees === 'master' }, 'The server\'s usual commission and slippage'),
      h('option', { value: 'none', selected: rules.fees === 'none' }, 'No fees'));
    const cap = input('cap', { inputmode: 'numeric', placeholder: 'none', value: rules.cap ?? '', 'aria-describedby': id('cap-hint') });
    const holdings = h('select', { id: id('holdings') },
      h('option', { value: 'never', selected: rules.holdings === 'never' }, 'Only to the player'),
      h('option', { value: 'end', selected: rules.holdings === 'end' }, 'To everyone once the game has ended'),
      h('option', { value: 'always', selected: rules.holdings === 'always' }, 'To everyone at all times'));
    const out = h('div', { id: id('result'), 'aria-live': 'polite' });
    const form = h('form', { id: id('form'), class: 'card rules-form', onsubmit: async (ev) => {
      ev.preventDefault();
      const read = readRules({
        name: name.value, start: start.value, end: end.value, cash: cash.value, assets: assets.value,
        orders: ORDER_TYPES.filter((o, i) => orders[i][0].checked), short: short.checked,
        fractional: fractional.checked, fees: fees.value, cap: cap.value, late: late.checked,
        holdings: holdings.value, resets: resets.checked, public: pub.checked,
      });
      if (read.error) { out.replaceChildren(alert(read.error)); return; }
      out.replaceChildren(h('p', {}, 'Sending…'));
      try { await onSubmit(read.rules, out); } catch (err) { out.replaceChildren(failure(err)); }
    } },
    field('name', 'Name (1 to 64 characters)', name),
    h('div', { class: 'grid' },
      field('start', 'Trading opens (your local time)', start),
      field('end', 'Trading closes (your local time)', end),
      field('cash', 'Starting cash of each player ($)', cash),
      field('cap', 'Position cap (% of equity)', cap, '1 to 100; empty: no cap.')),
    field('assets', 'Only these assets', assets, 'Symbols separated by commas; empty: every asset.'),
    h('fieldset', {}, h('legend', {}, 'Order types allowed'), h('div', { class: 'checks' }, orders.map(([, row]) => row))),
    h('fieldset', {}, h('legend', {}, 'Trading'), h('div', { class: 'checks' }, shortRow, fractionalRow, resetsRow)),
    h('div', { class: 'grid' },
      h('div', { class: 'field' }, h('label', { for: id('fees') }, 'Fees'), fees),
      h('div', { class: 'field' }, h('label', { for: id('holdings') }, 'Players\' holdings are shown'), holdings)),
    h('fieldset', {}, h('legend', {}, 'Players'), h('div', { class: 'checks' }, lateRow, pubRow)),
    h('button', { type: 'submit', id: id('button') }, submitLabel), out);
    return form;
  }

  // ---- the Games screen ----

  function joinForm() {
    const out = h('div', { id: 'join-result', 'aria-live': 'polite' });
    const code = h('input', { id: 'join-code', autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false', required: true, placeholder: 'e.g. ABCD2345EFGH' });
    return h('form', { id: 'join-form', class: 'card', onsubmit: async (ev) => {
      ev.preventDefault();
      const typed = code.value.replace(/[\s-]/g, '').toUpperCase();
      if (!/^(\d{1,16}|[A-Z2-7]{12})$/.test(typed)) {
        out.replaceChildren(alert('An invitation code is 12 letters and digits 2 to 7; a public game\'s number is digits only.'));
        return;
      }
      if (await join(typed, out)) code.value = '';
    } },
    h('h2', {}, 'Join a game'),
    h('label', { for: 'join-code' }, 'Invitation code, or a public game\'s number'), code,
    h('button', { type: 'submit', id: 'join-button' }, 'Join'), out);
  }

  function createForm() {
    // Next full hour, for a week: a start in the past is allowed too.
    const hour = Math.ceil(Date.now() / 3600000) * 3600;
    const form = rulesForm('game', defaultRules('', hour, hour + 7 * 86400), 'Create game', async (rules, out) => {
      const made = await api.createGame(rules);
      refreshLists();
      const codeBox = h('code', { id: 'created-code', class: 'invite' }, made.code);
      out.replaceChildren(h('div', { class: 'ok', role: 'status', id: 'game-created' },
        h('p', {}, `Game ${made.id} is made. Give its players this invitation code:`),
        h('p', { class: 'code-row' }, codeBox, ' ', copyButton('created-copy', 'Copy code', () => made.code, codeBox)),
        h('p', {}, h('a', { href: `#/game/${made.id}`, id: 'created-game' }, 'Open the game\'s page'),
          ' (you organise it; join it there to play too).')));
    });
    return h('section', { 'aria-labelledby': 'create-h' }, h('h2', { id: 'create-h' }, 'Create a game'), form);
  }

  function gameRows(games, mine) {
    return games.map((g) => h('tr', { 'data-game': g.id },
      h('th', { scope: 'row', class: 'wrap' }, h('a', { href: `#/game/${g.id}` }, g.name)),
      h('td', {}, STATE_WORDS[g.state] ?? g.state),
      mine ? h('td', {}, ROLE_WORDS[g.role] ?? g.role) : null,
      h('td', { class: 'num' }, String(g.players)),
      h('td', {}, when(g.start)),
      h('td', {}, when(g.end)),
      mine ? null : h('td', { class: 'actions' }, g.state === 'ended' ? null
        : h('button', { type: 'button', class: 'secondary', 'aria-label': `Join ${g.name}`, onclick: async () => {
          const out = document.getElementById('games-result');
          // The row moves to my games: focus goes to what comes next.
          if (await join(g.id, out)) document.getElementById('joined-trade')?.focus();
        } }, 'Join'))));
  }

  /** My games and the public ones, drawn into `box`. */
  function drawLists(box, games) {
    const mine = games.filter((g) => g.role !== null);
    const open = games.filter((g) => g.role === null);
    box.replaceChildren(
      h('h2', {}, 'Your games'),
      table('Games you organise or play in', ['Game', 'State', 'You', 'Players', 'Starts', 'Ends'], gameRows(mine, true),
        'None yet: create one below, or join one with its code.', 'stack'),
      h('h2', {}, 'Public games'),
      table('Public games you are not in', ['Game', 'State', 'Players', 'Starts', 'Ends', 'Actions'], gameRows(open, false),
        'No public game is open right now.', 'stack'));
  }

  /** The lists read again, when the Games screen shows them (a game
   *  made or joined). */
  async function refreshLists() {
    const box = document.getElementById('games-lists');
    if (!box) return;
    try {
      const games = await api.games();
      if (box.isConnected) drawLists(box, games);
    } catch { /* they stay as they were */ }
  }

  async function gamesScreen(token) {
    const games = await api.games();
    if (!app.isCurrent(token)) return;
    const lists = h('div', { id: 'games-lists' });
    drawLists(lists, games);
    screen('Games',
      h('p', {}, 'Compete with others: a game gives each player a portfolio of its own, with the same starting cash and rules, and ranks them by return.'),
      h('div', { id: 'games-result', 'aria-live': 'polite' }, takeNotice()),
      lists,
      h('div', { class: 'cards spaced' }, joinForm()),
      createForm());
  }

  // ---- a game's page ----

  /** The standings, a player's name a link to their holdings where the
   *  rules show them; the organiser can remove a player. */
  function standingsTable(g, rows, can) {
    const me = api.username?.toLowerCase();
    const organiser = g.organiser.toLowerCase() === me;
    const headers = ['Rank', 'Player', 'Return', ...(organiser ? ['Actions'] : [])];
    return table('Standings, best first', headers, rows.map((r) => {
      const self = r.username.toLowerCase() === me;
      const shows = self || can;
      return h('tr', { 'data-player': r.username, class: self ? 'me' : null },
        h('td', { class: 'num' }, r.rank),
        h('th', { scope: 'row' }, shows
          ? h('button', { type: 'button', class: 'linkish', 'data-holdings': r.username, 'aria-label': `Holdings of ${r.username}`,
            onclick: () => showHoldings(g, r.username) }, r.username)
          : r.username),
        returnCell(r.ret),
        organiser ? h('td', { class: 'actions' }, self ? null : h('button', {
          type: 'button', class: 'secondary', 'aria-label': `Remove ${r.username} from the game`,
          onclick: () => removePlayer(g, r.username),
        }, 'Remove')) : null);
    }), g.state === 'waiting' ? 'No players yet: they appear here once they join.' : 'No players.', 'stack');
  }

  async function showHoldings(g, username) {
    const box = document.getElementById('game-holdings');
    if (!box) return;
    const heading = h('h2', { id: 'holdings-h', tabindex: '-1' }, `Holdings of ${username}`);
    box.replaceChildren(heading, h('p', {}, 'Loading…'));
    heading.focus();
    try {
      const positions = await api.gameHoldings(g.id, username);
      box.replaceChildren(heading, table(`Holdings of ${username}`, ['Symbol', 'Shares', 'Avg cost', 'Price', 'Value'],
        positions.map((p) => h('tr', { 'data-symbol': p.symbol },
          h('th', { scope: 'row' }, p.symbol), h('td', { class: 'num' }, codec.formatShares(p.quantity)),
          h('td', { class: 'num' }, price(p.avgCost)), h('td', { class: 'num' }, price(p.price)),
          h('td', { class: 'num' }, money(p.value)))),
        `${username} holds no shares: all cash.`, 'stack'));
    } catch (err) { box.replaceChildren(heading, failure(err)); }
  }

  async function removePlayer(g, username) {
    const ok = await confirmDialog(`Remove ${username}?`, [h('p', {},
      `${username}'s open orders are cancelled and they leave the standings; they cannot join again.`)],
    'Remove player', 'Keep player');
    if (!ok) return;
    try {
      await api.removePlayer(g.id, username);
      notice = `${username} is removed from the game.`;
      app.route();
    } catch (err) { document.getElementById('game-result')?.replaceChildren(failure(err)); }
  }

  /** What I can do as a player (or could): trade, leave, join. */
  function playerPart(g, mine, out) {
    const isOrganiser = g.organiser.toLowerCase() === api.username?.toLowerCase();
    if (mine?.status === 'open') {
      return h('div', { class: 'buttons-row' },
        mine.inUse ? h('p', { id: 'game-in-use' }, `You are trading in this game (portfolio ${mine.name}).`)
          : h('button', { type: 'button', id: 'game-trade', onclick: () => tradeIn(mine.id, out) }, 'Trade in this game'),
        h('button', { type: 'button', class: 'secondary', id: 'game-leave', onclick: async () => {
          const ok = await confirmDialog(`Leave ${g.rules.name}?`, [h('p', {},
            'Your portfolio for it closes, its positions frozen, and you leave the standings. You cannot join again.')],
          'Leave game', 'Stay');
          if (!ok) return;
          try {
            await api.leaveGame(g.id);
            notice = 'You left the game.';
            await switcher.resync();
          } catch (err) { out.replaceChildren(failure(err)); }
        } }, 'Leave'));
    }
    if (mine?.status === 'removed') {
      return h('div', { class: 'buttons-row' },
        h('p', {}, `The organiser removed you from this game: its portfolio (${mine.name}) can be read but not traded.`),
        mine.inUse ? null : h('button', { type: 'button', class: 'secondary', id: 'game-trade', onclick: () => tradeIn(mine.id, out) }, 'See its portfolio'));
    }
    if (mine?.status === 'closed') return h('p', {}, 'You left this game.');
    const joinable = g.state !== 'ended' && (g.state === 'waiting' || g.rules.late) && (isOrganiser || g.rules.public);
    if (!joinable) return null;
    return h('div', { class: 'buttons-row' }, h('button', { type: 'button', id: 'game-join', onclick: async () => {
      if (await join(g.code ?? g.id, out)) {
        notice = 'You joined the game.';
        app.route();
      }
    } }, isOrganiser ? 'Join as a player too' : 'Join this game'));
  }

  /** The organiser's card: the code (copy, new), the rules (before the
   *  start). */
  function organiserPart(g, out) {
    if (g.organiser.toLowerCase() !== api.username?.toLowerCase()) return null;
    const codeBox = h('code', { id: 'game-code', class: 'invite' }, g.code ?? '–');
    const fresh = h('button', { type: 'button', class: 'secondary', id: 'game-new-code', onclick: async () => {
      const ok = await confirmDialog('Make a new invitation code?', [h('p', {},
        'The present code stops working at once; players who joined stay.')], 'New code', 'Keep the code');
      if (!ok) return;
      try {
        g.code = await api.newGameCode(g.id);
        codeBox.textContent = g.code;
        out.replaceChildren(h('div', { class: 'ok', role: 'status' }, 'A new invitation code is made; the old one no longer works.'));
      } catch (err) { out.replaceChildren(failure(err)); }
    } }, 'New code');
    const change = g.state === 'waiting' ? h('details', { class: 'change-rules' },
      h('summary', {}, 'Change the rules (until the start)'),
      rulesForm('change', g.rules, 'Save the rules', async (rules) => {
        await api.changeGame(g.id, rules);
        notice = 'The rules are changed; players who joined get the new starting cash.';
        app.route();
      })) : null;
    return h('section', { class: 'card organiser', 'aria-labelledby': 'organiser-h' },
      h('h2', { id: 'organiser-h' }, 'You organise this game'),
      h('p', {}, g.rules.public ? 'Anyone may join it by its number, or with the invitation code:'
        : 'Players join with the invitation code:'),
      h('p', { class: 'code-row' }, codeBox, ' ', copyButton('game-copy', 'Copy code', () => g.code ?? '', codeBox), ' ', fresh),
      h('p', { class: 'muted' }, 'Remove a player with the button on their row of the standings.'),
      change);
  }

  async function gameScreen(token, id) {
    if (!/^\d{1,16}$/.test(id)) { app.go('#/games'); return; }
    let g;
    let rows;
    let list;
    try {
      [g, rows, list] = await Promise.all([api.game(id), api.standings(id), switcher.refresh()]);
    } catch (err) {
      if (!app.isCurrent(token)) return;
      screen(`Game ${id}`, failure(err), h('p', {}, h('a', { href: '#/games' }, 'Back to the games')));
      return;
    }
    if (!app.isCurrent(token)) return;
    if (!g || !g.rules) {
      screen(`Game ${id}`, alert('The server sent this game in a form the app does not read.'));
      return;
    }
    const r = g.rules;
    const out = h('div', { id: 'game-result', 'aria-live': 'polite' }, takeNotice());
    const mine = list.find((p) => p.game === g.id) ?? null;
    // Whether the rules show another player's holdings now.
    const can = r.holdings === 'always' || (r.holdings === 'end' && g.state === 'ended');
    const standings = h('div', { id: 'game-standings' }, standingsTable(g, rows, can));
    const timeLine = {
      waiting: `Trading opens ${when(r.start)} and closes ${when(r.end)}.`,
      running: `Trading opened ${when(r.start)} and closes ${when(r.end)}.`,
      ended: `Trading closed ${when(r.end)}: the standings are final.`,
    }[g.state] ?? '';
    screen(r.name,
      h('p', { class: 'muted', id: 'game-facts' },
        `Game ${g.id} · organised by ${g.organiser} · ${g.players} ${g.players === 1 ? 'player' : 'players'}`),
      h('p', { id: 'game-state' }, h('span', { class: `badge ${g.state === 'running' ? 'open' : 'closed'}` }, STATE_WORDS[g.state] ?? g.state), ' ', timeLine),
      playerPart(g, mine, out),
      out,
      h('h2', {}, 'Standings'), standings,
      h('section', { id: 'game-holdings', 'aria-live': 'polite' }),
      organiserPart(g, out),
      h('h2', {}, 'Rules'),
      h('ul', { class: 'rules', id: 'game-rules' }, ruleSentences(r).map((s) => h('li', {}, s))),
      h('p', {}, h('a', { href: '#/games' }, 'All games')));
    // While it runs the standings move with the prices: read them again
    // now and then.
    if (g.state !== 'running') return;
    let last = Date.now();
    app.onLeave(api.on('prices', async () => {
      if (Date.now() - last < STANDINGS_EVERY_MS) return;
      last = Date.now();
      try {
        const fresh = await api.standings(g.id);
        if (app.isCurrent(token)) updateStandings(standings, g, fresh, can);
      } catch { /* the next price set tries again */ }
    }));
  }

  /** New standings into the table shown: ranks and returns change in
   *  place while the players' order holds (buttons stay under the
   *  pointer and the keyboard); a new order is drawn anew, but not under
   *  the keyboard's focus. */
  function updateStandings(box, g, fresh, can) {
    const shown = [...box.querySelectorAll('tbody tr[data-player]')];
    if (shown.length === fresh.length && shown.every((tr, i) => tr.dataset.player === fresh[i].username)) {
      fresh.forEach((r, i) => {
        const [rank, , ret] = shown[i].children;
        const now = returnCell(r.ret);
        if (rank.textContent !== r.rank) rank.textContent = r.rank;
        if (ret.textContent !== now.textContent) {
          ret.textContent = now.textContent;
          ret.className = now.className;
        }
      });
    } else if (!box.contains(document.activeElement)) {
      box.replaceChildren(standingsTable(g, fresh, can));
    }
  }

  return { gamesScreen, gameScreen };
}

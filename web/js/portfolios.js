// The portfolios of a login (protocol 1.2). The switcher in the header
// names the portfolio in use on every signed-in screen, changes it
// (usePortfolio) and makes a new one ("New portfolio…"); the Portfolios
// screen lists them all and uses, renames and closes them. A switch
// reaches the app through api.js's 'portfolio' listeners, which draw the
// screen again (and tell the other tabs).
import * as codec from './codec.js';
import { usd as money } from './format.js';
import { confirmDialog, failure, h, screen, table } from './ui.js';

const NAME = /^[A-Za-z0-9_.-]{1,32}$/;
/** Most starting cash a portfolio may have: a billion. */
const MAX_CASH = 1000000000n * codec.UNIT;

/** A new portfolio's name and starting cash as typed: {name, cash} (the
 *  cash as the wire writes it, or null for the server's usual amount),
 *  or {error} with a sentence. */
export function checkNew(nameText, cashText = '') {
  const name = String(nameText).trim();
  if (!NAME.test(name)) {
    return { error: 'A portfolio\'s name is 1 to 32 letters, digits, dots, dashes or underscores, without spaces.' };
  }
  const typed = String(cashText).trim().replace(/^\$/, '').replaceAll(',', '');
  if (!typed) return { name, cash: null };
  const cash = codec.parseMoney(typed);
  if (cash === null || cash <= 0n || cash > MAX_CASH) {
    return { error: 'The starting cash is an amount above 0 and at most 1,000,000,000, with at most 4 decimals; or leave it empty.' };
  }
  return { name, cash: codec.formatMoney(cash).replaceAll(',', '') };
}

/** How a portfolio's status reads. */
function statusWords(p) {
  if (p.status === 'removed') return 'removed from its game (read only)';
  if (p.status === 'closed') return 'closed';
  return p.inUse ? 'open, in use' : 'open';
}

/** Enter in a dialog's field confirms it (the form's first button is
 *  the way out, which Enter would press). */
function enterConfirms(input) {
  input.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Enter') return;
    ev.preventDefault();
    document.getElementById('confirm-ok').click();
  });
  return input;
}

/** The switcher and the Portfolios screen. `app`: {api, isCurrent(token),
 *  route(), say(text)}. */
export function portfolioSwitcher(app) {
  const { api } = app;
  const box = document.getElementById('portfolio-switch');
  const button = document.getElementById('portfolio-button');
  const nameBox = document.getElementById('portfolio-name');
  const panel = document.getElementById('portfolio-menu');
  const listBox = document.getElementById('portfolio-list');
  const out = document.getElementById('portfolio-result');
  let list = [];
  let notice = null; // shown once on the Portfolios screen

  const current = () => list.find((p) => p.inUse) ?? null;

  const open = (yes) => {
    panel.hidden = !yes;
    button.setAttribute('aria-expanded', String(yes));
    if (!yes) out.replaceChildren();
  };

  /** The header: the name in use, and a button per portfolio that can be
   *  used (open, or removed from its game: read only). */
  let drawn = '';
  const draw = () => {
    const shown = current();
    nameBox.textContent = shown ? shown.name : '…';
    button.title = shown?.game ? `Portfolio ${shown.name}, of game ${shown.game}` : '';
    const usable = list.filter((p) => p.status !== 'closed');
    // Drawn again only when it changed, so a click or the keyboard's
    // focus in the open menu is not lost to a read that found the same.
    const key = JSON.stringify(usable.map((p) => [p.id, p.name, p.status, p.inUse, p.game]));
    if (key === drawn) return;
    drawn = key;
    const focused = listBox.contains(document.activeElement) ? document.activeElement.dataset.portfolio : null;
    listBox.replaceChildren(...usable.map((p) => h('li', {},
      h('button', {
        type: 'button', class: 'switch-item', 'data-portfolio': p.id, 'aria-current': p.inUse ? 'true' : null,
        onclick: () => choose(p),
      }, h('span', { class: 'tick', 'aria-hidden': 'true' }, p.inUse ? '✓' : ''), p.name,
      p.status === 'removed' ? h('span', { class: 'muted' }, ' (removed: read only)')
        : p.game ? h('span', { class: 'muted' }, ` (game ${p.game})`) : null))));
    if (focused) listBox.querySelector(`[data-portfolio="${focused}"]`)?.focus();
  };

  /** Reads the portfolios again and draws the header; the list. An
   *  answer overtaken by a switch is read again. */
  const refresh = async (tries = 2) => {
    const asked = api.session;
    if (!asked) return list;
    const epoch = api.switches;
    try {
      const got = await api.portfolios();
      if (api.session !== asked) return list;
      if (api.switches !== epoch && tries > 1) return refresh(tries - 1);
      list = got;
      draw();
    } catch { /* the header keeps what it showed */ }
    return list;
  };

  /** After something that may have moved the session (a game left, a
   *  portfolio closed): a move is told as a switch (api.js), which draws
   *  the screen again; else it is drawn here. */
  const resync = async () => {
    const epoch = api.switches;
    await refresh();
    if (api.switches === epoch) app.route();
  };

  async function choose(p) {
    if (p.inUse) { open(false); button.focus(); return; }
    try {
      await api.usePortfolio(p.id);
      open(false);
      app.say(`Now using portfolio ${p.name}.`);
    } catch (err) { out.replaceChildren(failure(err)); }
  }

  /** "New portfolio…": a name and an optional starting cash; made and
   *  switched to. */
  async function create() {
    open(false);
    const name = enterConfirms(h('input', { id: 'new-portfolio-name', autocomplete: 'off', maxlength: 32, 'aria-describedby': 'new-portfolio-rule' }));
    const cash = enterConfirms(h('input', { id: 'new-portfolio-cash', inputmode: 'decimal', autocomplete: 'off', placeholder: 'e.g. 25000' }));
    const result = h('div', { id: 'new-portfolio-result' });
    const body = [
      h('p', {}, 'A portfolio of its own cash, positions, orders and history. You switch to it once it is made.'),
      h('label', { for: 'new-portfolio-name' }, 'Name'), name,
      h('p', { class: 'muted hint', id: 'new-portfolio-rule' }, '1 to 32 letters, digits, dots, dashes or underscores.'),
      h('label', { for: 'new-portfolio-cash' }, 'Starting cash in dollars (optional: empty for the usual amount)'), cash,
      result];
    let made = null;
    while (!made) {
      if (!(await confirmDialog('New portfolio', body, 'Create and use', 'Cancel'))) { button.focus(); return; }
      const checked = checkNew(name.value, cash.value);
      if (checked.error) {
        result.replaceChildren(h('div', { class: 'error', role: 'alert' }, h('strong', {}, checked.error)));
        continue;
      }
      try {
        made = await api.createPortfolio(checked.name, checked.cash);
      } catch (err) { result.replaceChildren(failure(err)); }
    }
    try {
      await api.usePortfolio(made.id);
      app.say(`Portfolio ${made.name} is made, and in use.`);
    } catch (err) {
      await refresh();
      open(true);
      out.replaceChildren(failure(err));
    }
  }

  button.addEventListener('click', () => {
    const opening = panel.hidden;
    open(opening);
    // The list may have changed elsewhere (a game joined from the CLI).
    if (opening) refresh();
  });
  document.getElementById('portfolio-new').addEventListener('click', create);
  document.getElementById('portfolio-manage').addEventListener('click', () => open(false));
  box.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && !panel.hidden) { open(false); button.focus(); }
  });
  document.addEventListener('click', (ev) => { if (!panel.hidden && !box.contains(ev.target)) open(false); });

  // ---- the Portfolios screen ----

  async function rename(p) {
    const input = enterConfirms(h('input', { id: 'rename-portfolio', autocomplete: 'off', maxlength: 32, value: p.name }));
    const said = h('div', { id: 'rename-result' });
    const body = [h('label', { for: 'rename-portfolio' }, 'New name (1 to 32 letters, digits, dots, dashes or underscores)'), input, said];
    for (;;) {
      if (!(await confirmDialog(`Rename portfolio ${p.name}?`, body, 'Rename', 'Keep the name'))) return;
      const checked = checkNew(input.value);
      if (checked.error) {
        said.replaceChildren(h('div', { class: 'error', role: 'alert' }, h('strong', {}, checked.error)));
        continue;
      }
      try {
        const done = await api.renamePortfolio(p.id, checked.name);
        notice = `Portfolio ${p.name} is now called ${done.name}.`;
        await refresh();
        app.route();
        return;
      } catch (err) { said.replaceChildren(failure(err)); }
    }
  }

  async function close(p, result) {
    const ok = await confirmDialog(`Close portfolio ${p.name}?`, [h('p', {},
      'It stops trading for good: its positions stay as they are, frozen, and its API keys stop working. It stays in the list, closed.')],
    'Close portfolio', 'Keep it open');
    if (!ok) return;
    try {
      await api.closePortfolio(p.id);
      notice = `Portfolio ${p.name} is closed.`;
      await resync();
    } catch (err) { result.replaceChildren(failure(err)); }
  }

  function actions(p, result) {
    const buttons = [];
    const add = (label, aria, onclick, cls = 'secondary') => buttons.push(h('button', { type: 'button', class: cls, 'aria-label': aria, onclick }, label));
    if (!p.inUse && p.status !== 'closed') {
      add('Use', `Use portfolio ${p.name}`, async () => {
        try { await api.usePortfolio(p.id); app.say(`Now using portfolio ${p.name}.`); } catch (err) { result.replaceChildren(failure(err)); }
      }, null);
    }
    if (p.status === 'open') add('Rename', `Rename portfolio ${p.name}`, () => rename(p));
    // The first is the account's own; a game's closes by leaving the game.
    if (p.status === 'open' && p.id !== '1' && !p.game) add('Close', `Close portfolio ${p.name}`, () => close(p, result));
    return buttons;
  }

  function newForm() {
    const result = h('div', { id: 'create-portfolio-result', 'aria-live': 'polite' });
    const name = h('input', { id: 'create-portfolio-name', autocomplete: 'off', maxlength: 32, required: true });
    const cash = h('input', { id: 'create-portfolio-cash', inputmode: 'decimal', autocomplete: 'off', placeholder: 'e.g. 25000' });
    return h('form', { id: 'create-portfolio-form', class: 'card spaced', onsubmit: async (ev) => {
      ev.preventDefault();
      const checked = checkNew(name.value, cash.value);
      if (checked.error) {
        result.replaceChildren(h('div', { class: 'error', role: 'alert' }, h('strong', {}, checked.error)));
        return;
      }
      try {
        const made = await api.createPortfolio(checked.name, checked.cash);
        notice = `Portfolio ${made.name} is made: Use switches to it.`;
        await refresh();
        app.route();
      } catch (err) { result.replaceChildren(failure(err)); }
    } },
    h('h2', {}, 'New portfolio'),
    h('label', { for: 'create-portfolio-name' }, 'Name (1 to 32 letters, digits, dots, dashes or underscores)'), name,
    h('label', { for: 'create-portfolio-cash' }, 'Starting cash in dollars (optional: empty for the usual amount)'), cash,
    h('button', { type: 'submit', id: 'create-portfolio-button' }, 'Create portfolio'), result);
  }

  async function portfoliosScreen(token) {
    const got = await api.portfolios();
    if (!app.isCurrent(token)) return;
    list = got;
    draw();
    const result = h('div', { id: 'portfolios-result', 'aria-live': 'polite' },
      notice ? h('div', { class: 'ok', role: 'status' }, notice) : null);
    notice = null;
    const rows = got.map((p) => h('tr', { 'data-portfolio': p.id, class: p.inUse ? 'me' : null },
      h('th', { scope: 'row' }, p.name),
      h('td', {}, statusWords(p)),
      h('td', {}, p.game ? h('a', { href: `#/game/${p.game}` }, `Game ${p.game}`) : '–'),
      h('td', { class: 'num' }, money(p.cash)),
      h('td', { class: 'num' }, money(p.startCash)),
      h('td', { class: 'actions' }, actions(p, result))));
    screen('Portfolios',
      h('p', {}, 'Each portfolio has its own cash, positions, orders and history. The one in use is what every screen shows and what your orders trade; a game gives each player a portfolio of its own.'),
      result,
      table('Your portfolios', ['Name', 'Status', 'Game', 'Cash', 'Starting cash', 'Actions'], rows, 'No portfolios yet.', 'stack'),
      newForm());
  }

  return {
    /** Shown once signed in, the list read again: the master may have
     *  moved the session meanwhile (a game's portfolio removed). */
    show() {
      box.hidden = false;
      refresh();
    },
    /** Hidden and forgotten (signed out). */
    hide() {
      box.hidden = true;
      list = [];
      open(false);
      draw();
    },
    refresh,
    resync,
    current,
    list: () => list,
    screen: portfoliosScreen,
  };
}

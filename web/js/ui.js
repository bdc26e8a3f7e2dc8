// The app's building blocks shared by its screens: elements made with
// textContent only (h), a failure's box, a screen's title, the confirm
// dialog and tables that turn into cards on a phone. DOM only: no
// protocol here (api.js) and no screen (app.js, games.js).
import { OfflineError } from './api.js';
import { SignInError } from './oidc.js';
import { ReasonError } from './reasons.js';

/** An element with attributes and children (strings become text). */
export function h(tag, attrs = {}, ...children) {
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

/** A box for a failure: the reason's sentence and the server's text. */
export function failure(err) {
  // data-conn-error: cleared once the connection is back.
  if (err instanceof OfflineError) {
    return h('div', { class: 'error', role: 'alert', 'data-conn-error': '' }, h('strong', {}, err.message));
  }
  if (err instanceof SignInError) {
    return h('div', { class: 'error', role: 'alert' }, h('strong', {}, err.message));
  }
  if (err instanceof ReasonError) {
    return h('div', { class: 'error', role: 'alert', 'data-code': err.code },
      h('strong', {}, err.message), err.detail ? h('span', { class: 'detail' }, ` (${err.detail})`) : null);
  }
  return h('div', { class: 'error', role: 'alert', 'data-conn-error': '' }, h('strong', {}, 'The server cannot be reached right now. '),
    'Check your connection; the app reconnects by itself.');
}

/** Draws a screen: its title (h1#title, the page's too) and children. */
export function screen(title, ...children) {
  // replaceChildren writes a null as the text "null": leave them out.
  const shown = children.filter((c) => c !== null && c !== undefined && c !== false);
  document.getElementById('main').replaceChildren(h('h1', { id: 'title' }, title), ...shown);
  document.title = `${title} · PaperTrader`;
}

/** Asks for confirmation in the dialog; resolves true on `okLabel`.
 *  `backLabel` names the way out, so that the two buttons never read
 *  alike ("Cancel" beside "Cancel order"). */
export function confirmDialog(title, body, okLabel = 'Confirm', backLabel = 'Cancel') {
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

/** A table in its scroller; `stack` lays each row out as a card on a
 *  phone, every cell after its header's name (data-label). */
export function table(caption, headers, rows, empty, stack = null) {
  if (!rows.length) return h('p', { class: 'empty' }, empty);
  // A stacked table's cells are laid out with display: flex, which makes
  // some screen readers forget it is a table: its roles say so again.
  const role = (r) => (stack ? r : null);
  if (stack) {
    for (const row of rows) {
      row.setAttribute('role', 'row');
      [...row.children].forEach((cell, i) => {
        if (!cell.hasAttribute('data-label')) cell.setAttribute('data-label', headers[i]);
        cell.setAttribute('role', cell.tagName === 'TH' ? 'rowheader' : 'cell');
      });
    }
  }
  return h('div', { class: 'scroll' }, h('table', { class: stack, role: role('table') },
    h('caption', { class: 'sr-only' }, caption),
    // Each header sits over its column: right-aligned over numbers.
    h('thead', { role: role('rowgroup') }, h('tr', { role: role('row') }, headers.map((x, i) => h('th', {
      scope: 'col', role: role('columnheader'), class: rows[0].children[i]?.classList.contains('num') ? 'num' : null,
    }, x)))),
    h('tbody', { role: role('rowgroup') }, rows)));
}

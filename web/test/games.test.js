// Portfolios and games (protocol 1.2) in the app: its instruction table
// against common/src/instr.rs row by row, the new frames built and read
// back, the payload lines parsed (money as BigInt units), the rules text
// read and written, and the forms' checks. Run: node --test web/test/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as codec from '../js/codec.js';
import {
  defaultRules, gameDetailOf, gameOf, parseRules, portfolioOf, positionOf, rulesText, standingOf,
} from '../js/api.js';
import { fromLocalInput, readRules, ruleSentences, toLocalInput } from '../js/games.js';
import { checkNew } from '../js/portfolios.js';

/** Every row of common/src/instr.rs: [name, code, message type]. */
function instrTable() {
  const path = fileURLToPath(new URL('../../common/src/instr.rs', import.meta.url));
  const text = readFileSync(path, 'utf8');
  const codes = new Map([...text.matchAll(/^\s{4}(\w+) = (\d+),$/gm)].map(([, v, n]) => [v, Number(n)]));
  const types = { Command: 1, Data: 2, Return: 3, Control: 4 };
  return [...text.matchAll(/spec!\((\w+), "(\w+)", (\w+),/g)]
    .map(([, variant, name, kind]) => [name, codes.get(variant), types[kind]]);
}

test('the instruction table is common/src/instr.rs\'s, row by row', () => {
  const rows = instrTable();
  assert.ok(rows.length >= 105, `${rows.length} rows read`);
  for (const [name, code, type] of rows) {
    assert.equal(codec.code(name), code, name);
    assert.equal(codec.nameOf(code), name, `code ${code}`);
    // makeFrame checks no arity: the type is what matters here.
    assert.equal(codec.makeFrame(name, []).type, type, `${name}'s message type`);
  }
  // And nothing more: every other code is unknown to the app too.
  const known = new Set(rows.map(([, code]) => code));
  for (let c = 0; c < 256; c++) {
    if (!known.has(c)) assert.equal(codec.nameOf(c), `instruction ${c}`);
  }
});

const SID = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const RULES = 'start=1796117400 end=1796722200 cash=100000.0000 assets=AAPL,MSFT orders=market,limit '
  + 'short=no fractional=yes fees=none cap=25 late=no holdings=always resets=yes public=yes name=Spring  cup ';

test('the new instructions build frames that read back the same', () => {
  const frames = [
    ['createPortfolio', [SID, '-', 'swing'], 93, 1],
    ['createPortfolio', [SID, '25000.0000', 'swing.2'], 93, 1],
    ['renamePortfolio', [SID, '2', 'long-term'], 94, 1],
    ['closePortfolio', [SID, '2'], 95, 1],
    ['usePortfolio', [SID, '2'], 96, 1],
    ['getPortfolios', [SID], 97, 2],
    ['createGame', [SID, RULES], 99, 1],
    ['changeGame', [SID, '7', RULES], 100, 1],
    ['joinGame', [SID, 'ABCDEFGH2345'], 101, 1],
    ['joinGame', [SID, '7'], 101, 1],
    ['leaveGame', [SID, '7'], 102, 1],
    ['removePlayer', [SID, '7', 'bob'], 103, 1],
    ['newGameCode', [SID, '7'], 104, 1],
    ['getGames', [SID], 105, 2],
    ['getGame', [SID, '7'], 106, 2],
    ['getStandings', [SID, '7'], 107, 2],
    ['getGameHoldings', [SID, '7', 'bob'], 108, 2],
    ['portfolioUpdated', ['2', 'swing'], 63, 3],
    ['portfolioFail', ['portfolio-exists an open portfolio is called swing'], 98, 3],
    ['gameCreated', ['7', 'ABCDEFGH2345'], 109, 3],
    ['gameUpdated', ['7'], 110, 3],
    ['gameFail', ['game-started game 7 started at 1796117400'], 111, 3],
  ];
  for (const [name, args, code, type] of frames) {
    const bytes = codec.encode(codec.makeFrame(name, args));
    const frame = codec.decode(bytes);
    assert.deepEqual([frame.instr, frame.type, frame.argc], [code, type, args.length], name);
    assert.equal(codec.nameOf(frame.instr), name);
    // The rules (the last argument) keep their spaces, doubled and trailing.
    assert.deepEqual(codec.args(frame), args, name);
  }
  // Only the last argument may hold a space.
  assert.throws(() => codec.makeFrame('removePlayer', [SID, '7 8', 'bob']), /holds a space/);
});

test('getPortfolios lines: ids as text, money as units', () => {
  const text = '1 open yes - 100000.0000 100000.0000 main\n3 removed no 7 0.0005 0.0010 game-7\n';
  const list = codec.lines(text, 7).map(portfolioOf);
  assert.deepEqual(list, [
    { id: '1', status: 'open', inUse: true, game: null, cash: 1000000000n, startCash: 1000000000n, name: 'main' },
    { id: '3', status: 'removed', inUse: false, game: '7', cash: 5n, startCash: 10n, name: 'game-7' },
  ]);
});

test('getGames lines: the name is the rest of the line, spaces and all', () => {
  const [g] = codec.lines('7 running both 12 100 200 Spring  cup \n', 7).map(gameOf);
  assert.deepEqual(g, { id: '7', state: 'running', role: 'both', players: 12, start: 100, end: 200, name: 'Spring  cup ' });
  const [pub] = codec.lines('8 waiting - 0 300 400 Open\n', 7).map(gameOf);
  assert.equal(pub.role, null);
});

test('the getGame line holds the code for the organiser only, and the rules', () => {
  const [mine] = codec.lines(`7 waiting alice 2 ABCDEFGH2345 ${RULES}\n`, 6).map(gameDetailOf);
  assert.equal(mine.organiser, 'alice');
  assert.equal(mine.players, 2);
  assert.equal(mine.code, 'ABCDEFGH2345');
  assert.deepEqual(mine.rules, {
    name: 'Spring  cup ', start: 1796117400, end: 1796722200, cash: 1000000000n, assets: ['AAPL', 'MSFT'],
    orders: ['market', 'limit'], short: false, fractional: true, fees: 'none', cap: 25, late: false,
    holdings: 'always', resets: true, public: true,
  });
  const [theirs] = codec.lines(`7 running alice 2 - ${RULES}\n`, 6).map(gameDetailOf);
  assert.equal(theirs.code, null);
});

test('standings are leaderboard lines; holdings are position lines', () => {
  const rows = codec.lines('1 bob 12.50\n2 alice -3.25\n').map(standingOf);
  assert.deepEqual(rows, [{ rank: '1', username: 'bob', ret: '12.50' }, { rank: '2', username: 'alice', ret: '-3.25' }]);
  const [p] = codec.lines('AAPL 2.5 180.0000 190.5000 476.2500\n').map(positionOf);
  assert.deepEqual(p, { symbol: 'AAPL', quantity: 2500000000n, avgCost: 1800000n, price: 1905000n, value: 4762500n });
});

test('rules are written in the server\'s order, and read back the same', () => {
  const rules = parseRules(RULES);
  assert.equal(rulesText(rules), RULES);
  const plain = defaultRules('Cup', 100, 200);
  assert.equal(rulesText(plain), 'start=100 end=200 cash=100000.0000 assets=all '
    + 'orders=market,limit,stop,stop-limit,trailing-stop short=yes fractional=yes fees=master cap=none '
    + 'late=yes holdings=end resets=no public=no name=Cup');
  assert.deepEqual(parseRules(rulesText(plain)), plain);
  // Left out: the default; a name may hold "name=".
  assert.deepEqual(parseRules('start=100 end=200 name=a name=b'), { ...plain, name: 'a name=b' });
  for (const bad of ['start=100 end=200', 'end=200 name=x', 'start=1 end=2 cap=x name=y', 'start=1 end=2 orders=market,fly name=z',
    'start=1 end=2 holdings=maybe name=z', 'start=1 end=2 colour=red name=z', 'start=1 end=2 shortname=z']) {
    assert.equal(parseRules(bad), null, bad);
  }
});

test('the create form\'s fields become rules, or a sentence', () => {
  const now = 1796000000;
  const fields = {
    name: ' Spring cup ', start: toLocalInput(1796117400), end: toLocalInput(1796722200), cash: '$25,000.50',
    assets: 'msft, aapl,,AAPL', orders: ['limit', 'market'], short: false, fractional: true, fees: 'none',
    cap: '25%', late: true, holdings: 'always', resets: false, public: true,
  };
  const { rules } = readRules(fields, now);
  assert.equal(rulesText(rules), 'start=1796117400 end=1796722200 cash=25000.5000 assets=AAPL,MSFT '
    + 'orders=market,limit short=no fractional=yes fees=none cap=25 late=yes holdings=always resets=no '
    + 'public=yes name=Spring cup');
  const bad = (change) => readRules({ ...fields, ...change }, now).error;
  assert.match(bad({ name: '  ' }), /name/);
  assert.match(bad({ name: 'x'.repeat(65) }), /name/);
  assert.match(bad({ end: fields.start }), /after the start/);
  assert.match(bad({ start: '' }), /start and the end/);
  assert.match(bad({ end: toLocalInput(now - 60), start: toLocalInput(now - 3600) }), /future/);
  for (const cash of ['0', '-5', '1.23456', 'lots', '1000000000.0001']) assert.match(bad({ cash }), /starting cash/, cash);
  assert.match(bad({ orders: [] }), /order type/);
  for (const cap of ['0', '101', '2.5', 'x']) assert.match(bad({ cap }), /cap/, cap);
  assert.equal(readRules({ ...fields, assets: ' ', cap: '' }, now).rules.assets, null);
  assert.equal(readRules({ ...fields, cap: '' }, now).rules.cap, null);
});

test('datetime-local values are local time, to the minute', () => {
  const t = fromLocalInput('2026-12-01T09:30');
  assert.equal(toLocalInput(t), '2026-12-01T09:30');
  assert.equal(new Date(t * 1000).getHours(), 9);
  assert.equal(fromLocalInput('2026-12-01T09:30:15'), t + 15);
  assert.equal(toLocalInput(t + 15), '2026-12-01T09:30:15', 'seconds kept');
  assert.equal(fromLocalInput(toLocalInput(t + 15)), t + 15);
  for (const bad of ['', '2026-12-01', 'tomorrow', '2026-13-45T99:99']) assert.equal(fromLocalInput(bad), null, bad);
});

test('rules read in plain words, money in dollars', () => {
  const words = ruleSentences(parseRules(RULES)).join(' ');
  for (const part of ['Each player starts with $100,000.00.', 'Only AAPL and MSFT may be traded.',
    'Only market and limit orders are allowed.', 'No short selling', 'No fees', '25%',
    'Players must join before the start.', 'at all times', 'may reset', 'Public']) {
    assert.ok(words.includes(part), `${part} in: ${words}`);
  }
  const plain = ruleSentences(defaultRules('Cup', 1, 2)).join(' ');
  assert.ok(plain.includes('Every asset may be traded.') && plain.includes('Every order type is allowed'), plain);
  assert.ok(plain.includes('once the game has ended') && plain.includes('Private'), plain);
});

test('a new portfolio\'s name and cash are checked before they are sent', () => {
  assert.deepEqual(checkNew(' swing ', ''), { name: 'swing', cash: null });
  assert.deepEqual(checkNew('swing.2', '$25,000'), { name: 'swing.2', cash: '25000.0000' });
  assert.deepEqual(checkNew('x', '1000000000'), { name: 'x', cash: '1000000000.0000' });
  for (const [name, cash] of [['', ''], ['two words', ''], ['x'.repeat(33), ''], ['ok', '0'], ['ok', '1000000000.01'], ['ok', '1e6']]) {
    assert.ok(checkNew(name, cash).error, `${name} ${cash}`);
  }
});

test('the 1.2 vectors\' rules and payloads read as the app reads them', () => {
  const path = fileURLToPath(new URL('../../common/testdata/protocol-vectors-1.2.txt', import.meta.url));
  const vectors = new Map(readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('#'))
    .map((l) => l.trim().split(' ')));
  const frame = (name) => {
    assert.ok(vectors.has(name), `vector ${name}`);
    return codec.decode(codec.unhex(vectors.get(name)));
  };
  const payload = (name) => codec.payloadText([frame(name).data]);
  // Rules the server writes in its order are written back the same.
  for (const name of ['createGame', 'changeGame']) {
    const rules = codec.args(frame(name)).at(-1);
    assert.ok(parseRules(rules), rules);
    assert.equal(rulesText(parseRules(rules)), rules, name);
  }
  const portfolios = codec.lines(payload('data-getPortfolios'), 7).map(portfolioOf);
  assert.deepEqual(portfolios.map((p) => [p.id, p.status, p.inUse, p.game, p.name]), [
    ['1', 'open', false, null, 'main'], ['2', 'open', true, null, 'swing'], ['3', 'removed', false, '5', 'game-5'],
    ['4', 'closed', false, null, 'test'], ['5', 'open', false, '7', 'game-7']]);
  assert.equal(portfolios[0].cash, 994276000n);
  const games = codec.lines(payload('data-getGames'), 7).map(gameOf);
  assert.deepEqual(games.map((g) => [g.id, g.state, g.role, g.players, g.name]), [
    ['5', 'ended', 'removed', 38, 'Autumn league'], ['7', 'waiting', 'both', 1, 'Spring cup 2027'],
    ['9', 'running', null, 212, 'Open winter cup']]);
  const [game] = codec.lines(payload('data-getGame'), 6).map(gameDetailOf);
  assert.equal(game.code, 'K7XQ2M4PZRWA');
  assert.equal(game.rules.name, 'Spring cup 2027');
  assert.equal(game.rules.cash, 500000000n);
  const standings = codec.lines(payload('data-getStandings')).map(standingOf);
  assert.deepEqual(standings.map((s) => s.username), ['carol', 'alice', 'Bob', 'dave']);
  assert.deepEqual(codec.args(frame('gameCreated')), ['7', 'K7XQ2M4PZRWA']);
});

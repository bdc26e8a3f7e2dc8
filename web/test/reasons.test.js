// Every reason code of papertrader-protocol(7) section 8 reads as a
// sentence in the app, never as the bare code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { explain, ReasonError } from '../js/reasons.js';

const SECTION_8 = ['bad-arguments', 'bad-session', 'wrong-state', 'bad-credentials',
  'username-taken', 'invalid-username', 'invalid-email', 'unknown-asset', 'bad-quantity',
  'insufficient-funds', 'insufficient-shares', 'unknown-user', 'forbidden', 'bad-date',
  'bad-price', 'unknown-order', 'too-many-orders', 'market-closed', 'unknown-provider',
  'bad-token', 'no-password', 'not-linked', 'identity-taken', 'rate-limited', 'unavailable',
  'unknown-outcome', 'internal', 'protocol', 'too-many-keys', 'unknown-key', 'watchlist-full',
  // Portfolios and games (protocol 1.2).
  'unknown-portfolio', 'portfolio-exists', 'too-many-portfolios', 'portfolio-busy', 'unknown-game',
  'already-joined', 'game-not-running', 'game-rule', 'game-started', 'not-a-player'];

for (const code of SECTION_8) {
  test(`${code} has a sentence`, () => {
    const { sentence, detail } = explain(`${code} some detail`);
    assert.match(sentence, /^[A-Z].*\.$/);
    assert.ok(!sentence.includes('The server refused'), sentence);
    assert.equal(detail, code === 'bad-credentials' ? '' : 'some detail');
  });
}

test('a wrong password is said once, without the server repeating it', () => {
  const { sentence, detail } = explain('bad-credentials username or password is wrong');
  assert.equal(sentence, 'Wrong username or password.');
  assert.equal(detail, '');
});

test('an unknown code still reads as a sentence', () => {
  assert.equal(explain('frobnicated').sentence, 'The server refused: frobnicated.');
});

test('a refused reply becomes an error with its sentence', () => {
  const err = new ReasonError({ name: 'loginFail', args: ['bad-credentials wrong password'] });
  assert.equal(err.message, 'Wrong username or password.');
  assert.equal(err.code, 'bad-credentials');
});

test('a refusal by the margin rules says margin, not cash (protocol 1.2)', () => {
  for (const detail of ['margin: cash 1.0000 would be short of 150% of the shorts\' value 2.0000 by 2.0000',
    'short selling needs an equity of at least 2000.0000; yours is 10.0000']) {
    const { sentence } = explain(`insufficient-funds ${detail}`);
    assert.match(sentence, /margin/, detail);
  }
  assert.equal(explain('insufficient-funds cash 1.0000 is below the cost 2.0000').sentence,
    'You do not have enough cash for this order.');
});

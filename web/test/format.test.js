// A change reads with the sign and colour of the amount as shown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { amountsIn, pct, signed, tone, usd, usdPrice } from '../js/format.js';

const open = 1_000_000n * 10_000n; // 1,000,000.00

test('a loss of a cent reads as a loss in every part', () => {
  const change = -100n; // -0.0100
  assert.equal(signed(change), '-$0.01');
  assert.equal(tone(change), 'down');
  assert.equal(pct(change, open), '-0.00%');
});

test('a change that rounds to 0.00 is neither up nor down', () => {
  for (const change of [40n, -40n, 0n]) {
    assert.equal(signed(change), '$0.00');
    assert.equal(tone(change), '');
    assert.equal(pct(change, open), '0.00%');
  }
});

test('gains carry a plus; percents keep their digits', () => {
  assert.equal(signed(12_345n), '+$1.23');
  assert.equal(tone(12_345n), 'up');
  assert.equal(pct(5_000n, 100_000n), '+5.00%');
  assert.equal(pct(-5_000n, 100_000n), '-5.00%');
  assert.equal(pct(50n, 0n), '+0.00%', 'a base of zero: no percent, the sign of the +0.01 shown');
});

test('money carries its currency; prices under a dollar keep 4 decimals', () => {
  assert.equal(usd(12_345_678n), '$1,234.57');
  assert.equal(usd(-5_000n), '-$0.50');
  assert.equal(usd(0n), '$0.00');
  assert.equal(usdPrice(4_168_818n), '$416.88');
  assert.equal(usdPrice(1_234n), '$0.1234');
  assert.equal(usdPrice(0n), '$0.00');
});

test('a server text reads its amounts as money, and nothing else', () => {
  assert.equal(amountsIn('cash 95830.9460 is below the cost 416946000.0000'),
    'cash $95,830.95 is below the cost $416,946,000.00');
  assert.equal(amountsIn('AAPL trades in whole shares only, not 0.5'), 'AAPL trades in whole shares only, not 0.5');
  assert.equal(amountsIn('order 12 at 2026-11-20'), 'order 12 at 2026-11-20');
  assert.equal(amountsIn('margin: -12.5000 short'), 'margin: -$12.50 short');
});

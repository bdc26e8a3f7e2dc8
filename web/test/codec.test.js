// The JS codec against every line of the protocol vectors
// (common/testdata/protocol-vectors.txt, a copy of the shared file) and
// the value formats the app relies on. Run: node --test web/test/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as codec from '../js/codec.js';

function readVectors(file) {
  const path = fileURLToPath(new URL(`../../common/testdata/${file}`, import.meta.url));
  return readFileSync(path, 'utf8').split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'))
    .map((l) => { const [name, hex] = l.trim().split(' '); return { name, hex }; });
}
const vectors = readVectors('protocol-vectors.txt');
// Protocol 1.2's frames (papertrader-protocol(7), "Changes in 1.2").
const vectors12 = readVectors('protocol-vectors-1.2.txt');

test('there are vectors', () => {
  assert.ok(vectors.length >= 20);
  assert.ok(vectors12.length >= 12);
});

for (const { name, hex } of [...vectors, ...vectors12]) {
  test(`vector ${name} decodes and encodes back to the same bytes`, () => {
    const bytes = codec.unhex(hex);
    const frame = codec.decode(bytes);
    assert.equal(codec.hex(codec.encode(frame)), hex);
    // The name is the instruction's (data-1-of-2 and the like: its stem).
    const stem = name.split('-')[0];
    assert.equal(codec.nameOf(frame.instr), stem);
    if (frame.instr !== codec.code('data') && frame.instr !== codec.code('prices')) {
      // Arguments rebuild the same frame.
      const again = codec.makeFrame(stem, codec.args(frame));
      assert.equal(codec.hex(codec.encode(again)), hex);
    }
  });
}

test('a price push is numbered as data and holds getAssetInfo lines', () => {
  const push = codec.decode(codec.unhex(vectors12.find((v) => v.name === 'prices-push').hex));
  assert.deepEqual([push.number, push.max, push.argc], [1, 1, 0]);
  const lines = codec.lines(codec.payloadText([push.data]));
  assert.deepEqual(lines.map((l) => [l[0], l[4], l.length]), [['AAPL', '189.5000', 7], ['MSFT', '420.0000', 7]]);
});

test('data packets carry their numbering', () => {
  const one = codec.decode(codec.unhex(vectors.find((v) => v.name === 'data-1-of-2').hex));
  assert.deepEqual([one.number, one.max, one.argc], [1, 2, 0]);
  const text = codec.payloadText([one.data]);
  assert.deepEqual(codec.lines(text)[0], ['1732147200', '189.5000', '191.2500', '188.0000', '190.7500', '53200000']);
});

test('the last argument takes the rest, with its spaces', () => {
  const f = codec.decode(codec.unhex(vectors.find((v) => v.name === 'purchaseFail').hex));
  assert.deepEqual(codec.args(f), ['insufficient-funds cash 120.5000 is below cost 1895.0000']);
});

test('hashedPass is the reference client\'s (register vector)', () => {
  const f = codec.decode(codec.unhex(vectors.find((v) => v.name === 'register').hex));
  const [, , hashed] = codec.args(f);
  assert.equal(codec.hashedPass('Alice', 'correct horse battery staple'), hashed);
  assert.equal(codec.sha256Hex(new Uint8Array()), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.equal(codec.sha256Hex(new TextEncoder().encode('a'.repeat(1000))),
    '41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3');
});

test('a message that is not exactly one frame is refused', () => {
  const ok = codec.unhex(vectors.find((v) => v.name === 'getWorkerList').hex);
  assert.throws(() => codec.decode(ok.slice(0, 10)), /shorter than a header/);
  assert.throws(() => codec.decode(new Uint8Array([...ok, ...ok])), /holding a frame of 16/);
  const bad = ok.slice(); bad[0] = 9;
  assert.throws(() => codec.decode(bad), /message_type 9/);
  const big = ok.slice(); big[5] = 2;
  assert.throws(() => codec.decode(big), /exceeds/);
  assert.throws(() => codec.makeFrame('login', ['a b', 'x', 'false']), /holds a space/);
});

test('money is integer units, never floats', () => {
  assert.equal(codec.parseMoney('189.5000'), 1895000n);
  assert.equal(codec.parseMoney('-12.0000'), -120000n);
  assert.equal(codec.parseMoney('0.1'), 1000n);
  assert.equal(codec.parseMoney('12.34567'), null);
  assert.equal(codec.parseMoney('1e3'), null);
  assert.equal(codec.formatMoney(1895000n), '189.5000');
  assert.equal(codec.formatMoney(-120000n), '-12.0000');
  assert.equal(codec.formatMoney(123456789012n), '12,345,678.9012');
  assert.equal(codec.showMoney(1895050n), '189.51');
  assert.equal(codec.showMoney(-1895050n), '-189.51');
  assert.equal(codec.showMoney(-49n), '0.00');
  // 0.1 + 0.2 in units is exact.
  assert.equal(codec.formatMoney(codec.parseMoney('0.1') + codec.parseMoney('0.2')), '0.3000');
  assert.equal(codec.times(1895000n, 3n * codec.SHARE), 5685000n);
  // 0.5 share of 0.0001 is 0.00005: half, away from zero.
  assert.equal(codec.times(1n, codec.SHARE / 2n), 1n);
  assert.equal(codec.times(333333333n, 500000000n), 166666667n);
  assert.equal(codec.percent(5n, 200n), '2.50');
  assert.equal(codec.percent(-1n, 3n), '-33.33');
  assert.equal(codec.percent(2n, 3n), '66.67');
});

test('share counts are billionths, never floats (protocol 1.2)', () => {
  assert.equal(codec.parseShares('3'), 3n * codec.SHARE);
  assert.equal(codec.parseShares('0.5'), 500000000n);
  assert.equal(codec.parseShares('1.000000001'), 1000000001n);
  assert.equal(codec.parseShares('-0.25'), -250000000n);
  for (const bad of ['1.0000000001', '1e5', 'NaN', '.5', '5.', '1,5', '', '+1']) {
    assert.equal(codec.parseShares(bad), null, bad);
  }
  assert.equal(codec.formatShares(3n * codec.SHARE), '3');
  assert.equal(codec.formatShares(1234567n * codec.SHARE + 500000000n), '1,234,567.5');
  assert.equal(codec.formatShares(376543211n), '0.376543211');
  assert.equal(codec.formatShares(-250000000n), '-0.25');
  assert.equal(codec.formatShares(0n), '0');
});

test('trails are amounts or percents below 100 (protocol 1.2)', () => {
  assert.equal(codec.parseTrail('2%'), '2%');
  assert.equal(codec.parseTrail(' 2.50% '), '2.5%');
  assert.equal(codec.parseTrail('0.25%'), '0.25%');
  assert.equal(codec.parseTrail('99.99%'), '99.99%');
  assert.equal(codec.parseTrail('1.5'), '1.5000');
  for (const bad of ['0', '0%', '0.00%', '100%', '2.555%', '%', '-2%', '1e5', 'NaN', '', '2 %', '.5%', '1.00001']) {
    assert.equal(codec.parseTrail(bad), null, bad);
  }
});

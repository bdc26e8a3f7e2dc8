// How money reads on screen: with its currency (US dollars, the unit of
// every price here), 2 decimals (a price under one dollar keeps its 4),
// and a change's sign, colour and percent following the amount as shown
// (in cents), so a change that rounds to 0.00 is neither green nor red
// and a loss of 0.01 is not "+0.00%".
import * as codec from './codec.js';

/** Units rounded to the cents shown, half away from zero. */
function cents(units) {
  return units < 0n ? -((-units + 50n) / 100n) : (units + 50n) / 100n;
}

/** `$` in front of a formatted amount, after its minus sign. */
function dollars(text) {
  return text.startsWith('-') ? `-$${text.slice(1)}` : `$${text}`;
}

/** Money: `$1,234.57`, `-$0.50`. */
export function usd(units) {
  return dollars(codec.formatMoney(units, 2));
}

/** A price: as money, or with 4 decimals when under one dollar. */
export function usdPrice(units) {
  const abs = units < 0n ? -units : units;
  return abs !== 0n && abs < 10000n ? dollars(codec.formatMoney(units, 4)) : usd(units);
}

/** Money with a `+` when it shows a gain: `+$1.23`, `-$0.01`, `$0.00`. */
export function signed(units) {
  return cents(units) > 0n ? `+${usd(units)}` : usd(units);
}

/** The class of a change as shown: `up`, `down`, or none for 0.00. */
export function tone(units) {
  const c = cents(units);
  return c > 0n ? 'up' : c < 0n ? 'down' : '';
}

/** `change` as a percent of `base`, signed as the change is shown. */
export function pct(change, base) {
  const c = cents(change);
  const p = codec.percent(change, base).replace(/^-/, '');
  return c > 0n ? `+${p}%` : c < 0n ? `-${p}%` : `${p}%`;
}

/** A server's text with its amounts (money is written with 4 decimals
 *  on the wire) as money: `cash 95830.9460` reads `cash $95,830.95`. */
export function amountsIn(text) {
  return String(text).replace(/(^|[^\d.$])(-?\d+\.\d{4})(?![\d.])/g,
    (_, before, amount) => before + usdPrice(codec.parseMoney(amount)));
}

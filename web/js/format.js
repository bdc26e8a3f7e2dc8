// How a change in money reads on screen: its sign, its colour and its
// percent follow the amount as shown (in cents), so a change that rounds
// to 0.00 is neither green nor red and a loss of 0.01 is not "+0.00%".
import * as codec from './codec.js';

/** Units rounded to the cents shown, half away from zero. */
function cents(units) {
  return units < 0n ? -((-units + 50n) / 100n) : (units + 50n) / 100n;
}

/** Money with 2 decimals and a `+` when it shows a gain. */
export function signed(units) {
  return cents(units) > 0n ? `+${codec.showMoney(units)}` : codec.showMoney(units);
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

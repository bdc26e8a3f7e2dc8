// PaperTrader frame codec for the browser (papertrader-protocol(7),
// sections 2 and 3): the 16-byte header, the arguments, the value formats
// the app needs (money as integers of 1/10 000 in BigInt, never floats),
// and the reference client's hashedPass. No I/O here: see connection.js.

export const HEADER_LEN = 16;
export const MAX_DATA = 65536;

export const TYPE = Object.freeze({ command: 1, data: 2, return: 3, control: 4 });

// Section 4: name -> [code, message_type].
const TABLE = {
  login: [1, 1], loginSession: [2, 1], register: [3, 1], purchaseAsset: [4, 1],
  sellAsset: [5, 1], switchState: [6, 1], logout: [7, 1], getWorkerList: [8, 1],
  placeOrder: [9, 1], cancelOrder: [10, 1], resetAccount: [11, 1],
  loginExternal: [12, 1], registerExternal: [13, 1], setPassword: [14, 1],
  getAssetInfo: [16, 2], getAssetValueCurrent: [17, 2], getAssetValueDay: [18, 2],
  getAssetValueWeek: [19, 2], getAssetValueMonth: [20, 2], getAssetValueYear: [21, 2],
  getAssetValueAllTime: [22, 2], getUserInfo: [23, 2], getUserPortfolio: [24, 2],
  getUserTransactionHistory: [25, 2], getAssetList: [26, 2], getOrders: [27, 2],
  getLeaderboard: [28, 2], getEquityHistory: [29, 2], getApiKeys: [30, 2],
  getAssetDetails: [31, 2],
  loginFail: [32, 3], sessionID: [33, 3], registerSuccess: [34, 3], registerFail: [35, 3],
  purchaseSuccess: [36, 3], purchaseFail: [37, 3], sellSuccess: [38, 3], sellFail: [39, 3],
  stateSwitchSuccess: [40, 3], stateSwitchFail: [41, 3], data: [42, 3], dataFail: [43, 3],
  workerList: [44, 3], logoutSuccess: [45, 3], logoutFail: [46, 3], protocolError: [47, 3],
  orderAccepted: [48, 3], orderFail: [49, 3], cancelSuccess: [50, 3], cancelFail: [51, 3],
  resetSuccess: [52, 3], resetFail: [53, 3], passwordSet: [54, 3], passwordFail: [55, 3],
  apiKeyCreated: [56, 3], apiKeyRevoked: [57, 3], apiKeyFail: [58, 3], apiKeySession: [59, 3],
  prices: [60, 3], watchlistUpdated: [61, 3], watchlistFail: [62, 3],
  workerHello: [64, 4], masterChallenge: [65, 4], workerProof: [66, 4], linkAccepted: [67, 4],
  linkRefused: [68, 4], ping: [69, 4], pong: [70, 4], sessionClosed: [71, 4], kick: [72, 4],
  quotes: [73, 4], workerListUpdate: [74, 4],
  purchaseNotional: [80, 1], sellNotional: [81, 1], replaceOrder: [82, 1],
  placeOrderClass: [83, 1], createApiKey: [84, 1], revokeApiKey: [85, 1], loginApiKey: [86, 1],
  placeOrderTagged: [87, 1], placeOrderClassTagged: [88, 1],
  watchPrices: [89, 2], getWatchlist: [90, 2], addToWatchlist: [91, 1], removeFromWatchlist: [92, 1],
  // Portfolios and competitions (protocol 1.2).
  portfolioUpdated: [63, 3],
  createPortfolio: [93, 1], renamePortfolio: [94, 1], closePortfolio: [95, 1], usePortfolio: [96, 1],
  getPortfolios: [97, 2], portfolioFail: [98, 3],
  createGame: [99, 1], changeGame: [100, 1], joinGame: [101, 1], leaveGame: [102, 1],
  removePlayer: [103, 1], newGameCode: [104, 1],
  getGames: [105, 2], getGame: [106, 2], getStandings: [107, 2], getGameHoldings: [108, 2],
  gameCreated: [109, 3], gameUpdated: [110, 3], gameFail: [111, 3],
};

const NAMES = new Map(Object.entries(TABLE).map(([name, [code]]) => [code, name]));

/** The code of an instruction name. */
export function code(name) {
  const entry = TABLE[name];
  if (!entry) throw new Error(`unknown instruction ${name}`);
  return entry[0];
}

/** The name of an instruction code, or `instruction N`. */
export function nameOf(instr) {
  return NAMES.get(instr) ?? `instruction ${instr}`;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: false });

/** A frame: {type, instr, argc, data (Uint8Array), number, max}. */
export function makeFrame(name, args = []) {
  const [instr, type] = TABLE[name] ?? [];
  if (instr === undefined) throw new Error(`unknown instruction ${name}`);
  for (const [i, a] of args.entries()) {
    const s = String(a);
    if (s === '' || (i < args.length - 1 && s.includes(' '))) {
      throw new Error(`argument ${i + 1} of ${name} is empty or holds a space`);
    }
  }
  const data = utf8.encode(args.map(String).join(' '));
  if (data.length > MAX_DATA) throw new Error(`${name}: ${data.length} bytes of arguments`);
  return { type, instr, argc: args.length, data, number: 0, max: 0 };
}

/** The bytes of a frame. */
export function encode(frame) {
  const bytes = new Uint8Array(HEADER_LEN + frame.data.length);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, frame.type);
  view.setUint8(1, frame.instr);
  view.setUint16(2, frame.argc);
  view.setUint32(4, frame.data.length);
  view.setUint32(8, frame.number);
  view.setUint32(12, frame.max);
  bytes.set(frame.data, HEADER_LEN);
  return bytes;
}

/** The frame in `bytes`, which must hold exactly one (one WebSocket
 *  message, section 12); throws with the reason otherwise. */
export function decode(bytes) {
  if (!(bytes instanceof Uint8Array)) bytes = new Uint8Array(bytes);
  if (bytes.length < HEADER_LEN) throw new Error(`${bytes.length} bytes: shorter than a header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = view.getUint8(0);
  if (type < 1 || type > 4) throw new Error(`message_type ${type}`);
  const size = view.getUint32(4);
  if (size > MAX_DATA) throw new Error(`data_size ${size} exceeds ${MAX_DATA}`);
  if (HEADER_LEN + size !== bytes.length) {
    throw new Error(`a message of ${bytes.length} bytes holding a frame of ${HEADER_LEN + size}`);
  }
  return {
    type,
    instr: view.getUint8(1),
    argc: view.getUint16(2),
    data: bytes.slice(HEADER_LEN),
    number: view.getUint32(8),
    max: view.getUint32(12),
  };
}

/** The arguments of a frame (section 3): split at the first argc - 1
 *  spaces, the last one takes the rest. */
export function args(frame) {
  if (frame.argc === 0) return [];
  const text = fromUtf8.decode(frame.data);
  const out = [];
  let rest = text;
  for (let i = 0; i < frame.argc - 1; i++) {
    const at = rest.indexOf(' ');
    if (at < 0) break;
    out.push(rest.slice(0, at));
    rest = rest.slice(at + 1);
  }
  out.push(rest);
  return out;
}

/** The text of a data payload (Uint8Array chunks joined). */
export function payloadText(chunks) {
  let len = 0;
  for (const c of chunks) len += c.length;
  const all = new Uint8Array(len);
  let at = 0;
  for (const c of chunks) { all.set(c, at); at += c.length; }
  return fromUtf8.decode(all);
}

/** Lines of a payload, split into words; the last field of a line takes
 *  the rest when `fields` is given (names with spaces). */
export function lines(text, fields = 0) {
  return text.split('\n').filter((l) => l !== '').map((l) => {
    if (!fields) return l.split(' ');
    const parts = l.split(' ');
    return [...parts.slice(0, fields - 1), parts.slice(fields - 1).join(' ')];
  });
}

// ---- money: integers of 1/10 000, as BigInt ----

export const UNIT = 10000n;

/** Money or a price as the wire writes it (`-12.5000`, or with 0-4
 *  fraction digits on input) to BigInt 1/10 000 units; null if malformed. */
export function parseMoney(text) {
  const m = /^(-?)(\d{1,15})(?:\.(\d{0,4}))?$/.exec(String(text).trim());
  if (!m) return null;
  const frac = (m[3] ?? '').padEnd(4, '0');
  const units = BigInt(m[2]) * UNIT + BigInt(frac);
  return m[1] ? -units : units;
}

/** BigInt units as the wire writes money: exactly 4 fraction digits. */
export function formatMoney(units, digits = 4) {
  const neg = units < 0n;
  const abs = neg ? -units : units;
  const whole = abs / UNIT;
  let frac = (abs % UNIT).toString().padStart(4, '0');
  if (digits < 4) {
    // Round half away from zero to `digits` places.
    const drop = 10n ** BigInt(4 - digits);
    const rounded = (abs + drop / 2n) / drop;
    const w = rounded / 10n ** BigInt(digits);
    const f = (rounded % 10n ** BigInt(digits)).toString().padStart(digits, '0');
    const text = digits ? `${w}.${f}` : `${w}`;
    return (neg && rounded !== 0n ? '-' : '') + groupThousands(text);
  }
  return (neg ? '-' : '') + groupThousands(`${whole}.${frac}`);
}

function groupThousands(text) {
  const [w, f] = text.split('.');
  const grouped = w.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return f === undefined ? grouped : `${grouped}.${f}`;
}

/** Money for people: two decimals, thousands grouped, half away from zero. */
export function showMoney(units) {
  return formatMoney(units, 2);
}

/** Billionths of a share in one share (protocol 1.2 quantities). */
export const SHARE = 1000000000n;

/** A share count as the wire writes it (`3`, `0.25`, `-1.5`; at most 9
 *  fraction digits) to BigInt billionths of a share; null if malformed. */
export function parseShares(text) {
  const m = /^(-?)(\d{1,19})(?:\.(\d{1,9}))?$/.exec(String(text).trim());
  if (!m) return null;
  const n = BigInt(m[2]) * SHARE + BigInt((m[3] ?? '').padEnd(9, '0'));
  return m[1] ? -n : n;
}

/** A trailing stop's trail as typed (`1.5`, `2%`, `0.25%`) in its wire
 *  form (`1.5000`, `2%`, `0.25%`), or null when it is not an amount above
 *  0 or a percent above 0 and below 100 with at most 2 decimals
 *  (protocol 1.2). */
export function parseTrail(text) {
  const t = String(text).trim();
  const pct = /^(\d{1,2})(?:\.(\d{1,2}))?%$/.exec(t);
  if (pct) {
    const bp = Number(pct[1]) * 100 + Number((pct[2] ?? '').padEnd(2, '0'));
    if (bp < 1 || bp > 9999) return null;
    const frac = (pct[2] ?? '').replace(/0+$/, '');
    return `${Number(pct[1])}${frac ? `.${frac}` : ''}%`;
  }
  if (t.endsWith('%')) return null;
  const units = parseMoney(t);
  return units === null || units <= 0n ? null : formatMoney(units).replaceAll(',', '');
}

/** BigInt billionths as the wire writes a share count: no fraction when
 *  whole, else without trailing zeros (`0.5`). */
export function formatShares(billionths) {
  const neg = billionths < 0n;
  const abs = neg ? -billionths : billionths;
  const frac = (abs % SHARE).toString().padStart(9, '0').replace(/0+$/, '');
  const text = groupThousands(`${abs / SHARE}`) + (frac ? `.${frac}` : '');
  return neg ? `-${text}` : text;
}

/** price x quantity (BigInt billionths of a share), in units, rounded half
 *  away from zero: a value to show; the server keeps the books. */
export function times(priceUnits, billionths) {
  const exact = priceUnits * BigInt(billionths);
  const neg = exact < 0n;
  const abs = neg ? -exact : exact;
  const rounded = (abs + SHARE / 2n) / SHARE;
  return neg ? -rounded : rounded;
}

/** a / b as a percent with 2 decimals (string), half away from zero. */
export function percent(a, b) {
  if (b === 0n) return '0.00';
  const neg = (a < 0n) !== (b < 0n) && a !== 0n;
  const num = (a < 0n ? -a : a) * 10000n;
  const den = b < 0n ? -b : b;
  const hundredths = (num + den / 2n) / den;
  const text = `${hundredths / 100n}.${(hundredths % 100n).toString().padStart(2, '0')}`;
  return neg && hundredths !== 0n ? `-${text}` : text;
}

/** Units as a float, for chart drawing only. */
export function toFloat(units) {
  return Number(units) / 10000;
}

// ---- hashedPass: SHA-256, in JS so it works outside secure contexts ----

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/** SHA-256 of `bytes` as lowercase hex. */
export function sha256Hex(bytes) {
  const h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const len = bytes.length;
  const padded = new Uint8Array(((len + 9 + 63) >> 6) << 6);
  padded.set(bytes);
  padded[len] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(len / 0x20000000));
  view.setUint32(padded.length - 4, (len << 3) >>> 0);
  const w = new Uint32Array(64);
  const rotr = (x, n) => (x >>> n) | (x << (32 - n));
  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(off + i * 4);
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, hh] = h;
    for (let i = 0; i < 64; i++) {
      const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) >>> 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      hh = g; g = f; f = e; e = (d + t1) >>> 0; d = c; c = b; b = a; a = (t1 + t2) >>> 0;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
  }
  return Array.from(h, (x) => x.toString(16).padStart(8, '0')).join('');
}

/** The reference client's hashedPass (section 3). */
export function hashedPass(username, password) {
  return sha256Hex(utf8.encode(`papertrader\0${username.toLowerCase()}\0${password}`));
}

/** Bytes of a hex string. */
export function unhex(hex) {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Lowercase hex of bytes. */
export function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

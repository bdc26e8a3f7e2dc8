// Every reason code of papertrader-protocol(7) section 8 as a sentence
// for people; the server's own text (when it says more, like when a
// market opens) is shown after it.
import { amountsIn } from './format.js';

const SENTENCES = {
  'bad-arguments': 'The request was not understood: a value is missing or malformed.',
  'bad-session': 'Your session has ended. Please log in again.',
  'wrong-state': 'The app got out of step with the server. Please reload the page.',
  'bad-credentials': 'Wrong username or password.',
  'username-taken': 'That username is already taken. Please choose another.',
  'invalid-username': 'A username is 1 to 24 letters, digits, dots, dashes or underscores.',
  'invalid-email': 'That email address does not look right.',
  'unknown-asset': 'There is no asset with that symbol.',
  'bad-quantity': 'The quantity must be a number of shares above 0 and at most 1,000,000,000, with at most 9 decimals; some assets trade in whole shares only.',
  'insufficient-funds': 'You do not have enough cash for this order.',
  'insufficient-shares': 'You do not hold enough shares for this sale.',
  'unknown-user': 'There is no user with that name.',
  'forbidden': 'That is private to its owner.',
  'bad-date': 'That is not a valid date.',
  'bad-price': 'The limit or stop price is missing, not above zero, or not allowed for this order type.',
  'unknown-order': 'That order is no longer open.',
  'too-many-orders': 'You have the most open orders allowed. Cancel one first.',
  'market-closed': 'The market for this asset is closed right now.',
  'unknown-provider': 'That sign-in provider is not available on this server.',
  'bad-token': 'The sign-in with your provider could not be verified. Please try again.',
  'no-password': 'This account has no password: sign in with its provider.',
  'not-linked': 'No account is linked to that identity yet. Register first.',
  'identity-taken': 'That identity is already linked to an account.',
  'rate-limited': 'Too many attempts. Please wait a little and try again.',
  'unavailable': 'The server cannot do that right now; nothing was changed. Please try again.',
  'unknown-outcome': 'The connection broke while your trade was in flight. It may have filled: check your history.',
  'internal': 'Something went wrong on the server; nothing was changed.',
  'protocol': 'The app and the server disagree about the protocol. Please reload the page.',
  'too-many-keys': 'You have the most API keys allowed. Revoke one first.',
  'unknown-key': 'That API key is already revoked.',
  'watchlist-full': 'Your watchlist holds the most symbols allowed. Remove one first.',
  // Portfolios and games (protocol 1.2).
  'unknown-portfolio': 'That portfolio does not exist or is closed.',
  'portfolio-exists': 'You already have an open portfolio with that name. Please choose another.',
  'too-many-portfolios': 'You have the most open portfolios allowed, games included. Close one first.',
  'portfolio-busy': 'That portfolio still has open orders. Cancel them first.',
  'unknown-game': 'There is no game with that code or number open to you. Check the code and try again.',
  'already-joined': 'You are already in this game: a player who left or was removed cannot join it again.',
  'game-not-running': 'This game is not running: it has not started yet, or it has ended.',
  'game-rule': 'The rules of this game do not allow that.',
  'game-started': 'This game has started: its rules can no longer change, and it takes no new players.',
  'not-a-player': 'You are not a player in this game: you never joined, you left, or the organiser removed you.',
};

const MARGIN = 'Your account\'s margin does not allow this order: short sales hold back part of your cash.';

/** Codes whose sentence says all the server's text does: it is not
 *  shown after them ("Wrong username or password." once, not twice). */
const SAID_ALREADY = new Set(['bad-credentials']);

/** The sentence for a reason (`code free text`), and the server's text
 *  with its amounts as money. */
export function explain(reason) {
  const text = String(reason ?? '');
  const at = text.indexOf(' ');
  const code = at < 0 ? text : text.slice(0, at);
  const detail = at < 0 || SAID_ALREADY.has(code) ? '' : amountsIn(text.slice(at + 1));
  // The margin rules of short selling (protocol 1.2) come as
  // insufficient-funds: say so rather than "not enough cash".
  const margin = code === 'insufficient-funds' && /^(margin:|short selling|buying power)/.test(detail);
  const sentence = margin ? MARGIN
    : SENTENCES[code] ?? `The server refused: ${code || 'no reason given'}.`;
  return { code, sentence, detail };
}

/** Every code, for tests. */
export const CODES = Object.keys(SENTENCES);

/** An error carrying a refused reply's reason. */
export class ReasonError extends Error {
  constructor(reply) {
    const reason = reply.args?.[reply.args.length - 1] ?? '';
    const { code, sentence, detail } = explain(reason);
    super(sentence);
    this.sentence = sentence;
    this.code = code;
    this.detail = detail;
    this.reply = reply.name;
  }
}

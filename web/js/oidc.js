// Sign-in through an OpenID Connect provider (papertrader-web(7)): the
// OAuth 2.0 authorization code flow with PKCE (RFC 7636, S256) for a
// public client in the browser. begin() fetches the issuer's discovery
// document, keeps state, nonce and the code verifier in sessionStorage
// and returns the authorization URL to go to; finish() takes the
// provider's redirect back to the app's own origin + '/', checks the
// state, exchanges the code at the token endpoint and returns the ID
// token, which the app sends to the server (loginExternal,
// registerExternal); the master checks its signature. The browser, the
// storage and fetch are passed in so the tests need neither.
import { sha256Hex } from './codec.js';

const PENDING = 'papertrader.oidc';
/** A sign-in left pending longer than this is forgotten. */
const MAX_AGE_MS = 10 * 60 * 1000;

/** An error with a sentence for people. */
export class SignInError extends Error {}

/** Base64url without padding (RFC 4648 section 5). */
export function base64url(bytes) {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** `n` random bytes in base64url (43 characters for 32 bytes). */
export function randomToken(n = 32, random = (a) => crypto.getRandomValues(a)) {
  return base64url(random(new Uint8Array(n)));
}

/** The S256 code challenge of a verifier (RFC 7636 section 4.2). */
export function challenge(verifier) {
  const hex = sha256Hex(new TextEncoder().encode(verifier));
  return base64url(Uint8Array.from(hex.match(/../g), (x) => parseInt(x, 16)));
}

/** Where the provider sends the browser back: the app's own origin and
 *  `/` (register exactly this at the provider). */
export function redirectUri(loc) {
  return `${loc.origin}/`;
}

/** The providers the worker offers (`/providers.json`); none on failure. */
export async function providers(fetchFn) {
  try {
    const r = await fetchFn('/providers.json', { cache: 'no-cache' });
    if (!r.ok) return [];
    const doc = await r.json();
    return (Array.isArray(doc?.providers) ? doc.providers : []).filter((p) =>
      typeof p?.name === 'string' && typeof p.issuer === 'string' && typeof p.client_id === 'string');
  } catch {
    return [];
  }
}

const isUrl = (u) => typeof u === 'string' && /^https?:\/\/[^\s]+$/.test(u);

/** The issuer's discovery document, checked. */
export async function discover(issuer, fetchFn) {
  let doc;
  try {
    const r = await fetchFn(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    doc = await r.json();
  } catch {
    throw new SignInError('The sign-in provider cannot be reached right now. Please try again later.');
  }
  if (doc?.issuer !== issuer || !isUrl(doc.authorization_endpoint) || !isUrl(doc.token_endpoint)) {
    throw new SignInError('The sign-in provider is not set up as the server expects.');
  }
  return doc;
}

/** The URL of the authorization request. */
export function authorizeUrl(endpoint, { clientId, redirect, state, nonce, codeChallenge }) {
  const url = new URL(endpoint);
  const params = {
    response_type: 'code', client_id: clientId, redirect_uri: redirect, scope: 'openid email',
    state, nonce, code_challenge: codeChallenge, code_challenge_method: 'S256',
  };
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.toString();
}

/**
 * Starts a sign-in with `provider` ({name, issuer, client_id}); `intent`
 * is 'login' or 'register', `username` the account's name. Returns the URL
 * to send the browser to.
 */
export async function begin(provider, intent, username, { storage, fetchFn, loc, random, now = Date.now }) {
  const doc = await discover(provider.issuer, fetchFn);
  const pending = {
    provider: provider.name, clientId: provider.client_id, tokenEndpoint: doc.token_endpoint,
    intent, username, state: randomToken(32, random), nonce: randomToken(32, random),
    verifier: randomToken(32, random), redirect: redirectUri(loc), at: now(),
  };
  storage.setItem(PENDING, JSON.stringify(pending));
  return authorizeUrl(doc.authorization_endpoint, {
    clientId: provider.client_id, redirect: pending.redirect, state: pending.state,
    nonce: pending.nonce, codeChallenge: challenge(pending.verifier),
  });
}

/** Whether `search` (location.search) is a provider's answer. */
export function isCallback(search) {
  const q = new URLSearchParams(search);
  return q.has('state') && (q.has('code') || q.has('error'));
}

/** The claims of an ID token, unverified (the master verifies it). */
export function claims(idToken) {
  try {
    const part = idToken.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const bin = atob(part + '='.repeat((4 - (part.length % 4)) % 4));
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))));
  } catch {
    return null;
  }
}

/**
 * Completes the sign-in the provider sent the browser back from. The
 * pending state is used once, whatever happens. Resolves with
 * {provider, intent, username, idToken}; throws a SignInError.
 */
export async function finish(search, { storage, fetchFn, now = Date.now }) {
  const q = new URLSearchParams(search);
  let pending = null;
  try { pending = JSON.parse(storage.getItem(PENDING) ?? 'null'); } catch { pending = null; }
  storage.removeItem(PENDING);
  if (!pending || typeof pending.state !== 'string' || now() - pending.at > MAX_AGE_MS) {
    throw new SignInError('This sign-in was not started here, or took too long. Please start again.');
  }
  if (q.get('state') !== pending.state) {
    throw new SignInError('The answer from the sign-in provider does not match the sign-in started here, so it was refused. Please start again.');
  }
  if (q.has('error')) {
    const why = q.get('error') === 'access_denied' ? 'You cancelled the sign-in, or the provider refused it.'
      : 'The sign-in provider refused the sign-in.';
    throw new SignInError(`${why} Nothing was changed.`);
  }
  const body = new URLSearchParams({
    grant_type: 'authorization_code', code: q.get('code') ?? '', redirect_uri: pending.redirect,
    client_id: pending.clientId, code_verifier: pending.verifier,
  });
  let answer;
  try {
    const r = await fetchFn(pending.tokenEndpoint, {
      method: 'POST', body, headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    answer = await r.json();
  } catch {
    throw new SignInError('The sign-in provider cannot be reached right now. Please try again.');
  }
  const idToken = answer?.id_token;
  if (typeof idToken !== 'string' || !idToken) {
    throw new SignInError('The sign-in provider did not complete the sign-in. Please try again.');
  }
  if (claims(idToken)?.nonce !== pending.nonce) {
    throw new SignInError('The sign-in provider answered for another sign-in, so it was refused. Please start again.');
  }
  return { provider: pending.provider, intent: pending.intent, username: pending.username, idToken };
}

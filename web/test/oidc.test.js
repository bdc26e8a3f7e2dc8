// The browser side of sign-in with a provider (web/js/oidc.js): PKCE's
// S256 against RFC 7636's own example, the authorization URL, and
// finish() refusing a tampered state, a replay, an answer for another
// nonce, and a provider that gives no ID token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from '../js/oidc.js';

class Storage {
  constructor() { this.items = new Map(); }
  getItem(k) { return this.items.has(k) ? this.items.get(k) : null; }
  setItem(k, v) { this.items.set(k, String(v)); }
  removeItem(k) { this.items.delete(k); }
}

const ISSUER = 'http://127.0.0.1:5556/dex';
const PROVIDER = { name: 'local', issuer: ISSUER, client_id: 'papertrader' };
const loc = { origin: 'http://127.0.0.1:8080' };
const json = (doc, status = 200) => ({ ok: status === 200, status, json: async () => doc });

function token(claims) {
  const part = (o) => oidc.base64url(new TextEncoder().encode(JSON.stringify(o)));
  return `${part({ alg: 'RS256' })}.${part(claims)}.sig`;
}

/** A provider's discovery and token endpoints; records the token request. */
function provider(tokenAnswer) {
  const seen = {};
  const fetchFn = async (url, init) => {
    if (url === `${ISSUER}/.well-known/openid-configuration`) {
      return json({ issuer: ISSUER, authorization_endpoint: `${ISSUER}/auth`, token_endpoint: `${ISSUER}/token` });
    }
    if (url === `${ISSUER}/token`) {
      seen.body = new URLSearchParams(init.body);
      seen.headers = init.headers;
      return json(tokenAnswer(seen.body));
    }
    return json({}, 404);
  };
  return { fetchFn, seen };
}

async function started(tokenAnswer) {
  const storage = new Storage();
  const p = provider(tokenAnswer);
  const url = new URL(await oidc.begin(PROVIDER, 'login', 'ann', { storage, fetchFn: p.fetchFn, loc }));
  return { storage, p, url, q: url.searchParams };
}

test('the S256 challenge of RFC 7636 appendix B', () => {
  assert.equal(oidc.challenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'),
    'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
  assert.equal(oidc.base64url(Uint8Array.of(0xfb, 0xff)), '-_8');
  assert.equal(oidc.randomToken().length, 43);
  assert.notEqual(oidc.randomToken(), oidc.randomToken());
});

test('the authorization request carries everything PKCE and OIDC need', async () => {
  const { storage, url, q } = await started(() => ({}));
  assert.equal(`${url.origin}${url.pathname}`, `${ISSUER}/auth`);
  assert.equal(q.get('response_type'), 'code');
  assert.equal(q.get('client_id'), 'papertrader');
  assert.equal(q.get('redirect_uri'), 'http://127.0.0.1:8080/');
  assert.equal(q.get('scope'), 'openid email');
  assert.equal(q.get('code_challenge_method'), 'S256');
  const pending = JSON.parse(storage.getItem('papertrader.oidc'));
  assert.equal(q.get('state'), pending.state);
  assert.equal(q.get('nonce'), pending.nonce);
  assert.equal(q.get('code_challenge'), oidc.challenge(pending.verifier));
  assert.notEqual(pending.state, pending.nonce);
});

test('the code is exchanged with the verifier and the ID token returned', async () => {
  let nonce;
  const { storage, p, q } = await started(() => ({ id_token: token({ sub: 's', nonce }) }));
  nonce = q.get('nonce');
  assert.ok(oidc.isCallback(`?code=c1&state=${q.get('state')}`));
  const verifier = JSON.parse(storage.getItem('papertrader.oidc')).verifier;
  const done = await oidc.finish(`?code=c1&state=${q.get('state')}`, { storage, fetchFn: p.fetchFn });
  assert.deepEqual({ ...done, idToken: undefined },
    { provider: 'local', intent: 'login', username: 'ann', idToken: undefined });
  assert.equal(oidc.claims(done.idToken).sub, 's');
  assert.equal(p.seen.body.get('grant_type'), 'authorization_code');
  assert.equal(p.seen.body.get('code'), 'c1');
  assert.equal(p.seen.body.get('code_verifier'), verifier);
  assert.equal(p.seen.body.get('redirect_uri'), 'http://127.0.0.1:8080/');
  assert.equal(p.seen.headers['Content-Type'], 'application/x-www-form-urlencoded');
  // Used once: the same answer again is refused.
  await assert.rejects(oidc.finish(`?code=c1&state=${q.get('state')}`, { storage, fetchFn: p.fetchFn }),
    /not started here/);
});

test('a tampered state is refused before any exchange', async () => {
  const { storage, p, q } = await started(() => assert.fail('no exchange'));
  await assert.rejects(oidc.finish(`?code=c1&state=${q.get('state')}x`, { storage, fetchFn: p.fetchFn }),
    (err) => err instanceof oidc.SignInError && /does not match/.test(err.message));
  assert.equal(storage.getItem('papertrader.oidc'), null);
});

test('another nonce, no ID token, an error and an old sign-in are refused', async () => {
  let s = await started(() => ({ id_token: token({ nonce: 'other' }) }));
  await assert.rejects(oidc.finish(`?code=c&state=${s.q.get('state')}`, { storage: s.storage, fetchFn: s.p.fetchFn }),
    /another sign-in/);
  s = await started(() => ({ error: 'invalid_grant' }));
  await assert.rejects(oidc.finish(`?code=c&state=${s.q.get('state')}`, { storage: s.storage, fetchFn: s.p.fetchFn }),
    /did not complete/);
  s = await started(() => ({}));
  await assert.rejects(oidc.finish(`?error=access_denied&state=${s.q.get('state')}`, { storage: s.storage, fetchFn: s.p.fetchFn }),
    /cancelled/);
  s = await started(() => ({}));
  const later = () => Date.now() + 11 * 60 * 1000;
  await assert.rejects(oidc.finish(`?code=c&state=${s.q.get('state')}`, { storage: s.storage, fetchFn: s.p.fetchFn, now: later }),
    /took too long/);
});

test('discovery must name the issuer it was fetched for', async () => {
  const fetchFn = async () => json({ issuer: 'https://evil.example', authorization_endpoint: 'https://e/a', token_endpoint: 'https://e/t' });
  await assert.rejects(oidc.discover(ISSUER, fetchFn), /not set up/);
  await assert.rejects(oidc.discover(ISSUER, async () => json({}, 500)), /cannot be reached/);
});

test('the providers list tolerates a missing or malformed document', async () => {
  assert.deepEqual(await oidc.providers(async () => json({}, 404)), []);
  assert.deepEqual(await oidc.providers(async () => json({ providers: [{ name: 1 }, PROVIDER] })), [PROVIDER]);
  assert.deepEqual(await oidc.providers(async () => { throw new Error('offline'); }), []);
});

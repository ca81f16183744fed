// End-to-end smoke test against a running dev provider: authorization code flow with
// PKCE (S256), state and nonce, done the way a scripted RP would (cookie jar + redirects).
// Usage: node smoke.mjs   (env: OIDC_ISSUER, SMOKE_LOGIN, SMOKE_PASSWORD, SMOKE_CLIENT_ID,
//                          SMOKE_CLIENT_SECRET, SMOKE_REDIRECT_URI, SMOKE_AUTH=post|basic)
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';

const env = process.env;
const issuer = env.OIDC_ISSUER || 'http://127.0.0.1:9090';
const login = env.SMOKE_LOGIN || 'isv';
const password = env.SMOKE_PASSWORD || 'isv-demo-password';
const clientId = env.SMOKE_CLIENT_ID || 'hspm-marketplace';
const clientSecret = env.SMOKE_CLIENT_SECRET || 'dev-secret-not-for-production';
const redirectUri = env.SMOKE_REDIRECT_URI || 'http://127.0.0.1:8080/sessions';
const useBasic = env.SMOKE_AUTH === 'basic'; // token endpoint client auth: client_secret_post (default) or basic

function assert(cond, msg) {
  if (!cond) throw new Error(`assertion failed: ${msg}`);
}

// Minimal cookie jar: name -> {value, path}; enough for one host.
const jar = new Map();
async function request(url, init = {}) {
  const { pathname } = new URL(url);
  const cookie = [...jar].filter(([, c]) => pathname.startsWith(c.path)).map(([n, c]) => `${n}=${c.value}`).join('; ');
  const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...init.headers, ...(cookie && { cookie }) } });
  for (const line of res.headers.getSetCookie()) {
    const [pair, ...attrs] = line.split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    const path = attrs.find((a) => a.toLowerCase().startsWith('path='))?.slice(5) || '/';
    const expired = attrs.some((a) => /^expires=/i.test(a) && Date.parse(a.slice(8)) < Date.now());
    if (expired) jar.delete(pair.slice(0, eq)); else jar.set(pair.slice(0, eq), { value: pair.slice(eq + 1), path });
  }
  return res;
}

// Follow redirects until a page is rendered or the RP's redirect_uri is reached.
async function follow(res) {
  while (res.status >= 300 && res.status < 400) {
    const next = new URL(res.headers.get('location'), issuer).href;
    if (next.startsWith(redirectUri)) return { callback: new URL(next) };
    res = await request(next);
  }
  return { res };
}

const b64json = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
function verifyJwt(jwt, jwks) {
  const [h, p, s] = jwt.split('.');
  const header = b64json(h);
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  assert(header.alg === 'RS256' && jwk, `known RS256 key for kid ${header.kid}`);
  assert(verify('sha256', Buffer.from(`${h}.${p}`), createPublicKey({ key: jwk, format: 'jwk' }), Buffer.from(s, 'base64url')),
    'JWT signature verifies against the JWKS');
  return { header, claims: b64json(p) };
}

async function main() {
  const meta = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  assert(meta.issuer === issuer, 'discovery issuer matches');
  assert(meta.code_challenge_methods_supported?.includes('S256'), 'S256 PKCE advertised');
  const jwks = await (await fetch(meta.jwks_uri)).json();

  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const nonce = randomBytes(16).toString('base64url');
  const authUrl = new URL(meta.authorization_endpoint);
  authUrl.search = new URLSearchParams({
    client_id: clientId, response_type: 'code', redirect_uri: redirectUri, scope: 'openid profile email roles offline_access', prompt: 'consent',
    state, nonce, code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
  });

  const { res: loginPage } = await follow(await request(authUrl.href));
  assert(loginPage?.status === 200, 'login page rendered');
  const html = await loginPage.text();
  const action = /<form method="post" action="([^"]+\/login)"/.exec(html)?.[1];
  assert(action && /name="login"/.test(html) && /name="password"/.test(html), 'login form with login/password fields');
  const actionUrl = new URL(action, loginPage.url || issuer).href;
  const form = (pw) => ({
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ login, password: pw }),
  });

  const bad = await request(actionUrl, form('wrong-password'));
  assert(bad.status === 401 && (await bad.text()).includes('Invalid login or password.'), 'wrong password -> 401 + message');

  const { callback } = await follow(await request(actionUrl, form(password)));
  assert(callback, 'flow ended at redirect_uri (consent auto-granted)');
  assert(callback.searchParams.get('state') === state, 'state round-trips');
  const code = callback.searchParams.get('code');
  assert(code, `authorization code present (got ${callback.search})`);

  const tokenParams = { grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier };
  const basic = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
  const tokenRes = await fetch(meta.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(useBasic && { authorization: basic }) },
    body: new URLSearchParams(useBasic ? tokenParams : { ...tokenParams, client_id: clientId, client_secret: clientSecret }),
  });
  const tokens = await tokenRes.json();
  assert(tokenRes.ok, `token endpoint ok: ${JSON.stringify(tokens)}`);

  const { claims } = verifyJwt(tokens.id_token, jwks);
  const now = Math.floor(Date.now() / 1000);
  assert(claims.iss === issuer && claims.aud === clientId && claims.nonce === nonce, 'id_token iss/aud/nonce');
  assert(claims.exp > now && claims.iat <= now + 5, 'id_token time window');
  assert(claims.preferred_username === login && Array.isArray(claims.roles) && claims.email, 'profile/email/roles claims');

  let atClaims;
  if (tokens.access_token.split('.').length === 3) {
    const at = verifyJwt(tokens.access_token, jwks);
    assert(at.header.typ === 'at+jwt' && at.claims.sub === claims.sub, 'access token is an RFC 9068 JWT for the same subject');
    atClaims = at.claims;
  } else { // OIDC_API_RESOURCE="" mode: opaque token, meant for userinfo
    const userinfo = await (await fetch(meta.userinfo_endpoint, { headers: { authorization: `Bearer ${tokens.access_token}` } })).json();
    assert(userinfo.sub === claims.sub && userinfo.email === claims.email, 'userinfo answers for the opaque access token');
    atClaims = { opaque: true, userinfo };
  }

  // v9 refuses to introspect/revoke structured (JWT) tokens, so exercise both with the refresh token,
  // which is issued because offline_access was requested together with prompt=consent.
  assert(tokens.refresh_token, 'refresh token issued for offline_access');
  const clientPost = (url, params) => fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...params, client_id: clientId, client_secret: clientSecret }),
  });
  const introspect = async () => (await clientPost(meta.introspection_endpoint, { token: tokens.refresh_token })).json();
  const before = await introspect();
  assert(before.active === true && before.sub === claims.sub, 'introspection: refresh token active');
  assert((await clientPost(meta.revocation_endpoint, { token: tokens.refresh_token })).ok, 'revocation ok');
  assert((await introspect()).active === false, 'introspection: revoked refresh token inactive');

  console.log(JSON.stringify({ id_token_claims: claims, access_token_claims: atClaims }, null, 2));
  console.log('smoke: OK');
}

main().catch((err) => {
  console.error(`smoke: FAILED: ${err.message}`);
  process.exit(1);
});

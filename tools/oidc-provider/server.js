// Development-only OpenID Connect provider for HSP Marketplace, built on
// panva's certified `oidc-provider`. Never run this as a production IdP:
// accounts and secrets are demo values and all state lives in memory.
import { createHash, generateKeyPairSync, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import Provider, { errors } from 'oidc-provider';

const env = process.env;
const here = dirname(fileURLToPath(import.meta.url));
const port = Number.parseInt(env.OIDC_PORT || '9090', 10);
const host = env.OIDC_HOST || '127.0.0.1';
const issuer = env.OIDC_ISSUER || `http://127.0.0.1:${port}`;
// Resource indicator that access tokens are minted for when the client names none.
// Set OIDC_API_RESOURCE="" to get opaque, userinfo-capable access tokens instead.
const apiResource = env.OIDC_API_RESOURCE ?? 'urn:hspm:marketplace-api';

const DEFAULT_CLIENTS = [{
  client_id: 'hspm-marketplace',
  client_secret: 'dev-secret-not-for-production',
  redirect_uris: ['http://127.0.0.1:8080/sessions'],
  token_endpoint_auth_method: 'client_secret_post',
}];
const clients = env.OIDC_CLIENTS_JSON ? JSON.parse(env.OIDC_CLIENTS_JSON) : DEFAULT_CLIENTS;

const accountsDoc = JSON.parse(readFileSync(env.OIDC_ACCOUNTS_FILE || join(here, 'accounts.json'), 'utf8'));
const accounts = Array.isArray(accountsDoc) ? accountsDoc : accountsDoc.accounts;
const accountsById = new Map(accounts.map((a) => [a.id, a]));
const accountsByLogin = new Map(accounts.map((a) => [a.login, a]));

function signingKeys() {
  if (env.OIDC_JWKS_FILE) return JSON.parse(readFileSync(env.OIDC_JWKS_FILE, 'utf8')).keys;
  // Ephemeral key: no key material on disk, and tokens from an earlier run stop verifying
  // after a restart, which is what a throwaway dev IdP should do.
  const jwk = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  // RFC 7638 thumbprint as kid, so RPs can cache/rotate keys by id.
  const kid = createHash('sha256').update(JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n })).digest('base64url');
  return [{ ...jwk, kid, alg: 'RS256', use: 'sig' }];
}

const sha256 = (s) => createHash('sha256').update(String(s)).digest();
// Hash first so timingSafeEqual gets equal-length inputs and timing leaks nothing.
const passwordMatches = (account, given) => timingSafeEqual(sha256(account.password), sha256(given));

const escapeHtml = (value) => String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title, body) => `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>`
  + '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
  + `<body style="font-family:sans-serif;max-width:28em;margin:3em auto"><h1>${escapeHtml(title)}</h1>${body}</body></html>`;

const ttl = { // seconds
  AccessToken: 3600, IdToken: 3600, AuthorizationCode: 60, RefreshToken: 86400,
  Session: 86400, Interaction: 3600, Grant: 86400,
};

const provider = new Provider(issuer, {
  clients,
  // Metadata omitted from OIDC_CLIENTS_JSON falls back to a confidential code-flow client.
  // (v9 accepts client_secret_post and client_secret_basic alike for either registration.)
  clientDefaults: {
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
    id_token_signed_response_alg: 'RS256',
  },
  responseTypes: ['code'],
  pkce: { required: () => true }, // v9 only implements S256; this makes it mandatory for every client
  jwks: { keys: signingKeys() },
  cookies: {
    keys: (env.OIDC_COOKIE_KEYS || 'dev-only-insecure-cookie-key').split(',').map((k) => k.trim()).filter(Boolean),
    // The RP also lives on 127.0.0.1 and browsers do not separate cookies by port, so
    // avoid the generic default names (`_session`, ...) that could collide with its cookies.
    names: { session: 'oidc_session', interaction: 'oidc_interaction', resume: 'oidc_interaction_resume' },
    // No `secure` flag: the library only marks cookies secure when the request is https
    // (ctx.secure), so plain http on loopback works as is. Forcing secure here would make
    // Koa refuse to set them over http. SameSite=Lax (default) survives the top-level
    // redirects of the code flow.
  },
  claims: {
    openid: ['sub'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    email: ['email', 'email_verified'],
    roles: ['roles'], // custom scope carrying the HSPM persona
  },
  // Put the scope-granted claims into the id_token even though an access token is issued:
  // the marketplace RP reads identity from the id_token and does not call userinfo.
  conformIdTokenClaims: false,
  async findAccount(ctx, sub) {
    const a = accountsById.get(sub);
    if (!a) return undefined;
    return {
      accountId: a.id,
      async claims() {
        return {
          sub: a.id, name: a.name, given_name: a.given_name, family_name: a.family_name,
          preferred_username: a.login, email: a.email, email_verified: true, roles: a.roles ?? [],
        };
      },
    };
  },
  // Resource servers can authorise by persona straight from the JWT access token.
  async extraTokenClaims(ctx, token) {
    const a = token.kind === 'AccessToken' && token.accountId && accountsById.get(token.accountId);
    return a && token.scopes.has('roles') ? { roles: a.roles ?? [] } : undefined;
  },
  features: {
    devInteractions: { enabled: false },
    revocation: { enabled: true, allowedPolicy: async (ctx, client, token) => token.clientId === client.clientId },
    introspection: { enabled: true, allowedPolicy: async (ctx, client) => client.clientAuthMethod !== 'none' },
    userinfo: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      // `form` carries the xsrf token; a scripted client posts it back with logout=yes.
      async logoutSource(ctx, form) {
        ctx.body = page('Sign out', `${form}<button type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button>`
          + ' <button type="submit" form="op.logoutForm">Stay signed in</button>');
      },
      async postLogoutSuccessSource(ctx) { ctx.body = page('Signed out', '<p>You have been signed out.</p>'); },
    },
    // JWT access tokens need an audience, which v9 models as an RFC 8707 resource indicator.
    resourceIndicators: {
      enabled: true,
      // `oneOf` lists the resources already granted; only one resource server exists here.
      defaultResource: async (ctx, client, oneOf) => (oneOf ? oneOf[0] : apiResource || undefined),
      // Without this the token endpoint drops the resource whenever `openid` is requested
      // (to keep the token usable at userinfo) and would hand out an opaque token.
      useGrantedResource: async () => Boolean(apiResource),
      async getResourceServerInfo(ctx, resource) {
        if (!apiResource || resource !== apiResource) throw new errors.InvalidTarget();
        return {
          scope: 'openid profile email roles', accessTokenFormat: 'jwt', accessTokenTTL: ttl.AccessToken,
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  clientBasedCORS: () => true, // dev: any origin may call the CORS-enabled endpoints
  ttl: Object.fromEntries(Object.entries(ttl).map(([k, v]) => [k, () => v])),
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Sign-in error', Object.entries(out)
      .map(([k, v]) => `<p><strong>${escapeHtml(k)}</strong>: ${escapeHtml(v)}</p>`).join(''));
  },
});
provider.on('server_error', (ctx, err) => console.error('oidc-provider server_error:', err));

function loginForm(res, uid, details, { status = 200, error, login = '' } = {}) {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(page('Sign in', `<p>Client <code>${escapeHtml(details.params.client_id)}</code> asks you to sign in.</p>`
    + (error ? `<p role="alert" style="color:#b00">${escapeHtml(error)}</p>` : '')
    + `<form method="post" action="/interaction/${escapeHtml(uid)}/login">`
    + `<p><label>Login <input name="login" value="${escapeHtml(login)}" autocomplete="username" autofocus required></label></p>`
    + '<p><label>Password <input name="password" type="password" autocomplete="current-password" required></label></p>'
    + '<p><button type="submit">Sign in</button></p></form>'
    + `<form method="post" action="/interaction/${escapeHtml(uid)}/abort"><button type="submit">Cancel</button></form>`));
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new errors.InvalidRequest('request body too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

// Consent is implicit: every client here is registered statically by the operator,
// i.e. first-party, so grant exactly what is missing and move on without a click.
async function autoConsent(req, res, details) {
  const { prompt: { details: missing }, params, session, grantId } = details;
  const grant = (grantId && await provider.Grant.find(grantId))
    || new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } });
}

async function interactions(req, res, [, uid, action]) {
  const details = await provider.interactionDetails(req, res);
  // The cookie, not the URL, selects the interaction; refuse mismatches instead of acting on another one.
  if (details.uid !== uid) throw new errors.SessionNotFound('interaction mismatch');
  const { name } = details.prompt;

  if (req.method === 'GET' && !action) {
    if (name === 'consent') return autoConsent(req, res, details);
    return loginForm(res, uid, details, { login: details.params.login_hint });
  }
  if (req.method === 'POST' && action === 'login' && name === 'login') {
    const form = await readForm(req);
    const account = accountsByLogin.get(form.get('login') ?? '');
    if (!account || !passwordMatches(account, form.get('password') ?? '')) {
      return loginForm(res, uid, details, { status: 401, error: 'Invalid login or password.', login: form.get('login') });
    }
    return provider.interactionFinished(req, res, { login: { accountId: account.id } }, { mergeWithLastSubmission: false });
  }
  if (req.method === 'POST' && action === 'abort') {
    return provider.interactionFinished(req, res, {
      error: 'access_denied', error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
  }
  res.statusCode = 405;
  return res.end();
}

const oidc = provider.callback();
const server = createServer((req, res) => {
  const path = URL.parse(req.url, issuer)?.pathname ?? '/';
  const match = /^\/interaction\/([\w-]+)(?:\/(login|abort))?\/?$/.exec(path);
  if (!match) return oidc(req, res);
  return interactions(req, res, match).catch((err) => {
    if (!(err instanceof errors.OIDCProviderError)) console.error('interaction error:', err);
    res.statusCode = err.statusCode ?? 500;
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end(page('Sign-in error', `<p>${escapeHtml(err.error_description || err.message)}</p>`));
  });
});

server.on('error', (err) => { console.error(`oidc-provider failed to listen: ${err.message}`); process.exit(1); });
server.listen(port, host, () => console.log(`oidc-provider listening on ${issuer}`));

function shutdown() {
  setTimeout(() => process.exit(0), 1500).unref(); // hard stop well inside the 2 s budget
  server.close(() => process.exit(0));
  server.closeAllConnections();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

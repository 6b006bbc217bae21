// SPDX-License-Identifier: GPL-3.0-or-later
// A real, certified OpenID Connect provider for the officer page's sign-in tests: panva's
// npm `oidc-provider` (a devDependency in geoservice/package.json), configured like a force's
// provider would be for the page: one public client (no secret, authorisation code + PKCE
// S256 only), JWT access tokens for the geoservice's audience signed RS256 with a key the
// provider publishes at its jwks_uri, and the role and areas claims our service reads.
// Login and consent are the library's built-in development pages (any password).
//
//   node oidc_provider.mjs --port 0 --redirect-uri http://127.0.0.1:8080/app/ \
//     --client-id lpt-officer-page --audience lpt-geoservice --accounts accounts.json
//
// Options (each also as an environment variable OIDC_<NAME>, e.g. OIDC_REDIRECT_URI):
//   --port N              0 (default) picks a free port; the issuer is http://127.0.0.1:<port>
//   --redirect-uri URL    the page's redirect URI (also its post-logout redirect URI); required
//   --client-id ID        default lpt-officer-page
//   --audience AUD        the access tokens' `aud` (the service's auth.oidc.audience)
//   --resource URI        the resource indicator standing for the service (absolute URI;
//                         default urn:lpt:geoservice); the default resource of every request
//   --scope S             the resource server's scope (default lpt)
//   --access-token-ttl S  access token lifetime in seconds (default 600)
//   --accounts FILE       JSON {sub: {name, access_token_claims: {...}, access_token_format?}};
//                         the claims go into that account's access tokens (e.g. lpt_role,
//                         lpt_areas); access_token_format "opaque" mimics a provider that is
//                         not set up for JWT access tokens (default "jwt")
// Prints one line when listening: {"ready": true, "issuer": ..., "port": ...}.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i > 0 && i + 1 < process.argv.length) return process.argv[i + 1];
  const env = process.env[`OIDC_${name.toUpperCase().replace(/-/g, '_')}`];
  return env !== undefined && env !== '' ? env : fallback;
}

// oidc-provider lives in geoservice/node_modules (LPT_NODE_MODULES, else found from here).
async function loadProvider() {
  const modules = process.env.LPT_NODE_MODULES;
  if (modules) {
    const req = createRequire(path.join(path.resolve(modules), 'noop.js'));
    const entry = req.resolve('oidc-provider');
    return import(pathToFileURL(entry).href);
  }
  const here = path.dirname(new URL(import.meta.url).pathname);
  const req = createRequire(path.join(here, '..', '..', '..', 'geoservice', 'noop.js'));
  return import(pathToFileURL(req.resolve('oidc-provider')).href);
}

async function main() {
  const redirectUri = option('redirect-uri');
  if (!redirectUri) throw new Error('--redirect-uri (or OIDC_REDIRECT_URI) is required');
  const clientId = option('client-id', 'lpt-officer-page');
  const audience = option('audience', 'lpt-geoservice');
  const resource = option('resource', 'urn:lpt:geoservice');
  const scope = option('scope', 'lpt');
  const ttl = Number(option('access-token-ttl', '600'));
  const accountsFile = option('accounts');
  const accounts = accountsFile ? JSON.parse(fs.readFileSync(accountsFile, 'utf8')) : {};

  const { default: Provider, errors } = await loadProvider();
  const server = http.createServer();
  await new Promise((resolve) => server.listen(Number(option('port', '0')), '127.0.0.1', resolve));
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;

  // The signing key: a fresh RSA key each run; its public half is served at jwks_uri.
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: `test-${port}`, use: 'sig', alg: 'RS256' };

  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      client_name: 'LPT officer page',
      application_type: 'web',
      token_endpoint_auth_method: 'none', // a public client: the page holds no secret
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: [redirectUri],
      post_logout_redirect_uris: [redirectUri],
    }],
    jwks: { keys: [jwk] },
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    claims: { openid: ['sub'], profile: ['name'] },
    pkce: { required: () => true }, // S256 is the only method oidc-provider 9 accepts
    // The token endpoint is called by the page's fetch from the service's origin.
    clientBasedCORS: (ctx, origin, client) => client.redirectUris
      .some((uri) => new URL(uri).origin === origin),
    async findAccount(ctx, sub) {
      const a = accounts[sub];
      if (!a) return undefined;
      return { accountId: sub, async claims() { return { sub, name: a.name }; } };
    },
    // The role and areas claims go into the access token (the service reads those).
    async extraTokenClaims(ctx, token) {
      if (token.kind !== 'AccessToken') return undefined;
      return accounts[token.accountId]?.access_token_claims;
    },
    ttl: { AccessToken: ttl, AuthorizationCode: 60, IdToken: ttl, Interaction: 600, Session: 3600, Grant: 3600 },
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // The page asks for no resource: every authorisation is for the geoservice, and the
        // code exchange keeps it (else `openid` alone would give a userinfo token).
        defaultResource: () => resource,
        useGrantedResource: () => true,
        getResourceServerInfo(ctx, indicator) {
          if (indicator !== resource) throw new errors.InvalidTarget();
          // An account may ask for opaque tokens: a provider misconfigured for the service.
          const account = accounts[ctx.oidc.entities.Account?.accountId];
          return { scope, audience, accessTokenTTL: ttl,
            accessTokenFormat: account?.access_token_format || 'jwt',
            jwt: { sign: { alg: 'RS256' } } };
        },
      },
    },
  });
  provider.on('server_error', (ctx, err) => process.stderr.write(`server_error: ${err.stack}\n`));
  // Why a token request was refused (the response says only "grant request is invalid").
  provider.on('grant.error', (ctx, err) => process.stderr.write(
    `grant.error: ${err.message}: ${err.error_detail || err.cause?.message || ''}\n`));
  server.on('request', provider.callback());
  process.stdout.write(JSON.stringify({ ready: true, issuer, port, client_id: clientId,
    audience, resource }) + '\n');
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e) => { process.stderr.write(String(e && e.stack || e) + '\n'); process.exit(1); });

// A real OpenID provider (the `oidc-provider` package) for the tests and `make dev`.
//
//   node provider.mjs <config.json>      (written by ops/local_idp.py)
//
// The pages' clients (config.pages_clients) sign a person in by the authorization code
// with PKCE, through the development login form (any login name is that `sub`).
// Every other client may use the client-credentials grant only; its access tokens are JWTs
// for an audience (resource indicator) the config names, signed with the algorithm the
// config gives that audience (by the first key of that algorithm), with `sub` = the
// client id (oidc-provider's choice for tokens no person signed in for). Each request's
// method, path and status are logged, never a token.

import { readFileSync } from 'node:fs';
import Provider, { errors } from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const pagesClients = new Set((config.pages_clients || []).map(({ client_id }) => client_id));

const provider = new Provider(config.issuer, {
  jwks: { keys: config.keys },
  clients: config.clients.map(({ client_id, client_secret }) => ({
    client_id,
    client_secret,
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
  })).concat((config.pages_clients || []).map(({ client_id, redirect_uris }) => ({
    // The pages sign a person in: a public client, so PKCE (S256) is its only proof.
    client_id,
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code'],
    redirect_uris,
    response_types: ['code'],
  }))),
  scopes: ['openid', 'caseflow'],
  ttl: { ClientCredentials: config.token_ttl_seconds },
  features: {
    // The development login form: any login name signs in as that `sub` (a staff id).
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // A person signing in to the pages asks for an ID token only, no API access token.
      defaultResource: (_ctx, client) => (pagesClients.has(client.clientId)
        ? undefined : config.resources[0].audience),
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resource) => {
        const known = config.resources.find(({ audience }) => audience === resource);
        if (!known) {
          throw new errors.InvalidTarget();
        }
        return {
          scope: 'caseflow',
          audience: resource,
          accessTokenTTL: config.token_ttl_seconds,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: known.alg } },
        };
      },
    },
  },
});

provider.use(async (ctx, next) => {
  await next();
  console.log(`${ctx.method} ${ctx.path} ${ctx.status}`);
});

provider.listen(config.port, '127.0.0.1', () => {
  console.log(`identity provider ready at ${config.issuer}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => process.exit(0));
}

// A real OpenID provider (the `oidc-provider` package) for the tests and `make dev`.
//
//   node provider.mjs <config.json>      (written by ops/local_idp.py)
//
// Every client may use the client-credentials grant only; its access tokens are JWTs
// signed with the first key of the config, for an audience (resource indicator) the
// config names, with `sub` = the client id (oidc-provider's choice for tokens that no
// person signed in for). Each request's method and path is logged, never a token.

import { readFileSync } from 'node:fs';
import Provider, { errors } from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));

const provider = new Provider(config.issuer, {
  jwks: { keys: config.keys },
  clients: config.clients.map(({ client_id, client_secret }) => ({
    client_id,
    client_secret,
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
  })),
  scopes: ['openid', 'caseflow'],
  ttl: { ClientCredentials: config.token_ttl_seconds },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => config.audiences[0],
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resource) => {
        if (!config.audiences.includes(resource)) {
          throw new errors.InvalidTarget();
        }
        return {
          scope: 'caseflow',
          audience: resource,
          accessTokenTTL: config.token_ttl_seconds,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
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

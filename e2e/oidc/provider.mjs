// An independent OpenID provider for the end-to-end tests: the npm package oidc-provider with a
// public PKCE client, mounted at /{tenant}/v2.0 on a free 127.0.0.1 port (the portal builds its
// authority as {authority}/{tenant}/v2.0). Not tuned to the portal: stock behaviour and views.
import http from 'node:http';
import Provider from 'oidc-provider';

export const TENANT = '11111111-2222-4333-8444-555555555555';
export const CLIENT_ID = '0f1e2d3c-4b5a-4697-8877-665544332211';

/** Starts the provider; `redirectUri` is the portal's. Returns { issuer, origin, stop }. */
export async function startProvider(redirectUri) {
  const server = http.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  const prefix = `/${TENANT}/v2.0`;
  const issuer = `${origin}${prefix}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: CLIENT_ID,
      token_endpoint_auth_method: 'none',
      application_type: 'web',
      redirect_uris: [redirectUri],
      post_logout_redirect_uris: [redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    }],
    pkce: { required: () => true },
    claims: { openid: ['sub', 'tid'], profile: ['name', 'preferred_username'] },
    conformIdTokenClaims: false,
    async findAccount(_ctx, sub) {
      return {
        accountId: sub,
        async claims() {
          return { sub, tid: TENANT, name: `Independent ${sub}`, preferred_username: `${sub}@independent.example` };
        },
      };
    },
    // Graph scopes mean nothing here; accept them so the portal's request is valid as sent.
    scopes: ['openid', 'offline_access', 'profile'],
    features: { devInteractions: { enabled: true } },
  });
  provider.proxy = false;
  const callback = provider.callback();
  server.on('request', (req, res) => {
    if (req.url.startsWith(prefix)) {
      req.originalUrl = req.url;
      req.url = req.url.slice(prefix.length) || '/';
      callback(req, res);
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  return {
    issuer,
    origin,
    stop: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(resolve); }),
  };
}

// The same portal build signs in against an independent OpenID provider (the npm package
// oidc-provider, started here on 127.0.0.1 with a public PKCE client): the flow is standard,
// not tuned to our dev tenant.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, expect, waitForPortal } from './fixtures.mjs';
import { startDevTenant } from '../devtenant.mjs';
import { startProvider, TENANT, CLIENT_ID } from '../oidc/provider.mjs';

test('sign-in with PKCE against oidc-provider', async ({ page }) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tap-oidc-'));
  const configFile = path.join(dir, 'config.json');
  fs.writeFileSync(configFile, '{}');
  // The dev tenant only serves the portal's files here; config.json points at the provider.
  const portal = await startDevTenant(['--config', configFile]);
  const provider = await startProvider(portal.urls.portal);
  try {
    fs.writeFileSync(configFile, JSON.stringify({
      clientId: CLIENT_ID, tenant: TENANT, redirectUri: portal.urls.portal, authority: provider.origin,
    }));
    // The stock login page imports a web font; there is no internet here.
    await page.route('https://fonts.googleapis.com/**', (route) => route.fulfill({ status: 200, contentType: 'text/css', body: '' }));
    const tokenRequests = [];
    page.on('request', (r) => { if (r.url().startsWith(provider.issuer) && r.url().endsWith('/token')) tokenRequests.push(r); });
    await page.goto(portal.urls.portal);
    await waitForPortal(page);
    await page.getByTestId('sign-in').click();
    await page.locator('input[name="login"]').fill('ada');
    await page.locator('input[name="password"]').fill('any');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    await page.getByRole('button', { name: 'Continue' }).click();
    // A member lands on My apps, signed in by the independent provider.
    await waitForPortal(page);
    await expect(page.getByTestId('account-name')).toHaveText('Independent ada');
    expect(page.url()).not.toMatch(/code=|state=/);
    expect(tokenRequests.length).toBe(1);
    const body = tokenRequests[0].postData() ?? '';
    expect(body).toContain('grant_type=authorization_code');
    expect(body).toMatch(/code_verifier=[A-Za-z0-9_-]{43,}/);
    expect(await page.evaluate(() => JSON.stringify({ ...localStorage }))).not.toMatch(/eyJ|token/i);
  } finally {
    await provider.stop();
    await portal.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// Sign-in against the dev tenant, each test with a dev tenant of its own (faults and clock jumps
// stay local): admin and member, reload, silent renewal, the 24-hour cliff, incremental consent,
// sign-out, and no token in localStorage, the URL or the console.
import { test, expect, waitForPortal, closePages } from './fixtures.mjs';
import { startDevTenant } from '../devtenant.mjs';

const ADMIN = 'megan.bowen@contoso.onmicrosoft.com';
const MEMBER = 'zoe.muller@contoso.onmicrosoft.com';

test.describe.configure({ mode: 'parallel' });

let tenant;
test.beforeEach(async () => { tenant = await startDevTenant(); });
// Pages close first: a load still in flight must not meet a stopped dev tenant.
test.afterEach(async ({ context }) => { await closePages(context); await tenant?.stop(); });

async function admin(method, path, body) {
  const response = await fetch(`${tenant.urls.admin}${path}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  expect(response.ok, `${method} ${path}`).toBe(true);
  return response.status === 204 ? null : response.json();
}

async function signIn(page, upn, from = '/') {
  await page.goto(new URL(from, tenant.urls.portal).href);
  await waitForPortal(page);
  await page.getByTestId('sign-in').click();
  await page.locator(`button[data-upn="${upn}"]`).click();
  await expect(page.getByTestId('account-name')).toBeVisible();
}

/** Everything that must hold after any sign-in: no token in localStorage or the URL. */
async function expectNoTokenLeak(page) {
  expect(page.url()).not.toMatch(/[?#&](code|state|access_token|id_token)=/);
  const local = await page.evaluate(() => JSON.stringify({ ...localStorage }));
  expect(local).not.toMatch(/eyJ|refresh|token/i);
}

const grants = async (kind) => (await admin('GET', '/log')).filter((e) => e.grantType === kind);

test('an admin signs in, lands on Users, and nothing leaks', async ({ page }) => {
  const consoleText = [];
  page.on('console', (m) => consoleText.push(m.text()));
  await signIn(page, ADMIN);
  await expect(page.getByTestId('account-name')).toHaveText('Megan Bowen');
  await expect(page.getByTestId('account-role')).toHaveText('Administrator');
  await expect(page).toHaveURL(/\/users$/);
  await expectNoTokenLeak(page);
  expect(consoleText.join('\n')).not.toMatch(/eyJ/);
  // The token request went out with PKCE, from the portal's origin.
  const [exchange] = await grants('authorization_code');
  expect(exchange.body).toMatch(/code_verifier=<\d+ chars>/);
  expect(exchange.headers.find(([k]) => k === 'origin')[1]).toBe(tenant.urls.portal.replace(/\/$/, ''));
  const authorize = (await admin('GET', '/log')).find((e) => e.path.endsWith('/authorize') && e.method === 'GET');
  expect(authorize.query).toContain('code_challenge_method=S256');
  expect(authorize.query).not.toContain('ReadWrite');
});

test('a member lands on My apps; a reload keeps the session', async ({ page }) => {
  await signIn(page, MEMBER);
  await expect(page.getByTestId('account-role')).toHaveText('Member');
  await expect(page).toHaveURL(/\/my-apps$/);
  await page.goto(new URL('/settings', tenant.urls.portal).href);
  // The access token kept in sessionStorage is still fresh: the reload starts with it, as the
  // stored account, without a token request.
  await expect(page.getByTestId('account-name')).toHaveText('Zoë Müller');
  await expect(page.getByTestId('granted-permissions')).toContainText('TeamsAppInstallation.ReadForUser');
  expect(await grants('refresh_token')).toEqual([]);
  await expectNoTokenLeak(page);
});

test('an access token about to expire is renewed silently', async ({ page }) => {
  // Tokens live 6 s: the renewal window is the smaller of 5 minutes and half the lifetime, so
  // renewal starts after 3 s.
  await admin('PUT', '/faults', { tokenLifetimeSeconds: 6 });
  await signIn(page, MEMBER, '/settings');
  await expect(page.getByTestId('session-renewals')).not.toHaveText('0', { timeout: 15_000 });
  expect((await grants('refresh_token')).length).toBeGreaterThanOrEqual(1);
  await expect(page.getByTestId('account-name')).toHaveText('Zoë Müller');
});

test.describe('flows where the browser logs a refused token request', () => {
  // A 400 from the token endpoint is part of these flows; the browser logs it as a console error.
  test.use({ expectedConsoleErrors: [/status of 400 \(Bad Request\) @ http:\/\/127\.0\.0\.1:\d+\/[^ ]+\/oauth2\/v2\.0\/token/] });

test('past the 24-hour limit the portal signs in again and comes back to the same page', async ({ page }) => {
  await signIn(page, MEMBER, '/catalog');
  await expect(page).toHaveURL(/\/catalog$/);
  await expect(page.getByTestId('account-name')).toBeVisible();
  await admin('PUT', '/clock', { offsetSeconds: 24 * 3600 + 60 });
  // The access tokens the tab kept for its reload are a day old as well (the browser's clock
  // does not move with the dev tenant's).
  await page.evaluate((age) => {
    for (const key of Object.keys(sessionStorage).filter((k) => k.startsWith('tap.auth.tokens.'))) {
      const entry = JSON.parse(sessionStorage.getItem(key));
      for (const token of entry.tokens) { token.issued_at -= age; token.expires_at -= age; }
      sessionStorage.setItem(key, JSON.stringify(entry));
    }
  }, 24 * 3600 + 60);
  await page.reload();
  // The refused refresh sends the user to sign in again (with a login hint), and back.
  const signedInAgain = async () => {
    const log = await admin('GET', '/log');
    const expired = log.findIndex((e) => e.grantType === 'refresh_token' && e.status === 400);
    return expired > -1
      && log.slice(expired).some((e) => e.path.endsWith('/authorize') && (e.query ?? '').includes('login_hint'))
      && log.slice(expired).some((e) => e.grantType === 'authorization_code' && e.status === 200);
  };
  await expect.poll(signedInAgain).toBe(true);
  await expect(page.getByTestId('account-name')).toHaveText('Zoë Müller');
  await expect(page).toHaveURL(/\/catalog$/);
});

test('asking for a write scope is incremental consent', async ({ page }) => {
  await signIn(page, ADMIN, '/settings');
  await page.goto(new URL('/settings', tenant.urls.portal).href);
  const write = page.locator('[data-operation="TeamsAppInstallation.ReadWriteForUser"]');
  await write.getByRole('button', { name: 'Ask for it' }).click();
  await expect(write.getByText('held')).toBeVisible();
  await expect(page).toHaveURL(/\/settings$/);
  const authorizes = (await admin('GET', '/log')).filter((e) => e.path.endsWith('/authorize') && e.method === 'GET');
  expect(authorizes.at(-1).query).toContain('TeamsAppInstallation.ReadWriteForUser');
});

test('a member asking for an admin-only scope is told to get admin consent', async ({ page }) => {
  await signIn(page, MEMBER, '/settings');
  await page.goto(new URL('/settings', tenant.urls.portal).href);
  await page.locator('[data-operation="TeamsAppInstallation.ReadWriteForUser"]').getByRole('button', { name: 'Ask for it' }).click();
  await expect(page.getByTestId('consent-required')).toBeVisible();
  await expect(page.getByTestId('consent-required')).toContainText('AADSTS65001');
  await expect(page.getByTestId('admin-consent-link')).toHaveAttribute('href', /adminconsent\?client_id=/);
});

});

test.describe('the sign-in worker', () => {
  // The blocked worker script is logged by the browser as a failed load.
  test.use({ expectedConsoleErrors: [/sign-in-worker|ERR_FAILED|Failed to load/] });

  test('a sign-in worker that cannot load is reported, and the next attempt starts a new one', async ({ page }) => {
    let block = true;
    // The worker's wasm-bindgen glue (named by its content in a release build).
    await page.route(/\/sign-in-worker(-[0-9a-f]{16})?\.js$/, (route) => (block ? route.abort() : route.continue()));
    await page.goto(new URL('/', tenant.urls.portal).href);
    await waitForPortal(page);
    await page.getByTestId('sign-in').click();
    const banner = page.getByTestId('auth-error');
    await expect(banner).toHaveAttribute('data-error-key', 'auth.error.sign_in_worker');
    await expect(banner).toContainText("The portal's sign-in code could not be loaded");
    block = false;
    await page.getByTestId('sign-in').click();
    await page.locator(`button[data-upn="${MEMBER}"]`).click();
    await expect(page.getByTestId('account-name')).toHaveText('Zoë Müller');
  });
});

test('sign-out clears every cache and ends the session', async ({ page }) => {
  await signIn(page, ADMIN);
  expect(await page.evaluate(() => Object.keys(sessionStorage).some((k) => k.startsWith('tap.auth.')))).toBe(true);
  await page.getByTestId('sign-out').click();
  await expect(page.getByTestId('sign-in')).toBeVisible();
  expect(await page.evaluate(() => Object.keys(sessionStorage).filter((k) => k.startsWith('tap.auth.')))).toEqual([]);
  await expectNoTokenLeak(page);
  expect((await admin('GET', '/log')).some((e) => e.path.endsWith('/logout'))).toBe(true);
  // The provider's session is over too: signing in shows the account picker again.
  await page.getByTestId('sign-in').click();
  await expect(page.locator(`button[data-upn="${ADMIN}"]`)).toBeVisible();
});

test('a forged callback is refused with a clear message and nothing stored', async ({ page }) => {
  await page.goto(new URL('/?code=forged&state=forged', tenant.urls.portal).href);
  await waitForPortal(page);
  await expect(page.getByTestId('auth-error')).toHaveAttribute('data-error-key', 'auth.error.unknown_state');
  expect(page.url()).not.toContain('code=');
  expect(await page.evaluate(() => Object.keys(sessionStorage).filter((k) => k.startsWith('tap.auth.refresh')))).toEqual([]);
});

test('a replayed callback is refused', async ({ page }) => {
  await page.goto(new URL('/', tenant.urls.portal).href);
  await waitForPortal(page);
  await page.getByTestId('sign-in').click();
  // Catch the callback URL on its way back, then replay it after the real sign-in used it.
  const callback = page.waitForRequest((r) => r.url().startsWith(tenant.urls.portal) && r.url().includes('code='));
  await page.locator(`button[data-upn="${MEMBER}"]`).click();
  const url = (await callback).url();
  await expect(page.getByTestId('account-name')).toBeVisible();
  await page.goto(url);
  await expect(page.getByTestId('auth-error')).toHaveAttribute('data-error-key', 'auth.error.unknown_state');
});

for (const [fault, reason] of [
  ['nonce', /nonce/i],
  ['signature', /signature/i],
  ['audience', /audience/i],
  ['issuer', /issuer/i],
  ['expired', /expired/i],
]) {
  test(`an ID token with a bad ${fault} is refused and nothing is stored`, async ({ page }) => {
    await admin('PUT', '/faults', { idTokenFault: fault });
    await page.goto(new URL('/', tenant.urls.portal).href);
    await waitForPortal(page);
    await page.getByTestId('sign-in').click();
    await page.locator(`button[data-upn="${MEMBER}"]`).click();
    const banner = page.getByTestId('auth-error');
    await expect(banner).toHaveAttribute('data-error-key', 'auth.error.id_token');
    await expect(banner.locator('.detail')).toHaveText(reason);
    await expect(page.getByTestId('sign-in')).toBeVisible();
    expect(await page.evaluate(() => Object.keys(sessionStorage).filter((k) => k.startsWith('tap.auth.') && !k.startsWith('tap.auth.pending.')))).toEqual([]);
    expect(page.url()).not.toContain('code=');
  });
}

test.describe('continuous access evaluation', () => {
  // Graph's 401 with the claims challenge is logged by the browser before the replay.
  test.use({ expectedConsoleErrors: [/status of 401 \(Unauthorized\) @ http:\/\/127\.0\.0\.1:\d+\/v1\.0\/me/] });

  test('a claims challenge is answered with the claims and the request replayed once', async ({ page }) => {
    await tenant.stop();
    tenant = await startDevTenant(['--cae']);
    await signIn(page, MEMBER, '/settings');
    await page.goto(new URL('/settings', tenant.urls.portal).href);
    await page.getByTestId('graph-check').click();
    await expect(page.getByTestId('graph-check-result')).toHaveText('Zoë Müller');
    // A revocation event: the token in hand now gets a claims challenge.
    await new Promise((r) => setTimeout(r, 1100));
    await admin('POST', `/revoke/${MEMBER}`);
    await admin('DELETE', '/log');
    await page.getByTestId('graph-check').click();
    await expect(page.getByTestId('graph-check-result')).toHaveText('Zoë Müller');
    const log = await admin('GET', '/log');
    const me = log.filter((e) => e.path === '/v1.0/me');
    expect(me.map((e) => e.status)).toEqual([401, 200]);
    const refresh = log.find((e) => e.grantType === 'refresh_token');
    expect(decodeURIComponent(refresh.body)).toContain('"nbf"');
    expect(decodeURIComponent(refresh.body)).toContain('cp1');
  });
});

// Round trips of the journeys users take every day (issue #24): a signed-in reload whose access
// token is still fresh starts without renewing (no sign-in worker, discovery, keys or token
// request before its first Graph call), a user page reads the user beside their apps and shows
// the installations before the catalog is in, a sign-in reads discovery and the keys once,
// config.json is fetched beside the wasm (preloaded by index.html), once, and a signed-out page
// loads the sign-in worker before the click that needs it.
import { test, expect, waitForPortal, closePages } from './fixtures.mjs';
import { startDevTenant } from '../devtenant.mjs';
import { ADMIN, SEAN, signInAs, adminOf } from './portal.mjs';

let tenant;
test.afterEach(async ({ context }) => { await closePages(context); await tenant?.stop(); });

const identityLog = async () => (await adminOf(tenant)('GET', '/log')).filter((e) => e.origin === 'identity');
const workerFile = (url) => /sign-in-worker/.test(new URL(url).pathname);

test('a reload with a fresh access token sends no token request and starts no sign-in worker', async ({ page }) => {
  tenant = await startDevTenant();
  const admin = adminOf(tenant);
  await signInAs(page, tenant, ADMIN);
  await page.goto(new URL(`/users/${SEAN}`, tenant.urls.portal).href);
  await expect(page.getByTestId('installations')).toBeVisible();
  // What the session keeps in sessionStorage: the refresh token, the account, the granted
  // permissions and the tokens entry (access tokens and the ID token); nothing in localStorage.
  const names = await page.evaluate(() => Object.keys(sessionStorage).filter((k) => k.startsWith('tap.auth.')).map((k) => k.split('.')[2]).sort());
  expect(names).toEqual(['account', 'granted', 'refresh_token', 'tokens']);
  expect(await page.evaluate(() => JSON.stringify({ ...localStorage }))).not.toMatch(/eyJ|refresh|token/i);

  await admin('DELETE', '/log');
  const requested = [];
  page.on('request', (r) => requested.push(r.url()));
  await page.reload();
  await expect(page.getByTestId('installations')).toBeVisible();
  await expect(page.getByTestId('account-name')).toHaveText('Megan Bowen');
  expect(await identityLog(), 'no identity request: no discovery, keys or token').toEqual([]);
  expect(requested.filter(workerFile), 'the sign-in worker is not started').toEqual([]);
  await expect(page.getByTestId('user-card')).toContainText('Seán');

  // Sign-out after the reload still names the account with the ID token it kept.
  await page.getByTestId('sign-out').click();
  await expect(page.getByTestId('sign-in')).toBeVisible();
  const logout = (await identityLog()).find((e) => e.path.endsWith('/logout'));
  expect(new URLSearchParams(logout.query).get('id_token_hint')).toBeTruthy();
  expect(await page.evaluate(() => Object.keys(sessionStorage).filter((k) => k.startsWith('tap.auth.')))).toEqual([]);
});

test('a reload whose access token is due for renewal renews it before the shell starts', async ({ page }) => {
  tenant = await startDevTenant();
  const admin = adminOf(tenant);
  await signInAs(page, tenant, ADMIN);
  // The kept access tokens are an hour old now: inside their renewal window.
  await page.evaluate(() => {
    const key = Object.keys(sessionStorage).find((k) => k.startsWith('tap.auth.tokens.'));
    const entry = JSON.parse(sessionStorage.getItem(key));
    const now = Math.floor(Date.now() / 1000);
    for (const token of entry.tokens) { token.issued_at = now - 3590; token.expires_at = now + 10; }
    sessionStorage.setItem(key, JSON.stringify(entry));
  });
  await admin('DELETE', '/log');
  const requested = [];
  page.on('request', (r) => requested.push(r.url()));
  await page.reload();
  await waitForPortal(page);
  // The renewal ran before the shell started, through the worker.
  expect((await identityLog()).filter((e) => e.grantType === 'refresh_token').map((e) => e.status)).toEqual([200]);
  expect(requested.some(workerFile)).toBe(true);
  await expect(page.getByTestId('account-name')).toHaveText('Megan Bowen');
});

test('a user page reads the user beside their apps, and shows the installations before the catalog', async ({ page }) => {
  tenant = await startDevTenant();
  await signInAs(page, tenant, ADMIN);
  // Hold back the user read and the catalog until the installations are on screen.
  let release;
  const released = new Promise((resolve) => { release = resolve; });
  const held = [];
  const hold = async (route) => { held.push(route.request().url()); await released; await route.continue(); };
  await page.route((url) => url.pathname === `/v1.0/users/${SEAN}`, hold);
  await page.route((url) => url.pathname === '/v1.0/appCatalogs/teamsApps', hold);
  await page.goto(new URL(`/users/${SEAN}`, tenant.urls.portal).href);
  const installations = page.getByTestId('installations');
  try {
    await expect(installations).toBeVisible();
    expect(held.length, 'both held reads were sent').toBe(2);
    // The latest versions wait for the catalog; the user card for the user read.
    await expect(installations.locator('[data-latest="pending"]').first()).toBeVisible();
    await expect(installations.locator('[data-drift]')).toHaveCount(0);
    await expect(page.getByTestId('user-card')).toHaveCount(0);
  } finally {
    release();
  }
  await expect(page.getByTestId('user-card')).toContainText('Seán');
  await expect(installations.locator('[data-latest="pending"]')).toHaveCount(0);
  await expect(installations.locator('[data-drift]').first()).toBeVisible();
  await expect(page.getByTestId('available-apps')).toBeVisible();
});

test('a sign-in reads discovery and the keys once each', async ({ page }) => {
  tenant = await startDevTenant();
  await signInAs(page, tenant, ADMIN);
  await expect(page).toHaveURL(/\/users$/);
  const log = await identityLog();
  const gets = (suffix) => log.filter((e) => e.method === 'GET' && e.path.endsWith(suffix)).length;
  // The authorize step needs discovery only; the callback page reads it from the HTTP cache and
  // the keys beside the token request.
  expect(gets('/.well-known/openid-configuration')).toBe(1);
  expect(gets('/discovery/v2.0/keys')).toBe(1);
  expect(log.filter((e) => e.grantType === 'authorization_code')).toHaveLength(1);
});

test('config.json is fetched beside the wasm, once', async ({ page }) => {
  tenant = await startDevTenant();
  const configs = [];
  page.on('request', (r) => { if (new URL(r.url()).pathname === '/config.json') configs.push(r.url()); });
  // Hold the portal's wasm until config.json has been asked for.
  let release;
  const released = new Promise((resolve) => { release = resolve; });
  await page.route((url) => /^\/teams-app-portal-[0-9a-f]+_bg\.wasm$/.test(url.pathname), async (route) => {
    await released;
    await route.continue();
  });
  await page.goto(tenant.urls.portal);
  try {
    await expect.poll(() => configs.length, { message: 'config.json requested while the wasm loads' }).toBe(1);
  } finally {
    release();
  }
  await waitForPortal(page);
  expect(configs).toHaveLength(1);
});

test('signed out, the sign-in worker loads before the Sign in click', async ({ page }) => {
  tenant = await startDevTenant();
  const loaders = [];
  page.on('request', (r) => { if (/\/sign-in-worker(-[0-9a-f]{16})?_loader\.js$/.test(new URL(r.url()).pathname)) loaders.push(r.url()); });
  await page.goto(tenant.urls.portal);
  await waitForPortal(page);
  await expect(page.getByTestId('sign-in')).toBeVisible();
  await expect.poll(() => loaders.length, { message: 'the worker started while the page waits for the click' }).toBe(1);
  await page.getByTestId('sign-in').click();
  await page.locator(`button[data-upn="${ADMIN}"]`).click();
  await expect(page.getByTestId('account-name')).toHaveText('Megan Bowen');
});

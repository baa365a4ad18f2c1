// Sessions that survive a bad minute, and sign-out across tabs, each test with a dev tenant of
// its own: (c) a background renewal answered 503 keeps the session and is retried; (d) two tabs
// of one browser, signing out in one signs the other out without a reload.
import { test, expect, waitForPortal, closePages } from './fixtures.mjs';
import { startDevTenant } from '../devtenant.mjs';
import { adminOf } from './portal.mjs';

const ADMIN = 'megan.bowen@contoso.onmicrosoft.com';
const MEMBER = 'zoe.muller@contoso.onmicrosoft.com';

test.describe.configure({ mode: 'parallel' });

let tenant;
// Pages close first: a load still in flight must not meet a stopped dev tenant.
test.afterEach(async ({ context }) => { await closePages(context); await tenant?.stop(); });

const admin = (...args) => adminOf(tenant)(...args);

const tokenRequests = async () => (await admin('GET', '/log')).filter((e) => e.grantType === 'refresh_token');

async function signIn(page, upn, from = '/') {
  await page.goto(new URL(from, tenant.urls.portal).href);
  await waitForPortal(page);
  await page.getByTestId('sign-in').click();
  // With a session at the provider (another tab signed in), the account picker is skipped.
  const picker = page.locator(`button[data-upn="${upn}"]`);
  const name = page.getByTestId('account-name');
  await expect(name.or(picker)).toBeVisible();
  if (await picker.isVisible()) await picker.click();
  await expect(name).toBeVisible();
}

test.describe('a bad minute at the token endpoint', () => {
  // The browser logs the 503 of the token endpoint as a console error.
  test.use({ expectedConsoleErrors: [/status of 503 \(Service Unavailable\) @ http:\/\/127\.0\.0\.1:\d+\/[^ ]+\/oauth2\/v2\.0\/token/] });

  test('a background renewal answered 503 keeps the session and is retried', async ({ page }) => {
    // Access tokens live 8 s: renewal starts at half the lifetime, 4 s after each token.
    tenant = await startDevTenant(['--token-lifetime', '8']);
    await signIn(page, MEMBER, '/settings');
    await expect(page).toHaveURL(/\/settings$/);
    // The next answer of the token endpoint is 503 (nothing done), the ones after are normal.
    await admin('PUT', '/faults', { tokenErrorNext: { count: 1, status: 503 } });
    // The background renewal meets the 503, keeps the session and tries again with backoff.
    await expect.poll(async () => {
      const statuses = (await tokenRequests()).map((e) => e.status);
      const failed = statuses.indexOf(503);
      return failed >= 0 && statuses.slice(failed + 1).includes(200);
    }, { timeout: 20_000, message: 'a 503 refresh followed by a successful one' }).toBe(true);
    const refreshes = await tokenRequests();
    expect(refreshes.filter((e) => e.status === 503)).toHaveLength(1);
    // Still signed in, no banner, and the renewals go on.
    await expect(page.getByTestId('account-name')).toHaveText('Zoë Müller');
    await expect(page.getByTestId('auth-error')).toHaveCount(0);
    await expect(page.getByTestId('session-renewals')).not.toHaveText('0');
    await page.getByTestId('graph-check').click();
    await expect(page.getByTestId('graph-check-result')).toHaveText('Zoë Müller');
    // Refreshes ask only for what they need: never offline_access (a standard provider refuses it).
    for (const refresh of refreshes) {
      expect(decodeURIComponent(refresh.body.replaceAll('+', ' '))).not.toContain('offline_access');
    }
    expect(page.url()).toMatch(/\/settings$/);
  });
});

test('signing out in one tab signs the other tabs out', async ({ page, context }) => {
  tenant = await startDevTenant();
  const other = await context.newPage();
  const otherErrors = [];
  other.on('pageerror', (error) => otherErrors.push(error.message));
  await signIn(page, ADMIN);
  await signIn(other, ADMIN, '/catalog');
  await expect(other.getByTestId('account-name')).toHaveText('Megan Bowen');
  const otherKeys = () => other.evaluate(() => Object.keys(sessionStorage).filter((k) => k.startsWith('tap.auth.')));
  expect((await otherKeys()).some((k) => k.startsWith('tap.auth.refresh_token.'))).toBe(true);

  await page.getByTestId('sign-out').click();
  await expect(page.getByTestId('sign-in')).toBeVisible();
  // The other tab hears it: signed out, its caches and sessionStorage cleared, no reload.
  await expect(other.getByTestId('sign-in')).toBeVisible();
  await expect(other.getByTestId('account-name')).toHaveCount(0);
  expect(await otherKeys()).toEqual([]);
  await expect(other).toHaveURL(/\/catalog$/);
  expect(otherErrors).toEqual([]);

  // Sign-out told the provider who and where to return: id_token_hint, logout_hint, the way back.
  const logout = (await admin('GET', '/log')).find((e) => e.path.endsWith('/logout'));
  const query = new URLSearchParams(logout.query);
  expect(query.get('id_token_hint')).toBeTruthy();
  expect(query.get('client_id')).toBeNull();
  expect(query.get('logout_hint')).toBe(ADMIN);
  expect(query.get('post_logout_redirect_uri')).toBe(tenant.urls.portal);
  await other.close();
});

// The portal against the dev tenant's issue-9 behaviours: the Content Security Policy it is
// served under (and proof that the fixtures catch a violation), server paging of the catalog
// and installed apps, "apply, then 504" with read-after-write lag, and the strict self-only
// flag. Each test has a dev tenant of its own, started with the flags it needs.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test, expect, waitForPortal, addScriptFile, closePages } from './fixtures.mjs';
import { startDevTenant, devTenantFlags } from '../devtenant.mjs';
import { ADMIN, SEAN, APPS, signInAs, appRow } from './portal.mjs';

const AXE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', 'axe-core', 'axe.min.js');

test.describe.configure({ mode: 'parallel' });

let tenant;
// Pages close first: a load still in flight must not meet a stopped dev tenant.
test.afterEach(async ({ context }) => { await closePages(context); await tenant?.stop(); tenant = undefined; });

const signIn = (page, upn) => signInAs(page, tenant, upn);
const row = appRow;

async function openUser(page, id) {
  await page.goto(new URL(`/users/${id}`, tenant.urls.portal).href);
  await expect(page.getByTestId('installations')).toBeVisible();
}

test('the portal is served under the Content Security Policy and runs without a violation', async ({ page }) => {
  tenant = await startDevTenant();
  await tenant.admin('POST', '/adminConsent', {});
  const response = await page.goto(tenant.urls.portal);
  const policy = response.headers()['content-security-policy'];
  expect(policy).toMatch(/^default-src 'none'; script-src 'self' 'wasm-unsafe-eval'( 'sha256-[A-Za-z0-9+/]{43}=')+; style-src 'self'; img-src 'self' data:; /);
  expect(policy).toContain(`connect-src 'self' ${tenant.urls.identity} ${tenant.urls.graph};`);
  expect(policy).toContain(`form-action ${tenant.urls.identity}`);
  expect(response.headers()['x-content-type-options']).toBe('nosniff');
  expect(response.headers()['referrer-policy']).toBe('no-referrer');
  await waitForPortal(page);
  await signIn(page, ADMIN);
  for (const route of ['/users', `/users/${SEAN}`, '/catalog', '/my-apps', '/settings']) {
    await page.goto(new URL(route, tenant.urls.portal).href);
    await waitForPortal(page);
  }
  // axe-core still runs under the policy (evaluated, not injected as an inline script).
  await addScriptFile(page, AXE);
  expect(await page.evaluate(() => window.axe.run(document).then((r) => Array.isArray(r.violations)))).toBe(true);
  // The fixtures fail the test on any securitypolicyviolation; nothing more to assert here.
});

test.describe('the fixtures catch a violation', () => {
  test.use({
    expectedCspViolations: [/script-src(-elem)? blocked inline/],
    expectedConsoleErrors: [/Content Security Policy/],
  });
  test('an inline script the policy does not hash is blocked and reported', async ({ page }) => {
    tenant = await startDevTenant();
    await page.goto(tenant.urls.portal);
    await waitForPortal(page);
    await page.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'window.__injected = true;';
      document.head.append(script);
    });
    await expect.poll(() => page.evaluate(() => window.__cspViolations.length)).toBe(1);
    expect(await page.evaluate(() => window.__injected)).toBeUndefined();
  });
});

test('every list is paged by the dev tenant and the portal follows each next link as returned', async ({ page }) => {
  tenant = await startDevTenant(devTenantFlags({ pageSize: 2 }));
  await tenant.admin('POST', '/adminConsent', {});
  await signIn(page, ADMIN);
  // Helpdesk is on the catalog's last page of two.
  await page.goto(new URL('/catalog', tenant.urls.portal).href);
  await expect(page.getByTestId('catalog').locator(`tr[data-app-id="${APPS.helpdesk}"]`)).toBeVisible();
  // Séan has two apps; a third makes his list two pages.
  await tenant.admin('POST', '/installations', { user: SEAN, app: APPS.learningHub });
  await openUser(page, SEAN);
  await expect(row(page, 'installations', APPS.learningHub)).toBeVisible();
  await expect(row(page, 'installations', APPS.polls)).toBeVisible();
  const log = await tenant.graphLog();
  const lists = log.filter((e) => e.method === 'GET' && /\/(appCatalogs\/teamsApps|teamwork\/installedApps)$/.test(e.path));
  expect(lists.every((e) => e.status === 200), lists.map((e) => `${e.path}?${e.query} ${e.status}`).join('\n')).toBe(true);
  expect(lists.filter((e) => e.path.endsWith('/appCatalogs/teamsApps') && /\$skiptoken=/.test(e.query ?? '')).length).toBeGreaterThanOrEqual(5);
  expect(lists.filter((e) => e.path.endsWith('/teamwork/installedApps') && /\$skiptoken=/.test(e.query ?? '')).length).toBeGreaterThanOrEqual(1);
});

test.describe('writes under faults', () => {
  // Chromium logs every failed HTTP answer to the console; here they are the point.
  test.use({ expectedConsoleErrors: [/Failed to load resource/] });

  test('apply then 504 with 2 s of read-after-write lag: one POST, installed, no false "already installed"', async ({ page }) => {
    tenant = await startDevTenant(devTenantFlags({ readAfterWriteLagMs: 2000 }));
    await tenant.admin('POST', '/adminConsent', {});
    await signIn(page, ADMIN);
    await openUser(page, SEAN);
    await row(page, 'available-apps', APPS.learningHub).getByRole('button').click();
    await expect(page.getByTestId('install-flow')).toBeVisible();
    await tenant.setFaults({ applyThenErrorNext: 1, applyThenErrorStatus: 504, readAfterWriteLagMs: 2000 });
    await page.getByTestId('submit-install').click();
    // The write is settled by reading back (long enough to outlast the lag), never by a resend.
    await expect(row(page, 'installations', APPS.learningHub)).toBeVisible({ timeout: 15_000 });
    await expect(page.locator('[data-testid="call-error"][data-error-kind="already-installed"]')).toHaveCount(0);
    const posts = (await tenant.graphLog()).filter((e) => e.method === 'POST');
    expect(posts.map((e) => `${e.status} ${e.fault ?? ''}`)).toEqual(['504 applyThenError']);
    expect((await tenant.installationsOf(SEAN)).filter((i) => i.appId === APPS.learningHub).length).toBe(1);
  });

  test('strict self-only: another user\'s apps are a 403 with its explanation; the admin\'s own apps work', async ({ page }) => {
    tenant = await startDevTenant(devTenantFlags({ strictSelfOnly: true }));
    await tenant.admin('POST', '/adminConsent', {});
    await signIn(page, ADMIN);
    await page.goto(new URL(`/users/${SEAN}`, tenant.urls.portal).href);
    const error = page.getByTestId('call-error').first();
    await expect(error).toBeVisible();
    await expect(error).toHaveAttribute('data-error-kind', /^forbidden/);
    await expect(page.getByTestId('error-request-id').first()).toHaveText(/.{8,}/);
    const denied = (await tenant.graphLog()).filter((e) => e.status === 403);
    expect(denied.length).toBeGreaterThan(0);
    expect(denied.every((e) => e.path.startsWith(`/v1.0/users/${SEAN}/`))).toBe(true);
    // Nothing else breaks: My apps (the admin's own personal scope) and the catalog.
    await page.goto(new URL('/my-apps', tenant.urls.portal).href);
    await expect(page.getByTestId('installations')).toBeVisible();
    await expect(page.getByTestId('call-error')).toHaveCount(0);
    await page.goto(new URL('/catalog', tenant.urls.portal).href);
    await expect(page.getByTestId('catalog').locator(`tr[data-app-id="${APPS.helpdesk}"]`)).toBeVisible();
  });
});

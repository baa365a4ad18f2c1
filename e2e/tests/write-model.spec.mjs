// The write model end to end: a write outlives the view that started it (navigate away at once,
// the outcome reaches the page the user went to, exactly one POST); "apply, then 504" with a
// read-after-write lag is settled by reading back, with no second POST and no false "already
// installed"; under the dev tenant's strict self-only flag an administrator acting on another
// user sees Graph's 403 explained, while their own apps keep working. Each test has a dev tenant
// of its own; the request log is checked every time.
import { test, expect, closePages } from './fixtures.mjs';
import { startDevTenant } from '../devtenant.mjs';
import { ADMIN, SEAN, APPS, signInAs, appRow as row, adminOf, graphLogOf } from './portal.mjs';

test.describe.configure({ mode: 'parallel' });

let tenant;
// Pages close first: a load still in flight must not meet a stopped dev tenant.
test.afterEach(async ({ context }) => { await closePages(context); await tenant?.stop(); });

const admin = (...args) => adminOf(tenant)(...args);
const graphLog = () => graphLogOf(tenant)();
const posts = async () => (await graphLog()).filter((e) => e.method === 'POST' && e.path.includes('/teamwork/installedApps'));
const signIn = (page, upn) => signInAs(page, tenant, upn);

async function installed(userId, appId) {
  const state = await admin('GET', '/state');
  return state.installations.some((i) => (i.userId ?? i.user_id) === userId && (i.appId ?? i.app_id) === appId);
}

test('a write outlives its page: navigate away at once, one POST, the outcome where the user went', async ({ page }) => {
  tenant = await startDevTenant();
  await admin('POST', '/adminConsent', {});
  await signIn(page, ADMIN);
  await page.goto(new URL(`/users/${SEAN}`, tenant.urls.portal).href);
  await row(page, 'available-apps', APPS.learningHub).getByRole('button').click();
  await expect(page.getByTestId('submit-install')).toBeEnabled();
  await admin('PUT', '/faults', { latencyMs: 3000 });
  await page.getByTestId('submit-install').click();
  // Leave at once, through the navigation: the write goes on in the write service.
  await page.getByRole('link', { name: 'Catalog' }).click();
  await expect(page).toHaveURL(/\/catalog$/);
  const item = page.getByTestId('outbox-item').filter({ hasText: 'Learning Hub' });
  await expect(item).toHaveAttribute('data-state', 'done', { timeout: 25_000 });
  await expect(item).toContainText('Learning Hub is installed');
  await expect(page.getByTestId('outbox')).toHaveAttribute('data-in-flight', '0');
  expect((await posts()).length).toBe(1);
  expect(await installed(SEAN, APPS.learningHub)).toBe(true);
});

test('closing the panel with Esc does not drop the write', async ({ page }) => {
  tenant = await startDevTenant();
  await admin('POST', '/adminConsent', {});
  await signIn(page, ADMIN);
  await page.goto(new URL(`/users/${SEAN}`, tenant.urls.portal).href);
  await row(page, 'available-apps', APPS.learningHub).getByRole('button').click();
  await admin('PUT', '/faults', { latencyMs: 1500 });
  await page.getByTestId('submit-install').click();
  await page.getByTestId('install-flow').press('Escape');
  await expect(page.getByTestId('flow-panel')).toHaveCount(0);
  const item = page.getByTestId('outbox-item').filter({ hasText: 'Learning Hub' });
  await expect(item).toHaveAttribute('data-state', 'done', { timeout: 20_000 });
  // The page's list follows the settled write.
  await expect(row(page, 'installations', APPS.learningHub)).toBeVisible({ timeout: 15_000 });
  expect((await posts()).length).toBe(1);
});

test.describe('Graph answers an applied write with a 5xx', () => {
  test.use({ expectedConsoleErrors: [/status of 50[24] \((Bad Gateway|Gateway Timeout)\)/] });

test('apply then 504 with a 2 s read-after-write lag: read back, no second POST, no false "already installed"', async ({ page }) => {
  tenant = await startDevTenant();
  await admin('POST', '/adminConsent', {});
  await signIn(page, ADMIN);
  await page.goto(new URL(`/users/${SEAN}`, tenant.urls.portal).href);
  await row(page, 'available-apps', APPS.learningHub).getByRole('button').click();
  await admin('PUT', '/faults', { applyThenErrorNext: 1, applyThenErrorStatus: 504, readAfterWriteLagMs: 2000 });
  await page.getByTestId('submit-install').click();
  await expect(page.getByTestId('outcome-message')).toHaveText("Learning Hub is installed for Seán O'Brien.", { timeout: 20_000 });
  await expect(page.getByTestId('outcome-reconciled')).toBeVisible();
  await expect(page.getByTestId('call-error')).toHaveCount(0);
  const log = await graphLog();
  const writes = log.filter((e) => e.method === 'POST');
  expect(writes.map((e) => e.status)).toEqual([504]);
  // Read back more than once: the first reads fell inside the lag window.
  const reads = log.filter((e) => e.method === 'GET' && e.path.includes('/teamwork/installedApps') && decodeURIComponent(e.query ?? e.path).includes(APPS.learningHub));
  expect(reads.length).toBeGreaterThan(1);
  expect(await installed(SEAN, APPS.learningHub)).toBe(true);
});

test('an uninstall answered 502 after it was applied is confirmed by reading back', async ({ page }) => {
  tenant = await startDevTenant();
  await admin('POST', '/adminConsent', {});
  await admin('POST', '/installations', { user: SEAN, app: APPS.standup });
  await signIn(page, ADMIN);
  await page.goto(new URL(`/users/${SEAN}`, tenant.urls.portal).href);
  await row(page, 'installations', APPS.standup).locator('[data-action="uninstall"]').click();
  await admin('PUT', '/faults', { applyThenErrorNext: 1, applyThenErrorStatus: 502 });
  await page.getByTestId('submit-uninstall').click();
  await expect(page.getByTestId('outcome-message')).toContainText('Standup Bot', { timeout: 20_000 });
  await expect(page.getByTestId('outcome-reconciled')).toBeVisible();
  const deletes = (await graphLog()).filter((e) => e.method === 'DELETE');
  expect(deletes.map((e) => e.status)).toEqual([502]);
  expect(await installed(SEAN, APPS.standup)).toBe(false);
});
});

test.describe('strict self-only', () => {
  test.use({ expectedConsoleErrors: [/status of 403 \(Forbidden\)/] });
  test('an administrator acting on another user sees the 403 explained; their own apps still work', async ({ page }) => {
    tenant = await startDevTenant(['--strict-self-only']);
    await admin('POST', '/adminConsent', {});
    await signIn(page, ADMIN);
    await page.goto(new URL(`/users/${SEAN}`, tenant.urls.portal).href);
    const error = page.getByTestId('call-error');
    await expect(error).toHaveAttribute('data-error-kind', 'forbidden-other-user');
    await expect(error).toContainText('The user can install the app themselves in My apps');
    await expect(page.getByTestId('error-request-id')).not.toBeEmpty();
    await expect(page.getByTestId('open-install')).toBeDisabled();
    await expect(page.getByTestId('install-refused')).toBeVisible();
    // Their own apps, through /me: listed and installable as before.
    await page.getByRole('link', { name: 'My apps' }).click();
    await row(page, 'available-apps', APPS.learningHub).getByRole('button').click();
    await page.getByTestId('submit-install').click();
    await expect(page.getByTestId('outcome-message')).toContainText('Learning Hub is installed');
    const refused = (await graphLog()).filter((e) => e.status === 403);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((e) => e.path.startsWith(`/v1.0/users/${SEAN}`))).toBe(true);
  });
});

// Round trips: a page's Graph calls reuse the browser's CORS preflight cache (the same call made
// again sends no second OPTIONS) and are never answered from the HTTP cache (every call still
// reaches Graph, whose answers carry no freshness).
import { test, expect, closePages } from './fixtures.mjs';
import { startDevTenant } from '../devtenant.mjs';
import { ADMIN, SEAN, signInAs, adminOf } from './portal.mjs';

let tenant;
test.afterEach(async ({ context }) => { await closePages(context); await tenant?.stop(); });

test("a page's second Graph call to the same address sends no preflight and still reaches Graph", async ({ page }) => {
  tenant = await startDevTenant();
  const admin = adminOf(tenant);
  await signInAs(page, tenant, ADMIN);
  await page.goto(new URL(`/users/${SEAN}`, tenant.urls.portal).href);
  await expect(page.getByTestId('installations')).toBeVisible();
  await admin('DELETE', '/log');
  const path = `/v1.0/users/${SEAN}/teamwork/installedApps`;
  const calls = async () => (await admin('GET', '/log')).filter((e) => e.origin === 'graph' && e.path === path && !(e.query ?? '').includes('skiptoken'));
  // Refresh: the same list read again, twice.
  for (const round of [1, 2]) {
    await page.getByRole('button', { name: 'Refresh' }).click();
    await expect.poll(async () => (await calls()).filter((e) => e.method === 'GET').length).toBe(round);
  }
  const log = await calls();
  // Both reads reached Graph (no answer from the HTTP cache); neither needed a new preflight:
  // the one sent when the page first loaded is still cached.
  expect(log.filter((e) => e.method === 'GET').map((e) => e.status)).toEqual([200, 200]);
  expect(log.filter((e) => e.method === 'OPTIONS')).toHaveLength(0);
});

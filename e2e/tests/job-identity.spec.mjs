// The identity of a job's target (issue 22): a user listed by UPN, again by object id (typed in
// capitals) and again by UPN in other letter case is one user. The list keeps the UPN once, the
// dry run resolves every row to the object id Graph answers and plans one write, the object-id
// row "Skipped: duplicate of line 1 (same user)" (on screen and in the plan's CSV), and the job
// sends exactly one install POST, addressed by object id: the dev tenant's request log (inner
// $batch requests included) holds one, and the user one installation.
import fs from 'node:fs';
import { test, expect, closePages, waitForPortal } from './fixtures.mjs';
import { startDevTenant } from '../devtenant.mjs';
import { ADMIN, APPS, signInAs, adminOf } from './portal.mjs';

let tenant;
test.afterEach(async ({ context }) => { await closePages(context); await tenant?.stop(); });

const admin = (...args) => adminOf(tenant)(...args);
// A seeded user without Learning Hub.
const DIEGO = 'diego.siciliani@contoso.onmicrosoft.com';

/** The install POSTs of the log (the portal's own requests and those inside its $batches). */
const installPosts = (log) => log.filter((e) => (e.origin === 'graph' || e.origin === 'graph-batch')
  && e.method === 'POST' && /\/users\/[^/]+\/teamwork\/installedApps$/i.test(e.path));

test('a UPN, the same user\'s object id and the UPN in other letter case make one plan row with a write and one install POST', async ({ page }) => {
  test.setTimeout(120_000);
  tenant = await startDevTenant(['--latency-ms', '50']);
  await admin('POST', '/adminConsent', {});
  const before = await admin('GET', '/state');
  const diego = before.users.find((u) => u.userPrincipalName.toLowerCase() === DIEGO);
  expect(diego, 'the seeded user').toBeTruthy();
  expect(before.installations.filter((i) => i.userId === diego.id && i.appId === APPS.learningHub)).toHaveLength(0);

  await signInAs(page, tenant, ADMIN);
  await page.goto(new URL('/jobs', tenant.urls.portal).href);
  await waitForPortal(page);
  const list = [DIEGO, diego.id.toUpperCase(), DIEGO.toUpperCase()].join('\n');
  await page.getByTestId('users-text').fill(list);
  await page.getByTestId('users-read').click();
  // The UPN in capitals is the same text in other case: dropped from the list at once.
  await expect(page.getByTestId('users-count')).toHaveText('2 users, 1 rows not used');
  const bad = page.getByTestId('users-bad').locator('tbody tr');
  await expect(bad).toHaveCount(1);
  await expect(bad.nth(0)).toContainText('3');
  await expect(bad.nth(0)).toContainText('Already listed on line 1');

  await page.getByTestId('job-app').selectOption(APPS.learningHub);
  await page.getByTestId('job-action').selectOption('install');
  await page.getByTestId('job-dry-run').click();
  // The object id resolves to the user of line 1: one install, one duplicate.
  await expect(page.getByTestId('plan-count-install')).toContainText('1', { timeout: 60_000 });
  await expect(page.getByTestId('plan-count-skip_duplicate')).toContainText('1');
  const rows = page.getByTestId('plan-rows').locator('tbody tr');
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(0).getByTestId('plan-row-action')).toHaveText('Install');
  await expect(rows.nth(1).getByTestId('plan-row-action')).toHaveText('Skipped: duplicate of line 1 (same user)');

  // The plan's CSV says the same.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('plan-export').click(),
  ]);
  const csv = fs.readFileSync(await download.path(), 'utf8').trim().split(/\r?\n/).map((l) => l.split(','));
  const col = (name) => csv[0].indexOf(name);
  expect(csv).toHaveLength(3);
  expect(csv[1][col('action')]).toBe('install');
  expect(csv[1][col('userId')]).toBe(diego.id);
  expect(csv[2][col('action')]).toBe('skip_duplicate');
  expect(csv[2][col('duplicateOfLine')]).toBe('1');
  expect(csv[2][col('userId')]).toBe(diego.id);

  await page.getByTestId('job-confirm').click();
  await expect(page.getByTestId('job-active')).toHaveAttribute('data-status', 'finished', { timeout: 60_000 });
  await expect(page.getByTestId('job-done')).toHaveText('1');
  await expect(page.getByTestId('job-count-applied')).toBeVisible();

  // Exactly one install POST, to the object id, never the typed text.
  const posts = installPosts(await admin('GET', '/log'));
  expect(posts.map((e) => decodeURIComponent(e.path.split('/')[3]))).toEqual([diego.id]);
  const after = await admin('GET', '/state');
  expect(after.installations.filter((i) => i.userId === diego.id && i.appId === APPS.learningHub)).toHaveLength(1);
});

// Jobs across many users against the dev tenant (issue 12): a 200-user install job under
// latency, 5 % server errors, dropped answers and a forced reload in the middle completes, the
// dev tenant holds exactly one installation per user, and its request log (inner $batch
// requests included) shows no user with two successful install POSTs; a pasted list's bad rows
// are reported by line; the consent audit's CSV export of the seeded tenant matches the dev
// tenant's state row for row.
import fs from 'node:fs';
import { test, expect, closePages, waitForPortal } from './fixtures.mjs';
import { startDevTenant } from '../devtenant.mjs';
import { ADMIN, signInAs, adminOf, expectAccessible } from './portal.mjs';
import { upns, planJob, expectInstalledOncePerUser, parseCsv } from './jobs.mjs';

let tenant;
test.afterEach(async ({ context }) => { await closePages(context); await tenant?.stop(); });

const admin = (...args) => adminOf(tenant)(...args);
const USERS = 200;

test.describe('a job under faults', () => {
  // Server errors and dropped answers show in the console as failed loads.
  test.use({ expectedConsoleErrors: [/Failed to load resource|ERR_/] });

  test('200 users installed under latency, 5 % 503s, dropped answers and a reload; never two installs for a user', async ({ page }) => {
    test.setTimeout(240_000);
    tenant = await startDevTenant(['--users', String(USERS), '--latency-ms', '100', '--log-capacity', '100000']);
    await admin('POST', '/adminConsent', {});
    await signInAs(page, tenant, ADMIN);
    await page.goto(new URL('/jobs', tenant.urls.portal).href);
    await waitForPortal(page);
    await planJob(page, upns(USERS), { expectInstalls: true });
    await expectAccessible(page, 'jobs page with a plan');

    await admin('PUT', '/faults', { serverErrorRate: 0.05, dropRate: 0.05, readAfterWriteLagMs: 1000 });
    await page.getByTestId('job-confirm').click();
    await expect(page.getByTestId('job-active')).toBeVisible();
    // A reload in the middle: the job resumes from what the browser stored.
    await expect.poll(async () => Number(await page.getByTestId('job-done').textContent()), { timeout: 60_000 })
      .toBeGreaterThan(40);
    await page.reload();
    await waitForPortal(page);
    // After a reload the portal asks before resuming (issue 22).
    await page.getByTestId('resume-yes').click();
    await expect(page.getByTestId('job-active')).toHaveAttribute('data-status', 'finished', { timeout: 150_000 });
    await expect(page.getByTestId('job-done')).toHaveText(String(USERS));
    await expect(page.getByTestId('job-count-applied')).toBeVisible();
    await expect(page.getByTestId('job-count-refused')).toHaveCount(0);
    await expect(page.getByTestId('job-count-unsettled')).toHaveCount(0);

    // The dev tenant's state: every user has the app, once; the log, inner $batch requests
    // included: no user with two successful install POSTs.
    const perUser = await expectInstalledOncePerUser(admin, USERS, { wholeLog: true });
    expect(perUser.size).toBe(USERS);
    // The faults did happen: some batches failed or lost their answer.
    const log = await admin('GET', '/log');
    expect(log.some((e) => e.fault === 'serverError' || e.dropped)).toBe(true);
  });
});

test('a pasted list with bad rows reports each by line and keeps the rest', async ({ page }) => {
  tenant = await startDevTenant();
  await admin('POST', '/adminConsent', {});
  await signInAs(page, tenant, ADMIN);
  await page.goto(new URL('/jobs', tenant.urls.portal).href);
  await waitForPortal(page);
  const text = [
    'userPrincipalName',
    'megan.bowen@contoso.onmicrosoft.com',
    'not a user',
    '5b649834-7412-4cce-9e69-176e95a394f5',
    'MEGAN.BOWEN@contoso.onmicrosoft.com',
    '',
    '"unbalanced',
  ].join('\n');
  await page.getByTestId('users-file').setInputFiles({ name: 'users.csv', mimeType: 'text/csv', buffer: Buffer.from(text) });
  await expect(page.getByTestId('users-count')).toHaveText('2 users, 3 rows not used');
  const bad = page.getByTestId('users-bad').locator('tbody tr');
  await expect(bad).toHaveCount(3);
  await expect(bad.nth(0)).toContainText('3');
  await expect(bad.nth(0)).toContainText('Not a user');
  await expect(bad.nth(1)).toContainText('5');
  await expect(bad.nth(1)).toContainText('Already listed on line 2');
  await expect(bad.nth(2)).toContainText('7');
});

test('the consent audit of the seeded tenant exports what the dev tenant holds, row for row', async ({ page }) => {
  test.setTimeout(120_000);
  // ADMIN is a Teams Administrator only: tenant-wide grants need `--audit-roles any` (see
  // fidelity-flags.spec.mjs for `strict`).
  tenant = await startDevTenant(['--audit-roles', 'any']);
  await admin('POST', '/adminConsent', {});
  await signInAs(page, tenant, ADMIN);
  await page.goto(new URL('/audit', tenant.urls.portal).href);
  await waitForPortal(page);
  await page.getByTestId('audit-run').click();
  await expect(page.getByTestId('audit-results')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('audit-progress')).toHaveCount(0, { timeout: 60_000 });
  await expectAccessible(page, 'audit results');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('audit-export-csv').click(),
  ]);
  const csv = parseCsv(fs.readFileSync(await download.path(), 'utf8'));
  const header = csv[0];
  const col = (name) => header.indexOf(name);
  const rows = csv.slice(1).filter((r) => r.length === header.length);
  const state = await admin('GET', '/state');
  const versionOf = new Map(state.teamsApps.flatMap((a) => a.definitions.map((d) => [d.id, d.version])));
  const expected = state.installations
    .map((i) => [i.userId, i.appId, i.id, versionOf.get(i.definitionId)].join('|'))
    .sort();
  const exported = rows
    .filter((r) => r[col('installationId')] !== '')
    .map((r) => [r[col('userId')], r[col('appId')], r[col('installationId')], r[col('installedVersion')]].join('|'))
    .sort();
  expect(exported).toEqual(expected);
  // The seeded orphan grants (grants without an installation) are rows of their own.
  const orphans = rows.filter((r) => r[col('installationId')] === '');
  expect(orphans.length).toBeGreaterThan(0);
  expect(orphans.every((r) => r[col('state')].includes('orphan_grants'))).toBe(true);
  // Mismatches only narrows the table.
  const all = await page.getByTestId('audit-count').textContent();
  await page.getByTestId('audit-mismatch').check();
  await expect(page.getByTestId('audit-count')).not.toHaveText(all);
  // Tenant-wide grants through the service principals.
  await expect(page.getByTestId('audit-tenant')).toContainText('Microsoft Graph');
});

test('two tabs never run the same job; when the running tab closes, the other takes the job over', async ({ page, context }) => {
  test.setTimeout(120_000);
  tenant = await startDevTenant(['--users', '40', '--latency-ms', '400']);
  await admin('POST', '/adminConsent', {});
  await signInAs(page, tenant, ADMIN);
  await page.goto(new URL('/jobs', tenant.urls.portal).href);
  await waitForPortal(page);
  await planJob(page, upns(40), { share: 10 });
  await page.getByTestId('job-confirm').click();
  await expect(page.getByTestId('job-active')).toHaveAttribute('data-status', 'running');
  // A second tab of the same browser (same IndexedDB, same locks; its own session, as tokens
  // live in each tab's sessionStorage) opens the jobs page.
  // The identity provider's session signs it in without asking again.
  const second = await context.newPage();
  await second.goto(tenant.urls.portal);
  await waitForPortal(second);
  await second.getByTestId('sign-in').click();
  await expect(second.getByTestId('account-name')).toBeVisible();
  await second.goto(new URL('/jobs', tenant.urls.portal).href);
  await waitForPortal(second);
  await expect(second.getByTestId('job-list-row').first()).toContainText('running in another tab');
  await expect(second.getByTestId('job-active')).toHaveCount(0);
  // The running tab closes mid-job (its batches in flight lose their answers): the other tab
  // takes the job over once the lock is free, and reads back before anything is resent.
  const doneBefore = Number(await page.getByTestId('job-done').textContent());
  expect(doneBefore).toBeLessThan(40);
  await page.close();
  await expect(second.getByTestId('job-active')).toHaveAttribute('data-status', 'finished', { timeout: 90_000 });
  await expect(second.getByTestId('job-done')).toHaveText('40');
  const log = await admin('GET', '/log');
  const installs = log.filter((e) => e.origin === 'graph-batch' && e.method === 'POST' && e.status < 300);
  expect(new Set(installs.map((e) => e.path)).size).toBe(installs.length);
  expect(installs.length).toBe(40);
});

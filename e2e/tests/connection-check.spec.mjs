// The Settings page's connection check against the dev tenant (issue #23), each test with a dev
// tenant of its own: after sign-in it reads what the session's permissions allow, once each,
// names the permissions missing and writes nothing; after asking for them, the audit's
// directory reads need a directory role under `--audit-roles strict` (a Teams Administrator
// has none, a Global Administrator has one) and the scope alone under `any`; the tenant's
// personal-scope RSC switch off blocks RSC consent.
import { test, expect, waitForPortal, closePages } from './fixtures.mjs';
import { startDevTenant } from '../devtenant.mjs';
import { ADMIN, signInAs } from './portal.mjs';

const GLOBAL_ADMIN = 'adele.vance@contoso.onmicrosoft.com';

test.describe.configure({ mode: 'parallel' });

// The refused silent refresh (the missing permissions are not consented yet) is a 400 of the
// token endpoint; under `strict`, the directory reads' 403s: the browser logs both. One pattern:
// Playwright reads a fixture value of two array items as a [value, options] pair.
test.use({
  expectedConsoleErrors: [
    /status of (400 \(Bad Request\) @ http:\/\/127\.0\.0\.1:\d+\/[^ ]+\/oauth2\/v2\.0\/token|403 \(Forbidden\) @ http:\/\/127\.0\.0\.1:\d+\/v1\.0\/(oauth2PermissionGrants|servicePrincipals\/[^/ ]+\/appRoleAssignments))/,
  ],
});

let tenant;
// Pages close first: a load still in flight must not meet a stopped dev tenant.
test.afterEach(async ({ context }) => { await closePages(context); await tenant?.stop(); });

const row = (page, feature) => page.getByTestId('connection-check-table').locator(`tr[data-feature="${feature}"]`);

/** Opens Settings, runs the check and waits for every verdict; returns the Graph requests it sent. */
async function runCheck(page) {
  const before = (await tenant.graphLog()).length;
  const section = page.getByTestId('connection-check');
  const runs = Number(await section.getAttribute('data-check-runs'));
  await page.getByTestId('connection-check-run').click();
  await expect(section).toHaveAttribute('data-check-runs', String(runs + 1));
  const table = page.getByTestId('connection-check-table');
  await expect(table.locator('tr[data-feature]')).toHaveCount(10);
  await expect(table.locator('tr[data-verdict="pending"]')).toHaveCount(0);
  return (await tenant.graphLog()).slice(before);
}

async function openSettings(page) {
  await page.goto(new URL('/settings', tenant.urls.portal).href);
  await waitForPortal(page);
}

/** Asks for what the check found missing; the portal comes back to Settings holding it. */
async function askForMissing(page) {
  await page.getByTestId('connection-check-ask').click();
  await expect(page).toHaveURL(/\/settings$/);
  await waitForPortal(page);
  await expect(page.getByTestId('granted-permissions')).toContainText('Directory.Read.All');
}

const verdicts = async (page) => Object.fromEntries(await page.getByTestId('connection-check-table')
  .locator('tr[data-feature]')
  .evaluateAll((rows) => rows.map((r) => [r.dataset.feature, r.dataset.verdict])));

const ALL_WORK = {
  'personal-apps': 'works',
  'install-upgrade-uninstall': 'works',
  'rsc-consent': 'works',
  'rsc-grants': 'works',
  catalog: 'works',
  'tenant-switch': 'works',
  'delegated-grants': 'works',
  'app-role-assignments': 'works',
  'find-users': 'works',
  'resolve-users': 'works',
};

test('after sign-in the check reads what the session holds, once each, names what is missing and writes nothing', async ({ page }) => {
  tenant = await startDevTenant();
  await signInAs(page, tenant, ADMIN);
  await openSettings(page);
  const sent = await runCheck(page);
  expect(await verdicts(page)).toEqual({
    ...ALL_WORK,
    'install-upgrade-uninstall': 'needs-scope',
    'rsc-consent': 'needs-scope',
    'rsc-grants': 'needs-scope',
    'delegated-grants': 'needs-scope',
    'app-role-assignments': 'needs-scope',
    'resolve-users': 'needs-scope',
  });
  await expect(row(page, 'install-upgrade-uninstall').locator('[data-permission="TeamsAppInstallation.ReadWriteForUser"]')).toBeVisible();
  await expect(row(page, 'delegated-grants').locator('[data-permission="Directory.Read.All"]')).toBeVisible();
  await expect(row(page, 'delegated-grants').locator('[data-permission="Application.Read.All"]')).toBeVisible();
  await expect(row(page, 'delegated-grants')).toContainText('needs admin consent');
  // Reads only, one per feature it could read, none for a permission the session lacks.
  expect(sent.map((e) => e.method)).toEqual(['GET', 'GET', 'GET', 'GET']);
  expect(sent.map((e) => e.path)).toEqual([
    '/v1.0/me/teamwork/installedApps',
    '/v1.0/appCatalogs/teamsApps',
    '/v1.0/teamwork/teamsAppSettings',
    '/v1.0/users',
  ]);
  expect(sent.every((e) => e.status === 200)).toBe(true);
});

test.describe('--audit-roles strict', () => {
  test('a Teams Administrator without a reader role is told which directory role is missing', async ({ page }) => {
    tenant = await startDevTenant(['--audit-roles', 'strict']);
    await signInAs(page, tenant, ADMIN);
    await openSettings(page);
    await runCheck(page);
    await askForMissing(page);
    const sent = await runCheck(page);
    expect(await verdicts(page)).toEqual({
      ...ALL_WORK,
      'delegated-grants': 'needs-role',
      'app-role-assignments': 'needs-role',
    });
    for (const feature of ['delegated-grants', 'app-role-assignments']) {
      await expect(row(page, feature)).toContainText('Global Reader');
      await expect(row(page, feature)).toContainText('Directory Readers');
      await expect(row(page, feature)).toContainText('Teams Administrator is not one of them');
    }
    // The directory reads were sent (the permission is held) and refused with the role's 403;
    // the writes were decided from the permissions, never sent.
    const denied = sent.filter((e) => e.status === 403).map((e) => e.path);
    expect(denied).toHaveLength(2);
    expect(denied).toContain('/v1.0/oauth2PermissionGrants');
    expect(denied.some((p) => /^\/v1\.0\/servicePrincipals\/[^/]+\/appRoleAssignments$/.test(p))).toBe(true);
    expect(sent.filter((e) => e.method !== 'GET')).toEqual([]);
    expect(sent).toHaveLength(9);
  });

  test('a Global Administrator holds a reader role: every feature works', async ({ page }) => {
    tenant = await startDevTenant(['--audit-roles', 'strict']);
    await signInAs(page, tenant, GLOBAL_ADMIN);
    await openSettings(page);
    await runCheck(page);
    await askForMissing(page);
    const sent = await runCheck(page);
    expect(await verdicts(page)).toEqual(ALL_WORK);
    await expect(row(page, 'install-upgrade-uninstall')).toContainText('nothing was written');
    expect(sent.filter((e) => e.method !== 'GET')).toEqual([]);
  });
});

test.describe('--audit-roles any', () => {
  test('the scope alone reads the audit; the RSC switch off blocks RSC consent', async ({ page }) => {
    tenant = await startDevTenant(['--audit-roles', 'any']);
    await signInAs(page, tenant, ADMIN);
    await openSettings(page);
    await runCheck(page);
    await askForMissing(page);
    await runCheck(page);
    expect(await verdicts(page)).toEqual(ALL_WORK);
    await tenant.admin('PUT', '/tenant', { personalScopeRscEnabled: false });
    await runCheck(page);
    expect(await verdicts(page)).toEqual({
      ...ALL_WORK,
      'tenant-switch': 'works-switch-off',
      'rsc-consent': 'blocked-by-tenant-switch',
    });
    await expect(row(page, 'rsc-consent')).toContainText('Teams administrator turns it on');
  });
});

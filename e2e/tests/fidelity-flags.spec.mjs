// Graph behaviour nobody has verified against a live tenant (issue #23): the dev tenant plays
// each reading through a flag, and each test here runs under every value of its flag, the portal
// right under all of them.
// - `--grants-by-upn refuse|accept`: a user opened or listed by UPN has their grants read by
//   object id (Graph documents `/users/{user-id}/permissionGrants` only), never by the UPN.
// - `--consent-set-on-foreign-installs null|present`: apps installed from the Teams client show
//   "consent not recorded by Graph" (null) or their consent (present), never orphan grants, in the
//   user page, the consent editor and the audit with its CSV; an audit of one app reports no
//   other app's grants.
// - `--audit-roles strict|any`: a Teams Administrator without a reader role sees which role is
//   missing and the delegated and app-role columns "not readable with your role" (strict), the
//   RSC rows kept; with a reader role, or under `any`, the columns are read.
import fs from 'node:fs';
import { test, expect, closePages, waitForPortal } from './fixtures.mjs';
import { startDevTenant } from '../devtenant.mjs';
import { ADMIN, APPS, signInAs, appRow, adminOf, graphLogOf, expectAccessible } from './portal.mjs';
import { csvRecords } from './jobs.mjs';

const FOREIGN = 'foreign.installs@contoso.onmicrosoft.com';
const READER = 'teams.reader@contoso.onmicrosoft.com';
const BEHIND = 'grants.behind@contoso.onmicrosoft.com';
const MIXED = 'grants.mixedcase@contoso.onmicrosoft.com';
const NOT_RECORDED = 'Consent not recorded by Graph (installed outside this portal)';

// Under `--audit-roles strict` (the default) a Teams Administrator's tenant-wide grant reads are
// refused: the browser logs those two 403s, and nothing else is expected in the console.
test.use({
  expectedConsoleErrors: [/status of 403 \(Forbidden\) @ http:\/\/[^/]+\/v1\.0\/(oauth2PermissionGrants\?|servicePrincipals\/[^/?]+\/appRoleAssignments$)/],
});

let tenant;
test.afterEach(async ({ context }) => { await closePages(context); await tenant?.stop(); tenant = undefined; });

const admin = (...args) => adminOf(tenant)(...args);
const graphLog = () => graphLogOf(tenant)();

/** Starts a dev tenant with `args`, the organisation consented, and signs `upn` in. */
async function start(page, args, upn = ADMIN) {
  tenant = await startDevTenant(args);
  await admin('POST', '/adminConsent', {});
  await signInAs(page, tenant, upn);
}

/** The object id of a seeded user. */
async function idOf(upn) {
  const state = await admin('GET', '/state');
  return state.users.find((u) => u.userPrincipalName === upn).id;
}

/** Opens the user page at `key` (id or UPN) and shows their grants. */
async function openGrants(page, key) {
  await page.goto(new URL(`/users/${encodeURIComponent(key)}`, tenant.urls.portal).href);
  await expect(page.getByTestId('installations')).toBeVisible();
  const button = page.getByTestId('load-grants');
  await expect(page.getByTestId('grant-group').first().or(button)).toBeVisible();
  if (await button.isVisible()) await button.click();
  await expect(page.getByTestId('grant-group').first()).toBeVisible();
}

/** Runs the audit of `upns` (listed), of one app or all (`app` undefined). */
async function runAudit(page, upns, app) {
  await page.goto(new URL('/audit', tenant.urls.portal).href);
  await waitForPortal(page);
  if (app) await page.getByTestId('audit-app').selectOption(app);
  await page.getByTestId('audit-listed').check();
  await page.getByTestId('users-text').fill(upns.join('\n'));
  await page.getByTestId('users-read').click();
  await expect(page.getByTestId('users-count')).toContainText(`${upns.length} user`);
  await page.getByTestId('audit-run').click();
  await expect(page.getByTestId('audit-results')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('audit-progress')).toHaveCount(0, { timeout: 60_000 });
}

/** The audit's CSV export as objects. */
async function exportCsv(page) {
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('audit-export-csv').click(),
  ]);
  return csvRecords(fs.readFileSync(await download.path(), 'utf8'));
}

for (const value of ['refuse', 'accept']) {
  test(`--grants-by-upn ${value}: a user addressed by UPN has their grants read by object id`, async ({ page }) => {
    test.setTimeout(120_000);
    await start(page, ['--grants-by-upn', value]);
    const behind = await idOf(BEHIND);
    // The user page opened by UPN: the grants are there, read by object id.
    await openGrants(page, BEHIND);
    const group = page.getByTestId('grant-group').filter({ hasText: 'Field Service' });
    await expect(group).toHaveAttribute('data-orphan', 'false');
    await expect(group.locator('[data-col="state"]')).toHaveText('Consented and required');
    // The audit of a pasted list of UPNs: resolved first, then read by object id.
    await runAudit(page, [BEHIND, MIXED]);
    const rows = page.getByTestId('audit-row');
    await expect(rows.filter({ hasText: 'Field Service' })).toHaveCount(1);
    await expect(page.locator('[data-testid="audit-row"][data-state*="read_failed"]')).toHaveCount(0);
    // Every grant read, alone or inside a $batch: by object id, answered 200.
    const mixed = await idOf(MIXED);
    const log = await admin('GET', '/log');
    const grantReads = log.filter((e) => (e.origin === 'graph' || e.origin === 'graph-batch') && /\/permissionGrants$/i.test(e.path));
    expect(grantReads.filter((e) => e.origin === 'graph-batch')).toHaveLength(2);
    expect(grantReads.length).toBeGreaterThanOrEqual(3);
    for (const e of grantReads) {
      expect([`/v1.0/users/${behind}/permissionGrants`, `/v1.0/users/${mixed}/permissionGrants`]).toContain(e.path);
      expect(e.status).toBe(200);
    }
  });
}

for (const value of ['null', 'present']) {
  test(`--consent-set-on-foreign-installs ${value}: apps installed outside the portal are never orphans`, async ({ page }) => {
    test.setTimeout(150_000);
    await start(page, ['--consent-set-on-foreign-installs', value]);
    const recorded = value === 'present';
    const foreign = await idOf(FOREIGN);
    // The user page: the installations' consent and the grants.
    await openGrants(page, foreign);
    const notify = appRow(page, 'installations', APPS.notify).locator('[data-col="consented"]');
    if (recorded) {
      await expect(notify.locator('[data-rsc-kind="application"]')).toContainText('TeamsActivity.Send.User');
    } else {
      await expect(notify).toHaveText(NOT_RECORDED);
    }
    const groups = page.getByTestId('grant-group');
    await expect(groups).toHaveCount(2);
    for (const name of ['Contoso Notify', 'Field Service']) {
      const group = groups.filter({ hasText: name });
      await expect(group).toHaveAttribute('data-orphan', 'false');
      await expect(group).toHaveAttribute('data-consent', recorded ? 'recorded' : 'not-recorded');
      await expect(group.locator('[data-col="state"]')).toHaveText(recorded ? 'Consented and required' : NOT_RECORDED);
    }
    await expectAccessible(page, `grants with consent ${value}`);
    // The consent editor of the upgrade Field Service 3.0.0 → 3.1.0.
    await appRow(page, 'installations', APPS.fieldService).locator('[data-action="upgrade"]').click();
    const editor = page.getByTestId('consent-editor');
    const consented = editor.locator('tr[data-permission="TeamsActivity.Send.User"] [data-col="consented"]');
    const granted = editor.locator('tr[data-permission="TeamsActivity.Send.User"] [data-col="granted"]');
    await expect(granted).toHaveText('Yes');
    if (recorded) {
      await expect(consented).toHaveText('Yes');
      await expect(page.getByTestId('consent-not-recorded')).toHaveCount(0);
    } else {
      await expect(consented).toHaveText('Not recorded by Graph');
      await expect(page.getByTestId('consent-not-recorded')).toBeVisible();
    }
    // The audit of all apps for that user: one row per installation, no orphan.
    await runAudit(page, [FOREIGN]);
    const rows = page.getByTestId('audit-row');
    await expect(rows).toHaveCount(2);
    await expect(page.locator('[data-testid="audit-row"][data-state*="orphan_grants"]')).toHaveCount(0);
    const notifyRow = rows.filter({ hasText: 'Contoso Notify' });
    await expect(notifyRow.locator('[data-col="consented"]')).toHaveText(recorded ? 'TeamsActivity.Send.User (application)' : NOT_RECORDED);
    await expect(notifyRow.locator('[data-col="state"]')).toHaveText(recorded ? 'As it should be' : NOT_RECORDED);
    const csv = await exportCsv(page);
    expect(csv.map((r) => r.appId).sort()).toEqual([APPS.notify, APPS.fieldService].sort());
    for (const r of csv) {
      expect(r.installationId).not.toBe('');
      expect(r.orphanGrants).toBe('');
      expect(r.state.includes('consent_not_recorded')).toBe(!recorded);
    }
    // Field Service 3.0.0 is behind 3.1.0, which needs one more permission, either way.
    const field = csv.find((r) => r.appId === APPS.fieldService);
    expect(field.state.split(';')).toEqual(expect.arrayContaining(['version_behind', 'consent_behind']));
    // An audit of one app reports that app alone: no other app's grant as an orphan.
    await runAudit(page, [FOREIGN, MIXED], APPS.notify);
    await expect(rows).toHaveCount(2);
    await expect(page.locator('[data-testid="audit-row"][data-state*="orphan_grants"]')).toHaveCount(0);
    await expect(page.locator(`[data-testid="audit-row"]:not([data-app-id="${APPS.notify}"])`)).toHaveCount(0);
  });
}

for (const value of ['strict', 'any']) {
  test(`--audit-roles ${value}: delegated and app-role columns read, or said not readable with your role`, async ({ page }) => {
    test.setTimeout(150_000);
    await start(page, ['--audit-roles', value]);
    const strict = value === 'strict';
    // Megan is a Teams Administrator without a reader role; all apps audited.
    await runAudit(page, [FOREIGN]);
    // The RSC rows are there either way.
    await expect(page.getByTestId('audit-row')).toHaveCount(2);
    const tenantRows = page.getByTestId('audit-tenant').locator('tbody tr');
    await expect(tenantRows).not.toHaveCount(0);
    const tenantRow = page.getByTestId('audit-tenant').locator(`tr[data-app-id="${APPS.notify}"]`);
    const delegated = tenantRow.locator('[data-col="delegated"]');
    const roles = tenantRow.locator('[data-col="app-roles"]');
    if (strict) {
      const missing = page.getByTestId('audit-role-missing');
      await expect(missing).toContainText('Directory Readers');
      await expect(missing).toContainText('Teams Administrator is not enough');
      await expect(page.getByTestId('audit-role-error')).toContainText('403 Authorization_RequestDenied');
      await expect(page.getByTestId('audit-role-error')).toHaveText(/request id [0-9a-f-]{36}/);
      // Refused once per read, not again for every app.
      const refused = (await graphLog()).filter((e) => e.status === 403);
      expect(refused.map((e) => e.path.replace(/servicePrincipals\/[^/]+/, 'servicePrincipals/{id}')).sort())
        .toEqual(['/v1.0/oauth2PermissionGrants', '/v1.0/servicePrincipals/{id}/appRoleAssignments']);
      for (const cell of [delegated, roles]) {
        await expect(cell).toHaveAttribute('data-read', 'not-readable');
        await expect(cell).toHaveText('Not readable with your role');
      }
      // Every app's columns alike, none shown as an empty list.
      await expect(page.locator('[data-testid="audit-tenant"] td[data-read="read"]')).toHaveCount(0);
    } else {
      await expect(page.getByTestId('audit-role-missing')).toHaveCount(0);
      await expect(delegated).toHaveAttribute('data-read', 'read');
      await expect(roles).toHaveAttribute('data-read', 'read');
      await expect(roles).toContainText('Microsoft Graph');
    }
    await expectAccessible(page, `audit with --audit-roles ${value}`);
    // A Teams Administrator who is also a Directory Reader reads them under either value.
    await page.getByTestId('sign-out').click();
    await expect(page.getByTestId('sign-in')).toBeVisible();
    await signInAs(page, tenant, READER);
    await runAudit(page, [FOREIGN], APPS.notify);
    await expect(page.getByTestId('audit-role-missing')).toHaveCount(0);
    await expect(roles).toHaveAttribute('data-read', 'read');
    await expect(roles).toContainText('Microsoft Graph');
    await expect(delegated).toHaveAttribute('data-read', 'read');
  });
}

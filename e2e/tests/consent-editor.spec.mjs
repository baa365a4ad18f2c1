// The consent editor: installing an app that needs application RSC sends exactly the required
// set (lowercase types) with a token carrying the …AndConsent… scope; an upgrade whose new
// version adds an application permission shows the diff and sends the new whole set; a partial
// choice cannot be submitted and says why; axe finds nothing serious on the editor.
import { test, expect, closePages, addScriptFile } from './fixtures.mjs';
import { startDevTenant } from '../devtenant.mjs';
import { ADMIN, SEAN, APPS, signInAs, appRow as row, adminOf, graphLogOf, expectAccessible } from './portal.mjs';

test.describe.configure({ mode: 'parallel' });

let tenant;
test.beforeEach(async () => { tenant = await startDevTenant(); });
test.afterEach(async ({ context }) => { await closePages(context); await tenant?.stop(); });

const admin = (...args) => adminOf(tenant)(...args);
const graphLog = () => graphLogOf(tenant)();


/** The scopes of the last token request (code or refresh) the portal made. */
async function lastTokenScopes() {
  const log = await admin('GET', '/log');
  const token = log.filter((e) => e.grantType && e.status === 200).at(-1);
  return decodeURIComponent((token?.body ?? '').replace(/\+/g, ' '));
}

test('install through the editor: exactly the required set, lowercase, with the …AndConsent… scope', async ({ page }) => {
  await admin('POST', '/adminConsent', {});
  await signInAs(page, tenant, ADMIN);
  await page.goto(new URL(`/users/${SEAN}`, tenant.urls.portal).href);
  await row(page, 'available-apps', APPS.notify).getByRole('button').click();
  const editor = page.getByTestId('consent-editor');
  await expect(editor).toBeVisible();
  await expect(page.getByTestId('consent-rule')).toContainText('all or nothing');
  await expect(editor.locator('tr[data-permission="TeamsActivity.Send.User"] [data-col="required"]')).toHaveText('Yes');
  await expect(page.getByTestId('consent-body')).toHaveText('No consentedPermissionSet is sent.');
  await expect(page.getByTestId('submit-install')).toBeDisabled();
  await expect(page.getByTestId('consent-validity')).toContainText('some are missing: TeamsActivity.Send.User');
  await page.getByTestId('consent-confirm').check();
  // One change: the body, the scope and the validity follow at once.
  await expect(page.getByTestId('consent-body')).toContainText('"permissionType": "application"');
  await expect(page.getByTestId('consent-scope')).toContainText('TeamsAppInstallation.ReadWriteAndConsentForUser');
  await expect(page.getByTestId('consent-validity')).toHaveText('Graph will accept this consent.');
  await expectAccessible(page, 'consent editor');
  await page.getByTestId('submit-install').click();
  await expect(page.getByTestId('outcome-message')).toHaveText("Contoso Notify is installed for Seán O'Brien.");
  const post = (await graphLog()).filter((e) => e.method === 'POST').at(-1);
  expect(JSON.parse(post.body).consentedPermissionSet).toEqual({
    resourceSpecificPermissions: [{ permissionValue: 'TeamsActivity.Send.User', permissionType: 'application' }],
  });
  expect(await lastTokenScopes()).toContain('TeamsAppInstallation.ReadWriteAndConsentForUser');
});

test('an upgrade that adds an application permission shows the diff and sends the new whole set', async ({ page }) => {
  await admin('POST', '/adminConsent', {});
  await signInAs(page, tenant, ADMIN);
  await page.goto(new URL(`/users/${SEAN}`, tenant.urls.portal).href);
  await row(page, 'installations', APPS.fieldService).locator('[data-action="upgrade"]').click();
  const editor = page.getByTestId('consent-editor');
  await expect(editor.locator('tr[data-permission="TeamsAppInstallation.Read.User"] [data-col="change"]')).toHaveAttribute('data-change', 'added');
  await expect(editor.locator('tr[data-permission="TeamsActivity.Send.User"] [data-col="consented"]')).toHaveText('Yes');
  await expect(page.getByTestId('submit-upgrade')).toBeDisabled();
  await page.getByTestId('consent-confirm').check();
  await page.getByTestId('submit-upgrade').click();
  await expect(page.getByTestId('outcome-message')).toHaveText('Field Service is upgraded to 3.1.0.');
  const post = (await graphLog()).filter((e) => e.method === 'POST' && e.path.endsWith('/upgrade')).at(-1);
  const sent = JSON.parse(post.body).consentedPermissionSet.resourceSpecificPermissions;
  expect(sent.map((p) => `${p.permissionValue}:${p.permissionType}`).sort()).toEqual([
    'TeamsActivity.Send.User:application', 'TeamsAppInstallation.Read.User:application',
  ]);
  expect(await lastTokenScopes()).toContain('TeamsAppInstallation.ReadWriteAndConsentForUser');
});

test('a partial choice cannot be submitted and says why', async ({ page }) => {
  await admin('POST', '/adminConsent', {});
  await signInAs(page, tenant, ADMIN);
  await page.goto(new URL(`/users/${SEAN}`, tenant.urls.portal).href);
  await row(page, 'installations', APPS.fieldService).locator('[data-action="upgrade"]').click();
  await page.getByTestId('consent-confirm').check();
  await expect(page.getByTestId('submit-upgrade')).toBeEnabled();
  // Uncheck one of the two: Graph would refuse the subset.
  await page.getByRole('checkbox', { name: 'Consent to TeamsAppInstallation.Read.User' }).uncheck();
  await expect(page.getByTestId('submit-upgrade')).toBeDisabled();
  await expect(page.getByTestId('consent-validity')).toContainText('some are missing: TeamsAppInstallation.Read.User');
  await expect(page.getByTestId('consent-confirm')).not.toBeChecked();
  expect((await graphLog()).filter((e) => e.method === 'POST')).toHaveLength(0);
});

test("a user's RSC grants, grouped by app: orphans flagged, mixed case and unknown types kept", async ({ page }) => {
  await admin('POST', '/adminConsent', {});
  await signInAs(page, tenant, ADMIN);
  const grantsOf = async (userId) => {
    await page.goto(new URL(`/users/${userId}`, tenant.urls.portal).href);
    await expect(page.getByTestId('rsc-switch')).toContainText('accepts resource-specific consent');
    // Loaded at once when the permission is held, else on a click.
    const button = page.getByTestId('load-grants');
    await expect(page.getByTestId('grant-group').first().or(button)).toBeVisible();
    if (await button.isVisible()) await button.click();
    await expect(page.getByTestId('grant-group').first()).toBeVisible();
    return page.getByTestId('grant-group');
  };
  // An orphan grant: Helpdesk is not installed for Olwen.
  let groups = await grantsOf('90c21843-98a3-527a-9821-01da9647d190');
  const orphan = groups.filter({ has: page.locator('caption', { hasText: 'No installation' }) });
  await expect(orphan).toHaveAttribute('data-orphan', 'true');
  await expect(orphan.locator('[data-col="state"]')).toHaveText('The app is not installed for this user');
  await expect(groups.filter({ hasText: 'Contoso Notify' })).toHaveAttribute('data-orphan', 'false');
  await expectAccessible(page, 'grants');
  // Mixed-case permissionType: matched and shown in place.
  groups = await grantsOf('d37dcced-2598-5232-a541-0f65fb8653bd');
  await expect(groups.filter({ hasText: 'Contoso Notify' }).locator('[data-col="state"]')).toHaveText('Consented and required');
  // A consented set behind the latest definition: the grant is in place for the installed
  // version, the drift says an update is available, and the upgrade's editor shows the added
  // permission beside the granted one.
  groups = await grantsOf('88378495-ffea-5c49-95d0-9e7a17c9b2d9');
  await expect(groups.filter({ hasText: 'Field Service' }).locator('tr[data-permission="TeamsActivity.Send.User"] [data-col="state"]')).toHaveText('Consented and required');
  await row(page, 'installations', APPS.fieldService).locator('[data-action="upgrade"]').click();
  const editor = page.getByTestId('consent-editor');
  await expect(editor.locator('tr[data-permission="TeamsActivity.Send.User"] [data-col="granted"]')).toHaveText('Yes');
  await expect(editor.locator('tr[data-permission="TeamsAppInstallation.Read.User"] [data-col="change"]')).toHaveAttribute('data-change', 'added');
  await expect(editor.locator('tr[data-permission="TeamsAppInstallation.Read.User"] [data-col="granted"]')).toHaveText('No');
  // unknownFutureValue: kept, shown as another kind.
  groups = await grantsOf('559eff36-ec6a-5d76-bc69-6a630e9ce158');
  await expect(groups.locator('tr[data-permission="Future.Capability.User"]')).toContainText('Consented and required');
});

test('App detail: each definition\'s bot, and how many of the users read in this session have it at which version', async ({ page }) => {
  await admin('POST', '/adminConsent', {});
  await signInAs(page, tenant, ADMIN);
  await page.goto(new URL(`/catalog/${APPS.standup}`, tenant.urls.portal).href);
  await expect(page.getByTestId('installed-across-users')).toContainText('Open some users');
  await expect(page.locator('tr[data-version="2.1.0"] [data-col="bot"]')).toHaveText('00a51a22-d6e1-5ac8-863d-8c464b173ef7');
  // Read two users' apps in this session (client-side navigation keeps the session's data).
  await page.getByRole('link', { name: 'Users' }).click();
  await page.getByTestId('user-search').fill("Seán O'Brien");
  await page.getByTestId('user-results').getByRole('option').first().click();
  await expect(page.getByTestId('installations')).toBeVisible();
  await page.getByRole('link', { name: 'My apps' }).click();
  await expect(page.getByTestId('available-apps').or(page.getByTestId('installations')).first()).toBeVisible();
  await page.getByRole('link', { name: 'Catalog' }).click();
  await page.getByRole('link', { name: 'Standup Bot' }).click();
  const counts = page.getByTestId('installed-across-users');
  await expect(counts).toContainText('Of the 2 users whose apps were read in this session');
  await expectAccessible(page, 'App detail');
  // The counts agree with the dev tenant's state for those two users.
  const state = await admin('GET', '/state');
  const megan = state.users.find((u) => (u.userPrincipalName ?? u.upn) === ADMIN).id;
  const have = state.installations.filter((i) => (i.appId ?? i.app_id) === APPS.standup
    && [SEAN, megan].includes(i.userId ?? i.user_id)).length;
  await expect(counts.locator('li[data-version="none"]')).toHaveText(`${2 - have} without it`);
  const log = await graphLogOf(tenant)();
  const detail = log.filter((e) => e.path === '/v1.0/appCatalogs/teamsApps' && decodeURIComponent(e.query ?? '').includes('$expand=appDefinitions($expand=bot)'));
  expect(detail.length).toBeGreaterThan(0);
});

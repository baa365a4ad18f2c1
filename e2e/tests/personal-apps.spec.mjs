// Personal apps against the dev tenant: an admin finds a user and installs, upgrades and
// uninstalls; a member does the same for themselves in My apps; Graph's failures (409, 404,
// 403 policy, 403 scope, a 429 burst, a 500 then success, a dropped answer) show the right
// outcome; the request log holds exactly the requests sent; axe finds no serious or critical
// violation on any page. Each test has a dev tenant of its own.
import { test, expect, waitForPortal, screenshot, addScriptFile, closePages } from './fixtures.mjs';
import { startDevTenant } from '../devtenant.mjs';
import { ADMIN, MEMBER, SEAN, ALEX, APPS, signInAs, appRow, adminOf, graphLogOf, expectAccessible } from './portal.mjs';


test.describe.configure({ mode: 'parallel' });

let tenant;
test.beforeEach(async () => { tenant = await startDevTenant(); });
// Pages close first: a load still in flight must not meet a stopped dev tenant.
test.afterEach(async ({ context }) => { await closePages(context); await tenant?.stop(); });

const admin = (...args) => adminOf(tenant)(...args);

/** The organisation consented to every scope the portal asks for (no consent redirects). */
const consentForTenant = () => admin('POST', '/adminConsent', {});

const signIn = (page, upn) => signInAs(page, tenant, upn);

const graphLog = () => graphLogOf(tenant)();
const header = (entry, name) => entry.headers.find(([k]) => k.toLowerCase() === name)?.[1];


const row = appRow;

async function openUser(page, id) {
  await page.goto(new URL(`/users/${id}`, tenant.urls.portal).href);
  await expect(page.getByTestId('installations')).toBeVisible();
}

async function openInstall(page, appId) {
  await row(page, 'available-apps', appId).getByRole('button').click();
  await expect(page.getByTestId('install-flow')).toBeVisible();
  await expect(page.locator('[data-check="user-exists"]')).toHaveAttribute('data-state', 'passed');
}

test('an admin finds a user, installs, upgrades and uninstalls; the log shows the exact requests', async ({ page }) => {
  await consentForTenant();
  await signIn(page, ADMIN);
  await expect(page).toHaveURL(/\/users$/);
  await expectAccessible(page, 'Users');
  // Find Seán O'Brien as you type (the quote is escaped in $search), open him with the keyboard.
  await page.getByTestId('user-search').fill("o'brien");
  await expect(page.getByTestId('user-results').getByRole('option')).toHaveCount(2);
  await page.getByTestId('user-search').fill("Seán O'Brien");
  await expect(page.getByTestId('user-results').getByRole('option')).toHaveCount(1);
  await expect(page.getByTestId('user-search-status')).toHaveText('1 users found');
  await page.getByTestId('user-search').press('ArrowDown');
  await expect(page.locator('#user-option-0')).toHaveAttribute('aria-selected', 'true');
  await page.getByTestId('user-search').press('Enter');
  await expect(page).toHaveURL(new RegExp(`/users/${SEAN}$`));
  await expect(page.getByTestId('user-card')).toContainText("Seán O'Brien");
  // Drift: Polls 1.0.0 of 1.2.0, Field Service 3.0.0 of 3.1.0.
  await expect(row(page, 'installations', APPS.polls).locator('[data-drift]')).toHaveAttribute('data-drift', 'outdated');
  await expect(row(page, 'installations', APPS.fieldService).locator('[data-col="installed"]')).toHaveText('3.0.0');
  await expect(row(page, 'installations', APPS.fieldService)).toContainText('TeamsActivity.Send.User');
  await expectAccessible(page, 'User detail');

  // Install Contoso Notify: application RSC, so the whole set is consented.
  await openInstall(page, APPS.notify);
  await expect(page.locator('[data-check="rsc-switch"]')).toHaveAttribute('data-state', 'passed');
  await expect(page.getByTestId('submit-install')).toBeDisabled();
  await page.getByTestId('consent-confirm').check();
  await page.getByTestId('show-request').locator('summary').click();
  await expect(page.locator('[data-panel="http"] pre')).toContainText(`POST ${tenant.urls.graph.replace(/\/$/, '')}/v1.0/users/${SEAN}/teamwork/installedApps`);
  await page.locator('[data-tab="powershell"]').click();
  await expect(page.locator('[data-panel="powershell"] pre')).toContainText(`New-MgUserTeamworkInstalledApp -UserId '${SEAN}' -BodyParameter $params`);
  await page.locator('[data-tab="cli"]').click();
  await expect(page.locator('[data-panel="cli"] pre')).toContainText('m365 request --method post');
  await expectAccessible(page, 'Install flow');
  await screenshot(page, 'install-flow');
  await page.getByTestId('submit-install').click();
  await expect(page.getByTestId('outcome-message')).toHaveText("Contoso Notify is installed for Seán O'Brien.");
  await expect(row(page, 'installations', APPS.notify)).toBeVisible();

  // Upgrade Field Service 3.0.0 → 3.1.0, which adds an application permission.
  await row(page, 'installations', APPS.fieldService).locator('[data-action="upgrade"]').click();
  await expect(page.getByTestId('upgrade-versions')).toHaveText('From version 3.0.0 to 3.1.0');
  await expect(page.getByTestId('rsc-change')).toContainText('TeamsAppInstallation.Read.User');
  await expect(page.getByTestId('submit-upgrade')).toBeDisabled();
  await page.getByTestId('consent-confirm').check();
  await page.getByTestId('submit-upgrade').click();
  await expect(page.getByTestId('outcome-message')).toHaveText('Field Service is upgraded to 3.1.0.');
  await expect(row(page, 'installations', APPS.fieldService).locator('[data-drift]')).toHaveAttribute('data-drift', 'up-to-date');

  // Uninstall Polls.
  await row(page, 'installations', APPS.polls).locator('[data-action="uninstall"]').click();
  await expect(page.getByTestId('uninstall-flow')).toContainText('Uninstall Polls');
  await page.getByTestId('submit-uninstall').click();
  await expect(page.getByTestId('outcome-message')).toHaveText("Polls is uninstalled for Seán O'Brien.");
  await expect(row(page, 'installations', APPS.polls)).toHaveCount(0);

  const log = await graphLog();
  const writes = log.filter((e) => e.method !== 'GET');
  expect(writes.map((e) => `${e.method} ${e.path} ${e.status}`)).toEqual([
    `POST /v1.0/users/${SEAN}/teamwork/installedApps 201`,
    `POST /v1.0/users/${SEAN}/teamwork/installedApps/${Buffer.from(`${SEAN}##${APPS.fieldService}`).toString('base64').replace(/=+$/, '')}/upgrade 204`,
    `DELETE /v1.0/users/${SEAN}/teamwork/installedApps/${Buffer.from(`${SEAN}##${APPS.polls}`).toString('base64').replace(/=+$/, '')} 204`,
  ]);
  expect(JSON.parse(writes[0].body)).toEqual({
    'teamsApp@odata.bind': `https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/${APPS.notify}`,
    consentedPermissionSet: { resourceSpecificPermissions: [{ permissionValue: 'TeamsActivity.Send.User', permissionType: 'application' }] },
  });
  expect(JSON.parse(writes[1].body)).toEqual({
    consentedPermissionSet: { resourceSpecificPermissions: [
      { permissionValue: 'TeamsActivity.Send.User', permissionType: 'application' },
      { permissionValue: 'TeamsAppInstallation.Read.User', permissionType: 'application' },
    ] },
  });
  expect(writes[2].body).toBe('');
  for (const entry of log) {
    expect(header(entry, 'client-request-id'), `${entry.method} ${entry.path}`).toMatch(/^[0-9a-f-]{36}$/);
  }
  expect(new Set(log.map((e) => header(e, 'client-request-id'))).size).toBe(log.length);
  const search = log.filter((e) => e.path === '/v1.0/users').at(-1);
  expect(header(search, 'consistencylevel')).toBe('eventual');
  expect(decodeURIComponent(search.query)).toContain(`"displayName:Seán O'Brien"`);
});

test('a member installs, upgrades and uninstalls for themselves in My apps', async ({ page }) => {
  await consentForTenant();
  await signIn(page, MEMBER);
  await expect(page).toHaveURL(/\/my-apps$/);
  await expect(page.getByTestId('installations')).toBeVisible();
  await expectAccessible(page, 'My apps');
  // Learning Hub: no RSC, so no consent is sent.
  await openInstall(page, APPS.learningHub);
  await expect(page.locator('[data-check="rsc-switch"]')).toHaveAttribute('data-state', 'not-needed');
  await page.getByTestId('submit-install').click();
  await expect(page.getByTestId('outcome-message')).toHaveText('Learning Hub is installed for Zoë Müller.');
  // Standup Bot 2.0.0 → 2.1.0: delegated permissions only, so the upgrade has no body.
  await row(page, 'installations', APPS.standup).locator('[data-action="upgrade"]').click();
  await expect(page.getByTestId('consent-step')).toHaveCount(0);
  await page.getByTestId('submit-upgrade').click();
  await expect(page.getByTestId('outcome-message')).toHaveText('Standup Bot is upgraded to 2.1.0.');
  await row(page, 'installations', APPS.polls).locator('[data-action="uninstall"]').click();
  await page.getByTestId('submit-uninstall').click();
  await expect(page.getByTestId('outcome-message')).toHaveText('Polls is uninstalled for Zoë Müller.');
  const writes = (await graphLog()).filter((e) => e.method !== 'GET');
  expect(writes.map((e) => `${e.method} ${e.path.replace(/installedApps\/[^/]+/, 'installedApps/{id}')} ${e.status}`)).toEqual([
    'POST /v1.0/me/teamwork/installedApps 201',
    'POST /v1.0/me/teamwork/installedApps/{id}/upgrade 204',
    'DELETE /v1.0/me/teamwork/installedApps/{id} 204',
  ]);
  expect(JSON.parse(writes[0].body)).toEqual({ 'teamsApp@odata.bind': `https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/${APPS.learningHub}` });
  expect(writes[1].body).toBe('');
  await page.goto(new URL('/catalog', tenant.urls.portal).href);
  await expect(page.getByTestId('catalog').locator(`tr[data-app-id="${APPS.helpdesk}"]`)).toContainText('Submitted');
  await expectAccessible(page, 'Catalog');
  await page.getByTestId('catalog').getByRole('link', { name: 'Field Service' }).click();
  await expect(page.getByTestId('definitions').locator('tr[data-version="3.1.0"]')).toContainText('TeamsAppInstallation.Read.User');
  await expectAccessible(page, 'App detail');
});

test.describe('incremental consent', () => {
  // The silent attempt with the new scope is refused (400 from the token endpoint) before the
  // redirect: that refusal is the expected path.
  test.use({ expectedConsoleErrors: [/oauth2\/v2\.0\/token/] });
  test('an admin without the write scope yet is asked for it and comes back to the same install', async ({ page }) => {
  await signIn(page, ADMIN);
  await openUser(page, SEAN);
  await openInstall(page, APPS.learningHub);
  await expect(page.locator('[data-check="scope"]')).toHaveAttribute('data-state', 'warning');
  await expect(page.locator('[data-check="scope"]')).toContainText('TeamsAppInstallation.ReadWriteForUser is not held yet');
  await page.getByTestId('submit-install').click();
  // Incremental consent: the authorize round trip brings the flow back, now with the scope.
  await expect(page).toHaveURL(new RegExp(`/users/${SEAN}\\?action=install&app=${APPS.learningHub}$`));
  await expect(page.locator('[data-check="scope"]')).toHaveAttribute('data-state', 'passed');
  const writesBefore = (await graphLog()).filter((e) => e.method === 'POST');
  expect(writesBefore).toEqual([]);
  await page.getByTestId('submit-install').click();
  await expect(page.getByTestId('outcome-message')).toHaveText("Learning Hub is installed for Seán O'Brien.");
  });
});

test.describe('failures show the right outcome', () => {
  // Chromium logs every failed HTTP answer to the console; here they are the point.
  test.use({ expectedConsoleErrors: [/Failed to load resource/] });
  test.beforeEach(async () => { await consentForTenant(); });

  test('409: installed meanwhile by someone else', async ({ page }) => {
    await signIn(page, ADMIN);
    await openUser(page, SEAN);
    await openInstall(page, APPS.learningHub);
    await admin('POST', '/installations', { user: SEAN, app: APPS.learningHub });
    await page.getByTestId('submit-install').click();
    const error = page.getByTestId('call-error');
    await expect(error).toHaveAttribute('data-error-kind', 'already-installed');
    await expect(error).toContainText('Already installed');
    await expect(page.getByTestId('error-code')).toHaveText('Conflict');
    await expect(page.getByTestId('error-request-id')).toHaveText(/.{8,}/);
    await expectAccessible(page, 'error view');
  });

  test('404: deleted from the catalog meanwhile', async ({ page }) => {
    await signIn(page, ADMIN);
    await openUser(page, SEAN);
    await openInstall(page, APPS.learningHub);
    await admin('DELETE', `/teamsApps/${APPS.learningHub}`);
    await page.getByTestId('submit-install').click();
    await expect(page.getByTestId('call-error')).toHaveAttribute('data-error-kind', 'not-found');
    await expect(page.getByTestId('call-error')).toContainText('no longer in the organisation\'s catalog');
  });

  test('403: blocked by an app permission policy', async ({ page }) => {
    await signIn(page, ADMIN);
    await openUser(page, SEAN);
    await openInstall(page, APPS.crypto);
    await page.getByTestId('submit-install').click();
    const error = page.getByTestId('call-error');
    await expect(error).toHaveAttribute('data-error-kind', 'blocked-by-policy');
    await expect(error).toContainText('Teams admin center');
    await expect(page.getByTestId('error-request-id')).not.toBeEmpty();
  });

  test('403: the token lacks the scope; the admin can ask for it', async ({ page }) => {
    await signIn(page, ADMIN);
    await openUser(page, SEAN);
    await openInstall(page, APPS.learningHub);
    await admin('PUT', '/faults', { missingScopeNext: 1 });
    await page.getByTestId('submit-install').click();
    const error = page.getByTestId('call-error');
    await expect(error).toHaveAttribute('data-error-kind', 'missing-scope');
    await expect(error).toContainText('TeamsAppInstallation.ReadWriteForUser');
    await expect(page.getByTestId('ask-permission')).toHaveText('Ask for TeamsAppInstallation.ReadWriteForUser');
    await page.getByTestId('ask-permission').click();
    // The consent prompt of the dev tenant, then back to the same flow.
    await page.locator(`button[data-upn="${ADMIN}"]`).click();
    await expect(page).toHaveURL(new RegExp(`/users/${SEAN}\\?action=install`));
    await expect(page.getByTestId('install-flow')).toBeVisible();
    const authorize = (await admin('GET', '/log')).filter((e) => e.path.endsWith('/authorize') && e.method === 'GET').at(-1);
    expect(authorize.query).toContain('prompt=consent');
  });

  test('429: a burst of installs waits as Graph asks; a wait past the budget gives up and says so', async ({ page }) => {
    await signIn(page, ADMIN);
    await openUser(page, SEAN);
    await admin('PUT', '/throttle', { getInstalledApps: 30, getAppCatalogs: 30, postInstalledApps: 0.5, deleteInstalledApps: 15, otherTeams: 30 });
    await openInstall(page, APPS.learningHub);
    await page.getByTestId('submit-install').click();
    await expect(page.getByTestId('outcome-message')).toContainText('Learning Hub is installed');
    await openInstall(page, APPS.standup);
    await page.getByTestId('submit-install').click();
    await expect(page.getByTestId('outcome-message')).toContainText('Standup Bot is installed', { timeout: 15_000 });
    await expect(page.getByTestId('outcome-attempts')).toHaveText('It took 2 attempts (retried after: 429).');
    const posts = (await graphLog()).filter((e) => e.method === 'POST');
    expect(posts.map((e) => e.status)).toEqual([201, 429, 201]);
    // A Retry-After longer than the time budget: no endless wait.
    await admin('PUT', '/throttle', { getInstalledApps: 30, getAppCatalogs: 30, postInstalledApps: 0.004, deleteInstalledApps: 15, otherTeams: 30 });
    // The bucket (one request) is full again after the change: one install passes, the next waits.
    await openInstall(page, APPS.expenses);
    await page.getByTestId('consent-confirm').check();
    await page.getByTestId('submit-install').click();
    await expect(page.getByTestId('outcome-message')).toContainText('Contoso Expenses is installed');
    await openInstall(page, APPS.helpdesk);
    await page.getByTestId('consent-confirm').check();
    await page.getByTestId('submit-install').click();
    const error = page.getByTestId('call-error');
    await expect(error).toHaveAttribute('data-error-kind', 'throttled', { timeout: 15_000 });
    await expect(page.getByTestId('error-tried')).toContainText('the next wait');
  });

  test('500 then success: retried, and said so', async ({ page }) => {
    await signIn(page, ADMIN);
    await openUser(page, SEAN);
    await openInstall(page, APPS.learningHub);
    await admin('PUT', '/faults', { serverErrorNext: 1 });
    await page.getByTestId('submit-install').click();
    await expect(page.getByTestId('outcome-message')).toHaveText("Learning Hub is installed for Seán O'Brien.");
    await expect(page.getByTestId('outcome-attempts')).toHaveText('It took 2 attempts (retried after: 500).');
    const posts = (await graphLog()).filter((e) => e.method === 'POST');
    expect(posts.map((e) => e.status)).toEqual([500, 201]);
  });

  test('a dropped answer after an install is reconciled, never sent twice', async ({ page }) => {
    await signIn(page, ADMIN);
    await openUser(page, ALEX);
    await openInstall(page, APPS.notify);
    await page.getByTestId('consent-confirm').check();
    await admin('PUT', '/faults', { dropNext: 1 });
    await page.getByTestId('submit-install').click();
    await expect(page.getByTestId('outcome-message')).toHaveText('Contoso Notify is installed for Alex Wilber.');
    await expect(page.getByTestId('outcome-reconciled')).toBeVisible();
    const log = await graphLog();
    const posts = log.filter((e) => e.method === 'POST');
    expect(posts.length).toBe(1);
    expect(posts[0].dropped).toBe(true);
    const after = log.slice(log.indexOf(posts[0]) + 1);
    expect(after[0].method).toBe('GET');
    expect(decodeURIComponent(after[0].query)).toContain(`$filter=teamsApp/id eq '${APPS.notify}'`);
    const state = await admin('GET', '/state');
    const alex = state.users.find((u) => u.userPrincipalName === ALEX).id;
    expect(state.installations.filter((i) => i.userId === alex && i.appId === APPS.notify).length).toBe(1);
  });
});

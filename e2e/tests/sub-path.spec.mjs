// The portal deployed under a sub-path (issue #24): the dev tenant serves the same dist/ under
// /portal/ (`--base-path`: index.html rewritten for that public URL, as `cargo xtask build
// --public-url /portal/` writes it). A sign-in round trip, a deep link to a user in one document
// load, the sign-in worker loaded from under /portal/, no request to the portal origin outside
// /portal/, and no token in sessionStorage but the refresh token the session keeps there. Then a
// release panic (a wasm trap) shows "The portal stopped" with a report, and Reload brings the
// portal back.
import { test, expect, closePages, waitForPortal } from './fixtures.mjs';
import { startDevTenant } from '../devtenant.mjs';
import { ADMIN, SEAN, signInAs } from './portal.mjs';

let tenant;
test.afterEach(async ({ context }) => { await closePages(context); await tenant?.stop(); });

/** Every request of `context` (its pages and their workers) to the portal's origin. */
function portalRequests(context, origin) {
  const paths = [];
  const record = (request) => {
    const url = new URL(request.url());
    if (url.origin === origin) paths.push(url.pathname);
  };
  context.on('request', record);
  return paths;
}

test('the portal works under /portal/: sign-in, a deep link in one document, the worker, nothing outside it', async ({ page, context }) => {
  tenant = await startDevTenant(['--base-path', '/portal/']);
  const portal = tenant.urls.portal;
  expect(portal).toMatch(/\/portal\/$/);
  const origin = new URL(portal).origin;
  const paths = portalRequests(context, origin);
  const tokens = [];
  page.on('request', (r) => {
    const auth = r.headers().authorization;
    if (auth?.startsWith('Bearer ')) tokens.push(auth.slice('Bearer '.length));
  });

  // Sign in from the deployment's home; the administrator lands on Users, under /portal/.
  await signInAs(page, tenant, ADMIN);
  await expect(page).toHaveURL(`${portal}users`);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Users');
  expect(new URL(page.url()).search).toBe('');
  // The navigation's addresses are the deployment's.
  const nav = page.getByRole('navigation', { name: 'Sections' });
  await expect(nav.getByRole('link', { name: 'Bulk jobs', exact: true })).toHaveAttribute('href', '/portal/jobs');
  await nav.getByRole('link', { name: 'Settings', exact: true }).click();
  await expect(page).toHaveURL(`${portal}settings`);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Settings');

  // A deep link to a user: one document load, the user's apps shown.
  const documents = [];
  page.on('request', (r) => { if (r.resourceType() === 'document') documents.push(r.url()); });
  await page.goto(`${portal}users/${SEAN}`);
  await waitForPortal(page);
  await expect(page.getByTestId('route-user')).toHaveText(SEAN);
  await expect(page.getByTestId('installations')).toBeVisible();
  expect(documents).toEqual([`${portal}users/${SEAN}`]);

  // The sign-in worker came from under /portal/, its glue and wasm too, each named by its
  // content (so a host may keep them for good); trunk's fixed names are gone.
  const worker = [...new Set(paths.filter((p) => p.includes('sign-in-worker')))];
  expect(worker.filter((p) => /^\/portal\/sign-in-worker-[0-9a-f]{16}_loader\.js$/.test(p))).toHaveLength(1);
  expect(worker.filter((p) => /^\/portal\/sign-in-worker-[0-9a-f]{16}\.js$/.test(p))).toHaveLength(1);
  expect(worker.filter((p) => /^\/portal\/sign-in-worker-[0-9a-f]{16}_bg\.wasm$/.test(p))).toHaveLength(1);
  expect(worker.filter((p) => /sign-in-worker(_loader\.js|\.js|_bg\.wasm)$/.test(p))).toEqual([]);
  expect(paths).toContain('/portal/config.json');
  // Nothing escaped to the origin's root.
  expect(paths.filter((p) => !p.startsWith('/portal/'))).toEqual([]);

  // sessionStorage holds what the session keeps (src/auth/storage.rs, portal_core's
  // SessionKeys): the refresh token, the account, the permissions granted and the access-token
  // cache a reload starts with (`tap.auth.tokens`); no other entry (no hand-over to another
  // document), and an access token nowhere but in that cache.
  expect(tokens.length).toBeGreaterThan(0);
  const session = await page.evaluate(() => Object.entries(sessionStorage));
  const kind = (key) => key.split('.').slice(0, 3).join('.');
  const kinds = [...new Set(session.map(([key]) => kind(key)))].sort();
  expect(kinds).toEqual(expect.arrayContaining(['tap.auth.account', 'tap.auth.granted', 'tap.auth.refresh_token']));
  expect(kinds.filter((k) => !['tap.auth.account', 'tap.auth.granted', 'tap.auth.refresh_token', 'tap.auth.tokens'].includes(k))).toEqual([]);
  for (const token of new Set(tokens)) {
    const holders = session.filter(([, value]) => value.includes(token)).map(([key]) => kind(key));
    expect(holders.filter((k) => k !== 'tap.auth.tokens'), 'an access token outside the session\'s token cache').toEqual([]);
  }
});

test.describe('without a config.json', () => {
  test.use({ expectedConsoleErrors: [/status of 404 \(Not Found\) @ http:\/\/127\.0\.0\.1:\d+\/portal\/config\.json/] });

test('the setup page at /portal/ suggests this deployment as the redirect URI', async ({ page }) => {
  tenant = await startDevTenant(['--base-path', '/portal/']);
  const portal = tenant.urls.portal;
  const asked = [];
  await page.route('**/config.json', (route) => {
    asked.push(new URL(route.request().url()).pathname);
    return route.fulfill({ status: 404, body: 'not found' });
  });
  await page.goto(`${portal}users?q=megan`);
  await waitForPortal(page, 'setup');
  expect([...new Set(asked)]).toEqual(['/portal/config.json']);
  await expect(page.getByTestId('setup-url')).toHaveText(`${portal}config.json`);
  await expect(page.getByTestId('example-config')).toContainText(`"redirectUri": "${portal}"`);
  expect(new URL(page.url()).pathname).toBe('/portal/users');
});
});

test.describe('a release panic', () => {
  test.use({ expectedPageErrors: [/unreachable/] });

  test('shows "The portal stopped" with a report to copy, and Reload brings the portal back', async ({ page, context }) => {
    tenant = await startDevTenant(['--base-path', '/portal/']);
    const portal = tenant.urls.portal;
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(portal).origin });
    await page.goto(`${portal}settings`);
    await waitForPortal(page);
    // The test-only export: a panic in a task of the portal, compiled to a bare trap in release.
    await page.evaluate(() => window.wasmBindings.portal_test_panic());
    const panel = page.getByTestId('portal-stopped');
    await expect(panel).toBeVisible();
    await expect(page.locator('html')).toHaveAttribute('data-portal-state', 'stopped');
    await expect(panel.getByRole('heading', { level: 1 })).toHaveText('The portal stopped');
    await expect(panel.getByRole('heading', { level: 1 })).toBeFocused();
    const report = await page.getByTestId('portal-stopped-report').inputValue();
    expect(report).toMatch(/^Teams App Portal stopped\n/);
    expect(report).toContain('error: RuntimeError: unreachable');
    expect(report).toContain(`page: ${portal}settings`);
    expect(report).toMatch(/build: \/portal\/teams-app-portal-[0-9a-f]+_bg\.wasm/);
    // The dead page stays visible but can no longer be used.
    await expect(page.locator('header.app-header')).toHaveAttribute('inert', '');
    await page.getByTestId('portal-stopped-copy').click();
    await expect(page.getByTestId('portal-stopped-copy')).toHaveText('Copied');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(report);
    await page.getByTestId('portal-stopped-reload').click();
    await waitForPortal(page);
    await expect(page.getByTestId('portal-stopped')).toHaveCount(0);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Settings');
  });

  test('in French once the portal has started in French', async ({ page }) => {
    tenant = await startDevTenant(['--base-path', '/portal/']);
    await page.goto(tenant.urls.portal);
    await waitForPortal(page);
    await page.locator('.language-switcher button[data-lang="fr"]').first().click();
    await expect(page.locator('html')).toHaveAttribute('lang', 'fr');
    await page.evaluate(() => window.wasmBindings.portal_test_panic());
    const panel = page.getByTestId('portal-stopped');
    await expect(panel.getByRole('heading', { level: 1 })).toHaveText("Le portail s'est arrêté");
    await expect(page.getByTestId('portal-stopped-reload')).toHaveText('Recharger');
  });
});

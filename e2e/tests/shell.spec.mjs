// The portal shell against the dev tenant: it loads, every route renders, navigation is
// client-side, deep links work, and each page is photographed in English and French.
import { test, expect, waitForPortal, screenshot } from './fixtures.mjs';

// The navigation signed out (src/routes.rs's PAGES: every section, the role is not known yet).
const ROUTES = [
  { path: '/', nav: 'Home', heading: 'Teams apps in personal scope', name: 'home' },
  { path: '/users', nav: 'Users', heading: 'Users', name: 'users' },
  { path: '/catalog', nav: 'Catalog', heading: 'Catalog', name: 'catalog' },
  { path: '/my-apps', nav: 'My apps', heading: 'My apps', name: 'my-apps' },
  { path: '/jobs', nav: 'Bulk jobs', heading: 'Bulk jobs', name: 'jobs' },
  { path: '/audit', nav: 'Audit', heading: 'Audit', name: 'audit' },
  { path: '/settings', nav: 'Settings', heading: 'Settings', name: 'settings' },
];

test('the shell shows the tenant, the cloud and the signed-out account area', async ({ page }) => {
  await page.goto('/');
  await waitForPortal(page);
  const config = await (await page.request.get('/config.json')).json();
  await expect(page.getByTestId('header-tenant')).toHaveText(config.tenant);
  await expect(page.getByTestId('header-cloud')).toHaveText('Global');
  await expect(page.getByTestId('account-area')).toContainText('Not signed in');
  await expect(page.getByRole('navigation', { name: 'Sections' }).getByRole('link')).toHaveCount(ROUTES.length);
});

test('navigating between every route is client-side, in one bundle, and each page renders', async ({ page }) => {
  const wasm = [];
  page.on('request', (r) => { if (/\.wasm$/.test(new URL(r.url()).pathname)) wasm.push(new URL(r.url()).pathname); });
  await page.goto('/');
  await waitForPortal(page);
  // A full page load would lose this marker; client-side navigation keeps it.
  await page.evaluate(() => { window.__sameDocument = true; });
  const nav = page.getByRole('navigation', { name: 'Sections' });
  for (const route of [...ROUTES.slice(1), ROUTES[0]]) {
    await nav.getByRole('link', { name: route.nav, exact: true }).click();
    await expect(page).toHaveURL(new RegExp(`${route.path === '/' ? '/$' : route.path}$`));
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(route.heading);
    await expect(page).toHaveTitle(`${route.heading} · Teams App Portal`);
    await expect(nav.getByRole('link', { name: route.nav, exact: true })).toHaveAttribute('aria-current', 'page');
  }
  expect(await page.evaluate(() => window.__sameDocument)).toBe(true);
  // One wasm for every page (beside it, signed out, the sign-in worker's, loaded for the sign-in
  // that comes next).
  expect(wasm.filter((p) => !p.includes('sign-in-worker'))).toHaveLength(1);
  // A deep link lands on its page in one document load.
  const documents = [];
  page.on('request', (r) => { if (r.resourceType() === 'document') documents.push(r.url()); });
  await page.goto('/audit');
  await waitForPortal(page);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Audit');
  expect(documents.map((u) => new URL(u).pathname)).toEqual(['/audit']);
});

test('no placeholder page is reachable: the consent placeholder is gone from the navigation and its address', async ({ page }) => {
  await page.goto('/consent');
  await waitForPortal(page);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Page not found');
  await expect(page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Consent' })).toHaveCount(0);
  await expect(page.getByTestId('not-built-yet')).toHaveCount(0);
});

test('deep links with ids load directly and decode the id', async ({ page }) => {
  await page.goto(`/users/${encodeURIComponent("zoë.o'brien+test@contoso.com")}`);
  await waitForPortal(page);
  await expect(page.getByTestId('route-user')).toHaveText("zoë.o'brien+test@contoso.com");
  await page.goto('/catalog/1542629c-01b3-4a6d-8f76-1938b779e48d');
  await waitForPortal(page);
  await expect(page.getByTestId('route-app')).toHaveText('1542629c-01b3-4a6d-8f76-1938b779e48d');
});

test('an unknown address shows the not-found page with a way home', async ({ page }) => {
  await page.goto('/no/such/page');
  await waitForPortal(page);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Page not found');
  await page.getByRole('link', { name: 'Go to the home page' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Teams apps in personal scope');
});

test('settings show the active configuration from config.json', async ({ page }) => {
  await page.goto('/settings');
  await waitForPortal(page);
  const config = await (await page.request.get('/config.json')).json();
  const table = page.getByTestId('config-table');
  await expect(table.locator('[data-field="clientId"] code')).toHaveText(config.clientId);
  await expect(table.locator('[data-field="tenant"] code')).toHaveText(config.tenant);
  await expect(table.locator('[data-field="redirectUri"] code')).toHaveText(config.redirectUri);
  await expect(table.locator('[data-field="cloud"] code')).toHaveText('global');
  await expect(table.locator('[data-field="tokenCache"] code')).toHaveText('session');
});

test('the skip link moves focus to the main content', async ({ page }) => {
  await page.goto('/');
  await waitForPortal(page);
  await page.keyboard.press('Tab');
  await expect(page.getByRole('link', { name: 'Skip to content' })).toBeFocused();
});

for (const lang of ['en', 'fr']) {
  test(`screenshot of every page in ${lang}`, async ({ page }) => {
    await page.goto('/');
    await waitForPortal(page);
    await page.locator(`.language-switcher button[data-lang="${lang}"]`).first().click();
    await expect(page.locator('html')).toHaveAttribute('lang', lang);
    const nav = page.getByRole('navigation').first();
    const links = nav.getByRole('link');
    const count = await links.count();
    expect(count).toBe(ROUTES.length);
    for (let i = 0; i < count; i += 1) {
      await links.nth(i).click();
      await expect(links.nth(i)).toHaveAttribute('aria-current', 'page');
      await screenshot(page, `${lang}-${ROUTES[i].name}`);
    }
  });
}

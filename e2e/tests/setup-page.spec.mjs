// A missing, unreadable or invalid config.json shows the setup page naming the problem: never a
// blank page or a panic. The test rewrites what the browser receives for config.json.
import { test, expect, waitForPortal, screenshot } from './fixtures.mjs';

async function serveConfig(page, { status = 200, body }) {
  await page.route('**/config.json', (route) =>
    route.fulfill({ status, contentType: 'application/json', body }));
}

async function validConfig(page) {
  return (await page.request.get('/config.json')).json();
}

test('malformed JSON names the line and column', async ({ page }) => {
  await serveConfig(page, { body: '{\n  "clientId": "6731de76-14a6-49ae-97bc-6eba6914391e",\n  tenant: oops\n}' });
  await page.goto('/');
  await waitForPortal(page, 'setup');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('The portal needs setting up');
  await expect(page.getByTestId('setup-reason')).toContainText('line 3');
  await expect(page.getByTestId('setup-url')).toContainText('/config.json');
  await screenshot(page, 'setup-malformed');
});

test('a config without clientId names the field and its expected form', async ({ page }) => {
  const config = await validConfig(page);
  delete config.clientId;
  await serveConfig(page, { body: JSON.stringify(config) });
  await page.goto('/settings');
  await waitForPortal(page, 'setup');
  const problem = page.getByTestId('field-problems').locator('[data-field="clientId"]');
  await expect(problem).toContainText('clientId');
  await expect(problem).toContainText('missing');
  await expect(problem).toContainText('Application (client) ID');
  await screenshot(page, 'setup-missing-client-id');
});

test('every bad field is listed, with a suggestion for a misspelt one', async ({ page }) => {
  const config = await validConfig(page);
  config.cloud = 'mars';
  config.tenant = 'common';
  config.redirectURI = config.redirectUri;
  await serveConfig(page, { body: JSON.stringify(config) });
  await page.goto('/');
  await waitForPortal(page, 'setup');
  const problems = page.getByTestId('field-problems');
  await expect(problems.locator('[data-field="cloud"]')).toContainText('"mars"');
  await expect(problems.locator('[data-field="tenant"]')).toContainText('personal Microsoft accounts');
  await expect(problems.locator('[data-field="redirectURI"]')).toContainText('did you mean "redirectUri"');
});

test('JSON that is not an object is explained', async ({ page }) => {
  await serveConfig(page, { body: '["clientId"]' });
  await page.goto('/');
  await waitForPortal(page, 'setup');
  await expect(page.getByTestId('setup-reason')).toContainText('not an object');
});

test('the setup page can be read in French', async ({ page }) => {
  await serveConfig(page, { body: '{' });
  await page.goto('/');
  await waitForPortal(page, 'setup');
  await page.getByRole('button', { name: 'Français' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Le portail doit être configuré');
  await expect(page.getByTestId('setup-reason')).toContainText('ligne 1');
});

test.describe('missing or unreadable config.json', () => {
  // The browser itself logs the failed fetch: that one console error is expected here.
  test.use({ expectedConsoleErrors: [/Failed to load resource: the server responded with a status of (404|500)/] });

  test('a missing config.json says so', async ({ page }) => {
    await serveConfig(page, { status: 404, body: 'not found' });
    await page.goto('/');
    await waitForPortal(page, 'setup');
    await expect(page.getByTestId('setup-reason')).toContainText('not found (HTTP 404)');
  });

  test('a server error is reported with its status', async ({ page }) => {
    await serveConfig(page, { status: 500, body: 'boom' });
    await page.goto('/');
    await waitForPortal(page, 'setup');
    await expect(page.getByTestId('setup-reason')).toContainText('HTTP status 500');
  });
});

test('a deep link shows the setup page at its own address, in one document load', async ({ page }) => {
  await serveConfig(page, { body: '{' });
  const documents = [];
  page.on('request', (r) => { if (r.resourceType() === 'document') documents.push(r.url()); });
  await page.goto('/users?q=megan');
  await waitForPortal(page, 'setup');
  expect(new URL(page.url()).pathname + new URL(page.url()).search).toBe('/users?q=megan');
  await expect(page.getByTestId('setup-reason')).toContainText('line 1');
  expect(documents).toHaveLength(1);
});

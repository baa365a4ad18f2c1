// Shared fixtures: every test fails on a console error or an uncaught page error, except the
// ones it declares as expected with `test.use({ expectedConsoleErrors: [/regex/] })`.
import { test as base, expect } from '@playwright/test';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const screenshotDir = path.resolve(here, '..', 'test-output', 'screenshots');

export const test = base.extend({
  expectedConsoleErrors: [[], { option: true }],
  baseURL: async ({}, use) => { await use(process.env.BASE_URL); },
  page: async ({ page, expectedConsoleErrors }, use) => {
    const errors = [];
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      const text = `${message.text()} @ ${message.location().url ?? ''}`;
      if (!expectedConsoleErrors.some((re) => re.test(text))) errors.push(text);
    });
    page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
    await use(page);
    expect(errors, 'console errors').toEqual([]);
  },
});

export { expect };

/** Waits until the portal has mounted the shell or the setup page. */
export async function waitForPortal(page, state = 'shell') {
  await expect(page.locator('html')).toHaveAttribute('data-portal-state', state);
}

/** Saves a full-page screenshot under e2e/test-output/screenshots/. */
export async function screenshot(page, name) {
  fs.mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: path.join(screenshotDir, `${name}.png`), fullPage: true });
}

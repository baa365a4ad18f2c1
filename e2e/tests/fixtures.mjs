// Shared fixtures: every test fails on a console error or an uncaught page error, except the
// ones it declares as expected with `test.use({ expectedConsoleErrors: [/regex/] })` (and
// `expectedPageErrors` for uncaught ones), and on any
// Content Security Policy violation (a `securitypolicyviolation` event in any page of its
// context; the dev tenant serves the portal under the policy), except those declared with
// `test.use({ expectedCspViolations: [/regex/] })`.
import { test as base, expect } from '@playwright/test';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const screenshotDir = path.resolve(here, '..', 'test-output', 'screenshots');

export const test = base.extend({
  expectedConsoleErrors: [[], { option: true }],
  expectedPageErrors: [[], { option: true }],
  expectedCspViolations: [[], { option: true }],
  context: async ({ context, expectedCspViolations }, use) => {
    // Each violation is reported to the test as it happens (across navigations); the ones whose
    // report had not arrived yet are swept from the open pages at the end.
    const violations = [];
    const record = (text) => { if (!expectedCspViolations.some((re) => re.test(text))) violations.push(text); };
    await context.exposeBinding('__tapCspViolation', ({ page }, text) => record(`${text} (page ${page.url()})`));
    await context.addInitScript(() => {
      window.__cspViolations = [];
      document.addEventListener('securitypolicyviolation', (event) => {
        const entry = {
          text: `${event.effectiveDirective} blocked ${event.blockedURI || 'inline'} at ${event.sourceFile || '?'}:${event.lineNumber}`,
          reported: false,
        };
        window.__cspViolations.push(entry);
        window.__tapCspViolation?.(entry.text).then(() => { entry.reported = true; }, () => {});
      });
    });
    await use(context);
    for (const page of context.pages()) {
      const pending = await page.evaluate(() => (window.__cspViolations ?? []).filter((e) => !e.reported).map((e) => e.text))
        .catch(() => []);
      pending.forEach((text) => record(`${text} (page ${page.url()})`));
    }
    expect(violations, 'Content Security Policy violations').toEqual([]);
  },
  baseURL: async ({}, use) => { await use(process.env.BASE_URL); },
  page: async ({ page, expectedConsoleErrors, expectedPageErrors }, use) => {
    const errors = [];
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      const text = `${message.text()} @ ${message.location().url ?? ''}`;
      if (!expectedConsoleErrors.some((re) => re.test(text))) errors.push(text);
    });
    page.on('pageerror', (error) => {
      const text = `uncaught: ${error.message}`;
      if (!expectedPageErrors.some((re) => re.test(text))) errors.push(text);
    });
    await use(page);
    expect(errors, 'console errors').toEqual([]);
  },
});

export { expect };

/** Waits until the portal has mounted the shell or the setup page. */
export async function waitForPortal(page, state = 'shell') {
  await expect(page.locator('html')).toHaveAttribute('data-portal-state', state);
}

/**
 * Runs a script file in the page, as `page.addScriptTag({ path })` would, but through the
 * DevTools protocol: the portal's Content Security Policy blocks inline script elements (and
 * `addScriptTag` makes one), not the test's own evaluation. Use it for axe-core.
 */
export async function addScriptFile(page, file) {
  await page.evaluate(fs.readFileSync(file, 'utf8'));
}

/** Closes every page of `context` (before its dev tenant stops, so no load meets a closed port). */
export async function closePages(context) {
  for (const page of context.pages()) await page.close();
}

/** Saves a full-page screenshot under e2e/test-output/screenshots/. */
export async function screenshot(page, name) {
  fs.mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: path.join(screenshotDir, `${name}.png`), fullPage: true });
}

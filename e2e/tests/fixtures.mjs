// Shared fixtures: every test fails on a console error or an uncaught page error, except the
// ones it declares as expected with `test.use({ expectedConsoleErrors: [/regex/] })`, and on any
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
  page: async ({ page, expectedConsoleErrors }, use) => {
    const errors = [];
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      const text = `${message.text()} @ ${message.location().url ?? ''}`;
      if (!expectedConsoleErrors.some((re) => re.test(text))) errors.push(text);
    });
    page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
    // A page outside the first load replaces the document with the full bundle
    // (`location.replace("/full.html?route=…")`) as soon as it knows the route; when that comes
    // before the first document's `load` event (a signed-in reload with its tokens at hand, on
    // busy cores), Playwright reports the goto as interrupted although the portal did what it
    // should. Only that switch is tolerated: the goto then waits for the full bundle's document
    // to reach the same load state. Any other interruption still fails the test.
    const goto = page.goto.bind(page);
    page.goto = async (url, options) => {
      try {
        return await goto(url, options);
      } catch (error) {
        if (!/is interrupted by another navigation to "[^"]*\/full\.html\?route=/.test(error.message)) throw error;
        await expect(page.locator('html')).toHaveAttribute('data-portal-bundle', 'full');
        await page.waitForLoadState(options?.waitUntil === 'domcontentloaded' ? 'domcontentloaded' : 'load');
        return null;
      }
    };
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
 * Waits for the full bundle (`full.html`, every page) to be interactive: pages outside the first
 * load hand over to it, so a page that may be on its way there is waited for with this.
 */
export async function waitForFullBundle(page) {
  await expect(page.locator('html')).toHaveAttribute('data-portal-bundle', 'full');
  await waitForPortal(page);
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

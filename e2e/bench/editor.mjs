// Measures the consent editor: the time from one change (a permission checked or unchecked) to
// the DOM updated (its validity, body and scope), over 100 changes on an app asking for the
// manifest's maximum of 16 RSC permissions (the dev tenant's `--large` tenant has one).
// Prints figures; asserts nothing.
import { chromium } from '@playwright/test';
import { startDevTenant, devTenantAdmin } from '../devtenant.mjs';

const changes = Number(process.argv[2] ?? 100);
const tenant = await startDevTenant(['--large']);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic',
         '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  await devTenantAdmin(tenant.urls, 'POST', '/adminConsent', {});
  const page = await browser.newPage();
  await page.goto(tenant.urls.portal);
  await page.getByTestId('sign-in').click();
  await page.locator('button[data-upn="megan.bowen@contoso.onmicrosoft.com"]').click();
  await page.getByTestId('account-name').waitFor();
  // A generated user, and the generated app with 16 permissions.
  const state = await devTenantAdmin(tenant.urls, 'GET', '/state');
  const user = state.users.find((u) => (u.userPrincipalName ?? '').startsWith('user00001@'));
  const app = state.teamsApps.find((a) => a.definitions.some((d) => (d.resourceSpecificPermissions ?? []).length === 16));
  await page.goto(new URL(`/users/${user.id}?action=install&app=${app.id}`, tenant.urls.portal).href);
  await page.getByTestId('consent-editor').waitFor();
  const times = await page.evaluate(async (n) => {
    const boxes = [...document.querySelectorAll('[data-testid=consent-choice]')];
    const body = document.querySelector('[data-testid=consent-validity]').parentElement;
    const samples = [];
    for (let i = 0; i < n; i += 1) {
      const box = boxes[i % boxes.length];
      const changed = new Promise((resolve) => {
        const observer = new MutationObserver(() => { observer.disconnect(); resolve(); });
        observer.observe(body, { subtree: true, childList: true, characterData: true });
      });
      const start = performance.now();
      box.click();
      await changed;
      samples.push(performance.now() - start);
    }
    return { samples, permissions: boxes.length };
  }, changes);
  const sorted = [...times.samples].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  console.log(`consent editor, ${times.permissions} permissions, ${sorted.length} changes: change → DOM updated median ${at(0.5).toFixed(2)} ms, p95 ${at(0.95).toFixed(2)} ms, max ${sorted.at(-1).toFixed(2)} ms`);
} finally {
  await browser.close();
  await tenant.stop();
}

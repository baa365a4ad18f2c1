// What the specs share about the portal and its seeded tenant: who signs in, the seeded ids,
// signing in through the dev tenant's account picker, and finding rows of the app tables.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, waitForPortal, addScriptFile } from './fixtures.mjs';
import { devTenantAdmin } from '../devtenant.mjs';

const AXE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', 'axe-core', 'axe.min.js');

/** axe-core on the current page: no serious or critical violation. */
export async function expectAccessible(page, name) {
  await addScriptFile(page, AXE);
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
  expect(violations, `axe on ${name}`).toEqual([]);
}

export const ADMIN = 'megan.bowen@contoso.onmicrosoft.com';
export const MEMBER = 'zoe.muller@contoso.onmicrosoft.com';
export const SEAN = 'f78ae7f2-51d8-5be4-a11c-9a3f85549fd4';
export const ALEX = 'alex.wilber@contoso.onmicrosoft.com';
export const APPS = {
  notify: '12345678-9abc-def0-123456789a',
  polls: '321b182d-454e-50b3-bb11-3d323a34746b',
  fieldService: '5eeb84ab-9e80-5593-9b71-156c01ee8b9a',
  standup: '061a77be-fb5e-5082-a688-dbd12930fe76',
  learningHub: 'bfa2696f-f9ba-52cc-aef0-b64dd2ef0026',
  crypto: '27aed3fe-e630-50d4-a497-955f68d45caf',
  expenses: 'a6b63365-31a4-4f43-92ec-710b71557af9',
  helpdesk: 'b2c2a2ca-af4c-52d8-a348-519ac5d86dd6',
};

/** Signs `upn` in at the portal of `tenant` through the dev tenant's account picker. */
export async function signInAs(page, tenant, upn) {
  await page.goto(tenant.urls.portal);
  await waitForPortal(page);
  await page.getByTestId('sign-in').click();
  await page.locator(`button[data-upn="${upn}"]`).click();
  await expect(page.getByTestId('account-name')).toBeVisible();
}

/** The row of `appId` in the table with test id `table` (`installations`, `available-apps`). */
export const appRow = (page, table, appId) => page.getByTestId(table).locator(`tr[data-app-id="${appId}"]`);

/** A dev tenant admin request that must succeed. */
export const adminOf = (tenant) => (method, p, body) => devTenantAdmin(tenant.urls, method, p, body);

/** Graph's requests in the dev tenant's log (no CORS preflights). */
export const graphLogOf = (tenant) => async () =>
  (await devTenantAdmin(tenant.urls, 'GET', '/log')).filter((e) => e.origin === 'graph' && e.method !== 'OPTIONS');

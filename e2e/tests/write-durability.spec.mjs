// Single writes held and kept (issue #22), each test with a dev tenant of its own: an install
// submitted again on a later visit of the page while the first is still in flight is not sent,
// and says why, with a link to the first in the outbox (one POST in the dev tenant's log); a
// write answered "applied, then 504" whose read-back needs a token renewal that fails is kept in
// the browser, survives a reload, and is settled by reading back on the next load (one POST); a
// write that changed nothing (never sent: no token) is offered again, never resent by itself,
// and sent once when the user asks.
import { test, expect, closePages, waitForPortal } from './fixtures.mjs';
import { startDevTenant } from '../devtenant.mjs';
import { ADMIN, SEAN, APPS, signInAs, appRow as row, adminOf, graphLogOf } from './portal.mjs';

test.describe.configure({ mode: 'parallel' });

let tenant;
// Pages close first: a load still in flight must not meet a stopped dev tenant.
test.afterEach(async ({ context }) => { await closePages(context); await tenant?.stop(); });

const admin = (...args) => adminOf(tenant)(...args);
const graphLog = () => graphLogOf(tenant)();
const installPosts = async () => (await graphLog())
  .filter((e) => e.method === 'POST' && /\/users\/[^/]+\/teamwork\/installedApps$/i.test(e.path));
const isInstallPost = (request) => request.method() === 'POST' && /\/teamwork\/installedApps$/.test(new URL(request.url()).pathname);

/** A dev tenant of the test's own, the organisation consented, the admin signed in on Seán's
 * page with the install of Learning Hub open. */
async function openInstall(page) {
  tenant = await startDevTenant();
  await admin('POST', '/adminConsent', {});
  await signInAs(page, tenant, ADMIN);
  await page.goto(new URL(`/users/${SEAN}`, tenant.urls.portal).href);
  await waitForPortal(page);
  await row(page, 'available-apps', APPS.learningHub).getByRole('button').click();
  await expect(page.getByTestId('submit-install')).toBeEnabled();
}

async function installed(userId, appId) {
  const state = await admin('GET', '/state');
  return state.installations.filter((i) => i.userId === userId && i.appId === appId).length;
}

test('an install submitted again on a later visit while the first is in flight is not sent, and says why', async ({ page }) => {
  await openInstall(page);
  // The first install takes 6 s to be answered (latency is drawn when a request arrives)...
  await admin('PUT', '/faults', { latencyMs: 6000 });
  const posted = page.waitForRequest(isInstallPost);
  await page.getByTestId('submit-install').click();
  await posted;
  await expect(page.getByTestId('outbox-item')).toHaveAttribute('data-state', 'sending');
  // ...and the pages load at once meanwhile.
  await admin('PUT', '/faults', {});
  // Another page, then back to the same user: a new visit of the page, the same install flow.
  await page.getByRole('link', { name: 'Users', exact: true }).click();
  await expect(page).toHaveURL(/\/users$/);
  await page.goBack();
  await expect(page).toHaveURL(new RegExp(`/users/${SEAN}\\?action=install`));
  const held = page.getByTestId('write-held');
  await expect(held).toBeVisible();
  await expect(held).toHaveAttribute('data-held-by', 'write');
  await expect(held).toContainText("Not sent: Installing Learning Hub for Seán O'Brien is still being sent or is not yet confirmed");
  await expect(page.getByTestId('submit-install')).toBeDisabled();
  // The link leads to the first write's entry in the outbox.
  const link = held.getByTestId('write-held-link');
  await expect(link).toHaveText('See it in the outbox');
  const anchor = (await link.getAttribute('href')).slice(1);
  await expect(page.locator(`#${anchor}`)).toHaveAttribute('data-state', 'sending');
  await expect(page.getByTestId('outbox')).toHaveAttribute('data-in-flight', '1');

  // The first one settles: one POST, one installation; the target is free again.
  await expect(page.locator(`#${anchor}`)).toHaveAttribute('data-state', 'done', { timeout: 20_000 });
  await expect(page.getByTestId('write-held')).toHaveCount(0);
  expect((await installPosts()).map((e) => e.status)).toEqual([201]);
  expect(await installed(SEAN, APPS.learningHub)).toBe(1);
});

test.describe('a write in doubt whose read-back cannot renew the token', () => {
  // The 504 of the applied install, the 401s of tokens signed with a retired key, the 503s of
  // the token endpoint: the browser logs each as a failed load.
  test.use({ expectedConsoleErrors: [/status of (504 \(Gateway Timeout\)|401 \(Unauthorized\)|503 \(Service Unavailable\))/] });

  test('is kept in the browser, survives a reload and is settled by reading back on the next load: one POST', async ({ page }) => {
    test.setTimeout(120_000);
    await openInstall(page);
    // Applied, then answered 504; reads do not see it for 4 s, so the first read-backs say
    // "not yet".
    await admin('PUT', '/faults', { applyThenErrorNext: 1, applyThenErrorStatus: 504, readAfterWriteLagMs: 4000 });
    const answered = page.waitForResponse((r) => isInstallPost(r.request()));
    await page.getByTestId('submit-install').click();
    expect((await answered).status()).toBe(504);
    // From now on Graph refuses the tokens the tab holds (both signing keys retired) and the
    // token endpoint cannot renew them (503 after 503).
    await admin('POST', '/jwks/rotate');
    await admin('POST', '/jwks/rotate');
    await admin('PUT', '/faults', { readAfterWriteLagMs: 4000, tokenErrorNext: { count: 1000, status: 503 } });
    // The portal cannot tell whether it was applied: it does not resend, and keeps it.
    const item = page.getByTestId('outbox-item').filter({ hasText: 'Learning Hub' });
    await expect(item).toHaveAttribute('data-state', 'failed', { timeout: 90_000 });
    await expect(item).toHaveAttribute('data-kept', 'stored');
    await expect(item.getByTestId('outbox-kept')).toBeVisible();
    await expect(item.getByTestId('outbox-check-again')).toBeVisible();
    expect((await installPosts()).map((e) => e.status)).toEqual([504]);
    // Stored in the account's own database, owned by the account.
    const stored = await page.evaluate(async () => {
      const names = (await indexedDB.databases()).map((d) => d.name).filter((n) => n.startsWith('teams-app-portal:'));
      const found = [];
      for (const name of names) {
        const db = await new Promise((resolve, reject) => {
          const open = indexedDB.open(name);
          open.onsuccess = () => resolve(open.result);
          open.onerror = () => reject(open.error);
        });
        if (db.objectStoreNames.contains('writes')) {
          const all = await new Promise((resolve, reject) => {
            const read = db.transaction('writes').objectStore('writes').getAll();
            read.onsuccess = () => resolve(read.result);
            read.onerror = () => reject(read.error);
          });
          found.push(...all.map((entry) => ({ name, owner: entry.o, write: JSON.parse(entry.v) })));
        }
        db.close();
      }
      return found;
    });
    expect(stored).toHaveLength(1);
    expect(stored[0].write.write.app).toBe(APPS.learningHub);
    expect(stored[0].name).toContain(stored[0].write.owner.oid);
    expect(await page.evaluate(() => Object.entries(localStorage).filter(([k]) => k.startsWith('tap.work.')).map(([, v]) => v)))
      .toEqual(['{"jobs":0,"writes":1}']);
    // Signing out now would say so first (then Cancel).
    await page.getByTestId('sign-out').click();
    await expect(page.getByTestId('sign-out-work')).toHaveText('Unfinished jobs: 0. Changes not yet confirmed: 1.');
    await expect(page.getByTestId('sign-out-in-doubt')).toBeVisible();
    await page.getByTestId('sign-out-cancel').click();
    await expect(page.getByTestId('sign-out-question')).toHaveCount(0);

    // Graph and the token endpoint are back; the tab reloads (as after a crash or a closed tab).
    await admin('PUT', '/faults', {});
    await page.reload();
    await waitForPortal(page);
    const restored = page.getByTestId('outbox-item').filter({ hasText: 'Learning Hub' });
    await expect(restored).toHaveAttribute('data-restored', 'true');
    await expect(restored.getByTestId('outbox-restored')).toBeVisible();
    await expect(restored).toHaveAttribute('data-state', 'done', { timeout: 30_000 });
    await expect(restored).toContainText("Learning Hub is installed for Seán O'Brien.");
    await expect(restored).toHaveAttribute('data-kept', 'no');
    // Settled by reading back: still one POST, one installation, nothing kept any more.
    expect((await installPosts()).map((e) => e.status)).toEqual([504]);
    expect(await installed(SEAN, APPS.learningHub)).toBe(1);
    const reads = (await graphLog()).filter((e) => e.method === 'GET' && e.path.includes('/teamwork/installedApps')
      && decodeURIComponent(e.query ?? '').includes(APPS.learningHub) && e.status === 200);
    expect(reads.length).toBeGreaterThan(0);
    await expect.poll(() => page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('tap.work.')).length)).toBe(0);
  });
});

test.describe('a write that changed nothing', () => {
  // The 503s of the token endpoint.
  test.use({ expectedConsoleErrors: [/status of 503 \(Service Unavailable\)/] });

  test('is offered again to the user, never resent by itself, and sent once more when asked: one installation', async ({ page }) => {
    test.setTimeout(120_000);
    await openInstall(page);
    // The token endpoint fails from now on: the install's write scope (not held yet) cannot be
    // had, so the install is never sent.
    await admin('PUT', '/faults', { tokenErrorNext: { count: 1000, status: 503 } });
    await page.getByTestId('submit-install').click();
    const item = page.getByTestId('outbox-item').filter({ hasText: 'Learning Hub' });
    await expect(item).toHaveAttribute('data-state', 'failed', { timeout: 90_000 });
    await expect(item.getByTestId('outbox-state')).toContainText('nothing changed');
    const again = item.getByTestId('outbox-send-again');
    await expect(again).toBeVisible();
    expect(await installPosts()).toEqual([]);
    // Nothing is sent until the user asks, however long they wait.
    await page.waitForTimeout(3_000);
    expect(await installPosts()).toEqual([]);

    // The token endpoint is back; the user sends it again: one POST, installed once.
    await admin('PUT', '/faults', {});
    await again.click();
    const sent = page.getByTestId('outbox-item').filter({ hasText: 'Learning Hub' });
    await expect(sent).toHaveCount(1);
    await expect(sent).toHaveAttribute('data-state', 'done', { timeout: 30_000 });
    await expect(sent.getByTestId('outbox-send-again')).toHaveCount(0);
    expect((await installPosts()).map((e) => e.status)).toEqual([201]);
    expect(await installed(SEAN, APPS.learningHub)).toBe(1);
  });
});

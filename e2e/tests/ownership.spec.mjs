// Work belongs to the account that started it (issue #22), on one browser profile shared by
// three people: administrator A starts a 200-user install job under latency and closes the tab;
// administrator B then signs in: no job, no resume question and none of A's users on screen, in
// localStorage or in any database but A's own, and B's tab never takes A's job over; a member
// signing in after A sees nothing either; A signs in again: the first load points to Bulk jobs,
// which asks "Resume job …?", and the job finishes with one installation per user.
import { test, expect, closePages, waitForPortal } from './fixtures.mjs';
import { startDevTenant } from '../devtenant.mjs';
import { ADMIN, MEMBER, APPS, adminOf, appRow } from './portal.mjs';
import { upns, planJob, expectInstalledOncePerUser, installPosts } from './jobs.mjs';

let tenant;
test.afterEach(async ({ context }) => { await closePages(context); await tenant?.stop(); });

const admin = (...args) => adminOf(tenant)(...args);
const ADMIN_B = 'adele.vance@contoso.onmicrosoft.com';
const USERS = 200;
/** Any of the job's users, as a UPN. */
const JOB_UPN = /user\d{5}@contoso/i;

/** Fails the test on an uncaught error or a console error of `page` (a page the fixture does
 * not watch), like the fixture does for its own page. */
function watch(page, errors) {
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
  page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()); });
  return page;
}

/** Signs `who` in on `page` through the dev tenant's account picker (the picker is skipped
 * while `who` still has a session at the provider). */
async function signIn(page, who) {
  await page.goto(tenant.urls.portal);
  await waitForPortal(page);
  await page.getByTestId('sign-in').click();
  const picker = page.locator(`button[data-upn="${who}"]`);
  const name = page.getByTestId('account-name');
  await expect(name.or(picker)).toBeVisible();
  if (await picker.isVisible()) await picker.click();
  await expect(name).toBeVisible();
}

/** Every IndexedDB database of the origin, as `{ name: { store: JSON of all its values } }`:
 * everything a page of the portal's origin can open. */
function readIndexedDb(page) {
  return page.evaluate(async () => {
    const all = {};
    for (const { name } of await indexedDB.databases()) {
      const db = await new Promise((resolve, reject) => {
        const open = indexedDB.open(name);
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error);
      });
      all[name] = {};
      for (const store of db.objectStoreNames) {
        all[name][store] = await new Promise((resolve, reject) => {
          const read = db.transaction(store).objectStore(store).getAll();
          read.onsuccess = () => resolve(JSON.stringify(read.result));
          read.onerror = () => reject(read.error);
        });
      }
      db.close();
    }
    return all;
  });
}

const localStorageOf = (page) => page.evaluate(() => Object.entries(localStorage));

/** Checks, as `who` signed in on `page`, that none of A's job shows: on screen, in the
 * databases other than A's own, in localStorage. */
async function seesNothingOfA(page, aOid, whoOid) {
  await page.goto(new URL('/jobs', tenant.urls.portal).href);
  await waitForPortal(page);
  await expect(page.getByTestId('job-list')).toBeVisible();
  await expect(page.getByTestId('job-list-row')).toHaveCount(0);
  await expect(page.getByTestId('resume-prompt')).toHaveCount(0);
  await expect(page.getByTestId('job-active')).toHaveCount(0);
  expect(await page.locator('body').innerText()).not.toMatch(JOB_UPN);
  const databases = await readIndexedDb(page);
  const names = Object.keys(databases);
  // A's work is in A's database, named after A; this account has one of its own.
  const aDatabase = names.find((n) => n.endsWith(`:${aOid}`));
  expect(aDatabase, `${names}`).toMatch(/^teams-app-portal:[^:]+:/);
  expect(JSON.stringify(databases[aDatabase])).toMatch(JOB_UPN);
  expect(names.some((n) => n.endsWith(`:${whoOid}`)), `${names}`).toBe(true);
  for (const name of names.filter((n) => n !== aDatabase)) {
    expect(JSON.stringify(databases[name]), `database ${name}`).not.toMatch(JOB_UPN);
  }
  // localStorage: counts only, and only A's.
  const entries = await localStorageOf(page);
  expect(JSON.stringify(entries)).not.toMatch(JOB_UPN);
  const markers = entries.filter(([key]) => key.startsWith('tap.work.'));
  expect(markers.map(([key]) => key.endsWith(`.${aOid}`))).toEqual([true]);
  expect(markers[0][1]).toBe('{"jobs":1,"writes":0}');
}

test('a job is seen, resumed and run only by the administrator who started it', async ({ page, context }) => {
  test.setTimeout(420_000);
  tenant = await startDevTenant(['--users', String(USERS), '--latency-ms', '200', '--log-capacity', '100000']);
  await admin('POST', '/adminConsent', {});
  const state = await admin('GET', '/state');
  const oid = (who) => state.users.find((u) => u.userPrincipalName.toLowerCase() === who).id.toLowerCase();
  const [aOid, bOid, memberOid] = [oid(ADMIN), oid(ADMIN_B), oid(MEMBER)];
  const errors = [];

  // A starts a 200-user install job and closes the tab in the middle.
  await signIn(page, ADMIN);
  await page.goto(new URL('/jobs', tenant.urls.portal).href);
  await waitForPortal(page);
  await planJob(page, upns(USERS), { share: 50, expectInstalls: true, timeout: 90_000 });
  await page.getByTestId('job-confirm').click();
  await expect(page.getByTestId('job-active')).toHaveAttribute('data-status', 'running');
  await expect.poll(async () => Number(await page.getByTestId('job-done').textContent()), { timeout: 90_000 })
    .toBeGreaterThan(20);
  await page.close();

  // B, another administrator, on the same browser profile (A's session at the provider ends).
  await context.clearCookies();
  const b = watch(await context.newPage(), errors);
  await signIn(b, ADMIN_B);
  await expect(b.getByTestId('account-name')).toHaveText('Adele Vance');
  const bSignedInAt = (await admin('GET', '/log')).at(-1).seq;
  // What A's tab got done (its last batches, in flight when it closed, have been answered by now).
  const doneByA = (await admin('GET', '/state')).installations.filter((i) => i.appId === APPS.learningHub).length;
  expect(doneByA).toBeLessThan(USERS);
  await expect(b.getByTestId('work-hint')).toHaveCount(0);
  await seesNothingOfA(b, aOid, bOid);
  // Longer than the portal's 5-second check for jobs another tab let go of: B's tab takes
  // nothing over (A's job's lock is free since A's tab closed).
  await b.waitForTimeout(7_000);
  await expect(b.getByTestId('job-active')).toHaveCount(0);
  await b.close();

  // A member after A: nothing either.
  await context.clearCookies();
  const member = watch(await context.newPage(), errors);
  await signIn(member, MEMBER);
  await expect(member.getByTestId('account-name')).toHaveText('Zoë Müller');
  await expect(member.getByTestId('work-hint')).toHaveCount(0);
  await seesNothingOfA(member, aOid, memberOid);
  await member.close();
  // Nobody but A ran A's job: no batch was sent while B and the member were signed in.
  const whileOthers = (await admin('GET', '/log')).filter((e) => e.seq > bSignedInAt);
  expect(whileOthers.filter((e) => e.path.endsWith('/$batch') || e.origin === 'graph-batch')).toEqual([]);
  expect((await admin('GET', '/state')).installations.filter((i) => i.appId === APPS.learningHub).length)
    .toBe(doneByA);

  // A again: the first load says there is unfinished work, Bulk jobs asks before resuming.
  await context.clearCookies();
  const a = watch(await context.newPage(), errors);
  await signIn(a, ADMIN);
  const hint = a.getByTestId('work-hint');
  await expect(hint).toHaveText('Unfinished work: 1 job(s), 0 change(s) to confirm');
  await hint.click();
  await waitForPortal(a);
  await expect(a).toHaveURL(/\/jobs$/);
  const question = a.getByTestId('resume-question');
  await expect(question).toHaveText(/^Resume job Learning Hub \(install\), \d{1,3} of 200 left\?$/);
  const left = Number((await question.textContent()).match(/, (\d+) of/)[1]);
  expect(left).toBeGreaterThan(0);
  expect(left).toBeLessThan(USERS);
  // Nothing was sent before the answer.
  await expect(a.getByTestId('job-active')).toHaveCount(0);
  await a.getByTestId('resume-yes').click();
  await expect(a.getByTestId('resume-prompt')).toHaveCount(0);
  await expect(a.getByTestId('job-active')).toHaveAttribute('data-status', 'finished', { timeout: 300_000 });
  await expect(a.getByTestId('job-done')).toHaveText(String(USERS));
  await expect(a.getByTestId('job-count-refused')).toHaveCount(0);
  await expect(a.getByTestId('job-count-unsettled')).toHaveCount(0);

  // One installation per user, and never two successful install POSTs for one user.
  await expectInstalledOncePerUser(admin, USERS, { wholeLog: true });
  // Finished: the marker is gone, and with it the first load's hint.
  await expect.poll(() => a.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('tap.work.')))).toEqual([]);
  expect(errors).toEqual([]);
});

test('signing out with an unfinished job asks first: cancel, keep it for later, or discard it', async ({ page }) => {
  test.setTimeout(180_000);
  tenant = await startDevTenant(['--users', '40', '--latency-ms', '400']);
  await admin('POST', '/adminConsent', {});
  const state = await admin('GET', '/state');
  const aOid = state.users.find((u) => u.userPrincipalName.toLowerCase() === ADMIN).id.toLowerCase();
  const databases = () => page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name));
  const markers = () => page.evaluate(() => Object.entries(localStorage).filter(([k]) => k.startsWith('tap.work.')));
  await signIn(page, ADMIN);
  await page.goto(new URL('/jobs', tenant.urls.portal).href);
  await waitForPortal(page);
  await planJob(page, upns(40), { share: 10 });
  await page.getByTestId('job-confirm').click();
  await expect(page.getByTestId('job-active')).toHaveAttribute('data-status', 'running');

  // The question, and Cancel: still signed in, nothing changed.
  await page.getByTestId('sign-out').click();
  const question = page.getByTestId('sign-out-question');
  await expect(question).toBeVisible();
  await expect(page.getByTestId('sign-out-work')).toHaveText('Unfinished jobs: 1. Changes not yet confirmed: 0.');
  await expect(page.getByTestId('sign-out-in-doubt')).toHaveCount(0);
  await page.getByTestId('sign-out-cancel').click();
  await expect(question).toHaveCount(0);
  await expect(page.getByTestId('account-name')).toBeVisible();

  // Keep for later: signed out, the account's database and marker stay.
  await page.getByTestId('sign-out').click();
  await page.getByTestId('sign-out-keep').click();
  await expect(page.getByTestId('sign-in')).toBeVisible();
  expect((await databases()).some((n) => n.endsWith(`:${aOid}`))).toBe(true);
  expect((await markers()).map(([, v]) => v)).toEqual(['{"jobs":1,"writes":0}']);

  // Back again: asked, not now; then signing out and discarding it.
  await signIn(page, ADMIN);
  await expect(page.getByTestId('resume-question')).toHaveText(/^Resume job Learning Hub \(install\), \d+ of 40 left\?$/);
  await page.getByTestId('resume-not-now').click();
  await expect(page.getByTestId('resume-prompt')).toHaveCount(0);
  await page.getByTestId('sign-out').click();
  await page.getByTestId('sign-out-discard').click();
  await expect(page.getByTestId('sign-in')).toBeVisible();
  await expect.poll(async () => (await databases()).some((n) => n.endsWith(`:${aOid}`))).toBe(false);
  expect(await markers()).toEqual([]);

  // Back once more: nothing left to ask about.
  await signIn(page, ADMIN);
  await page.goto(new URL('/jobs', tenant.urls.portal).href);
  await waitForPortal(page);
  await expect(page.getByTestId('job-list')).toBeVisible();
  await expect(page.getByTestId('job-list-row')).toHaveCount(0);
  await expect(page.getByTestId('resume-prompt')).toHaveCount(0);
  await expect(page.getByTestId('work-hint')).toHaveCount(0);
});

test('an unfinished job keeps its users, resumed or not: a single install to one of them is not sent, and the job installs it once', async ({ page }) => {
  test.setTimeout(180_000);
  tenant = await startDevTenant(['--users', '40', '--latency-ms', '400', '--log-capacity', '100000']);
  await admin('POST', '/adminConsent', {});
  await signIn(page, ADMIN);
  await page.goto(new URL('/jobs', tenant.urls.portal).href);
  await waitForPortal(page);
  await planJob(page, upns(40), { share: 10, expectInstalls: true });
  await page.getByTestId('job-confirm').click();
  await expect(page.getByTestId('job-active')).toHaveAttribute('data-status', 'running');
  // Signed out with the job unfinished (kept for later), back again, and "Not now": the job
  // runs nowhere.
  await page.getByTestId('sign-out').click();
  await page.getByTestId('sign-out-keep').click();
  await expect(page.getByTestId('sign-in')).toBeVisible();
  await signIn(page, ADMIN);
  await page.getByTestId('resume-not-now').click();
  await expect(page.getByTestId('resume-prompt')).toHaveCount(0);

  // A user the job has not reached yet.
  const state = await admin('GET', '/state');
  const reached = new Set(state.installations.filter((i) => i.appId === APPS.learningHub).map((i) => i.userId));
  const waiting = state.users
    .filter((u) => /^user\d{5}@/i.test(u.userPrincipalName) && !reached.has(u.id))
    .sort((a, b) => a.userPrincipalName.localeCompare(b.userPrincipalName));
  expect(waiting.length, 'users the job has not reached').toBeGreaterThan(0);
  const target = waiting[waiting.length - 1];
  const postsBefore = (await installPosts(admin)).length;

  // Installing the same app for them from their page: not sent, and why.
  await page.goto(new URL(`/users/${target.id}`, tenant.urls.portal).href);
  await waitForPortal(page);
  await appRow(page, 'available-apps', APPS.learningHub).getByRole('button').click();
  await page.getByTestId('submit-install').click();
  const item = page.getByTestId('outbox-item');
  await expect(item).toHaveAttribute('data-state', 'not-sent');
  const held = item.getByTestId('write-held');
  await expect(held).toHaveAttribute('data-held-by', 'job');
  await expect(held).toContainText('a bulk job of yours has this app for this user in its plan');
  await expect(held.getByTestId('write-held-link')).toHaveAttribute('href', '/jobs');
  expect((await installPosts(admin)).length, 'no install POST was sent').toBe(postsBefore);

  // Resumed, the job installs them, once.
  await page.goto(new URL('/jobs', tenant.urls.portal).href);
  await waitForPortal(page);
  await page.getByTestId('job-list-row').getByRole('button', { name: 'Resume' }).click();
  await expect(page.getByTestId('job-active')).toHaveAttribute('data-status', 'finished', { timeout: 150_000 });
  await expect(page.getByTestId('job-count-refused')).toHaveCount(0);
  await expectInstalledOncePerUser(admin, 40);
});

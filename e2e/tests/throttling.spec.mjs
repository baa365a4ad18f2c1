// Throttling across time (issue #22), against a dev tenant that lets one install a second
// through, every 429 saying `Retry-After` (and refusing anything sent before it runs out): a
// 10-user install job ends with all ten installed and none refused; and a reload inside a
// Retry-After sends no install before it has run out. The dev tenant's request log (inner $batch
// requests included) says what Graph ran and answered; the browser's own request timings give
// the times to the millisecond (the log's are whole seconds).
import { test, expect, closePages, waitForPortal } from './fixtures.mjs';
import { startDevTenant } from '../devtenant.mjs';
import { ADMIN, signInAs, adminOf } from './portal.mjs';
import { INSTALL, upns, planJob, installPosts as postsOf, expectInstalledOncePerUser } from './jobs.mjs';

let tenant;
test.afterEach(async ({ context }) => { await closePages(context); await tenant?.stop(); });

const admin = (...args) => adminOf(tenant)(...args);
const USERS = 10;

/** Graph's published Teams limits, but installs at one a second, each 429 saying `retryAfterS`. */
const oneInstallASecond = (retryAfterS) => ({
  getInstalledApps: 30, getAppCatalogs: 30, postInstalledApps: 1, deleteInstalledApps: 15, otherTeams: 30, retryAfterS,
});

/** A dev tenant with ten more users; the admin signed in with an install job for them planned. */
async function planInstallJob(page) {
  tenant = await startDevTenant(['--users', String(USERS), '--latency-ms', '50', '--log-capacity', '100000']);
  await admin('POST', '/adminConsent', {});
  await signInAs(page, tenant, ADMIN);
  await page.goto(new URL('/jobs', tenant.urls.portal).href);
  await waitForPortal(page);
  await planJob(page, upns(USERS), { expectInstalls: true });
}

/** The install POSTs Graph ran, alone or inside a $batch, in the order it ran them. */
const installPosts = () => postsOf(admin);

/** The job finished with every user installed, none refused or unsettled; one install each. */
async function expectAllInstalledOnce(page) {
  await expect(page.getByTestId('job-active')).toHaveAttribute('data-status', 'finished', { timeout: 90_000 });
  await expect(page.getByTestId('job-done')).toHaveText(String(USERS));
  await expect(page.getByTestId('job-count-applied')).toContainText(String(USERS));
  await expect(page.getByTestId('job-count-refused')).toHaveCount(0);
  await expect(page.getByTestId('job-count-unsettled')).toHaveCount(0);
  await expectInstalledOncePerUser(admin, USERS);
  const applied = (await installPosts()).filter((e) => e.status >= 200 && e.status < 300);
  expect(applied.length, 'successful install POSTs').toBe(USERS);
}

test('a 10-user job throttled to one install a second installs all ten and refuses no one', async ({ page }) => {
  test.setTimeout(150_000);
  await planInstallJob(page);
  await admin('PUT', '/throttle', oneInstallASecond(1));
  await page.getByTestId('job-confirm').click();
  await expect(page.getByTestId('job-active')).toBeVisible();
  await expectAllInstalledOnce(page);
  // It was throttled throughout: each user but the first met at least one 429.
  const throttled = (await installPosts()).filter((e) => e.status === 429);
  expect(throttled.length, '429s to installs').toBeGreaterThanOrEqual(USERS - 1);
});

test('a reload inside a Retry-After sends no install before it runs out', async ({ page }) => {
  test.setTimeout(150_000);
  // Long enough for the reload and the resume to land well inside it.
  const RETRY_AFTER_S = 15;
  await planInstallJob(page);
  // Every $batch the page (before and after the reload) got an answer to: its installs with
  // their statuses, and when the browser sent it and had its whole answer.
  const batches = [];
  page.on('requestfinished', async (request) => {
    if (!request.url().endsWith('/$batch')) return;
    const timing = request.timing();
    const answer = await (await request.response())?.json().catch(() => null);
    const statusOf = (id) => answer?.responses?.find((r) => r.id === id)?.status;
    const sent = request.postDataJSON()?.requests ?? [];
    batches.push({
      startedAt: timing.startTime,
      answeredAt: timing.startTime + timing.responseEnd,
      installs: sent.filter((r) => r.method === 'POST' && INSTALL.test(r.url)).map((r) => statusOf(r.id)),
    });
  });
  await admin('PUT', '/throttle', oneInstallASecond(RETRY_AFTER_S));
  await page.getByTestId('job-confirm').click();

  // The first batch: one install goes through, the nine others are told to wait 15 s.
  await expect.poll(() => batches.some((b) => b.installs.includes(429)), { timeout: 30_000 }).toBe(true);
  const throttled = batches.find((b) => b.installs.includes(429));
  expect(throttled.installs.filter((s) => s === 429)).toHaveLength(USERS - 1);
  const until = throttled.answeredAt + RETRY_AFTER_S * 1000;
  // The portal has taken the answer in (and stored it) once the one install shows as done.
  await expect(page.getByTestId('job-done')).toHaveText('1');

  const before = batches.length;
  await page.reload();
  await waitForPortal(page);
  // Resuming after a reload may ask first.
  const resume = page.getByTestId('resume-yes');
  await expect(resume.or(page.getByTestId('job-active'))).toBeVisible({ timeout: 20_000 });
  if (await resume.isVisible()) await resume.click();
  await expect(page.getByTestId('job-active')).toHaveAttribute('data-status', 'running');
  expect(Date.now(), 'the job runs again inside the Retry-After (else this test proves nothing)').toBeLessThan(until);

  // The first install the resumed job sends leaves once the Retry-After has run out.
  await expect.poll(() => batches.slice(before).some((b) => b.installs.length > 0), { timeout: 30_000 }).toBe(true);
  const first = batches.slice(before).find((b) => b.installs.length > 0);
  expect(first.startedAt - until, 'ms between the end of the Retry-After and the first install after the reload')
    .toBeGreaterThanOrEqual(0);
  // The dev tenant refuses anything sent inside a Retry-After it gave: the first install it ran
  // after the throttled batch went through, and it ran none in between.
  const posts = await installPosts();
  const firstBatch = posts[0].batch?.seq;
  expect(posts.slice(0, USERS).every((e) => e.batch?.seq === firstBatch)).toBe(true);
  expect(posts[USERS].status, 'the first install Graph ran after the reload').toBe(201);

  // The rest at a one-second Retry-After, to the end.
  await admin('PUT', '/throttle', oneInstallASecond(1));
  await expectAllInstalledOnce(page);
});

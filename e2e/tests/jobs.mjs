// What the job specs share: the dev tenant's generated users, planning a job on Bulk jobs, the
// checks that every user has the app once and that Graph never ran two successful install POSTs
// for one user, and reading the CSVs the portal exports.
import { expect } from './fixtures.mjs';
import { APPS } from './portal.mjs';

/** The dev tenant's `--users N` users: `user00001@contoso.onmicrosoft.com`, … */
export const upn = (n) => `user${String(n).padStart(5, '0')}@contoso.onmicrosoft.com`;

/** The first `count` generated users' UPNs. */
export const upns = (count) => Array.from({ length: count }, (_, i) => upn(i + 1));

/** An install: `POST /users/{id}/teamwork/installedApps` (inside a batch, or a log path). */
export const INSTALL = /\/users\/[^/]+\/teamwork\/installedApps$/i;

/** The install POSTs Graph ran, alone or inside a $batch, in the order it ran them. */
export async function installPosts(admin) {
  const log = await admin('GET', '/log');
  return log.filter((e) => (e.origin === 'graph' || e.origin === 'graph-batch') && e.method === 'POST' && INSTALL.test(e.path));
}

/**
 * On Bulk jobs (already open, signed in), plans `action` of `app` for `users` (UPNs): `share`
 * (a percentage of the pace) when given, `beforeDryRun` (e.g. a consent choice) before the dry
 * run; with `expectInstalls`, waits for a plan installing every one of them.
 */
export async function planJob(page, users, {
  app = APPS.learningHub, action = 'install', share, beforeDryRun, expectInstalls = false, timeout = 60_000,
} = {}) {
  await page.getByTestId('users-text').fill(users.join('\n'));
  await page.getByTestId('users-read').click();
  await expect(page.getByTestId('users-count')).toHaveText(`${users.length} users, 0 rows not used`);
  await page.getByTestId('job-app').selectOption(app);
  await page.getByTestId('job-action').selectOption(action);
  if (share !== undefined) await page.getByTestId('job-share').selectOption(String(share));
  if (beforeDryRun) await beforeDryRun();
  await page.getByTestId('job-dry-run').click();
  if (expectInstalls) {
    await expect(page.getByTestId('plan-count-install')).toContainText(String(users.length), { timeout });
  }
}

/**
 * The dev tenant's state and log after an install job of `app` for the first `count` generated
 * users: each has it once, and no user had two successful install POSTs (inner $batch requests
 * included; with `wholeLog`, the log must have kept every entry since the dev tenant started).
 * Answers the successful POSTs per user.
 */
export async function expectInstalledOncePerUser(admin, count, { app = APPS.learningHub, wholeLog = false } = {}) {
  const state = await admin('GET', '/state');
  const ids = new Map(state.users.map((u) => [u.userPrincipalName.toLowerCase(), u.id]));
  for (let n = 1; n <= count; n += 1) {
    const mine = state.installations.filter((i) => i.userId === ids.get(upn(n)) && i.appId === app);
    expect(mine.length, `${upn(n)} installations`).toBe(1);
  }
  const log = await admin('GET', '/log');
  if (wholeLog) expect(log[0].seq, 'the log kept every entry').toBe(1);
  const perUser = new Map();
  for (const e of log) {
    if ((e.origin === 'graph' || e.origin === 'graph-batch') && e.method === 'POST' && e.status >= 200 && e.status < 300
      && INSTALL.test(e.path)) {
      const parts = e.path.split('/');
      const user = decodeURIComponent(parts[parts.indexOf('users') + 1]).toLowerCase();
      perUser.set(user, (perUser.get(user) ?? 0) + 1);
    }
  }
  expect([...perUser.values()].filter((posts) => posts > 1), 'users with two successful install POSTs').toEqual([]);
  return perUser;
}

/** A CSV (RFC 4180, as the csv crate writes it) as rows of cells. */
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i += 1; } else if (c === '"') quoted = false; else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(cell); cell = ''; } else if (c === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; } else if (c !== '\r') cell += c;
  }
  if (cell !== '' || row.length) { row.push(cell); rows.push(row); }
  return rows;
}

/** A CSV as objects by its header (rows of another length left out). */
export function csvRecords(text) {
  const [header, ...rest] = parseCsv(text);
  return rest.filter((r) => r.length === header.length).map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
}

// The journey benchmark (issue #24): the paths administrators and members actually take, timed
// end to end in headless Chromium against a build served the way a static host serves it
// (`static-server.mjs`: brotli, caching headers, the security headers of `dist/_headers`), with
// the dev tenant as Entra ID and Graph. Each journey runs in a fresh browser context:
//
//   J1  first visit → sign in as an administrator → search "adele" → her installed apps shown
//   J2  signed in, HTTP cache cleared, open /users/{adele} → installed apps shown
//   J3  the same, warm cache (the page was opened once before)
//   M1  a member's first visit → sign in → My apps shown
//   M2  signed in, warm cache, open /my-apps → My apps shown
//
// "Shown" is the moment the installations table (or its "no installations" note) enters the
// DOM, taken in the page by a MutationObserver (`performance.timeOrigin + performance.now()`);
// a journey starts when the script asks for its first navigation. J2, J3 and M2 sign in (and
// warm up) unthrottled, wait for the network to go quiet, then measure one navigation.
//
// Two network rows: slow 4G with a 4× slower CPU (Lighthouse's mobile slow 4G figures: 150 ms
// round trip, 1.6 Mbit/s down, 750 kbit/s up, through CDP `Network.emulateNetworkConditions`
// on the page, which also holds for its dedicated worker's requests; `Emulation.setCPUThrottlingRate`
// 4 on the page's main thread: the sign-in worker's thread is not slowed, Chromium throttles the
// page's thread only), and loopback (no throttling). Two builds side by side, interleaved run by
// run: the current `dist/` and a reference, any built dist given with `--reference DIR`
// (required: another commit's release build kept aside).
//
// Reported per journey, row and build: the median time of N runs; the bytes on the wire (the
// sum of `encodedDataLength` of `Network.loadingFinished` over the page and its workers, for the
// requests started before the end mark: a response served from the HTTP cache counts its
// headers at most); the document loads (main-frame navigations); the requests on the critical
// path (those started before the end mark, CORS preflights included). The waterfall of J3 and
// M2 (slow 4G, the run nearest the median) is printed request by request.
//
// The measuring side is a second DevTools connection (`--remote-debugging-port` on loopback):
// Playwright drives the page, and this script's own flat CDP sessions see the page and, through
// auto-attach, the sign-in worker (Playwright's CDP sessions cannot reach a worker's target).
//
//   node bench/journeys.mjs [--runs 3] [--dist ../dist] [--reference DIR] [--only J1,M2]
//                           [--rows slow4g,loopback] [--page-size N] [--first-load CUR,REF]
//                           [--json FILE]
// Prints figures; asserts nothing. DEVTENANT_BIN names the dev tenant binary.
import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDevTenant, devTenantAdmin } from '../devtenant.mjs';
import { startStaticServer } from './static-server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');

const ADMIN = 'megan.bowen@contoso.onmicrosoft.com';
const MEMBER = 'zoe.muller@contoso.onmicrosoft.com';
const SEARCH = 'adele';
const SHOWN = '[data-testid="installations"], [data-testid="no-installations"]';

/** Lighthouse's mobile slow 4G (150 ms RTT, 1.6 Mbit/s down, 750 kbit/s up) and a 4× CPU. */
export const ROWS = {
  slow4g: {
    label: 'slow 4G + 4× CPU',
    network: { offline: false, latency: 150, downloadThroughput: 1_600_000 / 8, uploadThroughput: 750_000 / 8 },
    cpu: 4,
  },
  loopback: { label: 'loopback', network: null, cpu: 1 },
};

// ---------------------------------------------------------------------------------------------
// Arguments

function parseArgs(argv) {
  const options = {
    runs: 3, dist: path.join(repo, 'dist'), reference: null, only: ['J1', 'J2', 'J3', 'M1', 'M2'],
    rows: ['slow4g', 'loopback'], pageSize: null, firstLoad: null, json: null,
  };
  for (let i = 0; i < argv.length; i += 1) {
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${argv[i]} needs a value`);
      i += 1;
      return argv[i];
    };
    switch (argv[i]) {
      case '--runs': options.runs = Number(value()); break;
      case '--dist': options.dist = path.resolve(value()); break;
      case '--reference': options.reference = path.resolve(value()); break;
      case '--only': options.only = value().split(',').map((s) => s.trim().toUpperCase()); break;
      case '--rows': options.rows = value().split(',').map((s) => s.trim()); break;
      case '--page-size': options.pageSize = Number(value()); break;
      case '--first-load': options.firstLoad = value().split(',').map(Number); break;
      case '--json': options.json = path.resolve(value()); break;
      default: throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  if (!Number.isInteger(options.runs) || options.runs < 1) throw new Error('--runs takes a whole number ≥ 1');
  for (const j of options.only) if (!JOURNEYS[j]) throw new Error(`unknown journey ${j} (J1, J2, J3, M1, M2)`);
  for (const r of options.rows) if (!ROWS[r]) throw new Error(`unknown row ${r} (slow4g, loopback)`);
  return options;
}

// ---------------------------------------------------------------------------------------------
// A DevTools protocol connection of our own (flat sessions), beside Playwright's.

const WebSocketImpl = globalThis.WebSocket ?? createRequire(import.meta.url)('playwright-core/lib/utilsBundle').ws;

class Cdp {
  static async connect(url) {
    const socket = new WebSocketImpl(url);
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = (e) => reject(new Error(`DevTools connection to ${url}: ${e.message ?? 'failed'}`));
    });
    return new Cdp(socket);
  }

  constructor(socket) {
    this.socket = socket;
    this.next = 1;
    this.pending = new Map();
    this.listeners = new Set();
    socket.onmessage = (event) => {
      const message = JSON.parse(typeof event.data === 'string' ? event.data : event.data.toString());
      if (message.id !== undefined) {
        const call = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (!call) return;
        if (message.error) call.reject(new Error(`${call.method}: ${message.error.message}`));
        else call.resolve(message.result);
      } else {
        for (const listener of this.listeners) listener(message);
      }
    };
  }

  send(method, params = {}, sessionId = undefined) {
    const id = this.next;
    this.next += 1;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
      this.socket.send(JSON.stringify({ id, method, params, sessionId }));
    });
  }

  listen(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close() { this.socket.close(); }
}

/**
 * Watches one page and its workers through `cdp`: every request (start and end as epoch ms,
 * bytes, status), the main-frame navigations, and the throttling of the page.
 */
class Probe {
  static async attach(cdp, page) {
    const playwrightSession = await page.context().newCDPSession(page);
    const { targetInfo } = await playwrightSession.send('Target.getTargetInfo');
    await playwrightSession.detach();
    const { sessionId } = await cdp.send('Target.attachToTarget', { targetId: targetInfo.targetId, flatten: true });
    const probe = new Probe(cdp, sessionId, targetInfo.targetId);
    await Promise.all([
      cdp.send('Network.enable', {}, sessionId),
      cdp.send('Page.enable', {}, sessionId),
    ]);
    // Workers (the sign-in worker) wait for us to enable their network domain before they run.
    await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: true, flatten: true }, sessionId);
    return probe;
  }

  constructor(cdp, sessionId, targetId) {
    this.cdp = cdp;
    this.sessionId = sessionId;
    this.mainFrame = targetId;
    this.sessions = new Set([sessionId]);
    this.requests = new Map();
    this.navigations = [];
    this.unlisten = cdp.listen((message) => this.onMessage(message));
  }

  onMessage({ method, params, sessionId }) {
    if (!this.sessions.has(sessionId)) return;
    const now = performance.timeOrigin + performance.now();
    switch (method) {
      case 'Target.attachedToTarget': {
        const child = params.sessionId;
        this.sessions.add(child);
        const run = () => this.cdp.send('Runtime.runIfWaitingForDebugger', {}, child).catch(() => {});
        if (params.targetInfo.type === 'worker') {
          // (Its CPU cannot be slowed: Chromium throttles pages only.)
          this.cdp.send('Network.enable', {}, child).catch(() => {}).then(run);
        } else {
          run();
        }
        break;
      }
      case 'Target.detachedFromTarget': this.sessions.delete(params.sessionId); break;
      case 'Page.frameNavigated':
        if (!params.frame.parentId && params.type !== 'BackForwardCacheRestore') this.navigations.push({ at: now, url: params.frame.url });
        break;
      case 'Network.requestWillBeSent': {
        if (params.request.url.startsWith('data:')) break;
        const previous = this.requests.get(params.requestId);
        if (previous && params.redirectResponse) {
          // A redirect: the hop ends here and the same id goes on to the new address.
          previous.end = toEpoch(previous, params.timestamp);
          previous.bytes = params.redirectResponse.encodedDataLength ?? 0;
          previous.status = params.redirectResponse.status;
          this.requests.set(`${params.requestId}#${previous.start}`, previous);
        }
        this.requests.set(params.requestId, {
          url: params.request.url,
          method: params.request.method,
          type: params.type,
          start: params.wallTime * 1000,
          offset: params.wallTime * 1000 - params.timestamp * 1000,
          end: null,
          bytes: 0,
          status: null,
          cached: false,
          document: params.type === 'Document' && params.frameId === this.mainFrame,
        });
        break;
      }
      case 'Network.responseReceived': {
        const request = this.requests.get(params.requestId);
        if (request) {
          request.status = params.response.status;
          request.cached ||= Boolean(params.response.fromDiskCache || params.response.fromPrefetchCache);
        }
        break;
      }
      case 'Network.responseReceivedExtraInfo': {
        // The status on the wire: 304 when a cached copy was revalidated.
        const request = this.requests.get(params.requestId);
        if (request) request.wireStatus = params.statusCode;
        break;
      }
      case 'Network.requestServedFromCache': {
        const request = this.requests.get(params.requestId);
        if (request) request.cached = true;
        break;
      }
      case 'Network.loadingFinished': {
        const request = this.requests.get(params.requestId);
        if (request) { request.end = toEpoch(request, params.timestamp); request.bytes = params.encodedDataLength; }
        break;
      }
      case 'Network.loadingFailed': {
        const request = this.requests.get(params.requestId);
        if (request) { request.end = toEpoch(request, params.timestamp); request.failed = params.errorText; }
        break;
      }
      default:
    }
  }

  async throttle(row) {
    if (row.network) await this.cdp.send('Network.emulateNetworkConditions', row.network, this.sessionId);
    if (row.cpu > 1) await this.cdp.send('Emulation.setCPUThrottlingRate', { rate: row.cpu }, this.sessionId);
  }

  clearCache() { return this.cdp.send('Network.clearBrowserCache', {}, this.sessionId); }

  /** Requests still in flight. */
  inFlight() { return [...this.requests.values()].filter((r) => r.end === null); }

  /** Waits until no request has been in flight for `quietMs` (at most `maxMs`). */
  async quiet(quietMs = 500, maxMs = 15_000) {
    const until = Date.now() + maxMs;
    let quietSince = Date.now();
    while (Date.now() < until) {
      if (this.inFlight().length > 0) quietSince = Date.now();
      else if (Date.now() - quietSince >= quietMs) return;
      await sleep(50);
    }
  }

  /** Waits until every request started before `end` has finished (at most `maxMs`). */
  async settle(end, maxMs = 15_000) {
    const until = Date.now() + maxMs;
    while (Date.now() < until && this.inFlight().some((r) => r.start < end)) await sleep(50);
  }

  /** The figures of the window [start, end]. */
  summary(start, end) {
    const requests = [...this.requests.values()]
      .filter((r) => r.start >= start && r.start < end)
      .sort((a, b) => a.start - b.start);
    return {
      ms: end - start,
      bytes: requests.reduce((sum, r) => sum + (r.bytes ?? 0), 0),
      documents: this.navigations.filter((n) => n.at >= start && n.at <= end + 50).length,
      documentUrls: this.navigations.filter((n) => n.at >= start && n.at <= end + 50).map((n) => n.url),
      critical: requests.length,
      bytesByOrigin: requests.reduce((by, r) => {
        const origin = new URL(r.url).origin;
        by[origin] = (by[origin] ?? 0) + (r.bytes ?? 0);
        return by;
      }, {}),
      waterfall: requests.map((r) => ({
        start: r.start - start,
        end: r.end === null ? null : r.end - start,
        method: r.method,
        url: r.url,
        type: r.type,
        status: r.wireStatus === 304 ? 304 : r.status,
        bytes: r.bytes ?? 0,
        cached: r.cached,
        failed: r.failed ?? null,
      })),
    };
  }

  async detach() {
    this.unlisten();
    await this.cdp.send('Target.detachFromTarget', { sessionId: this.sessionId }).catch(() => {});
  }
}

const toEpoch = (request, timestamp) => timestamp * 1000 + request.offset;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// The journeys

/** Runs in every document: marks the moment the installations (or "none") enter the DOM. */
function endMark(selector) {
  const mark = () => {
    if (window.__journeyEnd !== undefined || !document.querySelector(selector)) return;
    window.__journeyEnd = performance.timeOrigin + performance.now();
    window.__journeyEndPath = location.pathname;
  };
  new MutationObserver(mark).observe(document, { childList: true, subtree: true });
}

const STEP_TIMEOUT = 180_000;

async function signIn(page, origin, upn) {
  await page.goto(`${origin}/`, { waitUntil: 'commit', timeout: STEP_TIMEOUT });
  await page.getByTestId('sign-in').click({ timeout: STEP_TIMEOUT });
  await page.locator(`button[data-upn="${upn}"]`).click({ timeout: STEP_TIMEOUT });
  await page.getByTestId('account-name').waitFor({ timeout: STEP_TIMEOUT });
}

async function waitShown(page) {
  await page.locator(SHOWN).first().waitFor({ state: 'attached', timeout: STEP_TIMEOUT });
  return page.evaluate(() => ({ end: window.__journeyEnd, path: window.__journeyEndPath }));
}

/** Each journey: `setup` (unmeasured) then `measured`, which returns once the end mark is set. */
const JOURNEYS = {
  J1: {
    what: 'first visit → sign in (admin) → search "adele" → her installed apps',
    expect: (ids) => `/users/${ids.adele}`,
    measured: async (page, origin, ids) => {
      await signIn(page, origin, ADMIN);
      await page.getByTestId('user-search').fill(SEARCH, { timeout: STEP_TIMEOUT });
      await page.locator(`[data-testid="user-results"] [data-user-id="${ids.adele}"]`).click({ timeout: STEP_TIMEOUT });
    },
  },
  J2: {
    what: 'signed in, HTTP cache cleared, open /users/{adele}',
    expect: (ids) => `/users/${ids.adele}`,
    setup: async (page, origin, ids, probe) => {
      await signIn(page, origin, ADMIN);
      await probe.quiet();
      await probe.clearCache();
    },
    measured: async (page, origin, ids) => {
      await page.goto(`${origin}/users/${ids.adele}`, { waitUntil: 'commit', timeout: STEP_TIMEOUT });
    },
  },
  J3: {
    what: 'signed in, warm cache, open /users/{adele}',
    expect: (ids) => `/users/${ids.adele}`,
    setup: async (page, origin, ids, probe) => {
      await signIn(page, origin, ADMIN);
      await page.goto(`${origin}/users/${ids.adele}`, { waitUntil: 'commit', timeout: STEP_TIMEOUT });
      await waitShown(page);
      await probe.quiet();
    },
    measured: async (page, origin, ids) => {
      await page.goto(`${origin}/users/${ids.adele}`, { waitUntil: 'commit', timeout: STEP_TIMEOUT });
    },
  },
  M1: {
    what: 'first visit → sign in (member) → My apps',
    expect: () => '/my-apps',
    measured: async (page, origin) => {
      await signIn(page, origin, MEMBER);
    },
  },
  M2: {
    what: 'signed in, warm cache, open /my-apps',
    expect: () => '/my-apps',
    setup: async (page, origin, ids, probe) => {
      await signIn(page, origin, MEMBER);
      await page.goto(`${origin}/my-apps`, { waitUntil: 'commit', timeout: STEP_TIMEOUT });
      await waitShown(page);
      await probe.quiet();
    },
    measured: async (page, origin) => {
      await page.goto(`${origin}/my-apps`, { waitUntil: 'commit', timeout: STEP_TIMEOUT });
    },
  },
};

async function runJourney({ browser, cdp, name, build, row, ids }) {
  const journey = JOURNEYS[name];
  const context = await browser.newContext();
  try {
    await context.addInitScript(endMark, SHOWN);
    const page = await context.newPage();
    const probe = await Probe.attach(cdp, page);
    try {
      if (journey.setup) await journey.setup(page, build.origin, ids, probe);
      await probe.throttle(row);
      const start = performance.timeOrigin + performance.now();
      await journey.measured(page, build.origin, ids);
      const { end, path: endPath } = await waitShown(page);
      if (typeof end !== 'number') throw new Error('the end mark was not set');
      const expected = journey.expect(ids);
      if (endPath !== expected) throw new Error(`ended on ${endPath}, expected ${expected}`);
      await probe.settle(end);
      return probe.summary(start, end);
    } catch (error) {
      const text = await page.locator('body').innerText({ timeout: 2_000 }).catch(() => '(no text)');
      throw new Error(`${name} on ${build.label} (${row.label}) at ${page.url()}: ${error.message}\npage text: ${text.slice(0, 600)}`);
    } finally {
      await probe.detach();
    }
  } finally {
    await context.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Figures

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const seconds = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`);
const kb = (bytes) => `${(bytes / 1000).toFixed(1)} KB`;

function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  // Columns of text (the first, and any whose cells are not all figures) are aligned left.
  const left = header.map((_, i) => i === 0 || rows.some((r) => !/^[\d.,]*( ?(ms|s|KB))?$/.test(String(r[i]))));
  const line = (cells) => `| ${cells.map((c, i) => (left[i] ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join(' | ')} |`;
  return [line(header), `|${widths.map((w, i) => (left[i] ? ':' : '') + '-'.repeat(w + 1) + (left[i] ? '' : ':')).join('|')}|`, ...rows.map(line)].join('\n');
}

/** The run of `samples` whose time is nearest the median. */
const nearestMedian = (samples) => {
  const m = median(samples.map((s) => s.ms));
  return samples.reduce((best, s) => (Math.abs(s.ms - m) < Math.abs(best.ms - m) ? s : best));
};

function describeUrl(url, origins) {
  const u = new URL(url);
  const who = Object.entries(origins).find(([, o]) => o === u.origin)?.[0] ?? u.origin;
  return `${who} ${u.pathname}${u.search.length > 60 ? `${u.search.slice(0, 57)}…` : u.search}`;
}

function waterfall(summary, origins) {
  const rows = summary.waterfall.map((r) => [
    Math.round(r.start),
    r.end === null ? '…' : Math.round(r.end),
    `${r.method} ${describeUrl(r.url, origins)}`,
    r.failed ? `failed (${r.failed})` : `${r.status ?? '?'}${r.cached ? ' (cache)' : ''}`,
    r.bytes,
  ]);
  return table(['start ms', 'end ms', 'request', 'status', 'bytes'], rows);
}

// ---------------------------------------------------------------------------------------------
// Main

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => { const { port } = server.address(); server.close(() => resolve(port)); });
  });
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (!options.reference) {
    console.error('journeys: --reference DIR is required (a release build of another commit, its dist/ kept aside)');
    process.exit(2);
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'journeys-'));
  const builds = [
    { key: 'current', label: 'current', short: 'current', ...(await startStaticServer({ dist: options.dist })) },
    {
      key: 'reference',
      label: `reference (${options.reference})`,
      short: 'reference',
      ...(await startStaticServer({ dist: options.reference })),
    },
  ];
  // The dev tenant's own seed, with both static origins as SPA redirect URIs of the portal.
  const seed = JSON.parse(fs.readFileSync(path.join(repo, 'devtenant', 'seed', 'tenant.json'), 'utf8'));
  for (const build of builds) seed.applications[0].spaRedirectUris.push(`${build.origin}/`);
  const seedPath = path.join(work, 'seed.json');
  fs.writeFileSync(seedPath, JSON.stringify(seed));
  process.env.PORTAL_DIST ??= options.dist;
  const extra = ['--seed', seedPath];
  if (options.pageSize !== null) extra.push('--page-size', String(options.pageSize));
  const tenant = await startDevTenant(extra);
  const ids = { adele: seed.users.find((u) => u.userPrincipalName.startsWith(`${SEARCH}.`)).id };
  for (const build of builds) {
    build.setConfig(JSON.stringify({
      clientId: tenant.urls.clientId,
      tenant: tenant.urls.tenant,
      cloud: 'global',
      redirectUri: `${build.origin}/`,
      authority: tenant.urls.identity,
      graphBase: tenant.urls.graph,
      tokenCache: 'session',
    }));
  }
  // The organisation consented to every scope the portal asks for: no consent page.
  await devTenantAdmin(tenant.urls, 'POST', '/adminConsent', {});

  const port = await freePort();
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic',
      '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--remote-debugging-address=127.0.0.1`, `--remote-debugging-port=${port}`],
  });
  const results = {};
  const runs = [];
  try {
    const version = await (await fetch(`http://127.0.0.1:${port}/json/version`)).json();
    const cdp = await Cdp.connect(version.webSocketDebuggerUrl);
    console.log(`journeys ${options.only.join(', ')} × ${options.rows.map((r) => ROWS[r].label).join(', ')} × ${builds.map((b) => b.short).join(', ')}, ${options.runs} interleaved run(s); ${version.Browser}`);
    for (let run = 0; run < options.runs; run += 1) {
      for (const rowKey of options.rows) {
        for (const name of options.only) {
          // Alternate which build goes first, run by run.
          const order = run % 2 === 0 ? builds : [...builds].reverse();
          for (const build of order) {
            const summary = await runJourney({ browser, cdp, name, build, row: ROWS[rowKey], ids });
            const key = `${name}/${rowKey}/${build.key}`;
            (results[key] ??= []).push(summary);
            // The machine's load: other work on the cores shows in the times.
            const load = os.loadavg()[0];
            runs.push({ run, journey: name, row: rowKey, build: build.key, ms: summary.ms, bytes: summary.bytes, documents: summary.documents, critical: summary.critical, load });
            console.log(`run ${run + 1}  ${name}  ${ROWS[rowKey].label.padEnd(16)}  ${build.short.padEnd(9)}  ${seconds(summary.ms).padStart(8)}  ${kb(summary.bytes).padStart(9)}  ${summary.documents} document load(s)  ${summary.critical} requests  (load ${load.toFixed(1)})`);
          }
        }
      }
    }
    cdp.close();
  } finally {
    await browser.close();
    await tenant.stop();
    for (const build of builds) await build.close();
    fs.rmSync(work, { recursive: true, force: true });
  }

  const origins = { portal: builds[0].origin, 'portal(reference)': builds[1].origin, identity: tenant.urls.identity, graph: tenant.urls.graph };
  const figure = (name, rowKey, buildKey, pick) => {
    const samples = results[`${name}/${rowKey}/${buildKey}`];
    return samples ? median(samples.map(pick)) : null;
  };
  const header = ['journey'];
  for (const rowKey of options.rows) for (const build of builds) header.push(`${ROWS[rowKey].label}: ${build.short}`);
  const detailRow = options.rows[0];
  for (const what of ['KB on the wire', 'document loads', 'critical-path requests']) for (const build of builds) header.push(`${what}: ${build.short}`);
  const rows = options.only.map((name) => {
    const cells = [name];
    for (const rowKey of options.rows) for (const build of builds) cells.push(seconds(figure(name, rowKey, build.key, (s) => s.ms)));
    for (const build of builds) cells.push(kb(figure(name, detailRow, build.key, (s) => s.bytes)));
    for (const build of builds) cells.push(figure(name, detailRow, build.key, (s) => s.documents));
    for (const build of builds) cells.push(figure(name, detailRow, build.key, (s) => s.critical));
    return cells;
  });
  if (options.firstLoad) {
    const cells = ['first load (brotli)'];
    for (let i = 0; i < options.rows.length * builds.length; i += 1) cells.push('');
    cells.push(kb(options.firstLoad[0]), kb(options.firstLoad[1]), '', '', '', '');
    rows.push(cells);
  }
  console.log(`\nmedian of ${options.runs} interleaved run(s), each journey in a fresh browser context; bytes, document loads and requests from the ${ROWS[detailRow].label} row`);
  for (const name of options.only) console.log(`  ${name}: ${JOURNEYS[name].what}`);
  console.log(`  current = ${builds[0].label}; reference = ${builds[1].label}`);
  console.log(table(header, rows));
  // Bytes, loads and requests on the other row, when they differ.
  for (const rowKey of options.rows.slice(1)) {
    const other = options.only.map((name) => [name, ...builds.flatMap((b) => [
      kb(figure(name, rowKey, b.key, (s) => s.bytes)), figure(name, rowKey, b.key, (s) => s.documents), figure(name, rowKey, b.key, (s) => s.critical)])]);
    console.log(`\n${ROWS[rowKey].label}: bytes, document loads, critical-path requests`);
    console.log(table(['journey', ...builds.flatMap((b) => [`KB: ${b.short}`, `loads: ${b.short}`, `requests: ${b.short}`])], other));
  }
  // Where the bytes come from: the static host (page, bundles, the worker's files), the sign-in
  // pages and endpoints (the dev tenant's account picker stands in for Entra's), Graph.
  const byOrigin = (name, build) => {
    const samples = results[`${name}/${detailRow}/${build.key}`];
    const sum = (o) => median(samples.map((s) => s.bytesByOrigin[o] ?? 0));
    return [kb(sum(build.origin)), kb(sum(tenant.urls.identity)), kb(sum(tenant.urls.graph))];
  };
  console.log(`\n${ROWS[detailRow].label}: KB on the wire by origin (static host, identity, Graph)`);
  console.log(table(
    ['journey', ...builds.flatMap((b) => [`static: ${b.short}`, `identity: ${b.short}`, `Graph: ${b.short}`])],
    options.only.map((name) => [name, ...builds.flatMap((b) => byOrigin(name, b))]),
  ));
  for (const name of ['J3', 'M2'].filter((n) => options.only.includes(n))) {
    for (const build of builds) {
      const samples = results[`${name}/${detailRow}/${build.key}`];
      const pick = nearestMedian(samples);
      console.log(`\nwaterfall ${name}, ${build.short}, ${ROWS[detailRow].label} (run of ${seconds(pick.ms)}; times from the journey's start; end mark at ${Math.round(pick.ms)} ms)`);
      console.log(waterfall(pick, origins));
    }
  }
  if (options.json) {
    fs.mkdirSync(path.dirname(options.json), { recursive: true });
    fs.writeFileSync(options.json, JSON.stringify({ options, origins, runs, results }, null, 1));
    console.log(`\nevery run and waterfall: ${options.json}`);
  }
}

await main();

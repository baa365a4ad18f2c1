// Starts the dev tenant binary (built by `cargo xtask`) and waits for its "devtenant ready" line;
// helpers to drive its admin endpoint (faults, run-time options, the request log, the state).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');

export async function startDevTenant(extraArgs = []) {
  // Each dev tenant gets free ports; tests that change faults or the clock start their own.
  const bin = process.env.DEVTENANT_BIN ?? path.join(root, 'target', 'debug', 'devtenant');
  const dist = process.env.PORTAL_DIST ?? path.join(root, 'dist');
  const child = spawn(bin, ['--host', '127.0.0.1', '--portal-port', '0', '--dist', dist, ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const urls = await new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`dev tenant did not start in 20 s: ${stderr}`)), 20_000);
    child.on('error', (err) => { clearTimeout(timer); reject(new Error(`cannot start ${bin}: ${err.message}`)); });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`dev tenant exited with ${code}: ${stderr}`)); });
    child.stdout.on('data', (chunk) => {
      buffer += chunk;
      const line = buffer.split('\n').find((l) => l.startsWith('devtenant ready '));
      if (line) { clearTimeout(timer); resolve(JSON.parse(line.slice('devtenant ready '.length))); }
    });
  });
  child.removeAllListeners('exit');
  const call = (method, p, body) => devTenantAdmin(urls, method, p, body);
  return {
    urls,
    pid: child.pid,
    /** A request to the admin endpoint, e.g. `admin('GET', '/state')`. */
    admin: call,
    /** Replaces every fault setting (absent fields are off): `setFaults({ applyThenErrorNext: 1 })`. */
    setFaults: (faults) => call('PUT', '/faults', faults),
    /** Changes run-time options: `setOptions({ selfOnly: true, pageSize: 2 })`. */
    setOptions: (options) => call('PUT', '/options', options),
    /** Graph requests in the log (preflights left out). */
    graphLog: async () => (await call('GET', '/log')).filter((e) => e.origin === 'graph' && e.method !== 'OPTIONS'),
    /** A user's installations as the dev tenant holds them (whatever reads see under a lag). */
    installationsOf: async (userId) => (await call('GET', '/state')).installations.filter((i) => i.userId === userId),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      process.kill(child.pid, 'SIGTERM');
      const timeout = setTimeout(() => { try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ } }, 5_000);
      await exited;
      clearTimeout(timeout);
    },
  };
}

/**
 * The dev tenant's flags for the faults and options of issue 9, for `startDevTenant(...)`:
 * `devTenantFlags({ applyThenErrorRate: 1, applyThenErrorStatus: 504, readAfterWriteLagMs: 2000,
 * strictSelfOnly: true, pageSize: 2, latencyMs: 3000 })`.
 */
export function devTenantFlags({
  applyThenErrorRate, applyThenErrorStatus, readAfterWriteLagMs, strictSelfOnly, pageSize, latencyMs,
  tokenErrorNext, tokenErrorStatus, grantIds, large,
} = {}) {
  const args = [];
  const add = (flag, value) => { if (value !== undefined) args.push(flag, String(value)); };
  add('--apply-then-error-rate', applyThenErrorRate);
  add('--apply-then-error-status', applyThenErrorStatus);
  add('--read-after-write-lag-ms', readAfterWriteLagMs);
  add('--page-size', pageSize);
  add('--latency-ms', latencyMs);
  add('--token-error-next', tokenErrorNext);
  add('--token-error-status', tokenErrorStatus);
  add('--grant-ids', grantIds);
  if (strictSelfOnly) args.push('--strict-self-only');
  if (large) args.push('--large');
  return args;
}

/** A request to a dev tenant's admin endpoint (`urls.admin` is `{graph}/_devtenant`). */
export async function devTenantAdmin(urls, method, p, body) {
  const response = await fetch(`${urls.admin}${p}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!response.ok) throw new Error(`dev tenant admin ${method} ${p}: ${response.status} ${await response.text()}`);
  return response.status === 204 ? null : response.json();
}

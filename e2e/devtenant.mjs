// Starts the dev tenant binary (built by `cargo xtask`) and waits for its "devtenant ready" line.
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
  return {
    urls,
    pid: child.pid,
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

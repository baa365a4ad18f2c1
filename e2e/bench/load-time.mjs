// Measures the time from navigation start to the portal shell being interactive: the
// `portal:interactive` Performance mark the app sets once the shell is mounted. Each load uses a
// fresh browser context (cold HTTP cache): signed out, and a signed-in reload (the session is
// renewed in the background, after the shell is interactive). Also the JS heap and the wasm
// memory once interactive. Prints figures; asserts nothing.
import { chromium } from '@playwright/test';
import { startDevTenant } from '../devtenant.mjs';

const loads = Number(process.argv[2] ?? 15);
const tenant = await startDevTenant();
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--enable-precise-memory-info', '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic',
         '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const measure = async (page) => {
  await page.waitForFunction(() => performance.getEntriesByName('portal:interactive').length > 0);
  return page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    return {
      interactive: performance.getEntriesByName('portal:interactive')[0].startTime,
      domContentLoaded: nav.domContentLoadedEventEnd,
      jsHeap: performance.memory?.usedJSHeapSize ?? 0,
      wasmMemory: window.__tapWasmMemory?.buffer.byteLength ?? 0,
    };
  });
};
// trunk's bootstrap announces the instance; keep its memory for the figures.
const keepWasmMemory = () => addEventListener('TrunkApplicationStarted', (e) => { window.__tapWasmMemory = e.detail.wasm.memory; });
const samples = [];
const reloads = [];
try {
  for (let i = 0; i < loads; i += 1) {
    const context = await browser.newContext();
    await context.addInitScript(keepWasmMemory);
    const page = await context.newPage();
    await page.goto(tenant.urls.portal);
    samples.push(await measure(page));
    await context.close();
  }
  // Signed-in reloads: sign in once per context, then reload (HTTP cache warm, session stored).
  for (let i = 0; i < loads; i += 1) {
    const context = await browser.newContext();
    await context.addInitScript(keepWasmMemory);
    const page = await context.newPage();
    await page.goto(tenant.urls.portal);
    await page.getByTestId('sign-in').click();
    await page.locator('button[data-upn="megan.bowen@contoso.onmicrosoft.com"]').click();
    await page.getByTestId('account-name').waitFor();
    await page.reload();
    reloads.push(await measure(page));
    await context.close();
  }
} finally {
  await browser.close();
  await tenant.stop();
}
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const interactive = samples.map((s) => s.interactive);
const dcl = samples.map((s) => s.domContentLoaded);
const ms = (v) => `${v.toFixed(1)} ms`;
console.log(`loads: ${samples.length} (cold cache each, served from 127.0.0.1)`);
console.log(`shell interactive: median ${ms(median(interactive))}, min ${ms(Math.min(...interactive))}, max ${ms(Math.max(...interactive))}`);
console.log(`DOMContentLoaded:  median ${ms(median(dcl))}`);
console.log(`samples (ms): ${interactive.map((v) => v.toFixed(1)).join(', ')}`);
const reloadInteractive = reloads.map((s) => s.interactive);
console.log(`signed-in reload, shell interactive: median ${ms(median(reloadInteractive))}, min ${ms(Math.min(...reloadInteractive))}, max ${ms(Math.max(...reloadInteractive))}`);
const mb = (v) => `${(v / 1e6).toFixed(1)} MB`;
console.log(`memory once interactive (median): JS heap ${mb(median(samples.map((s) => s.jsHeap)))}, wasm memory ${mb(median(samples.map((s) => s.wasmMemory)))}; signed-in reload: JS heap ${mb(median(reloads.map((s) => s.jsHeap)))}, wasm memory ${mb(median(reloads.map((s) => s.wasmMemory)))}`);

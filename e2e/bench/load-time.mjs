// Measures the time from navigation start to the portal shell being interactive: the
// `portal:interactive` Performance mark the app sets once the shell is mounted. Each load uses a
// fresh browser context (cold HTTP cache). Prints figures; asserts nothing.
import { chromium } from '@playwright/test';
import { startDevTenant } from '../devtenant.mjs';

const loads = Number(process.argv[2] ?? 9);
const tenant = await startDevTenant();
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic',
         '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const samples = [];
try {
  for (let i = 0; i < loads; i += 1) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(tenant.urls.portal);
    await page.waitForFunction(() => performance.getEntriesByName('portal:interactive').length > 0);
    const timing = await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      return {
        interactive: performance.getEntriesByName('portal:interactive')[0].startTime,
        domContentLoaded: nav.domContentLoadedEventEnd,
      };
    });
    samples.push(timing);
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

// Starts the dev tenant on free loopback ports for the whole run and stops it by PID afterwards.
// BASE_URL, when already set, points the tests at a portal someone else started instead.
import { startDevTenant } from './devtenant.mjs';

export default async function globalSetup() {
  if (process.env.BASE_URL) return undefined;
  const tenant = await startDevTenant();
  process.env.BASE_URL = tenant.urls.portal;
  process.env.DEVTENANT_URLS = JSON.stringify(tenant.urls);
  return async () => tenant.stop();
}

// Languages: the portal follows the browser's language, can be switched, and remembers the choice.
import { test, expect, waitForPortal } from './fixtures.mjs';

test('switching to French translates the shell and sets <html lang>', async ({ page }) => {
  await page.goto('/users');
  await waitForPortal(page);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Users');
  await page.getByRole('button', { name: 'Français' }).first().click();
  await expect(page.locator('html')).toHaveAttribute('lang', 'fr');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Utilisateurs');
  await expect(page.getByRole('navigation', { name: 'Sections' })).toContainText('Paramètres');
  await expect(page.getByTestId('account-area')).toContainText('Non connecté');
  await expect(page).toHaveTitle('Utilisateurs · Portail des applis Teams');
  await expect(page.getByRole('button', { name: 'Français' }).first()).toHaveAttribute('aria-pressed', 'true');
  // The choice survives a reload.
  await page.reload();
  await waitForPortal(page);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Utilisateurs');
  await page.getByRole('button', { name: 'English' }).first().click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Users');
});

test.describe('a French browser', () => {
  test.use({ locale: 'fr-FR' });
  test('starts in French', async ({ page }) => {
    await page.goto('/settings');
    await waitForPortal(page);
    await expect(page.locator('html')).toHaveAttribute('lang', 'fr');
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Paramètres');
  });
});

test.describe('a German browser', () => {
  test.use({ locale: 'de-DE' });
  test('falls back to English', async ({ page }) => {
    await page.goto('/settings');
    await waitForPortal(page);
    await expect(page.locator('html')).toHaveAttribute('lang', 'en');
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Settings');
  });
});

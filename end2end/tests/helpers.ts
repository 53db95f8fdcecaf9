import { Page, expect } from '@playwright/test';

/** Waits until the WebAssembly has hydrated the page (clicks before that do nothing). */
export async function hydrated(page: Page): Promise<void> {
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
}

export async function goto(page: Page, path: string): Promise<void> {
  await page.goto(path);
  await hydrated(page);
}

export async function signIn(page: Page, email: string, password: string): Promise<void> {
  await goto(page, '/login');
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Heslo').fill(password);
  await page.getByRole('button', { name: 'Přihlásit se' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Přehled' })).toBeVisible();
}

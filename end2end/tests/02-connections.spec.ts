import { test, expect } from '@playwright/test';
import { goto, signIn } from './helpers';

// Continues the story of 01-foundation: the admin connects the shop to the simulators.
test.describe.configure({ mode: 'serial' });

const ADMIN = { email: 'jana@example.cz', password: 'modry-kopec-trakar-58' };
const OPERATOR = { email: 'petr@example.cz', password: 'zeleny-most-pekar-73' };
const FAPI = { login: 'demo@fapi.example', key: 'fapi-demo-key' };
const SE = { user: 'demo@smartemailing.example', key: 'se-demo-key' };

test('an admin creates a connection; a wrong SmartEmailing key is refused first', async ({ page }) => {
  await signIn(page, ADMIN.email, ADMIN.password);
  await page.getByRole('navigation').getByRole('link', { name: 'Propojení' }).click();
  await page.getByRole('link', { name: 'Nové propojení' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Nové propojení' })).toBeVisible();

  await page.getByLabel('Název propojení').fill('Kurzy Nováková');
  await page.getByLabel('FAPI přihlašovací e-mail').fill(FAPI.login);
  await page.getByLabel('FAPI API klíč').fill(FAPI.key);
  await page.getByLabel('SmartEmailing uživatelské jméno').fill(SE.user);
  await page.getByLabel('SmartEmailing API klíč').fill('not-the-key');
  await page.getByRole('button', { name: 'Ověřit a uložit' }).click();
  await expect(page.getByRole('alert')).toContainText('Přístupy nebyly uloženy.');
  await expect(page.getByRole('alert')).toContainText('SmartEmailing: chybné přihlašovací údaje nebo API klíč');
  await expect(page.getByRole('alert')).not.toContainText('FAPI:');

  await page.getByLabel('SmartEmailing API klíč').fill(SE.key);
  await page.getByRole('button', { name: 'Ověřit a uložit' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Kurzy Nováková' })).toBeVisible();
  await expect(page.locator('.health').filter({ hasText: 'FAPI:' }).first()).toContainText('v pořádku');
  await expect(page.locator('.health').filter({ hasText: 'SmartEmailing:' }).first()).toContainText('v pořádku');
  // Keys are never sent back to the browser.
  await expect(page.getByLabel('FAPI API klíč')).toHaveValue('');
  expect(await page.content()).not.toContain(FAPI.key);
});

test('the admin edits the connection, re-tests it and rotates the webhook URL', async ({ page }) => {
  await signIn(page, ADMIN.email, ADMIN.password);
  await goto(page, '/connections');
  await page.getByRole('link', { name: 'Kurzy Nováková' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Kurzy Nováková' })).toBeVisible();

  await page.getByLabel('Název propojení').fill('Kurzy Nováková CZ');
  await page.getByRole('button', { name: 'Ověřit a uložit' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Kurzy Nováková CZ' })).toBeVisible();

  await page.getByRole('button', { name: 'Otestovat připojení' }).click();
  await expect(page.locator('.health').first()).toContainText('v pořádku');

  const url = page.getByLabel('URL notifikace (vložte do FAPI)');
  const before = await url.inputValue();
  expect(before).toMatch(/\/webhooks\/fapi\/[A-Za-z0-9_-]{40,}$/);
  await page.getByRole('button', { name: 'Vygenerovat novou adresu' }).click();
  await expect(page.getByText('Nová adresa je platná, stará přestala fungovat.')).toBeVisible();
  await expect(url).not.toHaveValue(before);
});

test('an operator sees connections but cannot edit them', async ({ page }) => {
  await signIn(page, OPERATOR.email, OPERATOR.password);
  await goto(page, '/connections');
  await expect(page.getByRole('link', { name: 'Kurzy Nováková CZ' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Nové propojení' })).toHaveCount(0);

  await page.getByRole('link', { name: 'Kurzy Nováková CZ' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Kurzy Nováková CZ' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Otestovat připojení' })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Upravit propojení' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Smazat propojení' })).toHaveCount(0);
  await expect(page.getByLabel('URL notifikace (vložte do FAPI)')).toHaveCount(0);

  await goto(page, '/connections/new');
  await expect(page.getByRole('heading', { name: 'Přístup odepřen' })).toBeVisible();
});

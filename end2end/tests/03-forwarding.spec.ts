import { test, expect, request } from '@playwright/test';
import { goto, signIn } from './helpers';
import { FAPI_SIMULATOR_PORT, SMARTEMAILING_SIMULATOR_PORT } from '../global-setup';

// Continues 02-connections: forwarding goes on, SmartEmailing fails, an operator finds the
// failed order, sees why, and sends it again once SmartEmailing is back.
test.describe.configure({ mode: 'serial' });

const ADMIN = { email: 'jana@example.cz', password: 'modry-kopec-trakar-58' };
const OPERATOR = { email: 'petr@example.cz', password: 'zeleny-most-pekar-73' };
const FAPI = `http://127.0.0.1:${FAPI_SIMULATOR_PORT}`;
const SE = `http://127.0.0.1:${SMARTEMAILING_SIMULATOR_PORT}`;

let webhook = '';

test('the admin switches forwarding on', async ({ page }) => {
  await signIn(page, ADMIN.email, ADMIN.password);
  await goto(page, '/connections');
  await page.getByRole('link', { name: 'Kurzy Nováková CZ' }).click();
  await page.getByRole('button', { name: 'Zapnout přeposílání' }).click();
  await expect(page.getByRole('button', { name: 'Vypnout přeposílání' })).toBeVisible();
  webhook = await page.getByLabel('URL notifikace (vložte do FAPI)').inputValue();
  expect(webhook).toContain('/webhooks/fapi/');
});

test('an operator finds a failed order, sees why, and retries it', async ({ page }) => {
  const api = await request.newContext();
  await api.put(`${SE}/_simulator/faults`, { data: { server_error_rate: 1.0 } });
  const created = await api.post(`${FAPI}/_simulator/orders`, {
    data: { email: 'marketa.dvorakova@seznam.cz', notify: webhook },
  });
  expect((await created.json()).notified).toBe(200);

  await signIn(page, OPERATOR.email, OPERATOR.password);
  await page.getByRole('navigation').getByRole('link', { name: 'Objednávky' }).click();
  await page.getByLabel('Synchronizace').selectOption('failed');
  await page.getByRole('button', { name: 'Filtrovat' }).click();
  const row = page.getByRole('row', { name: /marketa\.dvorakova@seznam\.cz/ });
  await expect(async () => {
    await page.reload();
    await expect(row).toBeVisible({ timeout: 1000 });
  }).toPass({ timeout: 30_000 });
  await expect(row).toContainText('chyba');
  await expect(row).toContainText('503');

  await row.getByRole('link').click();
  await expect(page.getByTestId('sync-status')).toHaveText('chyba');
  const attempts = page.locator('table').first();
  await expect(attempts).toContainText('503');
  await expect(attempts).toContainText('Simulated outage');
  await expect(page.locator('pre.payload')).toContainText('marketa.dvorakova@seznam.cz');

  await api.put(`${SE}/_simulator/faults`, { data: {} });
  await page.getByRole('button', { name: 'Odeslat znovu' }).click();
  await expect(page.getByText('Zařazeno k novému odeslání.')).toBeVisible();
  await expect(async () => {
    await page.reload();
    await expect(page.getByTestId('sync-status')).toHaveText('přeneseno', { timeout: 1000 });
  }).toPass({ timeout: 30_000 });
  await expect(page.locator('table').first()).toContainText('odesláno');
});

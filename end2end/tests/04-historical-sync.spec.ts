import { test, expect, request } from '@playwright/test';
import { goto, signIn } from './helpers';
import { FAPI_SIMULATOR_PORT } from '../global-setup';

// Continues 03-forwarding: an operator back-fills the past orders of the connection.
const OPERATOR = { email: 'petr@example.cz', password: 'zeleny-most-pekar-73' };
const FAPI = `http://127.0.0.1:${FAPI_SIMULATOR_PORT}`;

test('an operator starts a historical sync after the warning and watches it finish', async ({ page }) => {
  // Slow FAPI answers, so the run is visibly in progress for a few seconds.
  const api = await request.newContext();
  await api.put(`${FAPI}/_simulator/faults`, { data: { latency_ms: 400 } });

  await signIn(page, OPERATOR.email, OPERATOR.password);
  await goto(page, '/connections');
  await page.getByRole('link', { name: 'Kurzy Nováková CZ' }).click();
  await page.getByRole('link', { name: 'Historická synchronizace →' }).click();
  await expect(page.getByRole('heading', { name: 'Spustit historickou synchronizaci' })).toBeVisible();
  await expect(page.getByRole('note')).toContainText('„nová objednávka“');
  await expect(page.getByLabel('Propojení').first()).toHaveValue(/\d+/);

  // Without ticking the confirmation the browser does not submit.
  const startButton = page.getByRole('button', { name: 'Spustit synchronizaci' });
  await startButton.click();
  await expect(page).toHaveURL(/\/sync-history(\?|$)/);
  await page.getByLabel('Zkontroloval(a) jsem scénáře „nová objednávka“ i odesílání objednávek z FAPI.').check();
  await startButton.click();

  await expect(page).toHaveURL(/\/sync-history\/\d+$/);
  await expect(page.getByTestId('run-status')).toHaveText('běží');
  // The page updates itself: no reload from here on.
  await expect(page.getByTestId('run-status')).toHaveText('dokončeno', { timeout: 45_000 });
  await expect(page.getByRole('heading', { name: 'Synchronizace doběhla' })).toBeVisible();
  await expect(page.getByText('Nezapomeňte znovu zapnout scénáře se spouštěčem „nová objednávka“.')).toBeVisible();
  await expect(page.getByTestId('run-synced')).toContainText('0 čeká');
  await api.put(`${FAPI}/_simulator/faults`, { data: {} });

  // The run is in the history.
  await page.getByRole('link', { name: '← Historie synchronizací' }).click();
  await expect(page.locator('tr[data-status="completed"]').first()).toContainText('historická synchronizace');
});

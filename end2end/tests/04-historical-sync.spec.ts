import { test, expect, request } from '@playwright/test';
import { goto, signIn } from './helpers';
import { FAPI_SIMULATOR_PORT } from '../global-setup';

// Continues 03-forwarding: an operator back-fills the past orders of the connection; a viewer
// cannot.
test.describe.configure({ mode: 'serial' });

const ADMIN = { email: 'jana@example.cz', password: 'modry-kopec-trakar-58' };
const OPERATOR = { email: 'petr@example.cz', password: 'zeleny-most-pekar-73' };
const VIEWER = { name: 'Věra Malá', email: 'vera@example.cz', password: 'tichy-rybnik-sova-41' };
const FAPI = `http://127.0.0.1:${FAPI_SIMULATOR_PORT}`;

test('an operator starts a historical sync after the warning, pauses, resumes and sees it finish', async ({ page }) => {
  test.setTimeout(120_000);
  // Slow FAPI answers, so the run is visibly in progress for several seconds (it fetches
  // eight pages at once, after FAPI has refused pages of 500).
  const api = await request.newContext();
  await api.put(`${FAPI}/_simulator/faults`, { data: { latency_ms: 2500 } });

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
  // The page updates itself: no reload from here on. Progress moves…
  const progress = page.locator('label.progress span');
  await expect(progress).toHaveText(/Doklady: [1-9]\d* z \d+/, { timeout: 20_000 });
  // …stops while paused…
  await page.getByRole('button', { name: 'Pozastavit' }).click();
  await expect(page.getByTestId('run-status')).toHaveText('pozastaveno', { timeout: 20_000 });
  const whilePaused = await progress.textContent();
  await page.waitForTimeout(3_000); // a few refreshes of the page
  await expect(progress).toHaveText(whilePaused!);
  // …and goes on to the end after resuming.
  await page.getByRole('button', { name: 'Pokračovat' }).click();
  await expect(page.getByTestId('run-status')).toHaveText('běží');
  await expect(page.getByTestId('run-status')).toHaveText('dokončeno', { timeout: 60_000 });
  await expect(page.getByRole('heading', { name: 'Synchronizace doběhla' })).toBeVisible();
  await expect(page.getByText('Nezapomeňte znovu zapnout scénáře se spouštěčem „nová objednávka“.')).toBeVisible();
  await expect(page.getByTestId('run-synced')).toContainText('0 čeká');
  await api.put(`${FAPI}/_simulator/faults`, { data: {} });

  // The run is in the history.
  await page.getByRole('link', { name: '← Historie synchronizací' }).click();
  await expect(page.locator('tr[data-status="completed"]').first()).toContainText('historická synchronizace');
});

test('a viewer sees the history but cannot start a sync', async ({ page }) => {
  await signIn(page, ADMIN.email, ADMIN.password);
  await page.getByRole('navigation').getByRole('link', { name: 'Tým' }).click();
  const form = page.locator('section', { has: page.getByRole('heading', { name: 'Přidat člena týmu' }) });
  await form.getByLabel('E-mail').fill(VIEWER.email);
  await form.getByLabel('Jméno').fill(VIEWER.name);
  await form.getByLabel('Role').selectOption('viewer');
  await form.getByLabel('Heslo').fill(VIEWER.password);
  await form.getByRole('button', { name: 'Přidat' }).click();
  await expect(form.getByRole('status')).toHaveText('Člen týmu byl přidán.');
  await page.getByRole('button', { name: 'Odhlásit se' }).click();
  await expect(page.getByRole('heading', { name: 'Přihlášení' })).toBeVisible();

  await signIn(page, VIEWER.email, VIEWER.password);
  await goto(page, '/sync-history');
  await expect(page.locator('tr[data-status="completed"]').first()).toBeVisible();
  await expect(page.getByRole('button', { name: 'Spustit synchronizaci' })).toHaveCount(0);
  // The server refuses it too, not only the page.
  const refused = await page.request.post('/api/start_historical_sync', {
    form: { connection: '1', confirm: 'yes' },
    headers: { Origin: new URL(page.url()).origin },
  });
  expect(refused.status()).toBe(403);
});

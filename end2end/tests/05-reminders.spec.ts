import { test, expect, request } from '@playwright/test';
import { goto, signIn } from './helpers';
import { PORT } from '../playwright.config';

// Continues 04-historical-sync: at the end of the completed sync an operator schedules the
// engagement reminder; when it falls due, another user sees the banner and marks it done.
const ADMIN = { email: 'jana@example.cz', password: 'modry-kopec-trakar-58' };
const OPERATOR = { email: 'petr@example.cz', password: 'zeleny-most-pekar-73' };
const SERVER = `http://127.0.0.1:${PORT}`;

test('an operator schedules the reminder at the end of a sync; it falls due and another user marks it done', async ({ page }) => {
  test.setTimeout(90_000);
  await signIn(page, OPERATOR.email, OPERATOR.password);
  await goto(page, '/sync-history?kind=historical');
  await page.locator('tr[data-status="completed"]').first().getByRole('link').first().click();
  await expect(page.getByRole('heading', { name: 'Synchronizace doběhla' })).toBeVisible();

  // The confirmation says the exact due time: a Monday at 09:00 Prague time, within a week
  // and a day of the sync's end.
  await page.getByRole('button', { name: 'Naplánovat připomínku angažovanosti' }).click();
  const due = page.getByTestId('reminder-due');
  await expect(due).toContainText('Připomínka bude v pondělí');
  const dueTime = due.locator('time');
  const dueText = (await dueTime.textContent())!.trim();
  const dueUtc = Date.parse((await dueTime.getAttribute('datetime'))!);
  const [day, month, year] = dueText.split(' ').slice(0, 3).map((part) => parseInt(part, 10));
  expect(dueText).toMatch(/^\d{1,2}\. \d{1,2}\. \d{4} 09:00$/);
  expect(new Date(Date.UTC(year, month - 1, day)).getUTCDay()).toBe(1);
  expect(dueUtc - Date.now()).toBeGreaterThan(0);
  expect(dueUtc - Date.now()).toBeLessThan(8 * 24 * 3600 * 1000);

  await page.getByLabel('Poznámka (nepovinná)').fill('Připravit scénář angažovanosti');
  await page.getByRole('button', { name: 'Naplánovat na tento termín' }).click();
  await expect(page.getByText('Připomínka je naplánována.')).toBeVisible();
  await goto(page, '/reminders');
  await expect(page.getByTestId('reminders-upcoming')).toContainText(dueText);
  await expect(page.getByTestId('reminders-upcoming')).toContainText('Připravit scénář angažovanosti');
  await expect(page.getByTestId('reminder-banner')).toHaveCount(0);
  await page.getByRole('button', { name: 'Odhlásit se' }).click();
  await expect(page.getByRole('heading', { name: 'Přihlášení' })).toBeVisible();

  // Monday comes: the server's test clock moves to a minute after the due time.
  const api = await request.newContext();
  const moved = await api.put(`${SERVER}/_test/clock`, { data: { now: new Date(dueUtc + 60_000).toISOString() } });
  expect(moved.status()).toBe(204);
  try {
    // Another user sees the banner, on every page, and marks the reminder done.
    await signIn(page, ADMIN.email, ADMIN.password);
    const banner = page.getByTestId('reminder-banner');
    await expect(banner).toContainText('Připravte scénář angažovanosti pro propojení Kurzy Nováková CZ');
    await expect(banner).toContainText(dueText);
    await goto(page, '/orders');
    await expect(banner).toBeVisible();
    await banner.getByRole('button', { name: 'Hotovo' }).click();
    await expect(banner).toHaveCount(0);
    await goto(page, '/reminders');
    const finished = page.getByTestId('reminders-finished');
    await expect(finished).toContainText('hotovo');
    await expect(finished).toContainText(ADMIN.email);
    await expect(page.getByTestId('reminder-banner')).toHaveCount(0);
  } finally {
    await api.put(`${SERVER}/_test/clock`, { data: { now: new Date().toISOString() } });
  }
});

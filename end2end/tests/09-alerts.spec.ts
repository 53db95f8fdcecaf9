import { test, expect, Page } from '@playwright/test';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { goto, signIn } from './helpers';

// Continues 04-historical-sync: the operator who ran the back-fill got an e-mail when it
// finished (alerts are on by default for operators). They turn that alert off in Settings,
// run another back-fill, see it under the bell (and mark it read), and get no e-mail. Then the
// admin sends a test e-mail from the E-mails page.
test.describe.configure({ mode: 'serial' });

const ADMIN = { email: 'jana@example.cz', password: 'modry-kopec-trakar-58' };
const OPERATOR = { email: 'petr@example.cz', password: 'zeleny-most-pekar-73' };

type Mail = { to: string[]; subject: string; text: string | null };

/** Every e-mail the tests' SMTP server received, oldest first. */
function mails(): Mail[] {
  const folder = process.env.MAIL_DIR!;
  return readdirSync(folder)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => JSON.parse(readFileSync(path.join(folder, name), 'utf-8')) as Mail);
}

/** The e-mails to `to` about a finished back-fill. */
function runMails(to: string): Mail[] {
  return mails().filter((mail) => mail.to.includes(to) && mail.subject.includes('historická synchronizace je hotová'));
}

async function runBackfill(page: Page): Promise<void> {
  await page.getByRole('link', { name: 'Propojení', exact: true }).click();
  await page.getByRole('link', { name: 'Kurzy Nováková CZ' }).click();
  await page.getByRole('link', { name: 'Historická synchronizace →' }).click();
  await page.getByLabel('Zkontroloval(a) jsem scénáře „nová objednávka“ i odesílání objednávek z FAPI.').check();
  await page.getByRole('button', { name: 'Spustit synchronizaci' }).click();
  await expect(page).toHaveURL(/\/sync-history\/\d+$/);
  await expect(page.getByTestId('run-status')).toHaveText('dokončeno', { timeout: 60_000 });
}

test('an operator turns an alert off in Settings and gets it only under the bell', async ({ page }) => {
  test.setTimeout(120_000);
  // The back-fill of 04 was announced by e-mail (the default).
  await expect.poll(() => runMails(OPERATOR.email).length, { timeout: 20_000 }).toBeGreaterThan(0);
  const before = runMails(OPERATOR.email).length;

  await signIn(page, OPERATOR.email, OPERATOR.password);
  await page.getByRole('link', { name: 'Nastavení' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Nastavení' })).toBeVisible();
  const runAlert = page.getByLabel('Historická synchronizace skončila');
  await expect(runAlert).toBeChecked();
  await runAlert.uncheck();
  await page.getByRole('button', { name: 'Uložit' }).click();
  await expect(page.getByText('Uloženo.')).toBeVisible();
  await page.reload();
  await expect(page.getByLabel('Historická synchronizace skončila')).not.toBeChecked();

  // The bell starts read.
  const bell = page.getByTestId('bell');
  await bell.click();
  await page.getByRole('button', { name: 'Označit vše jako přečtené' }).click();
  await expect(page.getByTestId('bell-count')).toHaveCount(0);
  await bell.click();

  await runBackfill(page);

  // Under the bell: a new, unread alert; marked read, the count goes.
  await expect(page.getByTestId('bell-count')).toBeVisible({ timeout: 20_000 });
  await bell.click();
  const panel = page.getByTestId('bell-panel');
  await expect(panel.locator('li.unread').first()).toContainText('Historická synchronizace je hotová');
  await page.getByRole('button', { name: 'Označit vše jako přečtené' }).click();
  await expect(page.getByTestId('bell-count')).toHaveCount(0);
  await expect(panel.locator('li.unread')).toHaveCount(0);

  // No e-mail: the alert worker (every 0.5 s) and the outbox have had time to send one.
  await page.waitForTimeout(3_000);
  expect(runMails(OPERATOR.email).length).toBe(before);
});

test('an admin sends a test e-mail from the E-mails page and finds it in the outbox', async ({ page }) => {
  await signIn(page, ADMIN.email, ADMIN.password);
  await page.getByRole('link', { name: 'E-maily' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'E-maily' })).toBeVisible();
  const form = page.getByTestId('test-email');
  await form.getByLabel('Komu').fill('zkouska@example.cz');
  await form.getByRole('button', { name: 'Odeslat zkušební e-mail' }).click();
  await expect(page.getByText('Zkušební e-mail byl odeslán.')).toBeVisible();
  const row = page.locator('tr[data-kind="test"]').first();
  await expect(row).toContainText('zkouska@example.cz');
  await expect(row).toContainText('odesláno');
  await expect
    .poll(() => mails().filter((mail) => mail.to.includes('zkouska@example.cz')).length)
    .toBe(1);
  expect(mails().find((mail) => mail.to.includes('zkouska@example.cz'))!.subject).toBe('fapi-bridge: zkušební e-mail');
});

import { test, expect } from '@playwright/test';
import { goto, hydrated, signIn } from './helpers';

// Continues 04/05: the back-filled buyers are in no SmartEmailing list. An operator moves a
// filtered set into a list; an admin deletes one contact and finds the audit entry.
test.describe.configure({ mode: 'serial' });

const ADMIN = { email: 'jana@example.cz', password: 'modry-kopec-trakar-58' };
const OPERATOR = { email: 'petr@example.cz', password: 'zeleny-most-pekar-73' };

async function openConnection(page: import('@playwright/test').Page, search = ''): Promise<void> {
  await goto(page, '/contacts');
  await page.getByLabel('Propojení').selectOption({ label: 'Kurzy Nováková CZ' });
  await page.getByLabel('Hledat (e-mail nebo jméno)').fill(search);
  await page.getByRole('button', { name: 'Filtrovat' }).click();
  await expect(page).toHaveURL(/connection=\d+/);
}

test('an operator filters, selects all matching, moves them into a list and sees the page empty', async ({ page }) => {
  test.setTimeout(90_000);
  await signIn(page, OPERATOR.email, OPERATOR.password);
  // After the back-fill, the bridge checks its buyers in SmartEmailing in one refresh pass.
  await expect(async () => {
    await openConnection(page, '@seznam.cz');
    await expect(page.locator('[data-testid="contact-jobs"] tr[data-kind="refresh"][data-status="completed"]')).toHaveCount(1, { timeout: 1_000 });
    await expect(page.getByTestId('contacts').locator('tbody tr').first()).toBeVisible({ timeout: 1_000 });
  }).toPass({ timeout: 45_000 });
  const rows = page.getByTestId('contacts').locator('tbody tr');
  for (const email of await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-email')))) {
    expect(email).toContain('@seznam.cz');
  }

  await page.getByLabel(/Vybrat všech \d+ odpovídajících/).check();
  const matching = (await page.getByLabel(/Vybrat všech \d+ odpovídajících/).locator('..').textContent())!.match(/\d+/)![0];
  await expect(page.getByTestId('selected-count')).toHaveText(`Vybráno: ${matching}`);
  await page.getByRole('button', { name: 'Přesunout do seznamu' }).click();
  const confirm = page.getByTestId('bulk-confirm');
  await confirm.getByLabel('Seznam').selectOption({ label: 'Zákazníci' });
  await expect(confirm.getByRole('note')).toContainText(`Přesunout ${matching} kontaktů do seznamu „Zákazníci“`);
  await expect(confirm.getByRole('note')).toContainText('zůstane odhlášený');
  await confirm.getByRole('button', { name: 'Potvrdit' }).click();
  await expect(page.getByText('Akce běží na pozadí')).toBeVisible();
  // The page follows the job by itself; once it is done, the filter matches nobody.
  await expect(page.locator('[data-testid="contact-jobs"] tr[data-kind="move"]').first()).toHaveAttribute('data-status', 'completed', { timeout: 30_000 });
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId('no-contacts')).toBeVisible();
});

test('an admin deletes one contact through the typed confirmation and finds the audit entry', async ({ page }) => {
  test.setTimeout(60_000);
  await signIn(page, ADMIN.email, ADMIN.password);
  await openConnection(page);
  const first = page.getByTestId('contacts').locator('tbody tr').first();
  const email = (await first.getAttribute('data-email'))!;
  await first.getByRole('checkbox').check();
  await expect(page.getByTestId('selected-count')).toHaveText('Vybráno: 1');
  await page.getByRole('button', { name: 'Smazat (GDPR)' }).click();
  const confirm = page.getByTestId('bulk-confirm');
  await expect(confirm.getByRole('note')).toContainText('Trvale smazat 1 kontakt ze');
  await confirm.getByLabel('Pro potvrzení napište počet kontaktů (1)').fill('1');
  await confirm.getByRole('button', { name: 'Potvrdit' }).click();
  await expect(page.locator('[data-testid="contact-jobs"] tr[data-kind="delete"]').first()).toHaveAttribute('data-status', 'completed', { timeout: 30_000 });
  await page.reload();
  await hydrated(page);
  await expect(page.locator(`tr[data-email="${email}"]`)).toHaveCount(0);

  await page.locator('[data-testid="contact-jobs"] tr[data-kind="delete"]').first().getByRole('link').click();
  await expect(page.getByTestId('job-progress')).toContainText('1 z 1');
  await expect(page.getByTestId('job-items')).toContainText('forgotten-');

  await goto(page, '/audit');
  const entry = page.locator('tr[data-action="contacts.delete"]').first();
  await expect(entry).toContainText(ADMIN.email);
  await expect(entry).toContainText('Kontakty smazány (GDPR)');
});

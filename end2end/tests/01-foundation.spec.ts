import { test, expect } from '@playwright/test';
import { goto, hydrated, signIn } from './helpers';

// One story, in order: the first admin is created, signs in, looks around, adds an operator;
// the operator is refused the Team page; everybody signs out.
test.describe.configure({ mode: 'serial' });

const ADMIN = { name: 'Jana Nováková', email: 'jana@example.cz', password: 'modry-kopec-trakar-58' };
const OPERATOR = { name: 'Petr Svoboda', email: 'petr@example.cz', password: 'zeleny-most-pekar-73' };

test('the setup link creates the first admin', async ({ page }) => {
  const link = process.env.SETUP_LINK;
  expect(link, 'global setup captured the setup link').toBeTruthy();
  await goto(page, link!);
  await expect(page.getByRole('heading', { name: 'První administrátor' })).toBeVisible();
  await page.getByLabel('Jméno').fill(ADMIN.name);
  await page.getByLabel('E-mail').fill(ADMIN.email);
  await page.getByLabel('Heslo', { exact: true }).fill(ADMIN.password);
  await page.getByLabel('Heslo znovu').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Vytvořit administrátora' }).click();
  await expect(page.getByRole('status')).toHaveText('Administrátor je vytvořen. Nyní se přihlaste.');

  // The link works only once.
  await goto(page, link!);
  await page.getByLabel('Jméno').fill('Someone Else');
  await page.getByLabel('E-mail').fill('else@example.cz');
  await page.getByLabel('Heslo', { exact: true }).fill(ADMIN.password);
  await page.getByLabel('Heslo znovu').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Vytvořit administrátora' }).click();
  await expect(page.getByRole('alert')).toContainText('neplatný, vypršel nebo už byl použit');
});

test('a wrong password is refused in words', async ({ page }) => {
  await goto(page, '/login');
  await page.getByLabel('E-mail').fill(ADMIN.email);
  await page.getByLabel('Heslo').fill('tohle-neni-heslo');
  await page.getByRole('button', { name: 'Přihlásit se' }).click();
  await expect(page.getByRole('alert')).toHaveText('Nesprávný e-mail nebo heslo.');
});

test('the admin signs in and opens every page', async ({ page }) => {
  await signIn(page, ADMIN.email, ADMIN.password);
  const nav = page.getByRole('navigation', { name: 'Hlavní navigace' });
  const pages: [string, string][] = [
    ['Propojení', 'Propojení'],
    ['Objednávky', 'Objednávky'],
    ['Historie synchronizací', 'Historie synchronizací'],
    ['Kontakty bez seznamu', 'Kontakty bez seznamu'],
    ['Připomínky', 'Připomínky'],
    ['Tým', 'Tým'],
    ['Auditní záznam', 'Auditní záznam'],
    ['Přehled', 'Přehled'],
  ];
  for (const [link, heading] of pages) {
    await nav.getByRole('link', { name: link, exact: true }).click();
    await expect(page.getByRole('heading', { level: 1, name: heading })).toBeVisible();
  }
  // The audit log shows the sign-in, with the client address.
  await nav.getByRole('link', { name: 'Auditní záznam' }).click();
  await expect(page.locator('tr[data-action="login.succeeded"]').first()).toContainText(ADMIN.email);

  // Switching the language re-renders in place.
  await page.getByLabel('Jazyk').selectOption('en');
  await expect(page.getByRole('heading', { level: 1, name: 'Audit log' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();
  await page.getByLabel('Language').selectOption('cs');
  await expect(page.getByRole('heading', { level: 1, name: 'Auditní záznam' })).toBeVisible();
});

test('the admin adds an operator', async ({ page }) => {
  await signIn(page, ADMIN.email, ADMIN.password);
  await page.getByRole('navigation').getByRole('link', { name: 'Tým' }).click();
  const form = page.locator('section', { has: page.getByRole('heading', { name: 'Přidat člena týmu' }) });
  await form.getByLabel('E-mail').fill(OPERATOR.email);
  await form.getByLabel('Jméno').fill(OPERATOR.name);
  await form.getByLabel('Role').selectOption('operator');
  await form.getByLabel('Heslo').fill(OPERATOR.password);
  await form.getByRole('button', { name: 'Přidat' }).click();
  await expect(form.getByRole('status')).toHaveText('Člen týmu byl přidán.');
  const row = page.getByRole('row', { name: new RegExp(OPERATOR.email) });
  await expect(row).toContainText('operátor');
});

test('the operator is refused the Team page and signs out', async ({ page }) => {
  await signIn(page, OPERATOR.email, OPERATOR.password);
  const nav = page.getByRole('navigation', { name: 'Hlavní navigace' });
  await expect(nav.getByRole('link', { name: 'Tým' })).toHaveCount(0);
  await goto(page, '/team');
  await expect(page.getByRole('heading', { name: 'Přístup odepřen' })).toBeVisible();
  await expect(page.getByText(ADMIN.email)).toHaveCount(0);

  await page.getByRole('button', { name: 'Odhlásit se' }).click();
  await expect(page.getByRole('heading', { name: 'Přihlášení' })).toBeVisible();
  await goto(page, '/');
  await expect(page).toHaveURL(/\/login$/);
});

import { test, expect, request } from '@playwright/test';
import { signIn } from './helpers';
import { FAPI_SIMULATOR_PORT, SMARTEMAILING_SIMULATOR_PORT } from '../global-setup';

// Continues 03-forwarding (forwarding is on): an admin maps the sales form's question to a
// SmartEmailing contact field, previews an order, saves, and the next forwarded order's buyer
// has the answer in SmartEmailing.
test.describe.configure({ mode: 'serial' });

const ADMIN = { email: 'jana@example.cz', password: 'modry-kopec-trakar-58' };
const FAPI = `http://127.0.0.1:${FAPI_SIMULATOR_PORT}`;
const SE = `http://127.0.0.1:${SMARTEMAILING_SIMULATOR_PORT}`;
const SE_AUTH = 'Basic ' + Buffer.from('demo@smartemailing.example:se-demo-key').toString('base64');
const QUESTION = 'Jak jste se o nás dozvěděli';

/** The SmartEmailing field's options by name, as its API lists them. */
async function sourceField(): Promise<{ id: number; options: Record<string, number> }> {
  const api = await request.newContext();
  const response = await api.get(`${SE}/api/v3/customfields?expand=customfield_options`, {
    headers: { Authorization: SE_AUTH },
  });
  const field = (await response.json()).data.find((f: { name: string }) => f.name === 'Odkud o nás ví');
  const options: Record<string, number> = {};
  for (const option of field.customfield_options) options[option.name] = option.id;
  return { id: field.id, options };
}

test('an admin maps a form field, previews an order, saves, and the next order carries it', async ({ page }) => {
  const field = await sourceField();
  const api = await request.newContext();

  await signIn(page, ADMIN.email, ADMIN.password);
  await page.getByRole('navigation').getByRole('link', { name: 'Propojení' }).click();
  await page.getByRole('link', { name: 'Kurzy Nováková CZ' }).click();
  const webhook = await page.getByLabel('URL notifikace (vložte do FAPI)').inputValue();
  await page.getByRole('navigation', { name: 'Části propojení' }).getByRole('link', { name: 'Mapování polí' }).click();
  await expect(page.getByText('Žádná další pole: posílá se jen výchozí mapování.')).toBeVisible();

  await page.getByRole('button', { name: 'Přidat pole' }).click();
  const rule = page.getByRole('listitem', { name: 'Pravidlo 1' });
  await rule.getByLabel('Pole FAPI').selectOption('custom_field');
  await rule.getByLabel('Název vlastního pole ve FAPI').fill(QUESTION);
  await rule.getByLabel('Kam ve SmartEmailingu').selectOption({ label: 'Pole kontaktu: Odkud o nás ví' });
  await rule.getByLabel('Facebook').fill('Facebook, FB');
  await rule.getByLabel('Doporučení').fill('Doporučení přítele');

  // A preview of an order FAPI has and the bridge has not seen: nothing is sent.
  const placed = await api.post(`${FAPI}/_simulator/orders`, {
    data: { email: 'preview.kupujici@example.cz', custom_fields: { [QUESTION]: 'FB' } },
  });
  const previewed = (await placed.json()).invoice_id;
  await page.getByLabel('Objednávka', { exact: true }).fill(String(previewed));
  await page.getByRole('button', { name: 'Zobrazit náhled' }).click();
  const contact = page.getByLabel('Kontakt (POST /import)');
  await expect(contact).toContainText('"customfields"');
  const sent = JSON.parse((await contact.textContent()) ?? '{}');
  expect(sent.customfields).toEqual([{ id: field.id, options: [field.options['Facebook']] }]);
  await expect(page.getByLabel('Doklady z FAPI')).toContainText(QUESTION);
  const seen = await api.get(`${SE}/api/v3/contacts?emailaddress=preview.kupujici@example.cz`, {
    headers: { Authorization: SE_AUTH },
  });
  expect((await seen.json()).data).toEqual([]);

  await page.getByRole('button', { name: 'Uložit mapování' }).click();
  await expect(page.getByText('Uloženo.')).toBeVisible();

  // The next forwarded order's buyer has the answer in SmartEmailing.
  const forwarded = await api.post(`${FAPI}/_simulator/orders`, {
    data: {
      email: 'mapovana.kupujici@example.cz',
      custom_fields: { [QUESTION]: 'Doporučení přítele' },
      notify: webhook,
    },
  });
  expect((await forwarded.json()).notified).toBe(200);
  await expect(async () => {
    const found = await api.get(`${SE}/api/v3/contacts?emailaddress=mapovana.kupujici@example.cz`, {
      headers: { Authorization: SE_AUTH },
    });
    const contacts = (await found.json()).data;
    expect(contacts).toHaveLength(1);
    expect(contacts[0].customfields).toEqual([
      { customfield_id: field.id, value: null, customfield_options_id: field.options['Doporučení'] },
    ]);
  }).toPass({ timeout: 30_000 });

  // The saved rule is what the tab shows after a reload.
  await page.reload();
  await expect(page.getByRole('listitem', { name: 'Pravidlo 1' }).getByLabel('Název vlastního pole ve FAPI')).toHaveValue(QUESTION);
});

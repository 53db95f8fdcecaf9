import { test, expect, Page, ConsoleMessage } from '@playwright/test';
import { goto, signIn } from './helpers';

// As a user moves around: signed in, every link of the navigation is clicked, then the first
// link inside each page, in Czech and in English. Any error banner, any HTTP 5xx, any failed
// request of our own (a missing favicon included) and any browser console error fails the test.
// Then the main pages are checked for layout at a desktop and a phone width, with screenshots.
test.describe.configure({ mode: 'serial' });

const ADMIN = { email: 'jana@example.cz', password: 'modry-kopec-trakar-58' };

/** Records what went wrong while the page was used. */
function watch(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (message: ConsoleMessage) => {
    if (message.type() === 'error') problems.push(`console error on ${page.url()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error on ${page.url()}: ${error.message}`));
  page.on('response', (response) => {
    const ours = response.url().startsWith(new URL(page.url() || 'http://127.0.0.1').origin);
    if (response.status() >= 500 || (ours && response.status() >= 400)) {
      problems.push(`${response.status()} for ${response.request().method()} ${response.url()}`);
    }
  });
  return problems;
}

/** The page has finished loading its data and shows no error. */
async function settled(page: Page): Promise<void> {
  await page.waitForLoadState('networkidle');
  await expect(page.locator('.loading')).toHaveCount(0);
  await expect(page.locator('.message.error, [role="alert"]')).toHaveCount(0);
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
}

async function navigationLinks(page: Page): Promise<string[]> {
  return page.locator('nav.sidebar a').evaluateAll((links) => links.map((a) => a.getAttribute('href')!));
}

async function clickThrough(page: Page, problems: string[]): Promise<number> {
  let visited = 0;
  for (const href of await navigationLinks(page)) {
    await page.locator(`nav.sidebar a[href="${href}"]`).click();
    await expect(page).toHaveURL(new RegExp(`${href === '/' ? '/$' : href}(\\?|$)`));
    await settled(page);
    visited += 1;
    // The first link inside the page's own content (a row, a detail, "older entries" …).
    const inner = page.locator('main a[href^="/"]:visible').first();
    if ((await inner.count()) > 0) {
      const target = await inner.getAttribute('href');
      await inner.click();
      await page.waitForURL((url) => url.pathname + url.search !== href || target === href);
      await settled(page);
      visited += 1;
    }
    expect(problems, `after ${href}`).toEqual([]);
  }
  return visited;
}

test('every navigation link and the first link of each page work, in Czech and in English', async ({ page }) => {
  test.setTimeout(120_000);
  const problems = watch(page);
  await signIn(page, ADMIN.email, ADMIN.password);
  const czech = await clickThrough(page, problems);
  expect(czech).toBeGreaterThanOrEqual(8);

  await page.getByRole('combobox', { name: 'Jazyk' }).selectOption('en');
  await expect(page.locator('nav.sidebar')).toContainText('Orders');
  const english = await clickThrough(page, problems);
  expect(english).toBe(czech);
  await expect(page.locator('html')).toHaveAttribute('lang', 'en');

  // Back to Czech for the tests that follow.
  await page.getByRole('combobox', { name: 'Language' }).selectOption('cs');
  await expect(page.locator('nav.sidebar')).toContainText('Objednávky');
  expect(problems).toEqual([]);
});

const MAIN_PAGES = ['/', '/connections', '/orders', '/sync-history', '/contacts', '/reminders', '/team', '/audit'];

for (const { name, width, height } of [
  { name: 'desktop', width: 1400, height: 900 },
  { name: 'phone', width: 390, height: 844 },
]) {
  test(`the main pages fit a ${name} screen (${width} px): tables scroll inside their box, long values wrap`, async ({ page }, testInfo) => {
    test.setTimeout(90_000);
    await page.setViewportSize({ width, height });
    const problems = watch(page);
    await signIn(page, ADMIN.email, ADMIN.password);
    for (const path of MAIN_PAGES) {
      await goto(page, path);
      await settled(page);
      await page.screenshot({
        path: testInfo.outputPath(`${name}${path === '/' ? '/overview' : path}.png`),
        fullPage: true,
      });
      const layout = await page.evaluate((wide) => {
        const overflowing: string[] = [];
        // The page itself never scrolls sideways.
        if (document.documentElement.scrollWidth > window.innerWidth + 1) {
          overflowing.push(`page is ${document.documentElement.scrollWidth}px wide`);
        }
        // Every table sits in a box that scrolls sideways, and that box fits the page.
        for (const table of Array.from(document.querySelectorAll('table'))) {
          let box = table.parentElement;
          while (box && !['auto', 'scroll'].includes(getComputedStyle(box).overflowX)) box = box.parentElement;
          if (!box || box === document.body || box === document.documentElement) {
            overflowing.push(`a table (${table.getAttribute('data-testid') ?? table.className}) has no scrolling box`);
          } else if (box.getBoundingClientRect().right > window.innerWidth + 1) {
            overflowing.push(`a table's box ends at ${box.getBoundingClientRect().right}px`);
          } else if (wide && box.scrollWidth > box.clientWidth + 1) {
            // On a desktop the whole table is seen without scrolling sideways.
            overflowing.push(`a table is ${box.scrollWidth}px wide in a ${box.clientWidth}px box`);
          } else if (box.getBoundingClientRect().height > window.innerHeight) {
            // Its sideways scrollbar would be out of sight below the window.
            overflowing.push(`a table's box is ${box.getBoundingClientRect().height}px tall`);
          }
        }
        // Nothing sticks out of a card (long e-shop names, URLs, e-mails wrap).
        for (const card of Array.from(document.querySelectorAll('.card'))) {
          const right = card.getBoundingClientRect().right;
          for (const child of Array.from(card.querySelectorAll('*'))) {
            const box = child.getBoundingClientRect();
            if (box.width > 0 && box.right > right + 1 && getComputedStyle(child).position !== 'absolute') {
              overflowing.push(`${child.tagName.toLowerCase()} "${(child.textContent ?? '').slice(0, 40)}" sticks out of its card by ${Math.round(box.right - right)}px`);
              break;
            }
          }
        }
        return overflowing;
      }, width >= 1024);
      expect(layout, `${path} at ${width}px`).toEqual([]);
    }
    expect(problems).toEqual([]);
  });
}

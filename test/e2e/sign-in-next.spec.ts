// Signing in (and up) with a hostile ?next= lands on Cellmark, never on another site: the
// destination is judged after Chromium's own URL normalisation (tabs and newlines dropped,
// backslashes as slashes, dot segments), which is where `/%09/evil.example` becomes `//evil.example`.
import { type Browser, expect, type Page, test } from '@playwright/test';
import { CellmarkProcess, freePort } from './support/cellmark.ts';

let cellmark: CellmarkProcess;
// Sign-in is rate-limited per client (3 per 10 s in production): each browser context here
// comes "through a proxy" from its own address, so every attempt has a bucket of its own.
let clients = 0;
const newClient = (browser: Browser) => browser.newContext({ extraHTTPHeaders: { 'x-forwarded-for': `198.51.100.${++clients}` } });
test.beforeAll(async () => {
  cellmark = new CellmarkProcess(await freePort(), undefined, { CELLMARK_TRUSTED_PROXIES: '127.0.0.1,::1' });
  await cellmark.start();
  await cellmark.signUp('Ada', 'ada@example.com', 'password-ada-1');
});
test.afterAll(() => cellmark?.stop());

// as they appear in the query string
const HOSTILE = [
  '/%09/evil.example/x',
  '/%0a/evil.example/x',
  '/%0d/evil.example/x',
  '/%0d%0a/evil.example/x',
  '//evil.example/x',
  '/%5Cevil.example/x',
  '/%5C%5Cevil.example/x',
  '%5C%5Cevil.example/x',
  '/.//evil.example/x',
  '/%09%5C/evil.example',
  'https://evil.example/x',
  'https:evil.example',
  '%09https://evil.example',
  'javascript:alert(document.domain)',
  'java%09script:alert(1)',
  'data:text/html,<script>alert(1)</script>',
];

async function landsOnCellmark(page: Page, from: string) {
  // wait until the page has left the form, then judge where it went (a failed off-site
  // navigation shows as chrome-error://, whose origin is not Cellmark's either)
  await expect.poll(() => (new URL(page.url()).pathname === from ? 'still on the form' : 'left')).toBe('left');
  await page.waitForLoadState('load');
  expect(new URL(page.url()).origin).toBe(new URL(cellmark.url).origin);
}

test('signing in with a hostile ?next= stays on Cellmark', async ({ browser }) => {
  test.setTimeout(180_000);
  for (const next of HOSTILE) {
    const context = await newClient(browser);
    const page = await context.newPage();
    // any request for another host means the app tried to go there
    const offsite: string[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).origin !== new URL(cellmark.url).origin && !r.url().startsWith('data:')) offsite.push(r.url());
    });
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.goto(`${cellmark.url}/sign-in?next=${next}`);
    await page.getByLabel('Email').fill('ada@example.com');
    await page.getByLabel('Password').fill('password-ada-1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await test.step(`next=${next}`, () => landsOnCellmark(page, '/sign-in'));
    expect({ next, offsite, dialogs }).toEqual({ next, offsite: [], dialogs: [] });
    await context.close();
  }
});

test('a same-site ?next= still returns there after sign-in', async ({ browser }) => {
  const context = await newClient(browser);
  const page = await context.newPage();
  await page.goto(`${cellmark.url}/sign-in?next=${encodeURIComponent('/settings?tab=tokens#new')}`);
  await page.getByLabel('Email').fill('ada@example.com');
  await page.getByLabel('Password').fill('password-ada-1');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect
    .poll(() => {
      const u = new URL(page.url());
      return u.pathname + u.search + u.hash;
    })
    .toBe('/settings?tab=tokens#new');
  await context.close();
});

test('signing up with a hostile ?next= stays on Cellmark', async ({ browser }) => {
  let n = 0;
  for (const next of ['/%09/evil.example/x', '/.//evil.example/x', '/%5Cevil.example/x']) {
    const context = await newClient(browser);
    const page = await context.newPage();
    await page.goto(`${cellmark.url}/sign-up?next=${next}`);
    await page.getByLabel('Name').fill('Eve');
    await page.getByLabel('Email').fill(`eve${++n}@example.com`);
    await page.getByLabel('Password').fill('password-eve-1');
    await page.getByRole('button', { name: 'Create account' }).click();
    await test.step(`next=${next}`, () => landsOnCellmark(page, '/sign-up'));
    await context.close();
  }
});

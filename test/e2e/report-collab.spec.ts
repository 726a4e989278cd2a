// Many people on one report: five Chromium pages type at once (in their own paragraphs and
// all at the same spot) and converge to the same document, see each other here, and a reload
// shows it again. An editor who loses the connection keeps typing; it syncs on reconnect.
import { expect, type Page, test, type WebSocketRoute } from '@playwright/test';
import { caretAtEnd, converged, docOf, live, openAs, type Person, signUpPatiently } from './report-helpers.ts';
import { CellmarkProcess, freePort, signInBrowser } from './support/cellmark.ts';

let cellmark: CellmarkProcess;
test.beforeAll(async () => {
  cellmark = new CellmarkProcess(await freePort());
  await cellmark.start();
});
test.afterAll(() => cellmark?.stop());

const names = ['Ada', 'Bob', 'Cyd', 'Dee', 'Eve'];

async function reportWith(people: number, title: string) {
  const stamp = Math.random().toString(36).slice(2, 8);
  const team: Person[] = [];
  for (const name of names.slice(0, people)) {
    team.push(await signUpPatiently(cellmark, name, `${name.toLowerCase()}-${stamp}@example.test`));
  }
  const owner = team[0]!;
  const ws = await cellmark.call<{ team: { id: string; slug: string }; project: { id: string; slug: string } }>(
    'setup.createWorkspace',
    { teamName: `Team ${stamp}`, projectName: 'Engine' },
    owner.headers,
  );
  for (const [i, person] of team.entries()) {
    if (i > 0)
      await cellmark.call(
        'teams.addMember',
        { teamId: ws.team.id, email: `${person.name.toLowerCase()}-${stamp}@example.test`, role: 'editor' },
        owner.headers,
      );
  }
  const report = await cellmark.call<{ id: string }>('reports.create', { projectId: ws.project.id, title }, owner.headers);
  return { team, url: `${cellmark.url}/t/${ws.team.slug}/${ws.project.slug}/reports/${report.id}` };
}

test('five people type at once and converge; everyone sees everyone; reload shows the same', async ({ browser }) => {
  test.setTimeout(300_000);
  const { team, url } = await reportWith(5, 'Five');
  const pages: Page[] = [];
  for (const person of team) pages.push(await openAs(browser, cellmark, person, url));
  await Promise.all(pages.map(live));
  for (const page of pages) await expect(page.getByTestId('presence-user')).toHaveCount(5, { timeout: 30_000 });
  for (const name of names) await expect(pages[0]!.locator(`[data-testid=presence-user][data-name=${name}]`)).toBeVisible();

  // Ada lays out one line per person; then everyone appends to their own line at once.
  const first = pages[0]!;
  await caretAtEnd(first);
  for (const [i, name] of names.entries()) {
    await first.keyboard.type(`${name}:`);
    if (i < names.length - 1) await first.keyboard.press('Enter');
  }
  await converged(pages);
  // Carets are placed one page at a time, then all five type at once (clicks that race
  // remote edits have their own test below).
  for (const [i, page] of pages.entries()) {
    await page.locator('[data-testid=report-text] > p').nth(i).click();
    await page.keyboard.press('End');
  }
  await Promise.all(pages.map((page, i) => page.keyboard.type(` ${names[i]} writes line ${i + 1}`, { delay: 15 })));
  const lines = await converged(pages);
  expect(lines).toEqual(names.map((n, i) => `p:${n}: ${n} writes line ${i + 1}`));

  // Now all at the same spot (the end of the document): no text lost, same order everywhere.
  for (const page of pages) await caretAtEnd(page);
  await Promise.all(pages.map((page, i) => page.keyboard.type(` ${'abcde'[i]!.repeat(12)}`, { delay: 10 })));
  const doc = await converged(pages);
  const count = (text: string, letter: string) => text.split(letter).length - 1;
  const before = lines.slice(names.length - 1).join('');
  const after = doc.slice(names.length - 1).join('');
  expect(doc.slice(0, names.length - 1)).toEqual(lines.slice(0, names.length - 1));
  for (const letter of 'abcde') expect(count(after, letter) - count(before, letter)).toBe(12);

  // Everyone sees the others' cursors with names.
  await expect(first.locator('.collaboration-carets__label', { hasText: 'Eve' })).toBeVisible();

  for (const page of [pages[1]!, pages[4]!]) {
    await page.reload();
    await live(page);
  }
  await expect.poll(() => docOf(pages[1]!)).toEqual(doc);
  await expect.poll(() => docOf(pages[4]!)).toEqual(doc);
  await Promise.all(pages.map((p) => p.context().close()));
});

test('five people click into the report for the first time while another types: every caret lands where its user clicked', async ({ browser }) => {
  test.setTimeout(360_000);
  const { team, url } = await reportWith(5, 'Clicks');
  // Ada's first tab lays out one line per person and a notes line, then keeps typing in the
  // notes while the five (Ada's second tab among them) open the report and click into their
  // own line all at once — a click racing remote edits must not lose its position.
  const typist = await openAs(browser, cellmark, team[0]!, url);
  await live(typist);
  await caretAtEnd(typist);
  for (const name of names) {
    await typist.keyboard.type(`${name}:`);
    await typist.keyboard.press('Enter');
  }
  await typist.keyboard.type('Notes:');

  const pages: Page[] = [];
  for (const person of team) pages.push(await openAs(browser, cellmark, person, url));
  let typing = true;
  const typed = (async () => {
    while (typing) await typist.keyboard.type('x', { delay: 5 });
  })();
  const rounds = 3;
  try {
    for (let round = 1; round <= rounds; round++) {
      // every round is a first click: a fresh page load
      if (round > 1) await Promise.all(pages.map((page) => page.reload()));
      await Promise.all(pages.map(live));
      await Promise.all(pages.map((page) => expect(page.getByTestId('report-text').locator('p')).toHaveCount(names.length + 1)));
      await Promise.all(pages.map((page, i) => page.getByTestId('report-text').locator('p').nth(i).click()));
      // the caret is in the clicked line (at its end: the click is right of the text), and
      // stays there while remote edits keep arriving
      for (const [i, page] of pages.entries()) {
        await expect.poll(() => caretLine(page), { message: `${names[i]}'s caret after the click (round ${round})` }).toEqual({ line: i, atEnd: true });
      }
      await Promise.all(pages.map((page, i) => page.keyboard.type(` ${names[i]}${round}`, { delay: 15 })));
    }
  } finally {
    typing = false;
    await typed;
  }
  const doc = await converged([typist, ...pages]);
  const rounds123 = (name: string) => Array.from({ length: rounds }, (_, r) => ` ${name}${r + 1}`).join('');
  expect(doc.slice(0, names.length)).toEqual(names.map((n) => `p:${n}:${rounds123(n)}`));
  expect(doc[names.length]).toMatch(/^p:Notes:x+$/);
  await Promise.all([typist, ...pages].map((p) => p.context().close()));
});

/** Which top-level line holds this page's caret, and whether it is at the line's end. */
function caretLine(page: Page): Promise<{ line: number; atEnd: boolean } | null> {
  return page.getByTestId('report-text').evaluate((root) => {
    const sel = root.ownerDocument.getSelection();
    if (!sel?.focusNode || !root.contains(sel.focusNode)) return null;
    const line = Array.from(root.children).findIndex((c) => c.contains(sel.focusNode));
    const range = root.ownerDocument.createRange();
    range.selectNodeContents(root.children[line]!);
    range.setStart(sel.focusNode, sel.focusOffset);
    // other people's carets (name labels) are widgets in the text, not text
    const after = range.cloneContents();
    after.querySelectorAll('.collaboration-carets__caret').forEach((n) => n.remove());
    return { line, atEnd: (after.textContent ?? '') === '' };
  });
}

test('edits made while disconnected sync on reconnect without loss', async ({ browser }) => {
  test.setTimeout(180_000);
  const { team, url } = await reportWith(2, 'Offline');
  const [ada, bob] = team as [Person, Person];
  const pa = await openAs(browser, cellmark, ada, url);

  // Bob's report socket goes through a switch we control: "offline" closes it and refuses new
  // ones (a transient close, so y-websocket keeps retrying, as after a network drop).
  let offline = false;
  const open = new Set<WebSocketRoute>();
  const context = await browser.newContext();
  await signInBrowser(context, cellmark.url, bob.cookie);
  await context.routeWebSocket(/\/collab\//, (ws) => {
    if (offline) return void ws.close({ code: 4000, reason: 'offline' });
    ws.connectToServer();
    open.add(ws);
  });
  const pb = await context.newPage();
  await pb.goto(url);
  await live(pa);
  await live(pb);

  await caretAtEnd(pa);
  await pa.keyboard.type('Before the outage.');
  await expect(pb.getByTestId('report-text')).toContainText('Before the outage.');

  offline = true;
  for (const ws of open) await ws.close({ code: 4000, reason: 'offline' });
  open.clear();
  await expect(pb.getByTestId('collab-status')).toHaveAttribute('data-state', 'offline');
  await caretAtEnd(pb);
  await pb.keyboard.press('Enter');
  await pb.keyboard.type('Written on the train.');
  await caretAtEnd(pa);
  await pa.keyboard.press('Enter');
  await pa.keyboard.type('Written at the office.');
  // Ada cannot see Bob's offline text yet
  await expect(pa.getByTestId('report-text')).not.toContainText('train');

  offline = false;
  await live(pb);
  const doc = await converged([pa, pb]);
  expect(doc[0]).toBe('p:Before the outage.');
  expect(doc).toHaveLength(3);
  expect(doc).toContain('p:Written on the train.');
  expect(doc).toContain('p:Written at the office.');

  // and it was stored: a fresh page loads the same
  await pa.reload();
  await live(pa);
  await expect.poll(() => docOf(pa)).toEqual(doc);
});

// Helpers for the report specs: sign people in, open a report, read the editor's document
// without collaborators' cursor widgets, and compare what every page shows.
import { type Browser, expect, type Page } from '@playwright/test';
import { type CellmarkProcess, signInBrowser } from './support/cellmark.ts';

export interface Person {
  name: string;
  cookie: string;
  headers: Record<string, string>;
}

export async function openAs(browser: Browser, cellmark: CellmarkProcess, person: Person, url: string): Promise<Page> {
  const context = await browser.newContext();
  await signInBrowser(context, cellmark.url, person.cookie);
  const page = await context.newPage();
  await page.goto(url);
  return page;
}

/**
 * A running server with Ada (owner) and Bob (editor) in one project and a report "Findings";
 * both are signed in, on the report, live.
 */
export async function twoEditorsOnAReport(browser: Browser, cellmark: CellmarkProcess) {
  const ada = { name: 'Ada', ...(await cellmark.signUp('Ada', 'ada@example.test', 'correct horse battery')) };
  const bob = { name: 'Bob', ...(await cellmark.signUp('Bob', 'bob@example.test', 'correct horse battery')) };
  const { team, project } = await cellmark.call<{ team: { id: string; slug: string }; project: { id: string; slug: string } }>(
    'setup.createWorkspace',
    { teamName: 'Analytical', projectName: 'Engine' },
    ada.headers,
  );
  await cellmark.call('teams.addMember', { teamId: team.id, email: 'bob@example.test', role: 'editor' }, ada.headers);
  const report = await cellmark.call<{ id: string }>('reports.create', { projectId: project.id, title: 'Findings' }, ada.headers);
  const url = `${cellmark.url}/t/${team.slug}/${project.slug}/reports/${report.id}`;
  const pa = await openAs(browser, cellmark, ada, url);
  const pb = await openAs(browser, cellmark, bob, url);
  await live(pa);
  await live(pb);
  return { ada, bob, team, project, report, url, pa, pb };
}

export async function live(page: Page) {
  await expect(page.getByTestId('collab-status')).toHaveAttribute('data-state', 'live', { timeout: 30_000 });
}

/** The document as [tag, text] per top-level node, without other people's cursors. */
export async function docOf(page: Page): Promise<string[]> {
  return page.getByTestId('report-text').evaluate((root) => {
    const clone = root.cloneNode(true) as HTMLElement;
    clone
      .querySelectorAll('.collaboration-carets__caret, .ProseMirror-gapcursor, .ProseMirror-separator, img.ProseMirror-separator')
      .forEach((n) => n.remove());
    return Array.from(clone.children as ArrayLike<Element>).map((c) => `${c.tagName.toLowerCase()}:${c.textContent ?? ''}`);
  });
}

/** Waits until every page shows the same document, and returns it. */
export async function converged(pages: Page[], timeout = 30_000): Promise<string[]> {
  let doc: string[] = [];
  await expect
    .poll(
      async () => {
        const docs = await Promise.all(pages.map(docOf));
        doc = docs[0]!;
        return docs.every((d) => JSON.stringify(d) === JSON.stringify(doc));
      },
      { timeout, intervals: [100, 250, 500] },
    )
    .toBe(true);
  return doc;
}

/** Puts the caret at the end of the document's last text. */
export async function caretAtEnd(page: Page) {
  await page.getByTestId('report-text').click();
  await page.keyboard.press('Control+End');
}

/** Sign-up and sign-in are rate-limited per address (better-auth); tests that need many people wait it out. */
export async function signUpPatiently(cellmark: CellmarkProcess, name: string, email: string): Promise<Person> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    try {
      return { name, ...(await cellmark.signUp(name, email, 'correct horse battery')) };
    } catch (error) {
      if (!/sign-(up|in): 429/.test(String(error)) || Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

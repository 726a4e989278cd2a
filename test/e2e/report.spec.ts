// Two people co-edit a report in the TipTap editor through /collab: both converge, each sees
// the other here, formatting syncs, and the document survives a server restart.
import { expect, test } from '@playwright/test';
import { caretAtEnd, converged, docOf, live, twoEditorsOnAReport } from './report-helpers.ts';
import { CellmarkProcess, freePort } from './support/cellmark.ts';

let cellmark: CellmarkProcess;
test.afterAll(() => cellmark?.stop());

test('two people co-edit a report, and it survives a restart', async ({ browser }) => {
  test.setTimeout(180_000);
  cellmark = new CellmarkProcess(await freePort());
  await cellmark.start();
  const { pa, pb } = await twoEditorsOnAReport(browser, cellmark);
  // who is here now: both, on both screens
  for (const page of [pa, pb]) {
    await expect(page.getByTestId('presence-user')).toHaveCount(2);
    await expect(page.locator('[data-testid=presence-user][data-name=Ada]')).toBeVisible();
    await expect(page.locator('[data-testid=presence-user][data-name=Bob]')).toBeVisible();
  }
  await expect(pa.locator('[data-testid=presence-user][data-self=true]')).toHaveAttribute('data-name', 'Ada');

  await caretAtEnd(pa);
  await pa.keyboard.type('Ada was here. ');
  await expect(pb.getByTestId('report-text')).toContainText('Ada was here.'); // type after Ada's text, not into it
  await caretAtEnd(pb);
  await pb.keyboard.type('Bob too.');
  // Bob's caret shows on Ada's screen with his name
  await expect(pa.locator('.collaboration-carets__label', { hasText: 'Bob' })).toBeVisible();
  await pb.keyboard.press('Enter');
  await pb.getByTestId('tool-h2').click();
  await pb.keyboard.type('Results');
  // (the page's own text would include Bob's caret label: compare documents instead)
  await expect.poll(() => docOf(pa)).toEqual(['p:Ada was here. Bob too.', 'h2:Results']);
  const doc = await converged([pa, pb]);
  expect(doc).toEqual(['p:Ada was here. Bob too.', 'h2:Results']);

  await cellmark.stop();
  await cellmark.start();
  for (const page of [pa, pb]) {
    await page.reload();
    await live(page);
    await expect.poll(() => docOf(page)).toEqual(doc);
  }
});

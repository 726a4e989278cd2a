// Report history and sharing in the browser: named versions with their authors, a read-only
// preview, the word diff between two versions, restore (the live editors show the old text
// again and the history keeps everything), replay from the first version, and a view-only
// link opened without an account that stops working when revoked — live, without a reload.
import { expect, test } from '@playwright/test';
import { caretAtEnd, docOf, twoEditorsOnAReport } from './report-helpers.ts';
import { CellmarkProcess, freePort } from './support/cellmark.ts';

let cellmark: CellmarkProcess;
const savedReauth = process.env.CELLMARK_COLLAB_REAUTH_MS;
test.afterAll(async () => {
  await cellmark?.stop();
  if (savedReauth === undefined) delete process.env.CELLMARK_COLLAB_REAUTH_MS;
  else process.env.CELLMARK_COLLAB_REAUTH_MS = savedReauth;
});

const FIRST = 'Loss fell to 0.81 on Monday.';
const SECOND = 'Final: loss fell to 0.64 after tuning.';

test('versions, diff, restore, replay and a view-only link', async ({ browser }) => {
  test.setTimeout(240_000);
  // a revoked link closes open share sockets at the next re-check: make that one second
  process.env.CELLMARK_COLLAB_REAUTH_MS = '1000';
  cellmark = new CellmarkProcess(await freePort());
  await cellmark.start();
  const { pa, pb } = await twoEditorsOnAReport(browser, cellmark);

  // Ada writes and names a version
  await caretAtEnd(pa);
  await pa.keyboard.type(FIRST);
  await expect(pb.getByTestId('report-text')).toContainText(FIRST);
  await pa.getByTestId('history-open').click();
  await pa.getByTestId('version-name').fill('First draft');
  await pa.getByTestId('save-version').click();
  const firstRow = pa.locator('[data-testid=version-row][data-name="First draft"]');
  await expect(firstRow).toBeVisible();
  await expect(firstRow.getByTestId('version-authors')).toHaveText('Ada');

  // Ada rewrites it, Bob adds a line, Ada names the second version
  await pa.getByTestId('report-text').click();
  await pa.keyboard.press('Control+A');
  await pa.keyboard.type(SECOND);
  await expect(pb.getByTestId('report-text')).toContainText(SECOND);
  await caretAtEnd(pb);
  await pb.keyboard.type(' Checked by Bob.');
  await expect(pa.getByTestId('report-text')).toContainText('Checked by Bob.');
  await pa.getByTestId('version-name').fill('Second draft');
  await pa.getByTestId('save-version').click();
  const secondRow = pa.locator('[data-testid=version-row][data-name="Second draft"]');
  await expect(secondRow).toBeVisible();
  await expect(secondRow.getByTestId('version-authors')).toContainText('Ada');
  await expect(secondRow.getByTestId('version-authors')).toContainText('Bob');
  await expect(firstRow).toBeVisible();

  // the old version, read-only
  await firstRow.click();
  const preview = pa.getByTestId('version-preview');
  await expect(preview).toContainText(FIRST);
  await expect(preview).not.toContainText('0.64');
  await expect(preview).toHaveAttribute('contenteditable', 'false');

  // what changed from the first to the second version
  const firstId = await firstRow.getAttribute('data-version-id');
  await secondRow.click();
  await pa.getByTestId('tab-changes').click();
  await pa.getByTestId('diff-base').selectOption(firstId!);
  const diff = pa.getByTestId('version-diff');
  await expect(diff.getByTestId('diff-removed').filter({ hasText: '0.81' })).toBeVisible();
  await expect(diff.getByTestId('diff-added').filter({ hasText: '0.64' })).toBeVisible();
  await expect(diff.getByTestId('diff-added').filter({ hasText: 'Checked by Bob.' })).toBeVisible();
  await expect(diff).toContainText('fell to'); // kept words stay, unmarked
  await expect(diff.getByTestId('diff-added').filter({ hasText: 'fell' })).toHaveCount(0);

  // against the report as it is now: what restoring the first version would change
  await firstRow.click();
  await pa.getByTestId('tab-changes').click();
  await pa.getByTestId('diff-base').selectOption('current');
  await expect(diff.getByTestId('diff-removed').filter({ hasText: '0.64' })).toBeVisible();
  await expect(diff.getByTestId('diff-removed').filter({ hasText: 'Checked by Bob.' })).toBeVisible();
  await expect(diff.getByTestId('diff-added').filter({ hasText: '0.81' })).toBeVisible();
  // the comparison's own socket is not a person here
  await expect(pb.getByTestId('presence-user')).toHaveCount(2);

  // restore the first version: both live editors show it again, and the history keeps all
  await pa.getByTestId('restore-version').click();
  await pa.getByTestId('restore-confirm-yes').click();
  await expect(pa.getByTestId('restore-done')).toContainText('Restored');
  for (const page of [pa, pb]) {
    await expect.poll(() => docOf(page)).toEqual([`p:${FIRST}`]); // without the other's caret label
  }
  await expect(pa.locator('[data-testid=version-row][data-name="Restored First draft"]')).toBeVisible();
  await expect(firstRow).toBeVisible();
  await expect(secondRow).toBeVisible();
  // Bob, another editor, sees the same history
  await pb.getByTestId('history-open').click();
  await expect(pb.locator('[data-testid=version-row][data-name="Second draft"]')).toBeVisible();

  // replay from the first version to the last
  await pa.getByTestId('replay-open').click();
  const step = pa.getByTestId('replay-step');
  const shown = pa.getByTestId('replay-doc');
  await expect(step).toHaveAttribute('data-step', '1');
  await expect(step).toHaveAttribute('data-name', 'First draft');
  await expect(shown).toHaveText(FIRST);
  await expect(pa.getByTestId('replay-prev')).toBeDisabled();
  await pa.getByTestId('replay-next').click();
  await expect(step).toHaveAttribute('data-name', 'Second draft');
  await expect(shown).toContainText(SECOND);
  await expect(shown).toContainText('Checked by Bob.');
  await pa.getByTestId('replay-slider').fill('2');
  await expect(step).toHaveAttribute('data-name', 'Restored First draft');
  await expect(shown).toHaveText(FIRST);
  await expect(pa.getByTestId('replay-next')).toBeDisabled();
  await pa.getByTestId('replay-prev').click();
  await expect(step).toHaveAttribute('data-name', 'Second draft');
  await pa.getByTestId('history-close').click();

  // a view-only link, opened by someone without an account
  await pa.getByTestId('share-open').click();
  await pa.getByTestId('share-create').click();
  const shareUrl = await pa.getByTestId('share-url').inputValue();
  expect(shareUrl).toMatch(new RegExp(`^${cellmark.url}/share/cms_`));
  await expect(pa.getByTestId('share-row')).toHaveCount(1);
  const stranger = await browser.newContext();
  const ps = await stranger.newPage();
  await ps.goto(shareUrl);
  await expect(ps.getByTestId('shared-title')).toHaveText('Findings');
  await expect(ps.getByTestId('read-only')).toBeVisible();
  const sharedText = ps.getByTestId('report-text');
  await expect(sharedText).toHaveText(FIRST);
  await expect(sharedText).toHaveAttribute('contenteditable', 'false');
  // it is live
  await caretAtEnd(pa);
  await pa.keyboard.type(' Shared.');
  await expect(sharedText).toContainText('Shared.');
  // typing there changes nothing
  await sharedText.click();
  await ps.keyboard.type('vandal');
  await expect(pa.getByTestId('report-text')).not.toContainText('vandal');

  // revoked: the open page says so within the re-check, and so does a fresh visit
  await pa.getByTestId('share-revoke').click();
  await expect(pa.locator('[data-testid=share-row][data-revoked=true]')).toHaveCount(1);
  await expect(ps.getByTestId('share-invalid')).toContainText('no longer valid');
  await ps.reload();
  await expect(ps.getByTestId('share-invalid')).toContainText('no longer valid');
  await expect(ps.getByTestId('report-text')).toHaveCount(0);
  await ps.goto(`${cellmark.url}/share/cms_unknown-token`);
  await expect(ps.getByTestId('share-invalid')).toBeVisible();
  await stranger.close();
});

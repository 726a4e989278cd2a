// Two browser contexts edit one report through /collab; both converge and the text is
// still there after the server restarts.
import { type BrowserContext, expect, test } from '@playwright/test';
import { CellmarkProcess, freePort } from './support/cellmark.ts';

let cellmark: CellmarkProcess;
test.afterAll(() => cellmark?.stop());

async function signedIn(context: BrowserContext, cookie: string, url: string) {
  await context.addCookies(
    cookie.split('; ').map((pair) => {
      const [name, ...value] = pair.split('=');
      return { name: name!, value: value.join('='), url };
    }),
  );
}

test('two people co-edit a report, and it survives a restart', async ({ browser }) => {
  cellmark = new CellmarkProcess(await freePort());
  await cellmark.start();
  const ada = await cellmark.signUp('Ada', 'ada@example.test', 'correct horse battery');
  const bob = await cellmark.signUp('Bob', 'bob@example.test', 'correct horse battery');
  const { team, project } = await cellmark.call<{ team: { id: string; slug: string }; project: { id: string; slug: string } }>(
    'setup.createWorkspace',
    { teamName: 'Analytical', projectName: 'Engine' },
    ada.headers,
  );
  await cellmark.call('teams.addMember', { teamId: team.id, email: 'bob@example.test', role: 'editor' }, ada.headers);
  const report = await cellmark.call<{ id: string }>('reports.create', { projectId: project.id, title: 'Findings' }, ada.headers);
  const url = `${cellmark.url}/t/${team.slug}/${project.slug}/reports/${report.id}`;

  const contexts = [await browser.newContext(), await browser.newContext()];
  await signedIn(contexts[0]!, ada.cookie, cellmark.url);
  await signedIn(contexts[1]!, bob.cookie, cellmark.url);
  const [pa, pb] = [await contexts[0]!.newPage(), await contexts[1]!.newPage()];
  await pa.goto(url);
  await pb.goto(url);
  const [ta, tb] = [pa.getByTestId('report-text'), pb.getByTestId('report-text')];
  await expect(pa.getByTestId('collab-status')).toContainText(/live/i);
  await expect(pb.getByTestId('collab-status')).toContainText(/live/i);

  await ta.click();
  await pa.keyboard.type('Ada was here. ');
  await expect(tb).toHaveValue(/Ada was here\. /); // type after Ada's text, not into it
  await tb.click();
  await pb.keyboard.press('End');
  await pb.keyboard.type('Bob too.');
  await expect(ta).toHaveValue(/Ada was here\./);
  await expect(ta).toHaveValue(/Bob too\./);
  const converged = await ta.inputValue();
  await expect(tb).toHaveValue(converged);

  await cellmark.stop();
  await cellmark.start();
  await pa.reload();
  await expect(pa.getByTestId('report-text')).toHaveValue(converged);
  await pb.reload();
  await expect(pb.getByTestId('report-text')).toHaveValue(converged);
});

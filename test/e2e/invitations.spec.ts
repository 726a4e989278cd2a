// Sign-up closed, as in production: the first visitor sets the server up, an owner creates an
// invitation link on the team page (keyboard only), and a new person joins through it.
import { expect, test } from '@playwright/test';
import { openAs } from './report-helpers.ts';
import { CellmarkProcess, freePort } from './support/cellmark.ts';

let cellmark: CellmarkProcess;
test.afterAll(() => cellmark?.stop());

test('an invitation link signs a new person up into the team, with sign-up closed', async ({ browser }) => {
  test.setTimeout(120_000);
  cellmark = new CellmarkProcess(await freePort(), undefined, { CELLMARK_ALLOW_SIGNUP: '0' });
  await cellmark.start();
  // the first account of an empty server is allowed (first-run setup)
  const ada = { name: 'Ada', ...(await cellmark.signUp('Ada', 'ada@example.test', 'correct horse battery')) };
  const { team } = await cellmark.call<{ team: { slug: string } }>('setup.createWorkspace', { teamName: 'Vision lab', projectName: 'Classifier' }, ada.headers);

  const owner = await openAs(browser, cellmark, ada, `${cellmark.url}/t/${team.slug}`);
  const invite = owner.getByTestId('invitations');
  await expect(invite.getByRole('heading', { name: 'Invite people' })).toBeVisible();
  // keyboard only: pick the role, make it single use, create
  await invite.getByLabel('Role').focus();
  await owner.keyboard.press('ArrowUp'); // editor → viewer
  await expect(invite.getByLabel('Role')).toHaveValue('viewer');
  await invite.getByLabel('Single use (one person)').focus();
  await owner.keyboard.press('Space');
  await invite.getByRole('button', { name: 'Create link' }).focus();
  await owner.keyboard.press('Enter');
  const url = (await owner.getByTestId('new-invitation-url').textContent())!;
  expect(url).toContain('/invite/cmi_');
  await expect(invite.getByTestId('invitation-row')).toHaveCount(1);

  // without the link: refused
  const stranger = await (await browser.newContext()).newPage();
  await stranger.goto(`${cellmark.url}/sign-up`);
  await expect(stranger.getByText('Sign-up on this server is by invitation.')).toBeVisible();

  // with it: the team and role, then an account and the team page
  const grace = await (await browser.newContext()).newPage();
  await grace.goto(url);
  await expect(grace.getByTestId('invitation-team')).toHaveText('Vision lab');
  await expect(grace.getByTestId('invitation-role')).toHaveText('viewer');
  await grace.getByLabel('Name').fill('Grace');
  await grace.getByLabel('Email').fill('grace@example.test');
  await grace.getByLabel('Password').fill('correct horse battery');
  await grace.getByRole('button', { name: 'Create account and join' }).click();
  await expect(grace).toHaveURL(new RegExp(`/t/${team.slug}$`));
  await expect(grace.getByText('your role: viewer')).toBeVisible();

  // single use: the next person is told the link is spent
  const late = await (await browser.newContext()).newPage();
  await late.goto(url);
  await expect(late.getByTestId('invitation-invalid')).toContainText('used up');

  // the owner sees it used, and can revoke a fresh one
  await owner.reload();
  await expect(owner.getByTestId('invitation-row').first()).toContainText('used up');
  await invite.getByRole('button', { name: 'Create link' }).click();
  await expect(owner.getByTestId('new-invitation-url')).toBeVisible();
  await owner.getByRole('button', { name: /^Revoke invitation/ }).click();
  await expect(owner.getByTestId('invitation-row').first()).toContainText('revoked');
});

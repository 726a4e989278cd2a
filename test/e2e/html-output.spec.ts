// A run page showing a hostile text/html output asks no other host for anything: remote
// images, styles, SVG references and CSS url()s are dropped by the sanitiser before the
// browser sees them (web/lib/sanitize-html.ts); inline (data:) images still show.
import { expect, test } from '@playwright/test';
import { openAs } from './report-helpers.ts';
import { CellmarkProcess, freePort } from './support/cellmark.ts';

let cellmark: CellmarkProcess;
test.afterAll(() => cellmark?.stop());

const PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const HOSTILE = `
<p data-testid-x="marker">Hostile output</p>
<div style="width:10px;height:10px;background:url(http://evil.example/bg.png)">a</div>
<div style="width:10px;height:10px;background-image:image-set('http://evil.example/set.png' 1x)">b</div>
<div style="--x:url(http://evil.example/var.png);width:10px;height:10px;background:var(--x)">c</div>
<div style="width:10px;height:10px;background:u\\72l(http://evil.example/escaped.png)">d</div>
<div style="cursor:url(http://evil.example/c.cur),auto;list-style-image:url(http://evil.example/l.png)"><ul><li>e</li></ul></div>
<img src="http://evil.example/img.png"><img srcset="http://evil.example/srcset.png 1x">
<video poster="http://evil.example/poster.png" src="http://evil.example/v.mp4"></video>
<table background="http://evil.example/table.png"><tr><td>f</td></tr></table>
<svg width="20" height="20"><image href="http://evil.example/svg-image.png" width="10" height="10"/><use href="http://evil.example/use.svg#a"/>
<rect fill="url(http://evil.example/fill.svg#p)" width="5" height="5"/><rect style="filter:url(http://evil.example/filter.svg#f)" width="5" height="5"/></svg>
<style>@import url(http://evil.example/import.css);</style>
<img alt="inline" src="${PNG}">
<a href="http://example.org/docs">a link</a>
`;

test('a hostile HTML output loads nothing from another host', async ({ browser }) => {
  cellmark = new CellmarkProcess(await freePort());
  await cellmark.start();
  const ada = await cellmark.signUp('Ada', 'ada@example.test', 'correct horse battery');
  const { team, project } = await cellmark.call<{ team: { slug: string }; project: { slug: string } }>(
    'setup.createWorkspace',
    { teamName: 'Analytical', projectName: 'Engine' },
    ada.headers,
  );
  const { token } = await cellmark.call<{ token: string }>('tokens.create', { name: 'lab' }, ada.headers);
  const auth = { authorization: `Bearer ${token}` };
  const at = new Date().toISOString();
  const { runId } = await cellmark.call<{ runId: string }>(
    'ingest.startRun',
    { project: `${team.slug}/${project.slug}`, clientKey: 'e2e-html', notebookPath: 'html.ipynb', startedAt: at },
    auth,
  );
  await cellmark.call(
    'ingest.cells',
    {
      runId,
      cells: [
        {
          executionKey: 'h1',
          cellId: 'c1',
          position: 0,
          source: 'display(HTML(...))',
          status: 'ok',
          startedAt: at,
          endedAt: at,
          outputs: [{ output_type: 'display_data', data: { 'text/html': HOSTILE, 'text/plain': '<HTML>' }, metadata: {} }],
        },
      ],
    },
    auth,
  );

  const page = await openAs(browser, cellmark, { ...ada, name: 'Ada' }, 'about:blank');
  const offsite: string[] = [];
  page.on('request', (r) => {
    const url = r.url();
    if (!url.startsWith('data:') && new URL(url).origin !== new URL(cellmark.url).origin) offsite.push(url);
  });
  await page.goto(`${cellmark.url}/t/${team.slug}/${project.slug}/runs/${runId}`);
  const output = page.locator('[data-mime="text/html"]');
  await expect(output).toContainText('Hostile output');
  await expect(output).toContainText('would load from elsewhere were not loaded');
  // the inline image is there and decoded
  await expect.poll(() => output.locator('img[alt=inline]').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(1);
  await expect(output.locator('a[href="http://example.org/docs"]')).toBeVisible();
  // give anything that would load time to ask
  await page.waitForLoadState('networkidle');
  await page.waitForTimeout(1000);
  expect(offsite).toEqual([]);
});

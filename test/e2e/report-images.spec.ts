// Images uploaded into a report, in the browser: Ada picks a file from the toolbar (the button
// says it is uploading meanwhile), pastes one and drops one; Bob's editor shows all three, and
// so does the page a view-only link opens, without an account. Too big and not-an-image say why.
import { deflateSync } from 'node:zlib';
import { expect, type Page, test } from '@playwright/test';
import { caretAtEnd, twoEditorsOnAReport } from './report-helpers.ts';
import { CellmarkProcess, freePort } from './support/cellmark.ts';

const MAX = 256 * 1024;

let cellmark: CellmarkProcess;
const saved = process.env.CELLMARK_MAX_IMAGE_BYTES;
test.afterAll(async () => {
  await cellmark?.stop();
  if (saved === undefined) delete process.env.CELLMARK_MAX_IMAGE_BYTES;
  else process.env.CELLMARK_MAX_IMAGE_BYTES = saved;
});

/** A real PNG of one colour, so the browser decodes it and we can check its size. */
function png(width: number, height: number, rgb: [number, number, number]): Buffer {
  const crc32 = (bytes: Buffer) => {
    let c = ~0;
    for (const b of bytes) {
      c ^= b;
      for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
    }
    return ~c >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([head, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: width }, () => rgb).flat())]);
  const idat = deflateSync(Buffer.concat(Array.from({ length: height }, () => row)));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', idat),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The images a page shows, once the browser has decoded them: src and natural size. */
async function shownImages(page: Page) {
  return page
    .getByTestId('report-text')
    .locator('img:not(.ProseMirror-separator)')
    .evaluateAll((imgs) =>
      (imgs as HTMLImageElement[]).map((img) => ({
        src: img.getAttribute('src'),
        size: img.complete ? `${img.naturalWidth}x${img.naturalHeight}` : 'loading',
      })),
    );
}

/** Paste or drop a file the way the browser delivers one from the OS. */
async function transfer(page: Page, kind: 'paste' | 'drop', name: string, bytes: Buffer) {
  const target = page.getByTestId('report-text');
  const box = (await target.boundingBox())!;
  await target.evaluate(
    (el, { kind, name, data, x, y }) => {
      const dt = new DataTransfer();
      dt.items.add(new File([Uint8Array.from(data)], name, { type: 'image/png' }));
      const event =
        kind === 'paste'
          ? new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true })
          : new DragEvent('drop', { dataTransfer: dt, clientX: x, clientY: y, bubbles: true, cancelable: true });
      el.dispatchEvent(event);
    },
    { kind, name, data: [...bytes], x: box.x + box.width / 2, y: box.y + box.height - 8 },
  );
}

async function chooseFile(page: Page, name: string, mimeType: string, buffer: Buffer) {
  const chooser = page.waitForEvent('filechooser');
  await page.getByTestId('tool-upload-image').click();
  await (await chooser).setFiles({ name, mimeType, buffer });
}

test('images uploaded into a report show for co-editors and on the shared page', async ({ browser }) => {
  test.setTimeout(240_000);
  process.env.CELLMARK_MAX_IMAGE_BYTES = String(MAX);
  cellmark = new CellmarkProcess(await freePort());
  await cellmark.start();
  const { ada, pa, pb, report } = await twoEditorsOnAReport(browser, cellmark);
  const path = new RegExp(`^/api/reports/${report.id}/images/[0-9a-f]{64}$`);

  await caretAtEnd(pa);
  await pa.keyboard.type('Loss curve:');

  // from the toolbar's file picker; held at the network so the uploading state can be seen
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  await pa.route('**/api/reports/*/images', async (route) => {
    await held;
    await route.continue();
  });
  await chooseFile(pa, 'loss.png', 'image/png', png(40, 20, [200, 30, 30]));
  await expect(pa.getByTestId('image-uploading')).toHaveText('Uploading loss.png…');
  await expect(pa.getByTestId('tool-upload-image')).toBeDisabled();
  await expect(pa.getByTestId('tool-upload-image')).toHaveText('Uploading…');
  release();
  await expect(pa.getByTestId('image-uploading')).toHaveCount(0);
  await expect(pa.getByTestId('tool-upload-image')).toBeEnabled();
  await pa.unroute('**/api/reports/*/images');
  await expect.poll(() => shownImages(pb)).toEqual([{ src: expect.stringMatching(path), size: '40x20' }]);

  // pasted, then dropped at the end of the document
  await caretAtEnd(pa);
  await transfer(pa, 'paste', 'pasted.png', png(30, 30, [30, 160, 30]));
  await expect.poll(async () => (await shownImages(pa)).length).toBe(2);
  await transfer(pa, 'drop', 'dropped.png', png(20, 40, [30, 30, 200]));

  // (where the caret lands at the end of a document ending in an image is the browser's call:
  // compare the set of images, and that both editors show them in the same order)
  const sizes = async (page: Page) => (await shownImages(page)).map((i) => i.size).sort();
  for (const page of [pa, pb]) await expect.poll(() => sizes(page), { timeout: 30_000 }).toEqual(['20x40', '30x30', '40x20']);
  const inEditor = await shownImages(pa);
  expect(await shownImages(pb)).toEqual(inEditor);
  for (const { src } of inEditor) expect(src).toMatch(path);
  await expect(pb.getByTestId('report-text')).toContainText('Loss curve:');

  // refused, with the reason: too big (the server's limit), not an image by its bytes, SVG
  const tiny = png(1, 1, [0, 0, 0]);
  await chooseFile(pa, 'huge.png', 'image/png', Buffer.concat([tiny, Buffer.alloc(300 * 1024 - tiny.length)]));
  await expect(pa.getByTestId('image-upload-error')).toContainText(
    'Could not upload huge.png: image is 300 KiB, over the limit of 256 KiB (CELLMARK_MAX_IMAGE_BYTES)',
  );
  await chooseFile(pa, 'notes.png', 'image/png', Buffer.from('these are notes, not a picture'));
  await expect(pa.getByTestId('image-upload-error')).toContainText(
    'Could not upload notes.png: not a PNG, JPEG, GIF or WebP image (judged by its content; SVG is not accepted)',
  );
  await chooseFile(pa, 'logo.svg', 'image/svg+xml', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'));
  await expect(pa.getByTestId('image-upload-error')).toContainText('Could not upload logo.svg: SVG images are not accepted');
  await pa.getByRole('button', { name: 'Dismiss' }).click();
  await expect(pa.getByTestId('image-upload-error')).toHaveCount(0);
  expect((await shownImages(pa)).length).toBe(3);

  // the view-only link, in a browser with no account: the same images, read through the link
  const share = await cellmark.call<{ token: string }>('reportShares.create', { reportId: report.id }, ada.headers);
  const guest = await (await browser.newContext()).newPage();
  await guest.goto(`${cellmark.url}/share/${share.token}`);
  await expect.poll(() => shownImages(guest), { timeout: 30_000 }).toEqual(inEditor.map(({ src, size }) => ({ src: `${src}?share=${share.token}`, size })));
  // without the link the guest gets nothing
  const bare = (await shownImages(guest))[0]!.src!.split('?')[0]!;
  expect(await guest.evaluate((src) => fetch(src).then((r) => r.status), bare)).toBe(401);
});

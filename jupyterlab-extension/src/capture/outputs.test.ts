import { describe, expect, it } from 'vitest';
import { applyCarriageReturns, byteLength, limitText, limitTraceback, normalizeMimeBundle, OutputCollector } from './outputs';

describe('limitText', () => {
  it('leaves text within the cap alone', () => {
    expect(limitText('hello', 5)).toBe('hello');
  });

  it('cuts on a character boundary and says how much was cut', () => {
    const text = 'ééééé'; // 10 bytes of UTF-8
    const cut = limitText(text, 5);
    expect(cut.startsWith('éé')).toBe(true);
    expect(cut).not.toContain('\uFFFD');
    expect(cut).toContain('[… 6 more bytes not recorded by Cellmark]');
  });

  it('caps at 256 KiB by default in the collector', () => {
    expect(byteLength(limitText('x'.repeat(300 * 1024), 256 * 1024))).toBeLessThan(256 * 1024 + 100);
  });
});

describe('normalizeMimeBundle', () => {
  it('keeps every MIME type, joining nbformat line arrays', () => {
    expect(normalizeMimeBundle({ 'image/png': ['iVBO', 'Rw0K'], 'application/json': { a: [1] }, 'text/html': '<b>x</b>' })).toEqual({
      'image/png': 'iVBORw0K',
      'application/json': { a: [1] },
      'text/html': '<b>x</b>',
    });
  });
});

/** A base64-looking string of exactly `bytes` characters. */
const base64 = (bytes: number, fill = 'A') => fill.repeat(bytes);

function display(collector: OutputCollector, data: Record<string, unknown>): void {
  collector.add('display_data', { data, metadata: {}, transient: {} });
}

describe('OutputCollector within the per-execution limit', () => {
  const MiB = 1024 * 1024;

  it('keeps images while the execution is under 8 MiB', () => {
    const collector = new OutputCollector();
    display(collector, { 'image/png': base64(3 * MiB), 'text/plain': '<Figure 1>' });
    display(collector, { 'image/png': base64(3 * MiB, 'B'), 'text/plain': '<Figure 2>' });
    const outputs = collector.result();
    expect(outputs).toHaveLength(2);
    expect(outputs.map((o) => (o.output_type === 'display_data' ? Object.keys(o.data) : []))).toEqual([
      ['image/png', 'text/plain'],
      ['image/png', 'text/plain'],
    ]);
    expect(byteLength(JSON.stringify(outputs))).toBeLessThanOrEqual(8 * MiB);
  });

  it('replaces the biggest values by a text/plain note saying what was dropped', () => {
    const collector = new OutputCollector();
    display(collector, { 'image/png': base64(2 * MiB), 'text/plain': '<Figure small>' });
    display(collector, { 'image/png': base64(5 * MiB, 'B'), 'text/plain': '<Figure big>' });
    collector.add('stream', { name: 'stdout', text: 'epoch 1 done\n' });
    display(collector, { 'image/jpeg': base64(3 * MiB, 'C') }); // now 10 MiB: the 5 MiB image goes
    const outputs = collector.result();
    expect(byteLength(JSON.stringify(outputs))).toBeLessThanOrEqual(8 * MiB);
    const [small, big, text, jpeg] = outputs;
    expect(small).toMatchObject({ data: { 'image/png': base64(2 * MiB), 'text/plain': '<Figure small>' } });
    expect(big?.output_type === 'display_data' ? Object.keys(big.data) : []).toEqual(['text/plain']);
    expect(big?.output_type === 'display_data' ? big.data['text/plain'] : '').toBe(
      "<Figure big>\n[Cellmark: image/png (5.0 MiB) not recorded: this execution's outputs are over the 8.0 MiB limit]",
    );
    expect(text).toEqual({ output_type: 'stream', name: 'stdout', text: 'epoch 1 done\n' });
    expect(jpeg).toMatchObject({ data: { 'image/jpeg': base64(3 * MiB, 'C') } });
  });

  it('writes the note as text/plain when a bundle had none', () => {
    const collector = new OutputCollector({ maxTextBytes: 1000, maxExecutionBytes: 50_000, maxOutputs: 10 });
    display(collector, { 'image/png': base64(60_000) });
    expect(collector.result()).toEqual([
      {
        output_type: 'display_data',
        data: { 'text/plain': "[Cellmark: image/png (58.6 KiB) not recorded: this execution's outputs are over the 48.8 KiB limit]" },
        metadata: {},
      },
    ]);
  });

  it('replaces an updated display that grew over the limit', () => {
    const collector = new OutputCollector({ maxTextBytes: 1000, maxExecutionBytes: 50_000, maxOutputs: 10 });
    collector.add('display_data', { data: { 'text/plain': 'loading' }, metadata: {}, transient: { display_id: 'd1' } });
    collector.add('update_display_data', { data: { 'image/png': base64(70_000), 'text/plain': 'plot' }, metadata: {}, transient: { display_id: 'd1' } });
    const [output] = collector.result();
    expect(output?.output_type === 'display_data' ? Object.keys(output.data) : []).toEqual(['text/plain']);
    expect(byteLength(JSON.stringify(collector.result()))).toBeLessThanOrEqual(50_000);
  });

  it('cuts a big stream to its head when it is the biggest value', () => {
    const collector = new OutputCollector({ maxTextBytes: 40_000, maxExecutionBytes: 50_000, maxOutputs: 10 });
    collector.add('stream', { name: 'stdout', text: 'x'.repeat(30_000) });
    display(collector, { 'image/png': base64(20_000) });
    const [stream, image] = collector.result();
    expect(stream?.output_type === 'stream' ? stream.text : '').toMatch(/^x{2048}\n\[… 27952 more bytes not recorded by Cellmark\]$/);
    expect(image).toMatchObject({ data: { 'image/png': base64(20_000) } });
    // Later chunks of the cut stream are counted, not kept.
    collector.add('stream', { name: 'stderr', text: 'e' });
    expect(collector.result()).toHaveLength(3);
  });

  it('drops the latest outputs when only small values are left, and says how many', () => {
    const collector = new OutputCollector({ maxTextBytes: 1000, maxExecutionBytes: 20_000, maxOutputs: 1000 });
    for (let i = 0; i < 400; i++) {
      display(collector, { 'text/plain': `value ${i}` });
    }
    const outputs = collector.result();
    expect(byteLength(JSON.stringify(outputs))).toBeLessThanOrEqual(20_000);
    const last = outputs[outputs.length - 1];
    expect(last?.output_type === 'display_data' ? last.data['text/plain'] : '').toMatch(/^\[Cellmark: \d+ more outputs not recorded/);
    expect(outputs[0]).toMatchObject({ data: { 'text/plain': 'value 0' } });
  });

  it('counts outputs over the output count limit', () => {
    const collector = new OutputCollector({ maxTextBytes: 1000, maxExecutionBytes: 1_000_000, maxOutputs: 3 });
    for (let i = 0; i < 5; i++) {
      display(collector, { 'text/plain': String(i) });
    }
    const outputs = collector.result();
    expect(outputs).toHaveLength(4);
    expect(outputs[3]).toMatchObject({ data: { 'text/plain': expect.stringMatching(/^\[Cellmark: 2 more outputs/) } });
  });
});

describe('applyCarriageReturns', () => {
  it('keeps the last overwrite of each line', () => {
    expect(applyCarriageReturns('a 10%\ra 20%\ra 100%\nnext\n')).toBe('a 100%\nnext\n');
  });

  it('overwrites only as many characters as the new text has', () => {
    expect(applyCarriageReturns('abcdef\rXY')).toBe('XYcdef');
  });

  it('keeps a trailing carriage return for the next chunk', () => {
    expect(applyCarriageReturns('50%\r')).toBe('50%\r');
  });

  it('treats \\r\\n as a newline', () => {
    expect(applyCarriageReturns('a\r\nb')).toBe('a\nb');
  });
});

describe('limitTraceback', () => {
  it('keeps whole frames up to the cap and counts the rest', () => {
    expect(limitTraceback(['aaaa', 'bbbb', 'cccc'], 9)).toEqual(['aaaa', 'bbbb', '[… 1 more frames, 4 bytes, not recorded by Cellmark]']);
  });
});

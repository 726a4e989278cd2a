import { describe, expect, it } from 'vitest';
import { safeNext } from './safe-next.ts';

const ORIGIN = 'https://cellmark.example.com';
// as `URLSearchParams.get('next')` hands them over (percent-decoded)
const hostile = [
  '/\t/evil.example/x',
  '/\n/evil.example/x',
  '/\r/evil.example/x',
  '/\r\n/evil.example/x',
  '\t//evil.example',
  '//evil.example/x',
  '///evil.example/x',
  '/\\evil.example/x',
  '\\\\evil.example/x',
  '\\/evil.example',
  '/\t\\/evil.example',
  '/.//evil.example/x',
  '/..//evil.example/x',
  '/./\\evil.example',
  'https://evil.example/x',
  'https:evil.example',
  'HTTPS://evil.example',
  '\thttps://evil.example',
  ' https://evil.example',
  'https://cellmark.example.com@evil.example/',
  'http://cellmark.example.com/x',
  'https://cellmark.example.com:444/x',
  'javascript:alert(document.domain)',
  'java\tscript:alert(1)',
  ' javascript:alert(1)',
  'JaVaScRiPt:alert(1)',
  'data:text/html,<script>alert(1)</script>',
  'vbscript:msgbox(1)',
  'blob:https://evil.example/uuid',
];

describe('safeNext', () => {
  it.each(hostile)('%j stays on this origin', (next) => {
    const to = safeNext(next, ORIGIN);
    expect(to.startsWith('/')).toBe(true);
    expect(to.startsWith('//')).toBe(false);
    // what the browser does with the result: this origin, always
    expect(new URL(to, ORIGIN).origin).toBe(ORIGIN);
  });

  it('keeps a same-site path with its query and fragment, as the browser would spell it', () => {
    expect(safeNext('/t/ada/mnist?page=2#runs', ORIGIN)).toBe('/t/ada/mnist?page=2#runs');
    expect(safeNext('/settings', ORIGIN)).toBe('/settings');
    expect(safeNext('runs', ORIGIN)).toBe('/runs');
    expect(safeNext('/a/../b', ORIGIN)).toBe('/b');
    expect(safeNext(`${ORIGIN}/settings?x=1`, ORIGIN)).toBe('/settings?x=1');
    expect(safeNext('/%2F%2Fevil.example', ORIGIN)).toBe('/%2F%2Fevil.example');
  });

  it('is / without a destination', () => {
    expect(safeNext(null, ORIGIN)).toBe('/');
    expect(safeNext(undefined, ORIGIN)).toBe('/');
    expect(safeNext('', ORIGIN)).toBe('/');
  });
});

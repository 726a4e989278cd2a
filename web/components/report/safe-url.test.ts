import { describe, expect, it } from 'vitest';
import { safeUrl } from './safe-url.ts';

describe('safeUrl', () => {
  it('accepts web addresses, adding https:// to bare hosts', () => {
    expect(safeUrl('https://example.com/a')).toBe('https://example.com/a');
    expect(safeUrl('example.com')).toBe('https://example.com/');
    expect(safeUrl('mailto:ada@example.com')).toBe('mailto:ada@example.com');
  });
  it('refuses script and local schemes', () => {
    expect(safeUrl('javascript:alert(1)')).toBeNull();
    expect(safeUrl('data:text/html,x')).toBeNull();
    expect(safeUrl('file:///etc/passwd')).toBeNull();
    expect(safeUrl('   ')).toBeNull();
  });
});

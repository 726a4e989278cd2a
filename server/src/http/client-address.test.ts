import { describe, expect, it } from 'vitest';
import { clientAddress, parseProxyEntry, trustedProxies } from './client-address.ts';

describe('clientAddress', () => {
  const proxies = trustedProxies(['10.0.0.0/8', '192.168.1.7', 'fd00::/8'])!;

  it('is the socket peer when no proxy is trusted, whatever X-Forwarded-For says', () => {
    expect(clientAddress('203.0.113.9', '198.51.100.1', null)).toBe('203.0.113.9');
    expect(clientAddress('::ffff:203.0.113.9', undefined, null)).toBe('203.0.113.9');
    expect(clientAddress(undefined, '198.51.100.1', proxies)).toBe('unknown');
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy (spoofing)', () => {
    expect(clientAddress('203.0.113.9', '198.51.100.1', proxies)).toBe('203.0.113.9');
    expect(clientAddress('11.0.0.1', '198.51.100.1', proxies)).toBe('11.0.0.1');
  });

  it('reads X-Forwarded-For right to left past trusted hops; the first untrusted one is the client', () => {
    expect(clientAddress('10.1.2.3', '198.51.100.1', proxies)).toBe('198.51.100.1');
    expect(clientAddress('::ffff:10.1.2.3', '198.51.100.1', proxies)).toBe('198.51.100.1');
    // what the client put in front is never believed
    expect(clientAddress('10.1.2.3', '6.6.6.6, 198.51.100.1', proxies)).toBe('198.51.100.1');
    expect(clientAddress('10.1.2.3', '6.6.6.6, 198.51.100.1, 192.168.1.7, 10.9.9.9', proxies)).toBe('198.51.100.1');
    // several headers arrive joined by node, or as a list
    expect(clientAddress('10.1.2.3', ['6.6.6.6', '198.51.100.1'], proxies)).toBe('198.51.100.1');
    expect(clientAddress('fd00::1', '2001:db8::5', proxies)).toBe('2001:db8::5');
    expect(clientAddress('10.1.2.3', '198.51.100.1:5678', proxies)).toBe('198.51.100.1');
    expect(clientAddress('10.1.2.3', '[2001:db8::5]:443', proxies)).toBe('2001:db8::5');
    expect(clientAddress('10.1.2.3', '2001:DB8::5', proxies)).toBe('2001:db8::5');
  });

  it('stops at the first hop that is not an address, and falls back to the furthest trusted hop', () => {
    expect(clientAddress('10.1.2.3', '198.51.100.1, garbage', proxies)).toBe('10.1.2.3');
    expect(clientAddress('10.1.2.3', '198.51.100.1, garbage, 10.0.0.9', proxies)).toBe('10.0.0.9');
    expect(clientAddress('10.1.2.3', undefined, proxies)).toBe('10.1.2.3');
    expect(clientAddress('10.1.2.3', '10.0.0.9, 192.168.1.7', proxies)).toBe('10.0.0.9');
  });
});

describe('trusted proxy entries', () => {
  it('accepts addresses and CIDRs of both families and names a bad entry', () => {
    expect(parseProxyEntry('10.0.0.0/8')).toEqual({ address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    expect(parseProxyEntry('::1')).toEqual({ address: '::1', prefix: 128, family: 'ipv6' });
    for (const bad of ['10.0.0.0/33', '10.0.0.0/', 'proxy.internal', '10.0.0.0/8/8', '::1/129', '10.0.0.0/-1', '']) expect(parseProxyEntry(bad)).toBeNull();
    expect(() => trustedProxies(['10.0.0.1', 'nope'])).toThrow('not an IP address or CIDR: "nope"');
    expect(trustedProxies([])).toBeNull();
  });
});

// Which address a request comes from, for per-client limits (better-auth's sign-in rate limit
// keys its buckets by it). The socket's peer, unless that peer is a reverse proxy named in
// CELLMARK_TRUSTED_PROXIES: then X-Forwarded-For is read right to left (each proxy appends the
// address it was reached from), past every trusted hop; the first untrusted address is the
// client. Anything left of it was written by the client and is never believed.
import net from 'node:net';

/** One CELLMARK_TRUSTED_PROXIES entry: an address (`10.0.0.5`, `::1`) or a CIDR (`10.0.0.0/8`). */
export function parseProxyEntry(entry: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | null {
  const [address = '', prefixText, ...rest] = entry.split('/');
  const version = net.isIP(address);
  if (!version || rest.length) return null;
  const bits = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? bits : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN;
  if (!(prefix >= 0 && prefix <= bits)) return null;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** The trusted proxies as a BlockList (node's CIDR matcher; it also matches IPv4-mapped IPv6). */
export function trustedProxies(entries: readonly string[]): net.BlockList | null {
  if (!entries.length) return null;
  const list = new net.BlockList();
  for (const entry of entries) {
    const parsed = parseProxyEntry(entry);
    if (!parsed) throw new Error(`not an IP address or CIDR: "${entry}"`);
    list.addSubnet(parsed.address, parsed.prefix, parsed.family);
  }
  return list;
}

/** An address as one spelling: `::ffff:1.2.3.4` (IPv4 on a dual-stack socket) is `1.2.3.4`. */
function normalize(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1]! : address.toLowerCase();
}

/** One X-Forwarded-For entry as an address; some proxies add a port (`1.2.3.4:5678`, `[::1]:80`). */
function forwardedAddress(entry: string): string | null {
  const value = entry.trim();
  if (net.isIP(value)) return normalize(value);
  const withPort = /^\[([^\]]+)\]:\d+$/.exec(value) ?? /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(value);
  return withPort && net.isIP(withPort[1]!) ? normalize(withPort[1]!) : null;
}

export function clientAddress(peer: string | undefined, forwardedFor: string | string[] | undefined, trusted: net.BlockList | null): string {
  let client = peer ? normalize(peer) : 'unknown';
  if (!trusted || !peer || !net.isIP(client) || !trusted.check(client, net.isIPv4(client) ? 'ipv4' : 'ipv6')) return client;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : (forwardedFor ?? '')).split(',');
  for (let i = hops.length - 1; i >= 0; i--) {
    if (!hops[i]!.trim()) continue;
    const hop = forwardedAddress(hops[i]!);
    // a trusted proxy wrote something that is not an address: believe nothing further left
    if (!hop) return client;
    client = hop;
    if (!trusted.check(hop, net.isIPv4(hop) ? 'ipv4' : 'ipv6')) return hop;
  }
  // every hop is a trusted proxy: the furthest one is the best we know
  return client;
}

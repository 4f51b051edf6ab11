import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/** Address ranges a push callback may not reach unless an operator allow-lists them (SSRF). */
const NOT_PUBLIC: Array<[string, number, 'ipv4' | 'ipv6', string]> = [
  ['0.0.0.0', 8, 'ipv4', 'unspecified'],
  ['127.0.0.0', 8, 'ipv4', 'loopback'],
  ['10.0.0.0', 8, 'ipv4', 'private'],
  ['172.16.0.0', 12, 'ipv4', 'private'],
  ['192.168.0.0', 16, 'ipv4', 'private'],
  ['100.64.0.0', 10, 'ipv4', 'shared (CGNAT)'],
  ['169.254.0.0', 16, 'ipv4', 'link-local'],
  ['224.0.0.0', 4, 'ipv4', 'multicast'],
  ['240.0.0.0', 4, 'ipv4', 'reserved'],
  ['::', 128, 'ipv6', 'unspecified'],
  ['::1', 128, 'ipv6', 'loopback'],
  ['fc00::', 7, 'ipv6', 'private (unique local)'],
  ['fe80::', 10, 'ipv6', 'link-local'],
  ['ff00::', 8, 'ipv6', 'multicast'],
];

const RANGES = NOT_PUBLIC.map(([network, prefix, family, kind]) => {
  const list = new BlockList();
  list.addSubnet(network, prefix, family);
  return { list, family, kind };
});

/** The kind of non-public range an address is in, or undefined for a public one. */
export function nonPublicKind(address: string): string | undefined {
  let ip = address;
  // An IPv4-mapped IPv6 address is the IPv4 address.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped?.[1]) ip = mapped[1];
  const family = isIP(ip) === 4 ? 'ipv4' : 'ipv6';
  return RANGES.find((r) => r.family === family && r.list.check(ip, family))?.kind;
}

/**
 * Operator exceptions (GATEWAY_A2A_PUSH_ALLOW): host names (exact, any case), addresses and CIDR
 * ranges, comma-separated, e.g. `127.0.0.1,hooks.internal,10.20.0.0/16`.
 */
export class PushAllowList {
  private readonly hosts = new Set<string>();
  private readonly addresses = new BlockList();

  constructor(spec: string | undefined) {
    for (const raw of (spec ?? '').split(',')) {
      const entry = raw.trim().toLowerCase();
      if (!entry) continue;
      const [network, prefix] = entry.split('/');
      const family = isIP(network ?? '');
      if (family) {
        const type = family === 4 ? 'ipv4' : 'ipv6';
        if (prefix !== undefined) this.addresses.addSubnet(network as string, Number(prefix), type);
        else this.addresses.addAddress(network as string, type);
      } else {
        this.hosts.add(entry.replace(/^\[|\]$/g, ''));
      }
    }
  }

  allows(host: string, address: string): boolean {
    if (this.hosts.has(host.toLowerCase())) return true;
    const family = isIP(address) === 4 ? 'ipv4' : 'ipv6';
    return this.addresses.check(address, family);
  }
}

export class CallbackRefused extends Error {}

/**
 * Checks a push callback URL: http(s), no credentials in it, and every address its host resolves
 * to public, unless allow-listed. Checked when a config is created and again before each delivery
 * (a name may resolve elsewhere later).
 */
export async function checkCallbackUrl(raw: string, allow: PushAllowList): Promise<URL> {
  const url = URL.parse(raw);
  if (!url) throw new CallbackRefused('the push URL is not a URL');
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new CallbackRefused(`the push URL must be http or https, not ${url.protocol.replace(':', '')}`);
  }
  if (url.username || url.password) {
    throw new CallbackRefused('the push URL must not carry credentials: use the config’s authentication');
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
    } catch {
      throw new CallbackRefused(`the push URL's host ${JSON.stringify(host.slice(0, 100))} does not resolve`);
    }
  }
  for (const address of addresses) {
    const kind = nonPublicKind(address);
    if (kind && !allow.allows(host, address)) {
      throw new CallbackRefused(
        `the push URL's host ${JSON.stringify(host.slice(0, 100))} is a ${kind} address (${address}); ` +
          'an operator may allow it with GATEWAY_A2A_PUSH_ALLOW',
      );
    }
  }
  return url;
}

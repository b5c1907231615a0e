// Edge policy for inbound trace context: which callers are trusted, and what untrusted context does.
import { BlockList, isIP } from 'node:net';
import { type OptionContext, optionError } from '@vigil/core';

/** What happens to trace context sent by an untrusted caller. */
export type InboundPolicy = 'continue' | 'restart' | 'ignore';

/** Addresses trusted by default: only the machine itself. */
export const DEFAULT_TRUSTED_PROXIES: readonly string[] = Object.freeze(['127.0.0.0/8', '::1/128']);

/** A compiled list of trusted addresses and networks. */
export interface TrustList {
  isTrusted(address: string | undefined): boolean;
}

/** Compiles addresses (`10.0.0.7`) and CIDRs (`10.0.0.0/8`, `fd00::/8`); throws a coded error on a bad entry. */
export function compileTrustList(
  ctx: OptionContext,
  option: string,
  entries: readonly unknown[],
): TrustList {
  const list = new BlockList();
  for (const entry of entries) {
    const bad = () =>
      optionError(
        ctx,
        'INVALID_CIDR',
        option,
        'IP addresses or CIDR ranges such as "10.0.0.0/8" or "fd00::/8"',
        entry,
      );
    if (typeof entry !== 'string') throw bad();
    const [address = '', prefixText, ...rest] = entry.trim().split('/');
    const family = isIP(address);
    if (family === 0 || rest.length > 0) throw bad();
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefixText === undefined) {
      list.addAddress(address, type);
      continue;
    }
    const prefix = Number(prefixText);
    if (!/^\d+$/.test(prefixText) || prefix > (family === 4 ? 32 : 128)) throw bad();
    list.addSubnet(address, prefix, type);
  }
  const empty = entries.length === 0;
  return {
    isTrusted(address) {
      if (empty || address === undefined) return false;
      // IPv4 clients of a dual-stack server show up as IPv4-mapped IPv6 addresses.
      const mapped = address.startsWith('::ffff:') ? address.slice(7) : address;
      const family = isIP(mapped);
      if (family === 0) return false;
      return list.check(mapped, family === 4 ? 'ipv4' : 'ipv6');
    },
  };
}

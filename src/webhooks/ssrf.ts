import { lookup } from "node:dns/promises";
import { isIP } from "node:net";

// Loopback, private, link-local, CGNAT, multicast and reserved ranges: never a customer's public endpoint.
const V4_BLOCKS: [number, number][] = [
  [0x00000000, 8],
  [0x0a000000, 8],
  [0x64400000, 10],
  [0x7f000000, 8],
  [0xa9fe0000, 16],
  [0xac100000, 12],
  [0xc0000000, 24],
  [0xc0a80000, 16],
  [0xc6120000, 15],
  [0xe0000000, 4],
  [0xf0000000, 4],
];

function v4ToInt(ip: string): number {
  return ip.split(".").reduce((acc, part) => acc * 256 + Number(part), 0);
}

export function isPrivateAddress(ip: string): boolean {
  const bare = ip.replace(/^\[|\]$/g, "").toLowerCase();
  const family = isIP(bare);
  if (family === 4) {
    const n = v4ToInt(bare);
    return V4_BLOCKS.some(([base, bits]) => n >>> (32 - bits) === base >>> (32 - bits));
  }
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare)?.[1];
    if (mapped) return isPrivateAddress(mapped);
    return (
      bare === "::" ||
      bare === "::1" ||
      /^f[cd]/.test(bare) ||
      /^fe[89ab]/.test(bare) ||
      bare.startsWith("ff") ||
      bare.startsWith("64:ff9b:")
    );
  }
  return false;
}

export class BlockedTargetError extends Error {}

/** Hosts that are private by name or by literal address; no DNS (usable on every request). */
export function isObviouslyPrivateHost(hostname: string): boolean {
  const host = hostname
    .replace(/^\[|\]$/g, "")
    .toLowerCase()
    .replace(/\.$/, "");
  if (
    host === "localhost" ||
    host.endsWith(".localhost") ||
    host.endsWith(".internal") ||
    host.endsWith(".local")
  )
    return true;
  return isIP(host) !== 0 && isPrivateAddress(host);
}

/** Resolves the URL's host and refuses it when any address is private; returns the address to connect to. */
export async function resolvePublicTarget(url: URL, allowPrivate: boolean): Promise<string | undefined> {
  if (allowPrivate) return undefined;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (isObviouslyPrivateHost(host)) throw new BlockedTargetError(`refusing private target ${host}`);
  if (isIP(host)) return host;
  const addrs = await lookup(host, { all: true });
  if (addrs.length === 0 || addrs.some((a) => isPrivateAddress(a.address))) {
    throw new BlockedTargetError(`refusing ${host}: it resolves to a private address`);
  }
  return addrs[0]?.address;
}

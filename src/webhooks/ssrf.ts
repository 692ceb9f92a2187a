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

/** The eight 16-bit groups of an IPv6 address (with `::` and a dotted IPv4 tail expanded), or null. */
function v6Groups(ip: string): number[] | null {
  let text = ip;
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)?.[1];
  if (tail) {
    if (isIP(tail) !== 4) return null;
    const n = v4ToInt(tail);
    text = `${text.slice(0, -tail.length)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const part = (h: string | undefined) => (h ? h.split(":").map((g) => Number.parseInt(g, 16)) : []);
  const head = part(halves[0]);
  const rest = part(halves[1]);
  const fill = 8 - head.length - rest.length;
  if (halves.length === 1 ? fill !== 0 : fill < 0) return null;
  const groups = [...head, ...Array<number>(halves.length === 2 ? fill : 0).fill(0), ...rest];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff)
    ? groups
    : null;
}

const v4Of = (hi: number, lo: number) => `${hi >>> 8}.${hi & 0xff}.${lo >>> 8}.${lo & 0xff}`;

export function isPrivateAddress(ip: string): boolean {
  const bare = ip
    .replace(/^\[|\]$/g, "")
    .replace(/%.*$/, "")
    .toLowerCase();
  const family = isIP(bare);
  if (family === 4) {
    const n = v4ToInt(bare);
    return V4_BLOCKS.some(([base, bits]) => n >>> (32 - bits) === base >>> (32 - bits));
  }
  if (family !== 6) return false;
  const g = v6Groups(bare);
  if (!g) return true; // unparseable: refuse
  const [g0, g1, g2, g3, g4, g5, g6, g7] = g as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const zeroTo = (k: number) => g.slice(0, k).every((x) => x === 0);
  // Every form that embeds an IPv4 address is judged by that address: mapped (::ffff:a.b.c.d, however it is
  // spelled, e.g. ::ffff:7f00:1), translated (::ffff:0:a.b.c.d) and 6to4 (2002:AABB:CCDD::).
  if (zeroTo(5) && g5 === 0xffff) return isPrivateAddress(v4Of(g6, g7));
  if (zeroTo(4) && g4 === 0xffff && g5 === 0) return isPrivateAddress(v4Of(g6, g7));
  if (g0 === 0x2002) return isPrivateAddress(v4Of(g1, g2));
  return (
    zeroTo(6) || // ::, ::1 and the deprecated IPv4-compatible ::a.b.c.d
    (g0 === 0x64 && g1 === 0xff9b) || // NAT64 64:ff9b::/96 and 64:ff9b:1::/48
    (g0 === 0x100 && g1 === 0 && g2 === 0 && g3 === 0) || // discard-only 100::/64
    (g0 === 0x2001 && g1 === 0) || // Teredo 2001::/32 (tunnels to an IPv4 address)
    (g0 === 0x2001 && g1 === 0xdb8) || // documentation
    (g0 & 0xfe00) === 0xfc00 || // unique local fc00::/7
    (g0 & 0xffc0) === 0xfe80 || // link-local fe80::/10
    (g0 & 0xffc0) === 0xfec0 || // site-local fec0::/10 (deprecated)
    (g0 & 0xff00) === 0xff00 // multicast
  );
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

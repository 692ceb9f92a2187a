import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { networkInterfaces } from "node:os";
import ipaddr from "ipaddr.js";

// Only the global unicast block of IPv6 is assigned to the public internet.
const V6_GLOBAL_UNICAST: [ipaddr.IPv6, number] = [ipaddr.IPv6.parse("2000::"), 3];
const OWN_ADDRESSES_TTL_MS = 10_000;
const SET_TIME_DNS_TIMEOUT_MS = 2000;

const bare = (host: string) =>
  host
    .replace(/^\[|\]$/g, "")
    .replace(/%.*$/, "")
    .toLowerCase();

/**
 * An allow-list, not a block-list: true only for an address in no IANA special-purpose range (private, loopback,
 * link-local, shared, documentation TEST-NETs, benchmarking, 6to4 relay, multicast, reserved, IPv4-mapped, NAT64,
 * Teredo, …), judged by ipaddr.js's range tables.
 */
export function isPublicUnicast(ip: string): boolean {
  const text = bare(ip);
  if (isIP(text) === 0) return false;
  const addr = ipaddr.parse(text);
  if (addr.range() !== "unicast") return false;
  return addr.kind() === "ipv4" || (addr as ipaddr.IPv6).match(V6_GLOBAL_UNICAST);
}

let own: { at: number; addresses: Set<string> } | undefined;

/** This machine's interface addresses (a public one reaches our own services just as loopback does). */
function ownAddresses(): Set<string> {
  if (!own || Date.now() - own.at > OWN_ADDRESSES_TTL_MS) {
    const all = Object.values(networkInterfaces()).flatMap((list) => list ?? []);
    own = { at: Date.now(), addresses: new Set(all.map((a) => normalize(a.address))) };
  }
  return own.addresses;
}

const normalize = (ip: string) => {
  const text = bare(ip);
  return isIP(text) ? ipaddr.parse(text).toNormalizedString() : text;
};

/** A webhook may not go here: not public unicast, or one of this host's own addresses (`own` stands in for tests). */
export function isBlockedAddress(ip: string, own?: string[]): boolean {
  const mine = own ? new Set(own.map(normalize)) : ownAddresses();
  return !isPublicUnicast(ip) || mine.has(normalize(ip));
}

export class BlockedTargetError extends Error {}

/** Names that are internal whatever they resolve to. */
function isInternalName(host: string): boolean {
  const h = host.replace(/\.$/, "");
  return h === "localhost" || [".localhost", ".internal", ".local"].some((s) => h.endsWith(s));
}

/**
 * Resolves the URL's host and refuses it (BlockedTargetError) when it or any address it resolves to is blocked;
 * returns the address to connect to. A DNS failure is thrown as it is: it says nothing about the target.
 */
export async function resolvePublicTarget(url: URL, allowPrivate: boolean): Promise<string | undefined> {
  if (allowPrivate) return undefined;
  const host = bare(url.hostname);
  if (isInternalName(host)) throw new BlockedTargetError(`refusing ${host}: an internal name`);
  if (isIP(host)) {
    if (isBlockedAddress(host)) throw new BlockedTargetError(`refusing ${host}: not a public address`);
    return host;
  }
  const addrs = await lookup(host, { all: true });
  const blocked = addrs.find((a) => isBlockedAddress(a.address));
  if (addrs.length === 0 || blocked) {
    throw new BlockedTargetError(
      `refusing ${host}: it resolves to ${blocked?.address ?? "nothing"}, not a public address`,
    );
  }
  return addrs[0]?.address;
}

/**
 * The check when a user sets their webhook URL: literal addresses, internal names and names that resolve to a
 * blocked address are refused. A name that does not resolve right now is accepted; every delivery checks again.
 */
export async function isRefusedWebhookTarget(url: URL, allowPrivate: boolean): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      resolvePublicTarget(url, allowPrivate),
      new Promise((resolve) => {
        timer = setTimeout(resolve, SET_TIME_DNS_TIMEOUT_MS);
      }),
    ]);
    return false;
  } catch (err) {
    return err instanceof BlockedTargetError;
  } finally {
    clearTimeout(timer);
  }
}

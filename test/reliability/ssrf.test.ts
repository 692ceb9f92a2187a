/**
 * SSRF through user webhook URLs (issue 8 item 5, issue 12 item 6), with ALLOW_PRIVATE_WEBHOOKS=false: only public
 * unicast addresses are allowed. Private ranges, loopback, every IANA special-purpose range (TEST-NETs, the 6to4
 * relay, benchmarking, shared space, multicast, reserved), IPv6 special ranges and IPv4-mapped/NAT64 forms, this
 * host's own interface addresses, names that are internal or resolve to any of those (checked when set and at
 * delivery; `localhost`, this machine's own hostname, a name re-pointed at loopback between the check and the
 * connection) and redirects are refused; no request ever reaches the target. A DNS failure at delivery is retried.
 */
import { createServer, type Server } from "node:http";
import { hostname } from "node:os";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createUserNotifier } from "../../src/webhooks/notify.js";
import { networkInterfaces } from "node:os";
import { isBlockedAddress, isPublicUnicast } from "../../src/net/ssrf.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { legs } from "../helpers/db.js";
import { waitFor } from "../helpers/wait.js";

// "rebind.test" passes the resolve-time check as a public address, then connects to loopback: the connect-time
// check must catch it. "testnet.test" resolves into TEST-NET-3; "dnsfail.test" fails as a resolver outage does.
// Every other name resolves for real.
// "own-host.test" resolves publicly when the URL is set, then to this machine's own address (as the machine's
// hostname may), so the delivery-time check is what must refuse it. The test resets the count.
const ownHost = vi.hoisted(() => ({ lookups: 0 }));
vi.mock("node:dns/promises", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:dns/promises")>();
  const { networkInterfaces } = await import("node:os");
  const own = Object.values(networkInterfaces())
    .flatMap((l) => l ?? [])
    .find((a) => a.family === "IPv4" && !a.internal);
  const lookup = (async (host: string, opts: object) => {
    if (host === "rebind.test") return [{ address: "93.184.216.34", family: 4 }];
    if (host === "own-host.test")
      return [
        { address: ownHost.lookups++ === 0 ? "93.184.216.34" : (own?.address ?? "127.0.0.1"), family: 4 },
      ];
    if (host === "testnet.test") return [{ address: "203.0.113.7", family: 4 }];
    if (host === "dnsfail.test")
      throw Object.assign(new Error("getaddrinfo EAI_AGAIN dnsfail.test"), { code: "EAI_AGAIN" });
    return real.lookup(host, opts as never);
  }) as typeof real.lookup;
  return { ...real, default: { ...real, lookup }, lookup };
});
vi.mock("node:dns", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:dns")>();
  const lookup = ((host: string, opts: unknown, cb: (...a: unknown[]) => void) => {
    if (host !== "rebind.test") return (real.lookup as (...a: unknown[]) => void)(host, opts, cb);
    const all = typeof opts === "object" && opts !== null && (opts as { all?: boolean }).all;
    if (all) cb(null, [{ address: "127.0.0.1", family: 4 }]);
    else cb(null, "127.0.0.1", 4);
  }) as typeof real.lookup;
  return { ...real, default: { ...real, lookup }, lookup };
});

interface Target {
  url: string;
  port: number;
  hits: string[];
  close(): Promise<void>;
}

/** A server on every interface that records what reaches it; `redirectTo` makes it answer 302 there. */
async function target(redirectTo?: () => string): Promise<Target> {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    req.resume();
    if (redirectTo) {
      res.statusCode = 302;
      res.setHeader("location", redirectTo());
    } else res.statusCode = 204;
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, "::", r)); // dual stack: IPv4, IPv6 and IPv4-mapped
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    hits,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const PRIVATE_URLS = [
  "http://127.0.0.1/x",
  "http://127.1/x",
  "http://2130706433/x",
  "http://0x7f000001/x",
  "http://0/x",
  "http://0.0.0.0/x",
  "http://10.0.0.1/x",
  "http://172.16.5.4/x",
  "http://192.168.1.1/x",
  "http://169.254.169.254/latest/meta-data/",
  "http://100.64.0.1/x",
  "http://[::1]/x",
  "http://[::]/x",
  "http://[::ffff:127.0.0.1]/x",
  "http://[0:0:0:0:0:ffff:7f00:1]/x",
  "http://[::ffff:10.0.0.1]/x",
  "http://[::ffff:169.254.169.254]/x",
  "http://[fc00::1]/x",
  "http://[fd12:3456::1]/x",
  "http://[fe80::1]/x",
  "http://localhost/x",
  "http://LOCALHOST./x",
  "http://api.localhost/x",
  "http://metadata.google.internal/computeMetadata/v1/",
  "https://127.0.0.1:8443/x",
  // Documentation, benchmarking, relay, multicast, reserved and broadcast: not public unicast either.
  "http://192.0.2.10/x",
  "http://198.51.100.7/x",
  "http://203.0.113.9/x",
  "http://192.88.99.1/x",
  "http://198.18.0.1/x",
  "http://192.0.0.8/x",
  "http://224.0.0.1/x",
  "http://240.0.0.1/x",
  "http://255.255.255.255/x",
  "http://[2001:db8::1]/x",
  "http://[64:ff9b::808:808]/x",
  "http://[::ffff:8.8.8.8]/x",
  "http://[2002:5db8:d822::1]/x",
  "http://[2001:2::1]/x",
  "http://[ff0e::1]/x",
  // A name resolving into TEST-NET-3, refused when set.
  "http://testnet.test/x",
];

describe("webhook target addresses", () => {
  it("refuses private and loopback addresses in every spelling, including IPv4-mapped IPv6 in hex", () => {
    for (const ip of [
      "127.0.0.1",
      "10.1.2.3",
      "::1",
      "::",
      "::ffff:127.0.0.1",
      "::ffff:7f00:1",
      "0:0:0:0:0:ffff:7f00:1",
      "::ffff:a00:1",
      "::ffff:a9fe:a9fe",
      "::7f00:1",
      "64:ff9b::7f00:1",
      "fe80::1",
      "fc00::1",
      "fec0::1",
      "ff02::1",
      "2002:7f00:1::",
      "2001:0:4136:e378:8000:63bf:3fff:fdd2",
      "fe80::1%lo",
    ]) {
      expect(isBlockedAddress(ip), ip).toBe(true);
    }
    for (const ip of ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "2a00:1450:4001::200e"]) {
      expect(isBlockedAddress(ip), ip).toBe(false);
    }
  });

  it("allows only public unicast: every IANA special-purpose range is refused", () => {
    for (const ip of [
      "192.0.2.1", // TEST-NET-1
      "198.51.100.1", // TEST-NET-2
      "203.0.113.1", // TEST-NET-3
      "192.88.99.1", // 6to4 relay anycast
      "198.18.0.1", // benchmarking
      "198.19.255.255",
      "100.64.0.1", // shared address space
      "192.0.0.9", // IETF protocol assignments
      "192.31.196.1", // AS112
      "192.52.193.1", // AMT
      "192.175.48.1", // AS112 direct delegation
      "224.0.0.1", // multicast
      "239.255.255.250",
      "240.0.0.1", // reserved
      "255.255.255.255",
      "0.1.2.3",
      "::ffff:8.8.8.8", // IPv4-mapped, even of a public address
      "::ffff:5db8:d822",
      "64:ff9b::808:808", // NAT64
      "64:ff9b:1::1",
      "2002:5db8:d822::1", // 6to4
      "2001::1", // Teredo
      "2001:2::1", // benchmarking
      "2001:db8::1", // documentation
      "2001:10::1", // ORCHID
      "3fff::1", // documentation (RFC 9637)
      "5f00::1", // segment routing
      "100::1", // discard-only
      "4000::1", // outside global unicast
      "ff0e::1",
      "not an address",
    ]) {
      expect(isPublicUnicast(ip), ip).toBe(false);
    }
    expect(isPublicUnicast("1.1.1.1")).toBe(true);
    expect(isPublicUnicast("2606:4700:4700::1111")).toBe(true);
  });

  it("refuses this host's own interface addresses, public ones included", () => {
    const own = Object.values(networkInterfaces()).flatMap((l) => l ?? []);
    expect(own.length).toBeGreaterThan(0);
    for (const a of own) expect(isBlockedAddress(a.address), a.address).toBe(true);
    expect(isBlockedAddress("93.184.216.34", ["93.184.216.34"])).toBe(true);
    expect(isBlockedAddress("2606:4700:4700:0::1111", ["2606:4700:4700::1111"])).toBe(true);
    expect(isBlockedAddress("2606:4700:4700::1111", ["93.184.216.34"])).toBe(false);
  });
});

describe.each(await legs())("user webhook SSRF on %s (ALLOW_PRIVATE_WEBHOOKS=false)", (leg) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(
      leg,
      { ALLOW_PRIVATE_WEBHOOKS: "false", RATE_LIMIT_PER_SECOND: "0" },
      { listen: true, sandbox: { stopDelayMs: 50 } },
    );
  });
  afterAll(async () => t?.close());

  it("refuses private, loopback and internal targets when they are set (422), keeping the old URL", async () => {
    const u = await t.newUser();
    const ok = await t.call("PUT", "/user/webhook", {
      key: u.key,
      body: { webhook_url: "https://hooks.example.com/mine" },
    });
    expect(ok.status, ok.raw).toBe(200);
    for (const url of PRIVATE_URLS) {
      const res = await t.call("PUT", "/user/webhook", { key: u.key, body: { webhook_url: url } });
      expect(res.status, `${url}: ${res.raw}`).toBe(422);
      expect(res.body.detail[0]).toMatchObject({ loc: ["body", "webhook_url"] });
    }
    const user = await t.call("GET", `/admin/users/${u.id}`, {
      adminKey: "test-admin-token-0123456789abcdef",
    });
    expect(user.body.data.webhook_url).toBe("https://hooks.example.com/mine");
  });

  /** A user whose webhook URL is set straight in the database (as if it had passed the check when set). */
  async function userWithMeeting(webhookUrl: string) {
    const u = await t.newUser();
    const native = `ssrf-${Math.random().toString(36).slice(2)}`;
    const bot = await t.call("POST", "/bots", {
      key: u.key,
      body: { platform: "teams", native_meeting_id: native },
    });
    expect(bot.status, bot.raw).toBe(201);
    await t.deps.db.query(
      "UPDATE users SET data = data || jsonb_build_object('webhook_url', $2::text) WHERE id = $1",
      [u.id, webhookUrl],
    );
    return { u, native, meetingId: bot.body.id as number };
  }

  const attempts = async (userId: number) =>
    (
      await t.deps.db.query<{ outcome: string; status_code: number | null }>(
        "SELECT outcome, status_code FROM webhook_deliveries WHERE user_id = $1 ORDER BY id",
        [userId],
      )
    ).rows;

  it("never delivers to a name that resolves to this machine (its own hostname), even after a finished meeting", async () => {
    const own = "own-host.test";
    ownHost.lookups = 0;
    const tgt = await target();
    try {
      const u = await t.newUser();
      const url = `http://${own}:${tgt.port}/hook`;
      const set = await t.call("PUT", "/user/webhook", { key: u.key, body: { webhook_url: url } });
      // Accepted (it resolved publicly then), and then never delivered.
      expect(set.status, set.raw).toBe(200);
      const native = `ssrf-host-${leg}`;
      expect(
        (
          await t.call("POST", "/bots", {
            key: u.key,
            body: { platform: "teams", native_meeting_id: native },
          })
        ).status,
      ).toBe(201);
      expect((await t.call("DELETE", `/bots/teams/${native}`, { key: u.key })).status).toBe(202);
      await waitFor(async () => (await attempts(u.id)).length > 0, 30_000, "a delivery attempt");
      expect(await attempts(u.id)).toEqual([{ outcome: "blocked", status_code: null }]);
      expect(tgt.hits).toEqual([]);
    } finally {
      await tgt.close();
    }
  });

  it("the notifier refuses literal private targets, private names and DNS rebinding; nothing reaches them", async () => {
    const tgt = await target();
    const notifier = createUserNotifier({ db: t.deps.db, clock: t.deps.ctx.clock, allowPrivate: false });
    try {
      for (const url of [
        `http://127.0.0.1:${tgt.port}/a`,
        `http://[::1]:${tgt.port}/b`,
        `http://[::ffff:127.0.0.1]:${tgt.port}/c`,
        `http://[::ffff:7f00:1]:${tgt.port}/d`,
        `http://localhost:${tgt.port}/e`,
        `http://${hostname()}:${tgt.port}/f`,
        `http://rebind.test:${tgt.port}/g`,
      ]) {
        const m = await userWithMeeting(url);
        await notifier.notify({ meetingId: m.meetingId, userId: m.u.id }, 1).catch(() => undefined);
        const rows = await attempts(m.u.id);
        expect(rows.length, url).toBe(1);
        expect(["blocked", "failed"], `${url}: ${JSON.stringify(rows)}`).toContain(rows[0]?.outcome);
        if (url.includes("rebind.test")) {
          // It passed the resolve-time check (a public address) and was stopped by the connect-time one.
          const err = await t.deps.db.query<{ error: string }>(
            "SELECT error FROM webhook_deliveries WHERE user_id = $1",
            [m.u.id],
          );
          expect(err.rows[0]?.error).toMatch(/refusing rebind\.test: not a public address/);
        }
      }
      expect(tgt.hits, "requests that reached the private target").toEqual([]);
    } finally {
      await notifier.close();
      await tgt.close();
    }
  });

  it("a DNS failure at delivery is a failed attempt the queue retries, never 'blocked'; a name into TEST-NET is blocked", async () => {
    const notifier = createUserNotifier({ db: t.deps.db, clock: t.deps.ctx.clock, allowPrivate: false });
    try {
      const m = await userWithMeeting("http://dnsfail.test/hook");
      // Throwing is what makes the durable queue retry the job with backoff.
      await expect(notifier.notify({ meetingId: m.meetingId, userId: m.u.id }, 1)).rejects.toThrow(
        /EAI_AGAIN/,
      );
      expect(await attempts(m.u.id)).toEqual([{ outcome: "failed", status_code: null }]);
      const n = await userWithMeeting("http://testnet.test/hook");
      await notifier.notify({ meetingId: n.meetingId, userId: n.u.id }, 1);
      expect(await attempts(n.u.id)).toEqual([{ outcome: "blocked", status_code: null }]);
      // When set, a name that does not resolve right now is accepted: every delivery checks it again.
      const set = await t.call("PUT", "/user/webhook", {
        key: m.u.key,
        body: { webhook_url: "http://dnsfail.test/hook" },
      });
      expect(set.status, set.raw).toBe(200);
    } finally {
      await notifier.close();
    }
  });

  it("never follows a redirect, to loopback or anywhere else (recorded as rejected, not retried)", async () => {
    const inside = await target();
    const redirector = await target(() => `http://127.0.0.1:${inside.port}/internal-admin`);
    // The first hop is loopback too, so this notifier must allow private targets to reach it at all.
    const notifier = createUserNotifier({ db: t.deps.db, clock: t.deps.ctx.clock, allowPrivate: true });
    try {
      const m = await userWithMeeting(`${redirector.url}/hook`);
      await notifier.notify({ meetingId: m.meetingId, userId: m.u.id }, 1); // resolves: a permanent refusal
      expect(redirector.hits).toEqual(["POST /hook"]);
      expect(inside.hits, "the redirect was followed").toEqual([]);
      expect(await attempts(m.u.id)).toEqual([{ outcome: "rejected", status_code: 302 }]);
      // And with private targets refused, a public-looking name pointing inside is never even contacted.
      const strict = createUserNotifier({ db: t.deps.db, clock: t.deps.ctx.clock, allowPrivate: false });
      const n = await userWithMeeting(`http://${hostname()}:${redirector.port}/hook`);
      await strict.notify({ meetingId: n.meetingId, userId: n.u.id }, 1).catch(() => undefined);
      await strict.close();
      expect(redirector.hits).toEqual(["POST /hook"]);
      expect(inside.hits).toEqual([]);
    } finally {
      await notifier.close();
      await redirector.close();
      await inside.close();
    }
  });
});

import { createHmac } from "node:crypto";
import { BlockList, isIP } from "node:net";
import type { Clock } from "../clock.js";
import type { Faults } from "./faults.js";
import type { Micros } from "./format.js";
import { hexId } from "./rng.js";
import { envelopeView, type Meeting, meetingView } from "./views.js";
import { envelopeCurrent } from "./views-current.js";

export interface WebhookDelivery {
  url: string;
  status: number | "error";
  body: string;
  headers: Record<string, string>;
  at: number;
}

export interface WebhookOptions {
  clock: Clock;
  faults: Faults;
  seed: number;
  format: "flat" | "envelope";
  /** Current Vexa: the meeting's own captured target, webhook.v1 envelopes, Bearer and signature always. */
  current: boolean;
  /** Current mode: refuse loopback, private, link-local and internal-name targets, as current Vexa does. */
  blockPrivate: boolean;
  /** Also send `Authorization: Bearer <secret>` (newer Vexa does; off by default). */
  bearer: boolean;
  target: () => { url: string | undefined; secret: string | undefined; userId: number };
  stamp: () => Micros;
  log: { info(o: object, msg?: string): void; warn(o: object, msg?: string): void };
}

const TIMEOUT_MS = 30_000; // baseline: one POST with a 30 s timeout

/** Vexa's signature: hex HMAC-SHA256(secret, "<ts>." + raw body), sent as "sha256=<hex>". */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

/** Sends the post-meeting webhook once, no retries (baseline §12.1), applying webhook faults and logging each attempt. */
export class WebhookSender {
  readonly deliveries: WebhookDelivery[] = [];
  dropped = 0;
  /** Current mode: targets refused by the SSRF guard (nothing was sent). */
  readonly blocked: string[] = [];
  private readonly pending = new Set<Promise<void>>();
  private readonly timers = new Set<unknown>();
  private readonly abort = new AbortController();

  constructor(private readonly o: WebhookOptions) {}

  /** Builds the payload now (the meeting as it ended) and delivers it, now or after the configured delay. */
  meetingEnded(m: Meeting): Promise<void> {
    const { url, secret, body } = this.o.current ? this.currentPayload(m) : this.baselinePayload(m);
    if (!url || body === undefined) return Promise.resolve();
    if (this.o.current && this.o.blockPrivate && isBlockedTarget(url)) {
      this.blocked.push(url);
      this.o.log.warn({ url }, "sandbox webhook blocked: not a public address");
      return Promise.resolve();
    }
    const plan = this.o.faults.webhookPlan();
    if (plan.drop) {
      this.dropped++;
      this.o.log.info({ meetingId: m.id }, "sandbox webhook dropped by fault");
      return Promise.resolve();
    }
    const send = () => {
      const copies = Array.from({ length: plan.copies }, () => this.deliver(url, body, secret, plan));
      return Promise.all(copies).then(() => undefined);
    };
    if (plan.delayMs === 0) return this.track(send());
    const handle = this.o.clock.setTimeout(() => {
      this.timers.delete(handle);
      void this.track(send());
    }, plan.delayMs);
    this.timers.add(handle);
    return Promise.resolve();
  }

  private baselinePayload(m: Meeting) {
    const { url, secret, userId } = this.o.target();
    const meeting = meetingView(m, userId);
    const payload =
      this.o.format === "envelope"
        ? envelopeView(`evt_${hexId(24, this.o.seed, "event", m.id, m.status)}`, this.o.stamp(), meeting)
        : meeting;
    return { url, secret, body: JSON.stringify(payload) };
  }

  /** Only subscribed events go out; with no `webhook_events` that is `meeting.completed` alone (delivery.py). */
  private currentPayload(m: Meeting) {
    const hook = m.hook;
    const type = m.status === "completed" ? "meeting.completed" : "bot.failed";
    const flag = hook?.events?.[type];
    const enabled = flag === undefined ? type === "meeting.completed" : Boolean(flag);
    if (!hook?.url || !enabled) return { url: undefined, secret: undefined, body: undefined };
    const payload = envelopeCurrent(m, this.o.target().userId, type, this.o.stamp());
    return { url: hook.url, secret: hook.secret, body: JSON.stringify(payload) };
  }

  private async deliver(
    url: string,
    body: string,
    secret: string | undefined,
    plan: { unsigned: boolean; badSignature: boolean },
  ): Promise<void> {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (secret && !plan.unsigned) {
      const ts = String(Math.floor(this.o.clock.now() / 1000));
      headers["x-webhook-timestamp"] = ts;
      headers["x-webhook-signature"] = signWebhook(plan.badSignature ? `${secret}-wrong` : secret, ts, body);
      if (this.o.bearer || this.o.current) headers.authorization = `Bearer ${secret}`;
    }
    const at = this.o.clock.now();
    let status: number | "error";
    try {
      const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(TIMEOUT_MS)]);
      const res = await fetch(url, { method: "POST", headers, body, signal });
      await res.arrayBuffer().catch(() => undefined);
      status = res.status;
    } catch (err) {
      status = "error";
      this.o.log.warn({ url, err: String(err) }, "sandbox webhook delivery failed");
    }
    this.deliveries.push({ url, status, body, headers, at });
  }

  private track(p: Promise<void>): Promise<void> {
    this.pending.add(p);
    return p.finally(() => this.pending.delete(p));
  }

  /** Resolves once no delivery is in flight (delayed ones not yet due are not waited for). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  close(): void {
    for (const h of this.timers) this.o.clock.clearTimeout(h);
    this.timers.clear();
    this.abort.abort();
  }
}

/** webhooks/ssrf.py's blocklist, for literal addresses and names (the sandbox resolves nothing). */
const BLOCKED = new BlockList();
for (const [net, bits] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.168.0.0", 16],
  ["224.0.0.0", 4],
] as const)
  BLOCKED.addSubnet(net, bits, "ipv4");
for (const [net, bits] of [
  ["::1", 128],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const)
  BLOCKED.addSubnet(net, bits, "ipv6");
const BLOCKED_NAMES = new Set(
  "localhost metadata.google.internal metadata.amazonaws.com metadata api-gateway admin-api meeting-api runtime-api transcription-collector redis postgres mcp".split(
    " ",
  ),
);

function isBlockedTarget(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const family = isIP(host);
  if (family === 0) return BLOCKED_NAMES.has(host);
  return BLOCKED.check(host, family === 4 ? "ipv4" : "ipv6");
}

import { createHmac } from "node:crypto";
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
  private readonly pending = new Set<Promise<void>>();
  private readonly timers = new Set<unknown>();
  private readonly abort = new AbortController();

  constructor(private readonly o: WebhookOptions) {}

  /** Builds the payload now (the meeting as it ended) and delivers it, now or after the configured delay. */
  meetingEnded(m: Meeting): Promise<void> {
    const { url, secret, body } = this.o.current ? this.currentPayload(m) : this.baselinePayload(m);
    if (!url || body === undefined) return Promise.resolve();
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

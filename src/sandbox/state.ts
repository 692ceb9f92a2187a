import type { Clock } from "../clock.js";
import { SandboxHttpError } from "./errors.js";
import type { Micros } from "./format.js";
import { hexId, Rng, uuidFrom } from "./rng.js";
import { Transcript } from "./transcript-gen.js";
import type { MeetingCreate } from "./validate.js";
import { LIVE_STATUSES, type Meeting, type MeetingStatus, type SandboxUser } from "./views.js";

export interface StateOptions {
  clock: Clock;
  seed: number;
  maxConcurrentBots: number;
  limitStatus: 403 | 429;
  stopDelayMs: number;
  segmentIntervalMs: number;
  maxMeetingMs: number;
  postStartStatus: "active" | "requested";
  joinDelayMs: number;
  log: { info(o: object, msg?: string): void; warn(o: object, msg?: string): void };
  /** Called once when a meeting ends as completed or failed: the post-meeting tasks (webhook). */
  onEnded: (m: Meeting) => Promise<void>;
}

/** The wholesaler's one account and its meetings; every status change of a simulated bot happens here. */
export class SandboxState {
  readonly user: SandboxUser;
  webhookSecret: string | undefined;
  private meetings: Meeting[] = [];
  private nextId = 1;
  private lastStampUs = 0;
  protected readonly rng: Rng;
  private closed = false;

  constructor(protected readonly o: StateOptions) {
    this.rng = new Rng(o.seed, "state");
    this.user = {
      id: 1,
      email: "sandbox@vexa.local",
      name: "Sandbox Wholesaler Account",
      image_url: null,
      max_concurrent_bots: o.maxConcurrentBots,
      data: {},
      createdUs: this.stamp(),
    };
  }

  /** A strictly increasing microsecond timestamp from the clock; the sub-millisecond part is seeded. */
  stamp(): Micros {
    const us = this.o.clock.now() * 1000 + 1 + this.rng.int(998);
    this.lastStampUs = Math.max(us, this.lastStampUs + 1);
    return this.lastStampUs;
  }

  nowUs(): Micros {
    return this.o.clock.now() * 1000;
  }

  all(): Meeting[] {
    return this.meetings;
  }

  /** The newest meeting for platform + native id (optionally with a status), as every baseline route picks it. */
  latest(platform: string, nativeId: string, status?: MeetingStatus): Meeting | undefined {
    return this.latestWhere(platform, nativeId, (m) => !status || m.status === status);
  }

  latestWhere(platform: string, nativeId: string, pred: (m: Meeting) => boolean): Meeting | undefined {
    for (let i = this.meetings.length - 1; i >= 0; i--) {
      const m = this.meetings[i];
      if (m && m.platform === platform && m.nativeId === nativeId && pred(m)) return m;
    }
    return undefined;
  }

  liveBots(): Meeting[] {
    return this.meetings.filter((m) => LIVE_STATUSES.has(m.status) && m.botContainerId !== null);
  }

  /** POST /bots, baseline §3.2: duplicate check, then the row, then the limit, then the "container". */
  requestBot(input: MeetingCreate): Meeting {
    const dup = this.latestWhere(input.platform, input.native_meeting_id, (m) => LIVE_STATUSES.has(m.status));
    if (dup) {
      throw new SandboxHttpError(
        409,
        `An active or requested meeting already exists for this platform and meeting ID, and its container is running. Meeting ID: ${dup.id}`,
      );
    }
    const limit = this.o.maxConcurrentBots;
    const overLimit = this.liveBots().length >= limit;
    const message = `User has reached the maximum concurrent bot limit (${limit}).`;
    if (overLimit && this.o.limitStatus === 429)
      throw new SandboxHttpError(429, message, { "retry-after": "5" });
    const m = this.insert(input);
    if (overLimit) {
      // The baseline inserts the row before its limit check and marks it `error` (quirk 3).
      m.status = "error";
      m.transcript.endUs = m.createdUs; // no bot, so nothing is ever heard
      m.updatedUs = this.stamp();
      throw new SandboxHttpError(403, message);
    }
    const id = m.id;
    m.botContainerId = hexId(64, this.o.seed, "container", id);
    m.containerName = `vexa-bot-${id}-${hexId(8, this.o.seed, "name", id)}`;
    m.containerCreatedMs = this.o.clock.now();
    if (this.o.postStartStatus === "active") this.activate(m);
    else this.schedule(m, this.o.joinDelayMs, () => this.activate(m));
    this.schedule(m, this.o.maxMeetingMs, () => void this.end(m, "completed"));
    this.o.log.info({ meetingId: id, platform: m.platform, nativeId: m.nativeId }, "sandbox bot started");
    return m;
  }

  protected insert(input: MeetingCreate): Meeting {
    const id = this.nextId++;
    const createdUs = this.stamp();
    const joinLagUs = Math.round(new Rng(this.o.seed, "join", id).range(1, 3) * 1_000_000);
    const joinDelayUs = this.o.postStartStatus === "active" ? 0 : this.o.joinDelayMs * 1000;
    const key = `${this.o.seed}:${id}:${input.platform}:${input.native_meeting_id}`;
    const m: Meeting = {
      id,
      platform: input.platform,
      nativeId: input.native_meeting_id,
      status: "requested",
      botContainerId: null,
      containerName: null,
      containerCreatedMs: 0,
      startUs: null,
      endUs: null,
      data: input.service_layer_id !== undefined ? { service_layer_id: input.service_layer_id } : {},
      createdUs,
      updatedUs: createdUs,
      sessionUid: uuidFrom(this.o.seed, "session", id),
      botName: input.bot_name ?? `VexaBot-${hexId(6, this.o.seed, "bot", id)}`,
      language: input.language,
      task: input.task,
      transcript: new Transcript(key, createdUs + joinDelayUs + joinLagUs, this.o.segmentIntervalMs * 1000),
      timers: new Set(),
    };
    this.meetings.push(m);
    return m;
  }

  protected activate(m: Meeting): void {
    if (m.status !== "requested") return;
    m.status = "active";
    m.startUs = this.stamp();
    m.updatedUs = this.stamp();
  }

  /** DELETE /bots, baseline §3.3: only an active meeting; it goes to stopping, then completed after the delay. */
  stopBot(platform: string, nativeId: string): Meeting {
    const m = this.latest(platform, nativeId, "active");
    if (!m) throw new SandboxHttpError(404, "Active meeting not found.");
    m.status = "stopping";
    m.updatedUs = this.stamp();
    this.schedule(m, this.o.stopDelayMs, () => void this.end(m, "completed"));
    return m;
  }

  /** The bot's exit callback: completed or failed whatever the status was, end_time now, then the post-meeting tasks. */
  async end(m: Meeting, status: "completed" | "failed"): Promise<void> {
    if (!LIVE_STATUSES.has(m.status) || this.closed) return;
    this.clearTimers(m);
    m.status = status;
    m.endUs = this.stamp();
    m.transcript.endUs = m.endUs;
    this.onEnd(m, status);
    m.updatedUs = this.stamp();
    this.o.log.info({ meetingId: m.id, status }, "sandbox meeting ended");
    try {
      await this.o.onEnded(m);
    } catch (err) {
      this.o.log.warn({ meetingId: m.id, err: String(err) }, "sandbox post-meeting task failed");
    }
  }

  /** What changes on the row when it ends, besides status and end_time. */
  protected onEnd(m: Meeting, _status: "completed" | "failed"): void {
    this.aggregate(m);
  }

  /** Baseline §10: participants and languages are filled from the transcript only where absent. */
  private aggregate(m: Meeting): void {
    const segments = m.transcript.segments(this.nowUs());
    if (segments.length === 0) return;
    const distinct = (xs: (string | null)[]) => [...new Set(xs.filter((x): x is string => !!x))].sort();
    if (!("participants" in m.data)) m.data.participants = distinct(segments.map((s) => s.speaker));
    if (!("languages" in m.data)) m.data.languages = distinct(segments.map((s) => s.language));
  }

  remove(m: Meeting): void {
    this.clearTimers(m);
    this.meetings = this.meetings.filter((x) => x !== m);
  }

  /** loseMeeting fault: the upstream forgets every meeting for this platform and native id. */
  forget(platform: string, nativeId: string): number {
    const lost = this.meetings.filter((m) => m.platform === platform && m.nativeId === nativeId);
    for (const m of lost) this.remove(m);
    return lost.length;
  }

  schedule(m: Meeting, ms: number, fn: () => void): void {
    if (this.closed) return;
    const handle = this.o.clock.setTimeout(() => {
      m.timers.delete(handle);
      fn();
    }, ms);
    m.timers.add(handle);
  }

  protected clearTimers(m: Meeting): void {
    for (const h of m.timers) this.o.clock.clearTimeout(h);
    m.timers.clear();
  }

  close(): void {
    this.closed = true;
    for (const m of this.meetings) this.clearTimers(m);
  }
}

import type { HoldingsChange } from "../cache/holdings.js";
import { isLive } from "../meetings/statuses.js";
import type { Segment } from "../meetings/transcript-store.js";
import { type UserMeetingRow, userMeetingById } from "../services/meeting-views.js";
import { windowed } from "../services/transcript-body.js";
import { anchorOf, liveTranscript, resolveRow, type TranscriptsCtx } from "../services/transcripts.js";
import type { LiveBus } from "../cache/live-bus.js";
import type { UpstreamWatch } from "../upstream/watch.js";
import { CLOSE, liveSegmentId, segmentJson, statusMessage, transcriptMessage } from "./messages.js";

/** What the one feeder of a live meeting saw change upstream: new or revised segments (not yet windowed). */
export interface FeedEvent {
  /** The wholesaler's meeting start (the anchor of segments without absolute times). */
  start_time: string | null;
  segments: Segment[];
  /** When the feeder read it (ms, our clock): the start of the push delay. */
  at: number;
}

/** One client connection (a WebSocket or an SSE response) that receives ws.v1 messages. */
export interface Sink {
  userId: number;
  send(text: string): void;
  /** Bytes written but not yet taken by the client. */
  buffered(): number;
  close(code: number, reason: string): void;
}

export interface LiveHubOptions {
  ctx: TranscriptsCtx;
  bus: LiveBus<FeedEvent>;
  intervalMs: number;
  maxBufferedBytes: number;
  /** The wholesaler's own /ws as a change signal, where it has one (current Vexa). */
  watch?: Pick<UpstreamWatch, "watch" | "following"> | undefined;
  log?: { warn(o: object, msg?: string): void };
}

interface Sub {
  sink: Sink;
  row: UserMeetingRow;
  /** What this subscriber has been sent, segment key → its serialisation: revisions are what differ. */
  sent: Map<string, string>;
  status: string;
  /** Feed events that arrived before the snapshot was sent. */
  queued: FeedEvent[] | null;
  chain: Promise<void>;
}

interface Group {
  meetingId: number;
  subs: Set<Sub>;
  off: () => void;
  timer?: NodeJS.Timeout | undefined;
  ticking: boolean;
  ticks: number;
  /** What the feeder last published, segment key → serialisation (only meaningful on the feeder). */
  published: Map<string, string>;
  meeting: string;
  platform: string;
  nativeId: string | null;
  /** When this instance last read the meeting upstream (ms, our clock). */
  lastRead: number;
  /** A read asked for by the wholesaler's push, waiting for the interval since the last read to pass. */
  pushed?: NodeJS.Timeout | undefined;
  unwatch?: (() => void) | undefined;
}

const STATUS_EVERY_TICKS = 5;
/** While the wholesaler pushes a meeting's changes, the regular read is only a backstop: every this many intervals. */
const BACKSTOP_INTERVALS = 10;

/**
 * Live push (issue 15). Each meeting with subscribers on any instance is read upstream once per interval by one
 * feeder (the bus's lease; the read goes through the shared live cache), which publishes only what changed; every
 * instance cuts each change to each subscriber's own window and sends what that subscriber has not seen.
 * Subscribing sends the current status and a full snapshot first, so a reconnect misses nothing. Status changes
 * and the meeting's end arrive through the holdings invalidations every lifecycle commit makes (with a periodic
 * check as backstop); at the end the stored final transcript's differences are sent, then the status.
 * Where the wholesaler has its own /ws, the feeder reads when the wholesaler says the meeting changed (still at
 * most once per interval) and polls only every BACKSTOP_INTERVALS intervals: an idle meeting costs no reads.
 */
export function createLiveHub(o: LiveHubOptions) {
  const groups = new Map<number, Group>();
  const bySink = new Map<Sink, Map<number, Sub>>();
  const now = () => o.ctx.clock.now();
  const ts = () => new Date(now()).toISOString();

  const deliver = (sub: Sub, text: string): boolean => {
    if (sub.sink.buffered() > o.maxBufferedBytes) {
      dropSink(sub.sink);
      sub.sink.close(CLOSE.slowConsumer, "slow consumer");
      return false;
    }
    sub.sink.send(text);
    return true;
  };

  /**
   * Sends the segments of `all` (this subscriber's cut) it has not seen as they are now; `full` sends even none.
   * The bundle's `ts` is when the retailer saw the change (the feeder's read), else now.
   */
  const sendSegments = (sub: Sub, all: Segment[], full = false, seenAt?: number) => {
    const fresh = all.filter((s) => sub.sent.get(liveSegmentId(s)) !== segmentJson(s));
    if (fresh.length === 0 && !full) return;
    for (const s of fresh) sub.sent.set(liveSegmentId(s), segmentJson(s));
    deliver(
      sub,
      transcriptMessage(sub.row, fresh, seenAt === undefined ? ts() : new Date(seenAt).toISOString()),
    );
  };

  const cut = (sub: Sub, segments: Segment[], startTime: string | null) =>
    windowed(
      segments,
      { from: sub.row.window_from, to: sub.row.window_to },
      anchorOf(sub.row, startTime ?? sub.row.upstream_start_time),
    );

  const onEvent = (g: Group) => (e: FeedEvent) => {
    for (const sub of g.subs) {
      if (sub.queued) sub.queued.push(e);
      else sendSegments(sub, cut(sub, e.segments, e.start_time), false, e.at);
    }
  };

  const snapshot = async (sub: Sub) => {
    deliver(sub, statusMessage(sub.row, ts()));
    let segments: Segment[] = [];
    try {
      segments = (await resolveRow(o.ctx, sub.row)).segments;
    } catch (err) {
      o.log?.warn({ err: String(err), meetingId: sub.row.id }, "live snapshot failed; sending none");
    }
    sendSegments(sub, segments, true);
    const queued = sub.queued ?? [];
    sub.queued = null;
    for (const e of queued) sendSegments(sub, cut(sub, e.segments, e.start_time), false, e.at);
  };

  /** Re-reads the subscriber's view after a change: the new status, and at the end the final transcript first. */
  const refresh = async (sub: Sub) => {
    const row = await userMeetingById(o.ctx, sub.sink.userId, sub.row.id);
    if (!row) {
      unsubscribe(sub.sink, sub.row.id);
      return;
    }
    sub.row = row;
    if (row.status === sub.status) return;
    if (!isLive(row.status) || row.transcript_cached) {
      try {
        sendSegments(sub, (await resolveRow(o.ctx, row)).segments);
      } catch (err) {
        o.log?.warn({ err: String(err), meetingId: row.id }, "final transcript push failed");
      }
    }
    sub.status = row.status;
    deliver(sub, statusMessage(row, ts()));
    const g = groups.get(row.id);
    if (g) setFeeding(g, isLive(row.meeting_status) && !row.transcript_cached);
  };
  const queueRefresh = (sub: Sub) => {
    sub.chain = sub.chain.then(() => refresh(sub)).catch(() => undefined);
  };

  const followed = (g: Group) => g.nativeId !== null && o.watch?.following(g.platform, g.nativeId) === true;

  /** `pushed`: the wholesaler said the meeting changed; otherwise the interval's timer (a backstop if followed). */
  const tick = async (g: Group, pushed = false) => {
    if (g.ticking) return;
    g.ticking = true;
    try {
      if (!pushed && ++g.ticks % STATUS_EVERY_TICKS === 0) await checkMeeting(g);
      const any = g.subs.values().next().value as Sub | undefined;
      if (!any || !g.timer) return;
      if (!pushed && followed(g) && now() - g.lastRead < o.intervalMs * BACKSTOP_INTERVALS) return;
      if (!(await o.bus.lead(g.meetingId, o.intervalMs * 3))) return;
      g.lastRead = now();
      // Read now (not a copy up to a TTL old), and leave the answer in the cache for pollers of the meeting.
      const live = await liveTranscript(o.ctx, any.row, { fresh: true });
      const changed: Segment[] = [];
      for (const s of live.segments) {
        const k = liveSegmentId(s);
        const json = segmentJson(s);
        if (g.published.get(k) === json) continue;
        g.published.set(k, json);
        changed.push(s);
      }
      if (changed.length > 0)
        await o.bus.publish(g.meetingId, { start_time: live.start_time, segments: changed, at: now() });
    } catch {
      // The wholesaler or Redis being away: the next tick tries again; readers see the gap closed then.
    } finally {
      g.ticking = false;
    }
  };

  /** Backstop for changes no invalidation told us about (a bot-manager in another process without Redis). */
  const checkMeeting = async (g: Group) => {
    const res = await o.ctx.db.query<{ status: string; transcript_cached: boolean }>(
      "SELECT status, transcript_cached FROM meetings WHERE id = $1",
      [g.meetingId],
      "live-meeting-status",
    );
    const m = res.rows[0];
    const state = m ? `${m.status}/${m.transcript_cached}` : "gone";
    if (state === g.meeting) return;
    g.meeting = state;
    for (const sub of g.subs) queueRefresh(sub);
  };

  /** The wholesaler pushed a change: read now, or once the interval since the last read has passed. */
  const onPush = (g: Group) => {
    if (g.pushed) return;
    const wait = g.lastRead + o.intervalMs - now();
    if (wait <= 0) return void tick(g, true);
    g.pushed = setTimeout(() => {
      g.pushed = undefined;
      void tick(g, true);
    }, wait);
    g.pushed.unref();
  };

  const setFeeding = (g: Group, on: boolean) => {
    if (on && !g.timer) {
      g.timer = setInterval(() => void tick(g), o.intervalMs);
      g.timer.unref();
      if (o.watch && g.nativeId !== null) g.unwatch = o.watch.watch(g.platform, g.nativeId, () => onPush(g));
    } else if (!on && g.timer) {
      clearInterval(g.timer);
      g.timer = undefined;
      clearTimeout(g.pushed);
      g.pushed = undefined;
      g.unwatch?.();
      g.unwatch = undefined;
      void o.bus.release(g.meetingId);
    }
  };

  function unsubscribe(sink: Sink, meetingId: number): boolean {
    const mine = bySink.get(sink);
    const sub = mine?.get(meetingId);
    if (!mine || !sub) return false;
    mine.delete(meetingId);
    if (mine.size === 0) bySink.delete(sink);
    const g = groups.get(meetingId);
    if (g?.subs.delete(sub) && g.subs.size === 0) {
      setFeeding(g, false);
      g.off();
      groups.delete(meetingId);
    }
    return true;
  }

  function dropSink(sink: Sink): void {
    for (const id of [...(bySink.get(sink)?.keys() ?? [])]) unsubscribe(sink, id);
  }

  return {
    /** Subscribes the sink to its user's view of this meeting and sends status and snapshot. */
    async subscribe(sink: Sink, row: UserMeetingRow): Promise<void> {
      let mine = bySink.get(sink);
      if (mine?.has(row.id)) return;
      if (!mine) {
        mine = new Map();
        bySink.set(sink, mine);
      }
      let g = groups.get(row.id);
      if (!g) {
        const created: Group = {
          meetingId: row.id,
          subs: new Set(),
          off: () => undefined,
          ticking: false,
          ticks: 0,
          published: new Map(),
          meeting: `${row.meeting_status}/${row.transcript_cached}`,
          platform: row.platform,
          nativeId: row.platform_specific_id,
          lastRead: 0,
        };
        created.off = o.bus.subscribe(row.id, onEvent(created));
        groups.set(row.id, created);
        setFeeding(created, isLive(row.meeting_status) && !row.transcript_cached);
        g = created;
      }
      const sub: Sub = {
        sink,
        row,
        sent: new Map(),
        status: row.status,
        queued: [],
        chain: Promise.resolve(),
      };
      g.subs.add(sub);
      mine.set(row.id, sub);
      sub.chain = snapshot(sub).catch(() => undefined);
      await sub.chain;
    },
    unsubscribe,
    drop: dropSink,
    /** Called after every holdings change (here or, through Redis, on another instance). */
    holdingsChanged(change: HoldingsChange): void {
      const users = new Set(change.users ?? []);
      for (const id of change.meetings ?? []) for (const sub of groups.get(id)?.subs ?? []) queueRefresh(sub);
      if (users.size === 0) return;
      for (const [sink, mine] of bySink)
        if (users.has(sink.userId)) for (const sub of mine.values()) queueRefresh(sub);
    },
    stats: () => ({ meetings: groups.size, sinks: bySink.size }),
    async close(): Promise<void> {
      for (const sink of [...bySink.keys()]) {
        dropSink(sink);
        sink.close(CLOSE.goingAway, "server shutting down");
      }
      await o.bus.close();
    },
  };
}

export type LiveHub = ReturnType<typeof createLiveHub>;

import WebSocket from "ws";

/**
 * The wholesaler's own `/ws` (Vexa's ws.v1, current Vexa only) used as a change signal: one socket per process,
 * authenticated with our service key, subscribed to the live meetings someone follows here. A `transcript` or
 * `meeting.status` message about a meeting tells its feeder to read it now; the feeder still reads the REST
 * transcript (the one normalised, clock-corrected source), so a pushed message is never trusted for content. Vexa
 * itself calls its multiplex coverage partial, so a meeting counts as followed only once the wholesaler has
 * acknowledged it, and feeders keep a slow backstop poll. A wholesaler without `/ws` (the baseline) answers the
 * upgrade with an HTTP status: then the socket is not tried again for `retryUnsupportedMs`.
 */
export interface UpstreamWatch {
  /** Calls `onChange` whenever the wholesaler pushes something about this meeting; returns the unwatch. */
  watch(platform: string, nativeId: string, onChange: () => void): () => void;
  /** True while the socket is open and the wholesaler has acknowledged this meeting's subscription. */
  following(platform: string, nativeId: string): boolean;
  close(): void;
}

export interface UpstreamWatchOptions {
  /** The wholesaler's base URL (http or https); the socket goes to its `/ws`. */
  baseUrl: string;
  apiKey: string;
  log: { info(o: object, msg?: string): void; warn(o: object, msg?: string): void };
  retryUnsupportedMs?: number;
  /** First reconnect delay after a drop; doubles up to 30 s. */
  reconnectMs?: number;
}

type Ref = { platform: string; native_id: string };
const keyOf = (platform: string, nativeId: string) => `${platform}\u0000${nativeId}`;
const MAX_RECONNECT_MS = 30_000;
const HEARTBEAT_MS = 25_000;

export function wsUrlOf(baseUrl: string): string {
  const u = new URL(baseUrl);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  u.pathname = `${u.pathname.replace(/\/+$/, "")}/ws`;
  u.search = "";
  return u.toString();
}

export function createUpstreamWatch(o: UpstreamWatchOptions): UpstreamWatch {
  const url = wsUrlOf(o.baseUrl);
  const retryUnsupportedMs = o.retryUnsupportedMs ?? 600_000;
  const firstReconnectMs = o.reconnectMs ?? 1000;
  const watchers = new Map<string, { ref: Ref; fns: Set<() => void> }>();
  const acked = new Set<string>();
  let socket: WebSocket | undefined;
  let unsupportedUntil = 0;
  let reconnectMs = firstReconnectMs;
  let timer: NodeJS.Timeout | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  let closed = false;

  const send = (action: "subscribe" | "unsubscribe", meetings: Ref[]) => {
    if (socket?.readyState === WebSocket.OPEN && meetings.length > 0)
      socket.send(JSON.stringify({ action, meetings }));
  };

  const schedule = (ms: number) => {
    if (closed || timer || watchers.size === 0) return;
    timer = setTimeout(() => {
      timer = undefined;
      connect();
    }, ms);
    timer.unref();
  };

  const onMessage = (data: WebSocket.RawData) => {
    let msg: { type?: unknown; meeting?: Partial<Ref>; meetings?: Partial<Ref>[] };
    try {
      msg = JSON.parse(data.toString());
    } catch {
      return;
    }
    if (msg.type === "subscribed" && Array.isArray(msg.meetings)) {
      for (const m of msg.meetings)
        if (typeof m?.platform === "string" && typeof m.native_id === "string")
          acked.add(keyOf(m.platform, m.native_id));
      return;
    }
    if (msg.type !== "transcript" && msg.type !== "meeting.status") return;
    const m = msg.meeting;
    if (typeof m?.platform !== "string" || typeof m.native_id !== "string") return;
    for (const fn of watchers.get(keyOf(m.platform, m.native_id))?.fns ?? []) fn();
  };

  function connect(): void {
    if (closed || socket || watchers.size === 0 || Date.now() < unsupportedUntil) return;
    const ws = new WebSocket(url, { headers: { "x-api-key": o.apiKey }, handshakeTimeout: 10_000 });
    socket = ws;
    let alive = true;
    ws.on("unexpected-response", (_req, res) => {
      // An HTTP answer to the upgrade: this wholesaler has no /ws (or refuses it). Poll instead, ask again later.
      unsupportedUntil = Date.now() + retryUnsupportedMs;
      o.log.info(
        { status: res.statusCode, retryInMs: retryUnsupportedMs },
        "wholesaler has no /ws; live meetings are polled",
      );
      res.resume();
      ws.terminate();
    });
    ws.on("open", () => {
      reconnectMs = firstReconnectMs;
      send(
        "subscribe",
        [...watchers.values()].map((w) => w.ref),
      );
      heartbeat = setInterval(() => {
        if (!alive) return ws.terminate();
        alive = false;
        ws.ping();
      }, HEARTBEAT_MS);
      heartbeat.unref();
    });
    ws.on("pong", () => {
      alive = true;
    });
    ws.on("message", onMessage);
    ws.on("error", (err) => {
      if (Date.now() >= unsupportedUntil) o.log.warn({ err: err.message }, "wholesaler /ws error");
    });
    ws.on("close", () => {
      if (socket === ws) socket = undefined;
      acked.clear();
      if (heartbeat) clearInterval(heartbeat);
      heartbeat = undefined;
      const wait = Math.max(reconnectMs, unsupportedUntil - Date.now());
      reconnectMs = Math.min(reconnectMs * 2, MAX_RECONNECT_MS);
      schedule(wait);
    });
  }

  return {
    watch(platform, nativeId, onChange) {
      const k = keyOf(platform, nativeId);
      let w = watchers.get(k);
      if (!w) {
        w = { ref: { platform, native_id: nativeId }, fns: new Set() };
        watchers.set(k, w);
        send("subscribe", [w.ref]);
      }
      w.fns.add(onChange);
      connect();
      return () => {
        const cur = watchers.get(k);
        if (!cur?.fns.delete(onChange) || cur.fns.size > 0) return;
        watchers.delete(k);
        acked.delete(k);
        send("unsubscribe", [cur.ref]);
        // Nothing left to follow: let the socket go rather than hold it open idle.
        if (watchers.size === 0) socket?.close(1000);
      };
    },
    following: (platform, nativeId) =>
      socket?.readyState === WebSocket.OPEN && acked.has(keyOf(platform, nativeId)),
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      if (heartbeat) clearInterval(heartbeat);
      socket?.terminate();
      socket = undefined;
      watchers.clear();
      acked.clear();
    },
  };
}

import { WebSocket } from "ws";
import { waitFor } from "./wait.js";

export interface WsClient {
  socket: WebSocket;
  messages: any[];
  /** Resolves with the close code once the server (or we) closed the socket. */
  closed: Promise<number>;
  send(msg: unknown): void;
  /** The first message from index `from` on that matches. */
  next(pred: (m: any) => boolean, label: string, from?: number, timeoutMs?: number): Promise<any>;
}

/** A ws.v1 client over a real socket; every message received is kept in order. */
export function connectWs(url: string, headers: Record<string, string> = {}): Promise<WsClient> {
  const socket = new WebSocket(url, { headers });
  const messages: any[] = [];
  socket.on("message", (data) => messages.push(JSON.parse(data.toString())));
  const closed = new Promise<number>((resolve) => socket.on("close", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.once("open", () =>
      resolve({
        socket,
        messages,
        closed,
        send: (msg) => socket.send(typeof msg === "string" ? msg : JSON.stringify(msg)),
        next: (pred, label, from = 0, timeoutMs = 30_000) =>
          waitFor(() => messages.slice(from).find(pred), timeoutMs, label),
      }),
    );
  });
}

/** Folds transcript bundles into the latest version of each segment, by segment_id (as a client renders them). */
export function latestSegments(messages: any[]): Map<string, any> {
  const out = new Map<string, any>();
  for (const m of messages)
    if (m.type === "transcript") for (const s of [...m.confirmed, ...m.pending]) out.set(s.segment_id, s);
  return out;
}

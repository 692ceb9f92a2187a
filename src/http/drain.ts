import type { IncomingMessage } from "node:http";
import { Socket } from "node:net";
import type { App } from "./app.js";

/**
 * Once close() has begun, answers carry `Connection: close`, so a keep-alive connection ends with the request that
 * was in flight instead of holding the server open until its idle timeout (Fastify only closes connections that
 * are idle at that moment, and answers new requests 503).
 */
export function closeConnectionsWhenDraining(app: App): void {
  let draining = false;
  app.addHook("preClose", async () => {
    draining = true;
  });
  app.addHook("onSend", async (_request, reply) => {
    if (draining) reply.header("connection", "close");
  });
}

/**
 * An answer sent before the request body was read (413, a 503 while overloaded) ends with the connection closed,
 * and closing a socket that still has unread data makes the kernel send a reset, which can reach the client before
 * it has read the answer (curl: "Send failure: Broken pipe"). So the connection is half-closed and the rest of the
 * body read and discarded first, up to maxBytes or for maxMs (a lingering close, as nginx and Apache do).
 */
export function drainBeforeClosing(app: App, limits: { maxBytes: number; timeoutMs: number }): void {
  if (limits.maxBytes <= 0 || limits.timeoutMs <= 0) return;
  app.addHook("onSend", async (request) => {
    const req = request.raw;
    // Only a real connection (inject's requests have a stand-in socket) whose body is not all in yet.
    if (!req.complete && req.socket instanceof Socket && !req.socket.destroyed) linger(req, limits);
  });
}

function linger(req: IncomingMessage, limits: { maxBytes: number; timeoutMs: number }): void {
  const socket = req.socket;
  const destroySoon = socket.destroySoon.bind(socket);
  let read = 0;
  let answered = false;
  let bodyDone = false;
  // Past the budget the connection is cut (a reset): the client has had its chance to read the answer.
  const cut = () => {
    clearTimeout(timer);
    socket.destroy();
  };
  const timer = setTimeout(cut, limits.timeoutMs);
  timer.unref();
  const settle = () => {
    if (!bodyDone) return;
    clearTimeout(timer);
    socket.destroySoon = destroySoon;
    if (answered) destroySoon();
  };
  socket.once("close", () => clearTimeout(timer));
  req.on("data", (chunk: Buffer) => {
    read += chunk.length;
    if (read > limits.maxBytes) cut();
  });
  req.once("end", () => {
    bodyDone = true;
    settle();
  });
  req.resume();
  // Node calls this once the answer is written to a connection it means to close: half-close until the body is in.
  socket.destroySoon = () => {
    answered = true;
    socket.end();
    settle();
  };
}

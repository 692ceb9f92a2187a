import type { FastifyReply } from "fastify";
import type { AppDeps } from "../http/deps.js";
import type { Asset } from "./assets.js";
import type { ConsoleDeps } from "./deps.js";
import type { Html } from "./html.js";

/** What every page module gets. */
export interface ConsoleEnv {
  app: AppDeps;
  console: ConsoleDeps;
  assets: Map<string, Asset>;
}

export function sendPage(reply: FastifyReply, body: Html, status = 200): FastifyReply {
  return reply.code(status).type("text/html; charset=utf-8").send(body.value);
}

/** PRG: a change answers with a redirect, so reloading the page never repeats it. */
export function seeOther(reply: FastifyReply, location: string): FastifyReply {
  return reply.code(303).header("location", location).send("");
}

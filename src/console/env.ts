import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type {
  FastifyBaseLogger,
  FastifyInstance,
  FastifyReply,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from "fastify";
import type { Asset } from "./assets.js";
import type { ConsoleAppDeps, ConsoleDeps } from "./deps.js";
import type { Html } from "./html.js";

/**
 * The admin app the console is mounted on (src/http's App has the same shape). Declared here so the console never
 * imports src/http, which mounts it: the folders would import each other.
 */
export type ConsoleApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/** What every page module gets. */
export interface ConsoleEnv {
  app: ConsoleAppDeps;
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

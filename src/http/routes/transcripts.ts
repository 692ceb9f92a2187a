import type { Platform } from "../../errors.js";
import { Readable } from "node:stream";
import type { FastifyReply } from "fastify";
import {
  getTranscriptBytes,
  getTranscriptBytesById,
  type TranscriptView,
} from "../../services/transcripts.js";
import type { TranscriptBody } from "../../services/transcript-body.js";
import type { App } from "../app.js";
import { principal, requireUser } from "../auth.js";
import type { AppDeps } from "../deps.js";
import { errorResponses, MeetingParams } from "../schemas/common.js";
import { MeetingIdParams, TranscriptSchema } from "../schemas/meetings.js";

export const STALE_HEADER = "x-transcript-stale";

export function registerTranscriptRoutes(app: App, deps: AppDeps): void {
  const preValidation = requireUser(deps.ctx, "collector");
  app.get(
    "/transcripts/:platform/:native_meeting_id",
    {
      preValidation,
      schema: {
        tags: ["transcripts"],
        security: [{ ApiKeyAuth: [] }],
        summary: "Your meeting's transcript: live while the bot is in the meeting, stored once it has ended",
        description:
          "Segments are limited to the time you held the bot. If the wholesaler is unreachable during a live meeting, the last checkpoint is returned with `X-Transcript-Stale: true`.",
        params: MeetingParams,
        response: { 200: TranscriptSchema, ...errorResponses(403, 404, 422) },
      },
    },
    async (request, reply) => {
      const { platform, native_meeting_id } = request.params;
      const answer = await getTranscriptBytes(
        deps.transcriptsCtx,
        principal(request).id,
        platform as Platform,
        native_meeting_id,
      );
      return sendTranscript(reply, answer);
    },
  );

  // Static `by-id` wins over the `:platform` parameter in the router, as in Vexa (registered before it there).
  app.get(
    "/transcripts/by-id/:meeting_id",
    {
      preValidation,
      schema: {
        tags: ["transcripts"],
        security: [{ ApiKeyAuth: [] }],
        summary: "Your meeting's transcript, by the meeting's id (Vexa's current API)",
        params: MeetingIdParams,
        response: { 200: TranscriptSchema, ...errorResponses(403, 404, 422) },
      },
    },
    async (request, reply) =>
      sendTranscript(
        reply,
        await getTranscriptBytesById(deps.transcriptsCtx, principal(request).id, request.params.meeting_id),
      ),
  );
}

function sendTranscript(reply: FastifyReply, { body, stale }: { body: TranscriptBody; stale: boolean }) {
  if (stale) reply.header(STALE_HEADER, "true").header("warning", '110 - "Response is Stale"');
  reply.type("application/json; charset=utf-8");
  if (Array.isArray(body)) {
    // A large transcript's parts, written one after the other: the shared segment bytes are never copied.
    reply.header(
      "content-length",
      body.reduce((n, b) => n + b.length, 0),
    );
    return reply.send(Readable.from(body));
  }
  // Shared bytes, sent as they are (Fastify never re-serialises a Buffer); the schema still documents (and
  // tests check) their shape.
  return reply.send(body as unknown as TranscriptView);
}

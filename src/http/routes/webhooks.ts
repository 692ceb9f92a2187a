import { Type } from "@sinclair/typebox";
import { receiveWholesalerWebhook } from "../../webhooks/receive.js";
import type { App } from "../app.js";
import type { AppDeps } from "../deps.js";
import { errorResponses } from "../schemas/common.js";

export function registerWebhookRoutes(app: App, deps: AppDeps): void {
  app.post(
    "/webhooks/meeting-finished",
    {
      schema: {
        tags: ["webhooks"],
        summary: "The wholesaler's meeting-finished webhook (signed; not for users)",
        description:
          "Accepts Vexa's flat meeting JSON or the event envelope, signed with WHOLESALER_WEBHOOK_SECRET (X-Webhook-Signature HMAC, Bearer, or Standard Webhooks). Answers fast; a durable job does the work.",
        body: Type.Any({
          examples: [
            { id: 17, platform: "google_meet", native_meeting_id: "abc-defg-hij", status: "completed" },
            {
              event_id: "evt_17_completed",
              event_type: "meeting.completed",
              data: {
                meeting: {
                  id: 17,
                  platform: "google_meet",
                  native_meeting_id: "abc-defg-hij",
                  status: "completed",
                },
              },
            },
          ],
        }),
        response: {
          200: Type.Object({
            status: Type.Union([
              Type.Literal("accepted"),
              Type.Literal("duplicate"),
              Type.Literal("ignored"),
            ]),
          }),
          ...errorResponses(400, 401, 413),
        },
      },
    },
    async (request) =>
      receiveWholesalerWebhook(deps.eventsCtx, {
        headers: request.headers,
        raw: request.rawBody,
        body: request.body,
      }),
  );
}

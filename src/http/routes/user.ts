import { Type } from "@sinclair/typebox";
import { setUserWebhook, rotateWebhookSecret } from "../../services/user-webhook.js";
import type { App } from "../app.js";
import { principal, requireUser } from "../auth.js";
import type { AppDeps } from "../deps.js";
import { errorResponses } from "../schemas/common.js";
import { WebhookBody, WebhookUserSchema } from "../schemas/users.js";

const common = { tags: ["user"], security: [{ ApiKeyAuth: [] }] };

export function registerUserRoutes(app: App, deps: AppDeps): void {
  const { ctx } = deps;
  const preValidation = requireUser(ctx, "admin");

  app.put(
    "/user/webhook",
    {
      preValidation,
      schema: {
        ...common,
        summary: "Set the URL that receives your finished-meeting webhooks",
        description:
          "Answers Vexa's UserResponse. The first time, it also returns `webhook_secret` (shown once) for verifying our signatures.",
        body: WebhookBody,
        response: { 200: WebhookUserSchema, ...errorResponses(401, 403, 422) },
      },
    },
    async (request) =>
      setUserWebhook(ctx, principal(request).id, request.body.webhook_url, deps.config.allowPrivateWebhooks),
  );

  app.post(
    "/user/webhook/secret",
    {
      preValidation,
      schema: {
        ...common,
        summary: "Rotate your webhook signing secret (shown once)",
        response: {
          200: Type.Object(
            { webhook_secret: Type.String() },
            { examples: [{ webhook_secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }] },
          ),
          ...errorResponses(401, 403),
        },
      },
    },
    async (request) => ({ webhook_secret: await rotateWebhookSecret(ctx, principal(request).id) }),
  );
}

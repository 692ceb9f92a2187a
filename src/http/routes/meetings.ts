import type { Platform } from "../../errors.js";
import * as meetings from "../../services/meetings.js";
import type { App } from "../app.js";
import { principal, requireUser } from "../auth.js";
import type { AppDeps } from "../deps.js";
import { errorResponses, MeetingParams, MessageBody } from "../schemas/common.js";
import {
  MeetingIdParams,
  MeetingListQuery,
  MeetingListSchema,
  MeetingSchema,
  UpdateMeetingBody,
} from "../schemas/meetings.js";

const common = { tags: ["meetings"], security: [{ ApiKeyAuth: [] }] };

export function registerMeetingRoutes(app: App, deps: AppDeps): void {
  const { ctx } = deps;
  const preValidation = requireUser(ctx, "collector");

  app.get(
    "/meetings",
    {
      preValidation,
      schema: {
        ...common,
        summary: "Your meetings, newest first",
        description:
          "Without parameters, all of them (Vexa's baseline). `status`, `platform`, `limit` (1-100) and `offset` filter and page as in Vexa's current API.",
        querystring: MeetingListQuery,
        response: { 200: MeetingListSchema, ...errorResponses(403, 422) },
      },
    },
    async (request) => ({ meetings: await meetings.listMeetings(ctx, principal(request).id, request.query) }),
  );

  app.get(
    "/meetings/:meeting_id",
    {
      preValidation,
      schema: {
        ...common,
        summary: "One of your meetings, by its id (Vexa's current API)",
        params: MeetingIdParams,
        response: { 200: MeetingSchema, ...errorResponses(403, 404, 422) },
      },
    },
    async (request) => meetings.getMeetingById(ctx, principal(request).id, request.params.meeting_id),
  );

  app.patch(
    "/meetings/:platform/:native_meeting_id",
    {
      preValidation,
      schema: {
        ...common,
        summary: "Update your meeting's name, notes, participants or languages",
        params: MeetingParams,
        body: UpdateMeetingBody,
        response: { 200: MeetingSchema, ...errorResponses(400, 403, 404, 422) },
      },
    },
    async (request) => {
      const { platform, native_meeting_id } = request.params;
      return meetings.updateMeetingData(
        ctx,
        principal(request).id,
        platform as Platform,
        native_meeting_id,
        request.body.data,
      );
    },
  );

  app.delete(
    "/meetings/:platform/:native_meeting_id",
    {
      preValidation,
      schema: {
        ...common,
        summary: "Delete your meeting and its transcript",
        params: MeetingParams,
        response: { 200: MessageBody, ...errorResponses(403, 404, 422) },
      },
    },
    async (request) => {
      const { platform, native_meeting_id } = request.params;
      return {
        message: await meetings.deleteMeeting(
          deps.botsCtx,
          principal(request).id,
          platform as Platform,
          native_meeting_id,
        ),
      };
    },
  );
}

import { createHash } from "node:crypto";
import type { Clock } from "../clock.js";
import type { Queryable } from "../db/client.js";
import { msFromTimestamp } from "../services/context.js";
import { UpstreamError } from "../upstream/errors.js";
import type { WholesalerClient } from "../upstream/client.js";
import type { UpstreamMeeting } from "../upstream/schemas.js";
import { findAdoptable } from "./adopt.js";
import type { BotManager, BotStatus, StartBotRequest, StartedBot } from "./types.js";

export function createWholesalerBotManager(deps: {
  client: WholesalerClient;
  db: Queryable;
  clock: Clock;
  serviceLayerId: string;
}): BotManager {
  const { client, db, clock, serviceLayerId } = deps;

  const started = (m: UpstreamMeeting, adopted: boolean): StartedBot => ({
    botId: m.bot_container_id ?? `wholesaler-meeting-${m.id}`,
    // The wholesaler does not publish its session uid; a stable derived id keeps meeting_sessions meaningful.
    sessionId: createHash("sha256")
      .update(`${m.id}:${m.bot_container_id ?? ""}`)
      .digest("hex")
      .slice(0, 32),
    wholesalerMeetingId: m.id,
    adopted,
  });

  return {
    async startBot(req: StartBotRequest): Promise<StartedBot> {
      try {
        const m = await client.requestBot({
          platform: req.platform,
          native_meeting_id: req.nativeMeetingId,
          ...(req.botName ? { bot_name: req.botName } : {}),
          ...(req.language ? { language: req.language } : {}),
          ...(req.task ? { task: req.task } : {}),
        });
        return started(m, false);
      } catch (err) {
        if (!(err instanceof UpstreamError) || err.kind !== "conflict") throw err;
        // We lost track of a bot the wholesaler still runs (e.g. a crash between its 201 and our commit): adopt it.
        const adopted = findAdoptable(
          await client.listMeetings(),
          req.platform,
          req.nativeMeetingId,
          serviceLayerId,
        );
        if (!adopted) throw err;
        return started(adopted, true);
      }
    },

    async stopBot(_botId, where) {
      try {
        await client.stopBot(where.platform, where.nativeMeetingId);
        return true;
      } catch (err) {
        if (err instanceof UpstreamError && err.kind === "not_found") return true;
        throw err;
      }
    },

    async reconfigureBot(where, config) {
      await client.updateBotConfig(where.platform, where.nativeMeetingId, config);
    },

    async getRunningBotsStatus(userId: number): Promise<BotStatus[]> {
      const res = await db.query<{
        id: number;
        platform: string;
        platform_specific_id: string;
        bot_container_id: string | null;
        start_time: string | null;
      }>(
        `SELECT m.id, m.platform, m.platform_specific_id, m.bot_container_id, COALESCE(um.start_time, um.created_at) AS start_time
           FROM user_meetings um JOIN meetings m ON m.id = um.meeting_id
          WHERE um.user_id = $1 AND um.status IN ('requested', 'active') AND um.detached_at IS NULL
          ORDER BY um.created_at DESC`,
        [userId],
      );
      return res.rows.map((r) => {
        const startedMs = r.start_time ? msFromTimestamp(r.start_time) : clock.now();
        const suffix = createHash("sha256").update(`${r.id}:${userId}`).digest("hex").slice(0, 8);
        return {
          container_id: r.bot_container_id,
          container_name: `vexa-bot-${r.id}-${suffix}`,
          platform: r.platform,
          native_meeting_id: r.platform_specific_id,
          status: upFor(clock.now() - startedMs),
          created_at: `${new Date(startedMs).toISOString().slice(0, 19)}+00:00`,
          labels: { "vexa.user_id": String(userId) },
          meeting_id_from_name: String(r.id),
        };
      });
    },
  };
}

/** Docker's "Up 37 seconds" wording, which Vexa's BotStatus.status carries. */
function upFor(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return s <= 1 ? "Up Less than a second" : `Up ${s} seconds`;
  const m = Math.floor(s / 60);
  if (m < 60) return m === 1 ? "Up About a minute" : `Up ${m} minutes`;
  const h = Math.floor(m / 60);
  return h === 1 ? "Up About an hour" : `Up ${h} hours`;
}

import { SandboxHttpError } from "./errors.js";
import type { Micros } from "./format.js";
import { hexId } from "./rng.js";
import { SandboxState, type StateOptions } from "./state.js";
import type { MeetingCreate } from "./validate.js";
import { constructedUrl, zIso } from "./views-current.js";
import { LIVE_STATUSES, type Meeting, type MeetingStatus } from "./views.js";

/**
 * Current Vexa's meeting lifecycle (core/meetings/services/meeting-api): POST /bots answers `requested` once
 * the bot workload exists; the bot then reports `joining`, `awaiting_admission` and `active`. DELETE /bots
 * asks every live bot of the room to leave (`stopping`); one that was admitted ends `completed`, one still
 * outside ends `failed`, both with completion_reason `stopped`. DELETE /meetings erases a finished
 * meeting's transcript but keeps the meeting, marked with `data.artifact_deletion`.
 */
export class CurrentState extends SandboxState {
  constructor(
    o: StateOptions,
    private readonly defaultWebhookUrl: string | undefined,
  ) {
    super(o);
  }

  /** bot_spawn: dedup over every non-terminal row (stopping included), then the per-user cap (429, no row). */
  override requestBot(input: MeetingCreate): Meeting {
    const { platform, native_meeting_id: nativeId } = input;
    if (this.latestWhere(platform, nativeId, (m) => LIVE_STATUSES.has(m.status))) {
      throw new SandboxHttpError(409, `An active meeting already exists for ${platform}/${nativeId}`);
    }
    const limit = this.o.maxConcurrentBots;
    if (this.liveBots().length >= limit)
      throw new SandboxHttpError(429, `User has reached the maximum concurrent bot limit (${limit}).`);
    const m = this.insert(input);
    const url = this.user.data.webhook_url;
    m.hook = {
      url: typeof url === "string" ? url : this.defaultWebhookUrl,
      secret: this.webhookSecret,
      events: this.user.data.webhook_events as Record<string, unknown> | undefined,
    };
    // request_bot's meeting data (without its service-authority record); body keys such as
    // service_layer_id, bot_name or language are not kept.
    m.data = Object.fromEntries(
      Object.entries({
        constructed_meeting_url: constructedUrl(platform, nativeId),
        transcribe_enabled: true,
        recording_enabled: true,
        webhook_url: m.hook.url,
        webhook_events: m.hook.url ? m.hook.events : undefined,
      }).filter(([, v]) => v !== null && v !== undefined),
    );
    m.botContainerId = `mtg-${m.id}-${hexId(8, this.o.seed, "container", m.id)}`;
    m.containerName = m.botContainerId;
    m.containerCreatedMs = this.o.clock.now();
    const step = this.o.joinDelayMs / 4;
    this.advanceTo(m, "requested", "joining", step);
    this.advanceTo(m, "joining", "awaiting_admission", step * 2);
    this.advanceTo(m, "awaiting_admission", "active", this.o.joinDelayMs);
    this.schedule(m, this.o.maxMeetingMs, () => void this.end(m, "completed", "max_bot_time_exceeded"));
    return m;
  }

  private advanceTo(m: Meeting, from: MeetingStatus, to: MeetingStatus, atMs: number): void {
    this.schedule(m, atMs, () => {
      if (m.status !== from) return;
      m.status = to;
      if (to === "active") m.startUs = this.stamp();
      m.updatedUs = this.stamp();
    });
  }

  /** stop_router: every live row of the room not already asked to stop; the newest answers for the room. */
  stopRoom(platform: string, nativeId: string) {
    const rows = this.all()
      .filter((m) => m.platform === platform && m.nativeId === nativeId)
      .filter((m) => LIVE_STATUSES.has(m.status) && !m.data.stop_requested)
      .reverse();
    const first = rows[0];
    if (!first) throw new SandboxHttpError(404, "No active meeting for this bot");
    for (const m of rows) {
      const admitted = m.status === "active";
      const stage = m.status;
      m.data.stop_requested = true;
      m.status = "stopping";
      m.updatedUs = this.stamp();
      this.schedule(m, this.o.stopDelayMs, () => {
        if (!admitted) m.data.failure_stage = stage;
        void this.end(m, admitted ? "completed" : "failed", "stopped");
      });
    }
    return {
      status: "stopping",
      meeting_id: first.id,
      native_meeting_id: nativeId,
      also_stopped: rows.slice(1).map((m) => m.id),
      cancelled: [],
    };
  }

  /** The bot's own exit; `reason` is the lifecycle completion_reason (on its own: left_alone, or join_failure). */
  override async end(m: Meeting, status: "completed" | "failed", reason?: string): Promise<void> {
    if (LIVE_STATUSES.has(m.status) && !m.data.completion_reason)
      m.data.completion_reason = reason ?? (status === "failed" ? "join_failure" : "left_alone");
    if (status === "failed" && !m.data.failure_stage)
      m.data.failure_stage = m.status === "stopping" ? "active" : m.status;
    await super.end(m, status);
  }

  protected override onEnd(): void {
    // meeting-api keeps no participants/languages aggregation: the row ends as it was.
  }

  /** DELETE /meetings: the newest row of the room; only a finished one; repeatable. */
  deleteArtifacts(platform: string, nativeId: string) {
    const m = this.latest(platform, nativeId);
    if (!m) throw new SandboxHttpError(404, `Meeting not found for platform ${platform} and ID ${nativeId}`);
    if (m.status !== "completed" && m.status !== "failed") {
      throw new SandboxHttpError(
        409,
        "Meeting artifacts can only be deleted after the lifecycle is terminal",
      );
    }
    m.transcriptDeleted = true;
    m.data.artifact_deletion = {
      state: "completed",
      completed_at: zIso(this.stamp() as Micros),
      scope: "primary_transcript_and_recording_storage",
      backup_residuals: "expire_under_deployment_retention_policy",
    };
    return {
      status: "deleted",
      id: m.id,
      platform,
      native_meeting_id: nativeId,
      deleted: "completed_meeting_artifacts",
      objects_deleted: 0,
      backup_residuals: "expire_under_deployment_retention_policy",
    };
  }
}

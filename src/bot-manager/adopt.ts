import type { UpstreamMeeting } from "../upstream/schemas.js";

const UPSTREAM_LIVE = new Set([
  "requested",
  "joining",
  "awaiting_admission",
  "needs_help",
  "active",
  "stopping",
]);

/**
 * The wholesaler's live meeting we may adopt for (platform, native id): never one that another retailer
 * sharing the account started (its `service_layer_id` differs); untagged ones predate tagging or come from
 * a wholesaler that drops the field, and are ours to take.
 */
export function findAdoptable(
  meetings: UpstreamMeeting[],
  platform: string,
  nativeId: string,
  serviceLayerId: string,
): UpstreamMeeting | undefined {
  return meetings.find((m) => {
    const tag = (m.data as Record<string, unknown> | null | undefined)?.service_layer_id;
    return (
      m.platform === platform &&
      m.native_meeting_id === nativeId &&
      UPSTREAM_LIVE.has(m.status) &&
      (tag === undefined || tag === null || tag === serviceLayerId)
    );
  });
}

import { describe, expect, it } from "vitest";
import { botStatusFacts, isLiveUpstreamStatus, toBaselineStatus } from "./statuses.js";

describe("toBaselineStatus", () => {
  it("maps every state in which the bot exists and was not asked to leave to active", () => {
    for (const s of [
      "requested",
      "joining",
      "awaiting_admission",
      "needs_help",
      "needs_human_help",
      "active",
    ])
      expect(toBaselineStatus(s), s).toBe("active");
  });

  it("keeps the baseline's own statuses and maps planned meetings to requested", () => {
    for (const s of ["stopping", "completed", "failed", "error"] as const)
      expect(toBaselineStatus(s)).toBe(s);
    expect(toBaselineStatus("scheduled")).toBe("requested");
    expect(toBaselineStatus("idle")).toBe("requested");
  });

  it("does not guess for an unknown status", () => {
    expect(toBaselineStatus("cancelled")).toBeUndefined();
    expect(toBaselineStatus("toString")).toBeUndefined();
    expect(isLiveUpstreamStatus("cancelled")).toBe(false);
  });

  it("live means a bot exists", () => {
    expect(["joining", "stopping", "active"].every(isLiveUpstreamStatus)).toBe(true);
    expect(["completed", "failed", "scheduled"].some(isLiveUpstreamStatus)).toBe(false);
  });
});

describe("botStatusFacts", () => {
  it("reads a baseline Docker item", () => {
    expect(
      botStatusFacts({
        container_id: "c0ffee",
        container_name: "vexa-bot-7-abcd1234",
        platform: "google_meet",
        native_meeting_id: "abc-defg-hij",
        status: "Up 3 minutes",
        meeting_id_from_name: "7",
      } as never),
    ).toEqual({
      meetingId: 7,
      platform: "google_meet",
      nativeMeetingId: "abc-defg-hij",
      botId: "c0ffee",
      meetingStatus: undefined,
    });
  });

  it("reads a current Vexa meeting row", () => {
    expect(
      botStatusFacts({
        id: 42,
        platform: "teams",
        native_meeting_id: "123",
        status: "awaiting_admission",
        bot_container_id: "mtg-42-bot",
        start_time: null,
      } as never),
    ).toEqual({
      meetingId: 42,
      platform: "teams",
      nativeMeetingId: "123",
      botId: "mtg-42-bot",
      meetingStatus: "awaiting_admission",
    });
    expect(botStatusFacts({ meeting_id: 9, status: "active" }).meetingId).toBe(9);
    expect(botStatusFacts({ status: "active" }).meetingId).toBeUndefined();
  });
});

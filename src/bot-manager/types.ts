/**
 * The old Docker layer's shape (Vexa's docker_utils.py): start a bot, stop a bot by id, list a user's bots.
 * The one implementation buys bots from the wholesaler; callers never know there is no container.
 */
export interface StartBotRequest {
  userId: number;
  meetingId: number;
  meetingUrl: string | null;
  platform: string;
  botName: string | null;
  userToken: string;
  nativeMeetingId: string;
  language: string | null;
  task: string | null;
}

export interface StartedBot {
  botId: string;
  sessionId: string;
  /** The wholesaler's own meeting id, kept in meetings.data. */
  wholesalerMeetingId: number;
  adopted: boolean;
}

export interface BotManager {
  /** Starts (or adopts) the wholesaler bot; throws UpstreamError when the wholesaler cannot provide one. */
  startBot(req: StartBotRequest): Promise<StartedBot>;
  /** Asks the wholesaler bot to leave; true when it is leaving or already gone. */
  stopBot(botId: string, where: { platform: string; nativeMeetingId: string }): Promise<boolean>;
  /** The user's bots that are requested or running, as Vexa's BotStatus items. */
  getRunningBotsStatus(userId: number): Promise<BotStatus[]>;
  reconfigureBot(
    where: { platform: string; nativeMeetingId: string },
    config: { language?: string | null; task?: string | null },
  ): Promise<void>;
}

/** Vexa's BotStatus item (baseline §3.5). */
export interface BotStatus {
  container_id: string | null;
  container_name: string | null;
  platform: string | null;
  native_meeting_id: string | null;
  status: string | null;
  created_at: string | null;
  labels: Record<string, string> | null;
  meeting_id_from_name: string | null;
}

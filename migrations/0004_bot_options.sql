-- Current Vexa's optional POST /bots fields (meeting_url, passcode, recording/transcription switches), kept with
-- the holding so a queued start sends what the user asked for.
ALTER TABLE user_meetings ADD COLUMN IF NOT EXISTS bot_options JSONB;

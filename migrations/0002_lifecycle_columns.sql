-- The lifecycle's flags become real columns (they were keys in meetings.data), and each holding gets its
-- transcript window on the wholesaler's timeline (NULL = unbounded on that side).
ALTER TABLE meetings ADD COLUMN IF NOT EXISTS wholesaler_meeting_id BIGINT;
ALTER TABLE meetings ADD COLUMN IF NOT EXISTS service_layer_id VARCHAR(255);
ALTER TABLE meetings ADD COLUMN IF NOT EXISTS adopted BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE meetings ADD COLUMN IF NOT EXISTS clock_offset_ms DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE meetings ADD COLUMN IF NOT EXISTS start_queued_at TIMESTAMP;
ALTER TABLE meetings ADD COLUMN IF NOT EXISTS upstream_status VARCHAR(50);
ALTER TABLE meetings ADD COLUMN IF NOT EXISTS transcript_cached BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE meetings ADD COLUMN IF NOT EXISTS final_status VARCHAR(50);
ALTER TABLE meetings ADD COLUMN IF NOT EXISTS upstream_deleted BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE meetings ADD COLUMN IF NOT EXISTS failure_reason TEXT;

UPDATE meetings SET
  wholesaler_meeting_id = (data->>'wholesaler_meeting_id')::bigint,
  service_layer_id = data->>'service_layer_id',
  adopted = coalesce((data->>'adopted')::boolean, false),
  upstream_status = data->>'upstream_status',
  transcript_cached = coalesce((data->>'transcript_cached')::boolean, false),
  final_status = data->>'final_status',
  upstream_deleted = coalesce((data->>'upstream_deleted')::boolean, false)
 WHERE data <> '{}'::jsonb;
UPDATE meetings SET data = data - 'wholesaler_meeting_id' - 'service_layer_id' - 'adopted' - 'upstream_status'
  - 'transcript_cached' - 'final_status' - 'upstream_deleted' - 'is_live' - 'bot_id' - 'stop_requested'
  - 'finalize_stage' - 'transcript_complete'
 WHERE data <> '{}'::jsonb;

CREATE INDEX IF NOT EXISTS ix_meetings_wholesaler_meeting_id ON meetings (wholesaler_meeting_id);
-- The finalizer and reconciler look for meetings whose final transcript is not stored yet.
CREATE INDEX IF NOT EXISTS ix_meetings_unfinalized ON meetings (id) WHERE NOT upstream_deleted;

-- A stopping bot no longer holds its room: a new request makes a new meeting, started once the wholesaler lets go.
DROP INDEX IF EXISTS ux_meetings_live_native;
CREATE UNIQUE INDEX IF NOT EXISTS ux_meetings_held_native
  ON meetings (platform, platform_specific_id) WHERE status IN ('requested', 'active');

ALTER TABLE user_meetings ADD COLUMN IF NOT EXISTS window_from TIMESTAMP;
ALTER TABLE user_meetings ADD COLUMN IF NOT EXISTS window_to TIMESTAMP;
UPDATE user_meetings SET window_from = attached_at, window_to = detached_at;
UPDATE user_meetings um SET window_from = NULL FROM meetings m WHERE m.id = um.meeting_id AND m.user_id = um.user_id;
-- The wholesaler's own meeting start (its clock): relative segment times are placed from it.
ALTER TABLE meetings ADD COLUMN IF NOT EXISTS upstream_start_time TIMESTAMP;

-- Each ended hold, appended once: neither re-attaching to the same meeting nor deleting its record (DELETE
-- /meetings) loses an earlier span. No foreign key: usage outlives the meeting's purge.
CREATE TABLE IF NOT EXISTS bot_usage (
  id SERIAL PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users (id),
  meeting_id INTEGER NOT NULL,
  started_at TIMESTAMP NOT NULL,
  ended_at TIMESTAMP NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_bot_usage_user_started ON bot_usage (user_id, started_at);
CREATE INDEX IF NOT EXISTS ix_bot_usage_started ON bot_usage (started_at);
INSERT INTO bot_usage (user_id, meeting_id, started_at, ended_at)
SELECT um.user_id, um.meeting_id, um.attached_at,
       COALESCE(um.detached_at, um.end_time, m.end_time, um.updated_at)
  FROM user_meetings um JOIN meetings m ON m.id = um.meeting_id
 WHERE um.status NOT IN ('requested', 'active') OR um.detached_at IS NOT NULL;

-- Vexa's five tables with their baseline column names, plus the retailer's additions.
CREATE TABLE IF NOT EXISTS users (
  id SERIAL PRIMARY KEY,
  email VARCHAR(255) NOT NULL,
  name VARCHAR(100),
  image_url TEXT,
  created_at TIMESTAMP DEFAULT (now() AT TIME ZONE 'utc'),
  max_concurrent_bots INTEGER NOT NULL DEFAULT 1,
  data JSONB NOT NULL DEFAULT '{}'::jsonb,
  -- Signs this user's outbound webhooks; kept out of `data`, which every UserResponse shows.
  webhook_secret VARCHAR(255)
);
CREATE UNIQUE INDEX IF NOT EXISTS ix_users_email ON users (email);

CREATE TABLE IF NOT EXISTS api_tokens (
  id SERIAL PRIMARY KEY,
  -- SHA-256 hex of the plaintext; the plaintext is shown once, at creation.
  token VARCHAR(255) NOT NULL,
  -- First and last four characters, for the masked view.
  token_hint VARCHAR(16) NOT NULL DEFAULT '',
  user_id INTEGER NOT NULL REFERENCES users (id),
  created_at TIMESTAMP DEFAULT (now() AT TIME ZONE 'utc')
);
CREATE UNIQUE INDEX IF NOT EXISTS ix_api_tokens_token ON api_tokens (token);
CREATE INDEX IF NOT EXISTS ix_api_tokens_user_id ON api_tokens (user_id);

-- One row per wholesaler bot; user_id is the user whose request created it.
CREATE TABLE IF NOT EXISTS meetings (
  id SERIAL PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users (id),
  platform VARCHAR(100) NOT NULL,
  platform_specific_id VARCHAR(255),
  status VARCHAR(50) NOT NULL DEFAULT 'requested',
  bot_container_id VARCHAR(255),
  start_time TIMESTAMP,
  end_time TIMESTAMP,
  data JSONB NOT NULL DEFAULT '{}'::jsonb,
  created_at TIMESTAMP DEFAULT (now() AT TIME ZONE 'utc'),
  updated_at TIMESTAMP DEFAULT (now() AT TIME ZONE 'utc')
);
CREATE INDEX IF NOT EXISTS ix_meetings_user_id ON meetings (user_id);
CREATE INDEX IF NOT EXISTS ix_meetings_platform_specific_id ON meetings (platform_specific_id);
CREATE INDEX IF NOT EXISTS ix_meetings_status ON meetings (status);
CREATE INDEX IF NOT EXISTS ix_meetings_created_at ON meetings (created_at);
CREATE INDEX IF NOT EXISTS ix_meeting_data_gin ON meetings USING gin (data);
CREATE INDEX IF NOT EXISTS ix_meeting_user_platform_native_id_created_at
  ON meetings (user_id, platform, platform_specific_id, created_at);
-- At most one live wholesaler bot per meeting: the database settles races between instances.
CREATE UNIQUE INDEX IF NOT EXISTS ux_meetings_live_native
  ON meetings (platform, platform_specific_id) WHERE status IN ('requested', 'active', 'stopping');

CREATE TABLE IF NOT EXISTS transcriptions (
  id SERIAL PRIMARY KEY,
  meeting_id INTEGER NOT NULL REFERENCES meetings (id),
  start_time DOUBLE PRECISION NOT NULL,
  end_time DOUBLE PRECISION NOT NULL,
  text TEXT NOT NULL,
  -- Wider than Vexa's VARCHAR(255)/(10): a long name or language tag from the wholesaler must never fail a store.
  speaker TEXT,
  language VARCHAR(64),
  created_at TIMESTAMP,
  session_uid VARCHAR,
  -- Exactly as the wholesaler printed them, so a historical read is byte-identical to the last live one.
  absolute_start_time VARCHAR(64),
  absolute_end_time VARCHAR(64),
  created_at_text VARCHAR(64),
  segment_key VARCHAR(128) NOT NULL,
  -- Position in the wholesaler's transcript, so stored reads keep its exact order.
  seq INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS ix_transcriptions_meeting_id ON transcriptions (meeting_id);
CREATE INDEX IF NOT EXISTS ix_transcriptions_session_uid ON transcriptions (session_uid);
CREATE INDEX IF NOT EXISTS ix_transcription_meeting_start ON transcriptions (meeting_id, start_time);
CREATE UNIQUE INDEX IF NOT EXISTS ux_transcriptions_segment ON transcriptions (meeting_id, segment_key);

CREATE TABLE IF NOT EXISTS meeting_sessions (
  id SERIAL PRIMARY KEY,
  meeting_id INTEGER NOT NULL REFERENCES meetings (id),
  session_uid VARCHAR NOT NULL,
  session_start_time TIMESTAMPTZ NOT NULL DEFAULT now(),
  CONSTRAINT _meeting_session_uc UNIQUE (meeting_id, session_uid)
);
CREATE INDEX IF NOT EXISTS ix_meeting_sessions_meeting_id ON meeting_sessions (meeting_id);
CREATE INDEX IF NOT EXISTS ix_meeting_sessions_session_uid ON meeting_sessions (session_uid);

-- Each user's own view of a shared wholesaler bot.
CREATE TABLE IF NOT EXISTS user_meetings (
  user_id INTEGER NOT NULL REFERENCES users (id),
  meeting_id INTEGER NOT NULL REFERENCES meetings (id),
  created_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
  updated_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
  status VARCHAR(50) NOT NULL DEFAULT 'requested',
  bot_name VARCHAR(255),
  language VARCHAR(32),
  task VARCHAR(32),
  data JSONB NOT NULL DEFAULT '{}'::jsonb,
  start_time TIMESTAMP,
  end_time TIMESTAMP,
  -- Transcript window: what this user's own bot would have heard.
  attached_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
  detached_at TIMESTAMP,
  PRIMARY KEY (user_id, meeting_id)
);
CREATE INDEX IF NOT EXISTS ix_user_meetings_meeting_id ON user_meetings (meeting_id);
CREATE INDEX IF NOT EXISTS ix_user_meetings_user_created ON user_meetings (user_id, created_at DESC);

-- Wholesaler webhook events, deduplicated by their id.
CREATE TABLE IF NOT EXISTS webhook_events (
  id SERIAL PRIMARY KEY,
  source VARCHAR(50) NOT NULL,
  event_id VARCHAR(255) NOT NULL,
  meeting_id INTEGER,
  payload JSONB NOT NULL,
  received_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
  CONSTRAINT ux_webhook_events UNIQUE (source, event_id)
);

-- Every outbound delivery attempt to a retailer user's webhook.
CREATE TABLE IF NOT EXISTS webhook_deliveries (
  id SERIAL PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users (id),
  meeting_id INTEGER NOT NULL,
  event_id VARCHAR(255) NOT NULL,
  url TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  outcome VARCHAR(50) NOT NULL,
  status_code INTEGER,
  error TEXT,
  created_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc')
);
CREATE INDEX IF NOT EXISTS ix_webhook_deliveries_user ON webhook_deliveries (user_id, created_at);

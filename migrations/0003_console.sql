-- Operator console: signed-in sessions (the cookie holds the plaintext id, we keep its hash).
CREATE TABLE IF NOT EXISTS console_sessions (
  id_hash VARCHAR(64) PRIMARY KEY,
  -- Digest of the admin token the session was opened with: rotating ADMIN_API_TOKEN ends every session.
  token_digest VARCHAR(64) NOT NULL,
  created_at TIMESTAMP NOT NULL,
  last_seen_at TIMESTAMP NOT NULL,
  expires_at TIMESTAMP NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_console_sessions_expires ON console_sessions (expires_at);

-- One row per process per minute, so the console's charts cover every instance, not just the one serving it.
CREATE TABLE IF NOT EXISTS ops_samples (
  instance_id VARCHAR(64) NOT NULL,
  minute TIMESTAMP NOT NULL,
  upstream_calls INTEGER NOT NULL DEFAULT 0,
  upstream_errors INTEGER NOT NULL DEFAULT 0,
  upstream_ms_sum DOUBLE PRECISION NOT NULL DEFAULT 0,
  upstream_ms_max DOUBLE PRECISION NOT NULL DEFAULT 0,
  breaker_state VARCHAR(16) NOT NULL DEFAULT 'closed',
  live_meetings INTEGER NOT NULL DEFAULT 0,
  upstream_bots INTEGER NOT NULL DEFAULT 0,
  queue_depth INTEGER NOT NULL DEFAULT 0,
  failed_deliveries INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (instance_id, minute)
);
CREATE INDEX IF NOT EXISTS ix_ops_samples_minute ON ops_samples (minute);

-- POST /bots's two transactions as one round trip each (issue 14: a request paid ~0.1 ms of socket write per
-- statement on each side, ten statements per request). The statements are the ones src/meetings/lifecycle.ts ran
-- one by one inside BEGIN/COMMIT, in the same order. A VOLATILE function takes a fresh snapshot for every
-- statement it runs, as separate statements of a READ COMMITTED transaction do, so each one still sees what was
-- committed before the lock ahead of it was granted.

-- A leader's or follower's claim commits without waiting for its WAL flush: nobody is answered before the
-- activation (or the queued start, or the release after a failed start) commits synchronously, which flushes the
-- WAL up to and including the claim, and the claim is visible to other requests at once either way. A claim lost
-- with a database crash leaves at most an upstream bot no one holds, which the reconciler stops. Claims answered
-- at once (attached to a running or queued bot) keep the synchronous commit.
CREATE OR REPLACE FUNCTION retailer_no_flush_wait() RETURNS VOID LANGUAGE sql VOLATILE AS $$
  SELECT set_config('synchronous_commit', 'off', true);
$$;

-- The claim: quota check, the room's one meeting (created or joined) and this user's holding. Outcomes: `own`
-- (the user already has a live meeting there: meeting), `limit` (quota reached: lim), `leader` (created: call
-- the wholesaler), `follower` (joined a claim whose leader is calling it), `attached` (joined a running or queued
-- bot), `queue` (the room's bot is still leaving: nothing written, call again with p_may_queue inside a
-- transaction), `leaving` (created with p_may_queue: the caller queues the start in the same transaction),
-- `none` (the room kept changing under us; nothing written).
CREATE OR REPLACE FUNCTION retailer_claim(
  p_user INTEGER, p_platform TEXT, p_native TEXT, p_service_layer TEXT, p_ts TIMESTAMP, p_now_ms DOUBLE PRECISION,
  p_bot_name TEXT, p_language TEXT, p_task TEXT, p_options JSONB, p_may_queue BOOLEAN)
RETURNS TABLE (outcome TEXT, meeting INTEGER, lim INTEGER)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_limit INTEGER;
  v_held INTEGER;
  v_own INTEGER;
  v_room RECORD;
  v_created INTEGER;
  v_active BOOLEAN;
BEGIN
  -- Serialises one user's requests so the limit check below cannot be raced.
  SELECT u.max_concurrent_bots INTO v_limit FROM users u WHERE u.id = p_user FOR UPDATE;
  -- What the user holds, and its meeting in this room if any (Vexa's duplicate check also covers the user's
  -- own bot while it is stopping; only held ones use quota).
  SELECT count(*) FILTER (WHERE um.detached_at IS NULL AND um.status IN ('requested', 'active'))::int,
         min(um.meeting_id) FILTER (WHERE m.platform = p_platform AND m.platform_specific_id = p_native)
    INTO v_held, v_own
    FROM user_meetings um JOIN meetings m ON m.id = um.meeting_id
   WHERE um.user_id = p_user AND ((um.detached_at IS NULL AND um.status IN ('requested', 'active'))
                                  OR (um.status = 'stopping' AND m.status = 'stopping'));
  IF v_own IS NOT NULL THEN
    RETURN QUERY SELECT 'own'::text, v_own, NULL::integer;
    RETURN;
  END IF;
  v_limit := COALESCE(v_limit, 1);
  IF v_held >= v_limit THEN
    RETURN QUERY SELECT 'limit'::text, NULL::integer, v_limit;
    RETURN;
  END IF;
  -- A conflict with a claim being created or released right now: look again (a fresh snapshot each time).
  FOR attempt IN 1..5 LOOP
    SELECT m.id, m.status, m.start_queued_at, m.clock_offset_ms INTO v_room FROM meetings m
     WHERE m.platform = p_platform AND m.platform_specific_id = p_native AND m.status IN ('requested', 'active')
       FOR UPDATE;
    EXIT WHEN FOUND;
    IF NOT p_may_queue AND EXISTS (SELECT 1 FROM meetings m WHERE m.platform = p_platform
                                      AND m.platform_specific_id = p_native AND m.status = 'stopping') THEN
      RETURN QUERY SELECT 'queue'::text, NULL::integer, NULL::integer;
      RETURN;
    END IF;
    INSERT INTO meetings (user_id, platform, platform_specific_id, status, service_layer_id, created_at, updated_at)
    VALUES (p_user, p_platform, p_native, 'requested', p_service_layer, p_ts, p_ts)
    ON CONFLICT (platform, platform_specific_id) WHERE status IN ('requested', 'active') DO NOTHING
    RETURNING id INTO v_created;
    IF v_created IS NOT NULL THEN
      INSERT INTO user_meetings (user_id, meeting_id, status, bot_name, language, task, bot_options, created_at,
                                 updated_at, attached_at)
      VALUES (p_user, v_created, 'requested', p_bot_name, p_language, p_task, p_options, p_ts, p_ts, p_ts);
      IF NOT p_may_queue THEN
        PERFORM retailer_no_flush_wait();
      END IF;
      RETURN QUERY SELECT CASE WHEN p_may_queue AND EXISTS (
                                 SELECT 1 FROM meetings m WHERE m.platform = p_platform
                                    AND m.platform_specific_id = p_native AND m.status = 'stopping')
                               THEN 'leaving' ELSE 'leader' END, v_created, NULL::integer;
      RETURN;
    END IF;
  END LOOP;
  IF v_room.id IS NULL THEN
    RETURN QUERY SELECT 'none'::text, NULL::integer, NULL::integer;
    RETURN;
  END IF;
  v_active := v_room.status = 'active';
  -- Whoever attaches before the bot has started hears everything it hears: no lower bound. Otherwise the bound is
  -- now on the wholesaler's clock, to the millisecond as naiveFromMs prints it.
  INSERT INTO user_meetings (user_id, meeting_id, status, bot_name, language, task, bot_options, created_at,
                             updated_at, attached_at, start_time, window_from)
  VALUES (p_user, v_room.id, CASE WHEN v_active THEN 'active' ELSE 'requested' END, p_bot_name, p_language, p_task,
          p_options, p_ts, p_ts, p_ts, CASE WHEN v_active THEN p_ts END,
          CASE WHEN v_active THEN to_timestamp(floor(p_now_ms + v_room.clock_offset_ms) / 1000.0) AT TIME ZONE 'UTC' END)
  ON CONFLICT (user_id, meeting_id) DO UPDATE SET status = EXCLUDED.status, bot_name = EXCLUDED.bot_name,
    language = EXCLUDED.language, task = EXCLUDED.task, bot_options = EXCLUDED.bot_options,
    created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at, attached_at = EXCLUDED.attached_at,
    start_time = EXCLUDED.start_time, window_from = EXCLUDED.window_from, window_to = NULL, end_time = NULL,
    detached_at = NULL;
  IF NOT v_active AND v_room.start_queued_at IS NULL THEN
    PERFORM retailer_no_flush_wait();
    RETURN QUERY SELECT 'follower'::text, v_room.id, NULL::integer;
  ELSE
    RETURN QUERY SELECT 'attached'::text, v_room.id, NULL::integer;
  END IF;
END $$;

-- The wholesaler's bot is live: the meeting and every waiting holding become active. False if no one holds it
-- (the meeting goes to stopping then: it must not run unheld).
CREATE OR REPLACE FUNCTION retailer_activate(
  p_meeting INTEGER, p_bot_id TEXT, p_ts TIMESTAMP, p_wholesaler_id BIGINT, p_adopted BOOLEAN,
  p_offset DOUBLE PRECISION, p_service_layer TEXT)
RETURNS BOOLEAN
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  UPDATE meetings SET status = 'active', bot_container_id = p_bot_id, start_time = p_ts, updated_at = p_ts,
         wholesaler_meeting_id = p_wholesaler_id, adopted = p_adopted, clock_offset_ms = p_offset,
         start_queued_at = NULL, service_layer_id = COALESCE(service_layer_id, p_service_layer)
   WHERE id = p_meeting AND status = 'requested';
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  -- Its own statement after the meeting's row lock: it sees every holding attached before that lock was granted.
  UPDATE user_meetings SET status = 'active', start_time = p_ts, updated_at = p_ts
   WHERE meeting_id = p_meeting AND status = 'requested' AND detached_at IS NULL;
  IF FOUND THEN
    RETURN true;
  END IF;
  UPDATE meetings SET status = 'stopping', updated_at = p_ts WHERE id = p_meeting;
  RETURN false;
END $$;

-- POST /bots, lighter on PostgreSQL (issue 14: ~0.9 ms of its CPU per request).
--
-- Every new meeting row went into ten indexes, and again when its activation changed `status` (an indexed
-- column, so the new row version is indexed afresh). Three served no query: user_id is the leading column of
-- ix_meeting_user_platform_native_id_created_at (which also serves the foreign key), and nothing searches
-- meetings.data or filters or sorts meetings by created_at. Status is only ever looked up for live meetings
-- (console, reconciler, operations page): a partial index keeps ended meetings out of it.
DROP INDEX IF EXISTS ix_meetings_user_id;
DROP INDEX IF EXISTS ix_meeting_data_gin;
DROP INDEX IF EXISTS ix_meetings_created_at;
DROP INDEX IF EXISTS ix_meetings_status;
CREATE INDEX IF NOT EXISTS ix_meetings_live_status ON meetings (status)
  WHERE status IN ('requested', 'active', 'stopping');

-- The claim as in 0005, but its first look joined every holding the user has to its meeting, to count the held
-- ones and find one in this room: now a count on user_meetings alone, and the room's meetings by their native
-- id. Same answers; the cost no longer grows with the number of bots the user holds.
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
  -- What the user holds (only held ones use quota), counted without joining each holding to its meeting.
  SELECT count(*)::int INTO v_held FROM user_meetings um
   WHERE um.user_id = p_user AND um.detached_at IS NULL AND um.status IN ('requested', 'active');
  -- The user's meeting in this room, if any: from the room's meetings, not from all the user holds (Vexa's
  -- duplicate check also covers the user's own bot while it is stopping).
  SELECT min(um.meeting_id) INTO v_own
    FROM meetings m JOIN user_meetings um ON um.meeting_id = m.id AND um.user_id = p_user
   WHERE m.platform = p_platform AND m.platform_specific_id = p_native
     AND ((um.detached_at IS NULL AND um.status IN ('requested', 'active'))
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

-- The leader's activation and the view it answers POST /bots with, in one round trip: the view is read by a
-- later statement of the same function, so it sees the activation (and anything committed before it).
-- One row: `held` as retailer_activate answers, and the columns src/services/meeting-views.ts meetingView() prints
-- (null when the user holds no record of the meeting any more).
CREATE OR REPLACE FUNCTION retailer_activate_view(
  p_meeting INTEGER, p_bot_id TEXT, p_ts TIMESTAMP, p_wholesaler_id BIGINT, p_adopted BOOLEAN,
  p_offset DOUBLE PRECISION, p_service_layer TEXT, p_user INTEGER)
RETURNS TABLE (held BOOLEAN, id INTEGER, user_id INTEGER, platform TEXT, platform_specific_id TEXT, status TEXT,
               bot_container_id TEXT, start_time TIMESTAMP, end_time TIMESTAMP, data JSONB, created_at TIMESTAMP,
               updated_at TIMESTAMP)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
  v_held BOOLEAN;
BEGIN
  v_held := retailer_activate(p_meeting, p_bot_id, p_ts, p_wholesaler_id, p_adopted, p_offset, p_service_layer);
  RETURN QUERY
    SELECT v_held, m.id, um.user_id, m.platform::text, m.platform_specific_id::text, um.status::text,
           m.bot_container_id::text, um.start_time, um.end_time, um.data, um.created_at, um.updated_at
      FROM (SELECT 1) one
      LEFT JOIN (user_meetings um JOIN meetings m ON m.id = um.meeting_id)
             ON um.user_id = p_user AND um.meeting_id = p_meeting;
END $$;

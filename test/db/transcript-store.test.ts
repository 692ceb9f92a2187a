import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../../src/db/client.js";
import { migrate } from "../../src/db/migrate.js";
import { readSegments, type Segment, storeSegments } from "../../src/meetings/transcript-store.js";
import { createTestDb, legs } from "../helpers/db.js";

const seg = (i: number, text = `segment ${i}`): Segment => ({
  start: i,
  end: i + 1,
  text,
  language: "en",
  created_at: null,
  speaker: "A",
  absolute_start_time: `2026-03-02T10:00:${String(i).padStart(2, "0")}.000`,
  absolute_end_time: `2026-03-02T10:00:${String(i + 1).padStart(2, "0")}.000`,
});

describe.each(await legs())("storeSegments on %s", (leg) => {
  let db: Db;
  let drop: () => Promise<void>;
  let meeting = 0;
  beforeAll(async () => {
    ({ db, drop } = await createTestDb(leg));
    await migrate(db); // PGlite's copy of the template is migrated already; a PostgreSQL schema starts empty
  }, 120_000);
  afterAll(async () => {
    await db?.close();
    await drop?.();
  });
  const newMeeting = async () => {
    const u = await db.query<{ id: number }>(
      `INSERT INTO users (email) VALUES ('store-${leg}-${++meeting}@example.com') RETURNING id`,
    );
    const m = await db.query<{ id: number }>(
      `INSERT INTO meetings (user_id, platform, platform_specific_id, status, data)
       VALUES ($1, 'google_meet', $2, 'completed', '{}'::jsonb) RETURNING id`,
      [u.rows[0]?.id, `sto-${meeting}`],
    );
    return m.rows[0]?.id as number;
  };
  const store = (id: number, segments: Segment[], replace: boolean) =>
    db.tx((tx) => storeSegments(tx, id, segments, { replace, storedAt: "2026-03-02T11:00:00.000" }));

  it("replace: the stored transcript becomes exactly the final one (gone, revised, new, reordered)", async () => {
    const id = await newMeeting();
    await store(id, [seg(1), seg(2), seg(3), seg(4)], false); // a checkpoint
    await store(id, [seg(5), seg(2, "revised"), seg(4)], true); // 1 and 3 gone, 2 revised, 5 new and first
    expect((await readSegments(db, id)).map((s) => s.text)).toEqual(["segment 5", "revised", "segment 4"]);
  });

  it("without replace, a checkpoint only adds and revises", async () => {
    const id = await newMeeting();
    await store(id, [seg(1), seg(2)], false);
    await store(id, [seg(2, "revised"), seg(3)], false);
    expect((await readSegments(db, id)).map((s) => s.text).sort()).toEqual([
      "revised",
      "segment 1",
      "segment 3",
    ]);
  });

  it("replace with nothing stored yet: a repeated key keeps its last revision; unstamped segments get storedAt", async () => {
    const id = await newMeeting();
    await store(
      id,
      [seg(1), { ...seg(2), created_at: "2026-03-02T10:00:05.123456" }, seg(1, "revised")],
      true,
    );
    const stored = await readSegments(db, id);
    expect(stored.map((s) => [s.text, s.created_at])).toEqual([
      ["segment 2", "2026-03-02T10:00:05.123456"],
      ["revised", "2026-03-02T11:00:00.000"],
    ]);
  });

  it("replace with nothing empties the transcript; another meeting's segments stay", async () => {
    const other = await newMeeting();
    await store(other, [seg(1)], true);
    const id = await newMeeting();
    await store(id, [seg(1), seg(2)], false);
    await store(id, [], true);
    expect(await readSegments(db, id)).toEqual([]);
    expect(await readSegments(db, other)).toHaveLength(1);
  });
});

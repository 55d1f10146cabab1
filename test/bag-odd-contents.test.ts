// Odd bag contents: each gives a warning naming what is wrong, is left out of the
// bag's span, counts and messages, and `bag info` prints the recording's true
// start, end and duration.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type BetterSqlite3 from "better-sqlite3";
import { bagInfo, BagError, formatBagInfo, openBag, RosbagMcapWriter, type Bag } from "../src/bags/index.js";
import { MAX_RECORDING_GAP_S } from "../src/bags/time-span.js";
import { repoPath } from "./fixtures/repo-path.js";

const run = promisify(execFile);
const DB3_WRITER = repoPath("test", "fixtures", "write_db3_bag.py");
const Database = createRequire(import.meta.url)("better-sqlite3") as typeof BetterSqlite3;

/** 2023-11-14T22:13:20Z in ns, where every fixture's recording starts. */
const BASE = 1_700_000_000_000_000_000n;
const MS = 1_000_000n;

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "bag-odd-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** topic@ns of every message, eager and lazy (they must agree). */
async function heads(bag: Bag): Promise<string[]> {
  const eager: string[] = [];
  for await (const m of bag.messages()) eager.push(`${m.topic}@${m.logTimeNs}`);
  const lazy: string[] = [];
  for await (const m of bag.messages({ lazy: true })) lazy.push(`${m.topic}@${m.logTimeNs}`);
  assert.deepEqual(lazy, eager, "the lazy stream yields what the eager one does");
  return eager;
}

/** A 2 s recording at 10 Hz (camera, cmd_vel, one instruction), with extra /cmd_vel messages at the given times. */
async function recording(name: string, strays: bigint[]): Promise<{ path: string; first: bigint; last: bigint; count: number }> {
  const path = join(dir, name);
  const w = await RosbagMcapWriter.create(path, [
    { name: "/camera/image_raw", type: "sensor_msgs/msg/Image" },
    { name: "/cmd_vel", type: "geometry_msgs/msg/Twist" },
    { name: "/instruction", type: "std_msgs/msg/String" },
  ]);
  const twist = { linear: { x: 1.15, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0 } };
  const all: { ns: bigint; write: () => Promise<void> }[] = strays.map((ns) => ({ ns, write: () => w.write("/cmd_vel", ns, twist) }));
  all.push({ ns: BASE, write: () => w.write("/instruction", BASE, { data: "go" }) });
  for (let i = 0; i < 20; i++) {
    const ns = BASE + BigInt(i) * 100n * MS + 10n * MS;
    const image = {
      header: { stamp: { sec: 1_700_000_000, nanosec: 0 }, frame_id: "cam" },
      height: 2,
      width: 2,
      encoding: "mono8",
      is_bigendian: 0,
      step: 2,
      data: new Uint8Array(4),
    };
    all.push({ ns, write: () => w.write("/camera/image_raw", ns, image) });
    all.push({ ns: ns + 5n * MS, write: () => w.write("/cmd_vel", ns + 5n * MS, twist) });
  }
  all.sort((a, b) => (a.ns < b.ns ? -1 : a.ns > b.ns ? 1 : 0));
  for (const m of all) await m.write();
  await w.close();
  return { path, first: BASE, last: BASE + 19n * 100n * MS + 15n * MS, count: 41 };
}

for (const [name, stray, words] of [
  [
    "a /cmd_vel at log time 0 beside an ordinary recording",
    0n,
    /the message on \/cmd_vel at 0\.000 s \(1970-01-01T00:00:00\.000Z\) lies 1\.70e\+9 s \(53\.9 years\) before the rest of the recording/,
  ],
  [
    "a /cmd_vel 1e8 s after an ordinary recording",
    BASE + 100_000_000n * 1_000_000_000n,
    /the message on \/cmd_vel at 1800000000\.000 s \(2027-01-15T08:00:00\.000Z\) lies 1\.00e\+8 s \(3\.2 years\) after the rest of the recording/,
  ],
] as const) {
  test(`time outlier: ${name} is named, and left out of the span, counts and messages`, async () => {
    const rec = await recording(name.replace(/\W+/g, "-"), [stray]);
    const bag = await openBag(rec.path);
    try {
      assert.equal(bag.startTimeNs, rec.first, "the span starts with the recording, not the stray message");
      assert.equal(bag.endTimeNs, rec.last, "the span ends with the recording, not the stray message");
      assert.equal(bag.warnings.length, 1, `one warning: ${bag.warnings.join(" | ")}`);
      assert.match(bag.warnings[0]!, words);
      assert.ok(bag.warnings[0]!.startsWith(`${rec.path}: `), `the warning names the bag: ${bag.warnings[0]}`);
      assert.match(bag.warnings[0]!, /\(41 messages, 1700000000\.000 s \(2023-11-14T22:13:20\.000Z\) to 1700000001\.915 s/, "it says where the recording is");
      assert.deepEqual(
        bag.topics().map((t) => [t.name, t.count]),
        [
          ["/camera/image_raw", 20],
          ["/cmd_vel", 20],
          ["/instruction", 1],
        ],
        "counts are the recording's",
      );
      assert.equal(bag.messageCount, rec.count);
      const got = await heads(bag);
      assert.equal(got.length, rec.count, "every message of the recording, and only those");
      assert.ok(!got.includes(`/cmd_vel@${stray}`), "the stray message is not in the stream");
      // A time filter past the recording does not reach the stray message either.
      const late: string[] = [];
      for await (const m of bag.messages({ startTimeNs: rec.last + 1n })) late.push(m.topic);
      assert.deepEqual(late, []);
    } finally {
      await bag.close();
    }
    const info = await bagInfo(rec.path);
    assert.equal(info.startTimeNs, rec.first);
    assert.equal(info.endTimeNs, rec.last);
    assert.ok(Math.abs(info.duration - 1.915) < 1e-9, `duration ${info.duration}`);
    const text = formatBagInfo(info);
    assert.match(text, /\nDuration: {10}1\.915s\n/);
    assert.match(text, /\nStart: {13}Nov 14 2023 22:13:20\.000 \(1700000000\.000\)\n/);
    assert.match(text, /\nEnd: {15}Nov 14 2023 22:13:21\.915 \(1700000001\.915\)\n/);
    assert.match(text, /\nMessages: {10}41\n/);
    assert.match(text, new RegExp(`\\nWarnings: {10}${rec.path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: the message on /cmd_vel at `));
  });
}

test("time outliers: a gap shorter than a day is part of the recording; several stray messages are named together", async () => {
  const hours = 3_600_000_000_000n;
  const paused = await recording("paused", [BASE - 20n * hours]);
  const bag = await openBag(paused.path);
  try {
    assert.ok(20 * 3600 < MAX_RECORDING_GAP_S, "the fixture's gap is below the limit");
    assert.deepEqual(bag.warnings, [], "a 20 h pause is not an outlier");
    assert.equal(bag.startTimeNs, BASE - 20n * hours);
    assert.equal((await heads(bag)).length, 42);
  } finally {
    await bag.close();
  }
  const strays = await recording("strays", [1n, 2n, 3n, 4n]);
  const b2 = await openBag(strays.path);
  try {
    assert.equal(b2.startTimeNs, BASE);
    assert.equal(b2.warnings.length, 1);
    assert.match(
      b2.warnings[0]!,
      /: 4 messages \(\/cmd_vel 4\) from 0\.000 s \(1970-01-01T00:00:00\.000Z\) to 0\.000 s \(1970-01-01T00:00:00\.000Z\) lie 1\.70e\+9 s/,
    );
    assert.equal((await heads(b2)).length, 41);
  } finally {
    await b2.close();
  }
});

/** The Python writer's db3 bag, with its messages table re-created without NOT NULL so that any timestamp can be stored. */
async function db3(name: string, edit: (db: BetterSqlite3.Database) => void): Promise<string> {
  const out = join(dir, name);
  await run("python3", [DB3_WRITER, out, name]);
  const db = new Database(join(out, `${name}_0.db3`));
  try {
    db.exec(`
      CREATE TABLE m2(id INTEGER PRIMARY KEY, topic_id INTEGER NOT NULL, timestamp INTEGER, data BLOB NOT NULL);
      INSERT INTO m2 SELECT id, topic_id, timestamp, data FROM messages;
      DROP TABLE messages;
      ALTER TABLE m2 RENAME TO messages;
      CREATE INDEX timestamp_idx ON messages (timestamp ASC);
    `);
    edit(db);
  } finally {
    db.close();
  }
  return out;
}

// The writer's rows: 1-3 /camera/image_raw at +5, +105, +205 ms; 4-5 /camera/mono at +1, +251 ms;
// 6-7 /instruction at +0, +150 ms; 8-11 /cmd_vel at +2, +62, +122, +182 ms.
test("db3: TEXT, NULL and negative timestamps are named, and left out of the span, counts and messages", async () => {
  const out = await db3("untimed", (db) => {
    db.prepare("UPDATE messages SET timestamp = 'yesterday' WHERE id = 6").run();
    db.prepare("UPDATE messages SET timestamp = NULL WHERE id = 5").run();
    db.prepare("UPDATE messages SET timestamp = -5 WHERE id = 11").run();
    db.prepare("UPDATE messages SET timestamp = 1700000000.5 WHERE id = 7").run();
  });
  const bag = await openBag(out);
  try {
    assert.equal(bag.warnings.length, 1, bag.warnings.join(" | "));
    const w = bag.warnings[0]!;
    assert.ok(w.startsWith(join(out, "untimed_0.db3") + ": 4 message row(s) have a timestamp that is not an integer number of ns >= 0"), w);
    assert.match(
      w,
      /row 5 on \/camera\/mono: NULL; row 6 on \/instruction: TEXT "yesterday"; row 7 on \/instruction: REAL "1700000000\.5"; row 11 on \/cmd_vel: -5 \(negative\)$/,
    );
    assert.equal(bag.startTimeNs, BASE + 1n * MS, "start: the first row with a real timestamp");
    assert.equal(bag.endTimeNs, BASE + 205n * MS, "end: the last row with a real timestamp");
    assert.deepEqual(
      bag.topics().map((t) => [t.name, t.count]),
      [
        ["/camera/image_raw", 3],
        ["/camera/mono", 1],
        ["/cmd_vel", 3],
        ["/instruction", 0],
      ],
    );
    assert.deepEqual(await heads(bag), [
      `/camera/mono@${BASE + 1n * MS}`,
      `/cmd_vel@${BASE + 2n * MS}`,
      `/camera/image_raw@${BASE + 5n * MS}`,
      `/cmd_vel@${BASE + 62n * MS}`,
      `/camera/image_raw@${BASE + 105n * MS}`,
      `/cmd_vel@${BASE + 122n * MS}`,
      `/camera/image_raw@${BASE + 205n * MS}`,
    ]);
  } finally {
    await bag.close();
  }
  const text = formatBagInfo(await bagInfo(out));
  assert.match(text, /\nDuration: {10}0\.204s\n/);
  assert.match(text, /\nStart: {13}Nov 14 2023 22:13:20\.001 \(1700000000\.001\)\n/);
  assert.match(text, /\nMessages: {10}7\n/);
  assert.match(text, /\nWarnings: {10}.*untimed_0\.db3: 4 message row\(s\) have a timestamp/);
});

test("db3: rows whose topic_id has no topics row are named and skipped; an outlier row is left out like an MCAP one", async () => {
  const out = await db3("orphans", (db) => {
    const data = db.prepare("SELECT data FROM messages WHERE id = 8").get() as { data: Uint8Array };
    const insert = db.prepare("INSERT INTO messages (topic_id, timestamp, data) VALUES (?, ?, ?)");
    insert.run(9, BASE + 100n * MS, data.data);
    insert.run(9, BASE + 110n * MS, data.data);
    insert.run(4, 7n, data.data);
  });
  const bag = await openBag(join(out, "orphans_0.db3"));
  try {
    assert.equal(bag.warnings.length, 2, bag.warnings.join(" | "));
    assert.equal(
      bag.warnings[0],
      `${join(out, "orphans_0.db3")}: 2 message row(s) have topic_id 9, which has no row in the topics table: without a type they cannot be decoded, and are skipped`,
    );
    assert.match(
      bag.warnings[1]!,
      /orphans_0\.db3: the message on \/cmd_vel at 0\.000 s \(1970-01-01T00:00:00\.000Z\) lies 1\.70e\+9 s \(53\.9 years\) before the rest of the recording/,
    );
    assert.equal(bag.startTimeNs, BASE);
    assert.equal(bag.endTimeNs, BASE + 251n * MS);
    assert.equal(bag.messageCount, 11, "the writer's 11 messages, not the orphans or the outlier");
    const got = await heads(bag);
    assert.equal(got.length, 11);
    assert.ok(
      got.every((h) => !h.endsWith("@7")),
      "the outlier row is not in the stream",
    );
  } finally {
    await bag.close();
  }
});

test("a metadata.yaml that names a file twice: named, and the file read once (counts not doubled)", async () => {
  const out = join(dir, "twice");
  await run("python3", [DB3_WRITER, out, "twice"]);
  const meta = join(out, "metadata.yaml");
  const yaml = await readFile(meta, "utf8");
  await writeFile(meta, yaml.replace("  relative_file_paths:\n    - twice_0.db3\n", "  relative_file_paths:\n    - twice_0.db3\n    - ./twice_0.db3\n"));
  const bag = await openBag(out);
  try {
    assert.deepEqual(bag.warnings, [`${meta}: lists twice_0.db3 more than once (entries 1 and 2 of its files); it is read once`]);
    assert.deepEqual(bag.files, [join(out, "twice_0.db3")]);
    assert.equal(bag.messageCount, 11);
    assert.equal((await heads(bag)).length, 11, "each message once");
  } finally {
    await bag.close();
  }
  const info = await bagInfo(out);
  assert.equal(info.messageCount, 11);
  assert.equal(info.duration, 0.251);
});

/** Rewrites the Statistics record's message_end_time (and clears the footer's summary CRC, which would catch it). */
async function lieAboutTheEnd(file: string, endNs: bigint): Promise<void> {
  const bytes = new Uint8Array(await readFile(file));
  const view = new DataView(bytes.buffer);
  const footer = bytes.byteLength - 8 - (1 + 8 + 8 + 8 + 4);
  assert.equal(bytes[footer], 0x02, "the footer record");
  view.setUint32(footer + 1 + 8 + 8 + 8, 0, true);
  let at = Number(view.getBigUint64(footer + 1 + 8, true));
  for (; bytes[at] !== 0x0b; at += 9 + Number(view.getBigUint64(at + 1, true))) assert.ok(at < footer, "a Statistics record in the summary");
  // message_count u64, schema_count u16, channel_count u32, attachment, metadata and chunk counts u32, message_start_time u64, message_end_time u64.
  view.setBigUint64(at + 9 + 8 + 2 + 4 * 4 + 8, endNs, true);
  await writeFile(file, bytes);
}

test("an MCAP whose summary hides a message far past its declared end: the read fails naming it, instead of a span it does not have", async () => {
  const stray = BASE + 100_000_000n * 1_000_000_000n;
  const rec = await recording("lying", [stray]);
  const file = join(rec.path, "lying_0.mcap");
  await lieAboutTheEnd(file, rec.last);
  const bag = await openBag(rec.path);
  try {
    assert.equal(bag.endTimeNs, rec.last, "the span is what the summary declares");
    for (const lazy of [false, true]) {
      const seen: string[] = [];
      await assert.rejects(
        (async () => {
          if (lazy) for await (const m of bag.messages({ lazy: true })) seen.push(m.topic);
          else for await (const m of bag.messages()) seen.push(m.topic);
        })(),
        (err: unknown) => {
          assert.ok(err instanceof BagError, `a BagError, got ${String(err)}`);
          assert.ok(
            err.message.startsWith(`${file}: a message on /cmd_vel has log time ${stray} ns (1800000000.000 s), outside the span the file's summary declares`),
            err.message,
          );
          return true;
        },
      );
      assert.equal(seen.length, rec.count, `${lazy ? "lazy" : "eager"}: every message inside the span came first`);
    }
  } finally {
    await bag.close();
  }
});

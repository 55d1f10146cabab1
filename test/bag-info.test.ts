import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { bagInfo, formatBagInfo } from "../src/bags/bag-info.js";
import { writeSampleBag } from "../synthetic/sample-bag.js";

const run = promisify(execFile);
// Next to this file under test/, or two levels up when run compiled from dist/test/.
const WRITER =
  [new URL("./fixtures/write_db3_bag.py", import.meta.url), new URL("../../test/fixtures/write_db3_bag.py", import.meta.url)]
    .map((u) => fileURLToPath(u))
    .find((p) => existsSync(p)) ?? "test/fixtures/write_db3_bag.py";
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "bag-info-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("bag info of a split MCAP bag: files, sizes, counts, times, and ros2-bag-info text", async () => {
  const out = join(dir, "rec");
  const res = await writeSampleBag(out, { durationS: 2, width: 32, height: 24, rateHz: 5, splitEveryS: 1 });
  const info = await bagInfo(out);
  assert.equal(info.storage, "mcap");
  assert.deepEqual(
    info.files.map((f) => f.path),
    res.files,
  );
  const sizes = await Promise.all(res.files.map(async (f) => (await stat(f)).size));
  assert.deepEqual(
    info.files.map((f) => f.sizeBytes),
    sizes,
  );
  assert.equal(info.sizeBytes, sizes[0]! + sizes[1]!);
  assert.equal(info.messageCount, res.messageCount);
  assert.equal(info.startTimeNs, 1_700_000_000_000_000_000n);
  assert.equal(info.endTimeNs, res.endNs);
  assert.ok(Math.abs(info.duration - (info.endTime - info.startTime)) < 1e-6);
  assert.deepEqual(
    info.topics.map((t) => [t.name, t.count]),
    [
      ["/camera/image_raw", 10],
      ["/cmd_vel", 5],
      ["/instruction", 1],
    ],
  );

  const text = formatBagInfo(info);
  const lines = text.split("\n");
  assert.equal(lines[1], "Files:             rec_0.mcap");
  assert.equal(lines[2], "                   rec_1.mcap");
  assert.match(lines[3]!, /^Bag size: {10}\d+\.\d KiB$/);
  assert.equal(lines[4], "Storage id:        mcap");
  assert.equal(lines[5], `Duration:          ${info.duration.toFixed(3)}s`);
  assert.equal(lines[6], "Start:             Nov 14 2023 22:13:20.000 (1700000000.000)");
  assert.match(lines[7]!, /^End: {15}Nov 14 2023 22:13:21\.\d{3} \(1700000001\.\d{3}\)$/);
  assert.equal(lines[8], `Messages:          ${res.messageCount}`);
  assert.equal(lines[9], "Topic information: Topic: /camera/image_raw | Type: sensor_msgs/msg/Image   | Count: 10 | Serialization Format: cdr");
  assert.equal(lines[10], "                   Topic: /cmd_vel          | Type: geometry_msgs/msg/Twist | Count: 5  | Serialization Format: cdr");
  assert.equal(lines[11], "                   Topic: /instruction      | Type: std_msgs/msg/String     | Count: 1  | Serialization Format: cdr");
});

test("bag info of a sqlite3 bag", async () => {
  const out = join(dir, "db3");
  await run("python3", [WRITER, out, "db3"]);
  const info = await bagInfo(join(out, "db3_0.db3"));
  assert.equal(info.storage, "sqlite3");
  assert.equal(info.messageCount, 11);
  assert.equal(info.duration, 0.251);
  const text = formatBagInfo(info);
  assert.match(text, /\nStorage id: {8}sqlite3\n/);
  assert.match(text, /\nDuration: {10}0\.251s\n/);
  assert.match(text, /Topic: \/camera\/mono {6}\| Type: sensor_msgs\/msg\/Image {3}\| Count: 2 \| Serialization Format: cdr/);
});

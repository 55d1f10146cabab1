// A replay's cost follows the messages it reads, not the span between them: a
// stray message years away is left out by the bag (and named), and a bag whose
// few messages would need implausibly many control ticks is refused before any
// work, with the numbers.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { BagError, RosbagMcapWriter } from "../src/bags/index.js";
import { DEFAULT_PARAMS } from "../src/params/table.js";
import { makeTinyModel } from "../synthetic/tiny-model.js";
import { VlaModel } from "../src/model/vla-model.js";
import { replayBag } from "../src/replay/bag-replay.js";
import { checkReplaySpan, MIN_TICKS, TICKS_PER_MESSAGE } from "../src/replay/replay-span.js";

const BASE = 1_700_000_000_000_000_000n;
const S = 1_000_000_000n;

let root: string;
let model: VlaModel;

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "vla-span-"));
  const dir = path.join(root, "tiny");
  await makeTinyModel(dir, { seed: 5 });
  model = await VlaModel.load(dir);
});

after(async () => {
  await model.close();
  await rm(root, { recursive: true, force: true });
});

const TWIST = { linear: { x: 1.15, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0 } };

function frame(i: number): unknown {
  const data = new Uint8Array(48 * 36 * 3).map((_, k) => (k * 7 + i * 13) & 255);
  return {
    header: { stamp: { sec: 1_700_000_000 + Math.floor(i / 10), nanosec: (i % 10) * 100_000_000 }, frame_id: "cam" },
    height: 36,
    width: 48,
    encoding: "bgr8",
    is_bigendian: 0,
    step: 144,
    data,
  };
}

/** Camera and cmd_vel at 10 Hz for `seconds` from BASE, an instruction at BASE, and extra /cmd_vel messages at `strays` (ns). */
async function writeBag(name: string, seconds: number, strays: bigint[]): Promise<string> {
  const dir = path.join(root, name);
  const w = await RosbagMcapWriter.create(dir, [
    { name: "/camera/image_raw", type: "sensor_msgs/msg/Image" },
    { name: "/cmd_vel", type: "geometry_msgs/msg/Twist" },
    { name: "/instruction", type: "std_msgs/msg/String" },
  ]);
  const before = strays.filter((t) => t < BASE);
  const afterEnd = strays.filter((t) => t >= BASE);
  for (const t of before) await w.write("/cmd_vel", t, TWIST);
  await w.write("/instruction", BASE, { data: "Navigate to the gray basket on the left" });
  for (let i = 0; i < seconds * 10; i++) {
    const t = BASE + BigInt(i) * (S / 10n) + 1n;
    await w.write("/camera/image_raw", t, frame(i));
    await w.write("/cmd_vel", t + 1000n, TWIST);
  }
  for (const t of afterEnd) await w.write("/cmd_vel", t, TWIST);
  await w.close();
  return dir;
}

test("a /cmd_vel at log time 0 and one 1e8 s after the recording: the replay covers the recording only", { timeout: 120_000 }, async () => {
  const plain = await writeBag("plain", 3, []);
  const stray = await writeBag("stray", 3, [0n, BASE + 100_000_000n * S]);
  const a = await replayBag(plain, { model, modelName: "tiny", params: DEFAULT_PARAMS });
  const b = await replayBag(stray, { model, modelName: "tiny", params: DEFAULT_PARAMS });
  assert.ok(a.ticks.length >= 55 && a.ticks.length <= 61, `~60 ticks at 20 Hz over 3 s, got ${a.ticks.length}`);
  assert.deepEqual(b.ticks, a.ticks, "the stray messages change nothing: same ticks, predictions and truth");
  assert.deepEqual(b.chunks, a.chunks);
  assert.equal(b.sampledFrames, a.sampledFrames);
});

test("a replay that would need implausibly many control ticks for its messages is refused before any work, with the numbers", {
  timeout: 120_000,
}, async () => {
  // Three messages 23 h apart: one recording (the gap is under a day), but 8.3e6 ticks at 100 Hz.
  const dir = path.join(root, "sparse");
  const w = await RosbagMcapWriter.create(dir, [
    { name: "/camera/image_raw", type: "sensor_msgs/msg/Image" },
    { name: "/cmd_vel", type: "geometry_msgs/msg/Twist" },
  ]);
  await w.write("/camera/image_raw", BASE, frame(0));
  await w.write("/cmd_vel", BASE + 1n, TWIST);
  await w.write("/cmd_vel", BASE + 23n * 3600n * S, TWIST);
  await w.close();
  const params = { ...DEFAULT_PARAMS, control_rate_hz: 100 };
  await assert.rejects(replayBag(dir, { model, modelName: "tiny", params, instruction: "go" }), (err: unknown) => {
    assert.ok(err instanceof BagError, `a BagError, got ${String(err)}`);
    assert.ok(err.message.startsWith(`${dir}: its 3 messages on /camera/image_raw, /cmd_vel span 82800.000 s`), err.message);
    assert.match(err.message, /at control_rate_hz 100 a replay would run 8\.28e\+6 control ticks, more than the 2000300 \(2000000 \+ 100 per message\)/);
    return true;
  });
  // The same span at 20 Hz is within the floor every replay may use.
  const topics = [{ name: "/a", type: "x", count: 3, serializationFormat: "cdr", offeredQosProfiles: "" }];
  const bag = { path: "b", startTime: 1_700_000_000, endTime: 1_700_000_000 + 82_800 };
  assert.doesNotThrow(() => checkReplaySpan(bag, topics, 20));
  assert.throws(() => checkReplaySpan(bag, topics, 100), /8\.28e\+6 control ticks/);
  // More messages buy more ticks.
  const many = [{ ...topics[0]!, count: Math.ceil((82_800 * 100 - MIN_TICKS) / TICKS_PER_MESSAGE) }];
  assert.doesNotThrow(() => checkReplaySpan(bag, many, 100));
});

test("a bag whose summary hides a message 1e8 s past its declared end fails the replay naming it, instead of ticking towards it", {
  timeout: 120_000,
}, async () => {
  const dir = await writeBag("hidden", 3, [BASE + 100_000_000n * S]);
  const file = path.join(dir, "hidden_0.mcap");
  const bytes = new Uint8Array(await readFile(file));
  const view = new DataView(bytes.buffer);
  const footer = bytes.byteLength - 8 - (1 + 8 + 8 + 8 + 4);
  view.setUint32(footer + 1 + 8 + 8 + 8, 0, true); // no summary CRC
  let at = Number(view.getBigUint64(footer + 1 + 8, true));
  while (bytes[at] !== 0x0b) at += 9 + Number(view.getBigUint64(at + 1, true));
  view.setBigUint64(at + 9 + 8 + 2 + 4 * 4 + 8, BASE + 3n * S, true); // Statistics.message_end_time: the recording's end
  await writeFile(file, bytes);
  await assert.rejects(replayBag(dir, { model, modelName: "tiny", params: DEFAULT_PARAMS }), (err: unknown) => {
    assert.ok(err instanceof BagError, `a BagError, got ${String(err)}`);
    assert.match(err.message, /a message on \/cmd_vel has log time 1800000000000000000 ns \(1800000000\.000 s\), outside the span the file's summary declares/);
    return true;
  });
});

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, rm, readFile, truncate, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { repoPath } from "./fixtures/repo-path.js";
import { writeSampleBag } from "../synthetic/sample-bag.js";
import { DEFAULT_PARAMS, parseParams } from "../src/params/table.js";
import { makeTinyModel } from "../synthetic/tiny-model.js";
import { VlaModel } from "../src/model/vla-model.js";
import { replayBag } from "../src/replay/bag-replay.js";
import { evaluate } from "../src/replay/evaluate.js";
import { CommandHold } from "../src/mobile-vla/command-hold.js";

const DB3_WRITER = repoPath("test", "fixtures", "write_db3_bag.py");

let root: string;
let modelDir: string;
let model: VlaModel;
let gapBag: string;

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "vla-replay-"));
  modelDir = path.join(root, "tiny");
  await makeTinyModel(modelDir, { seed: 5 });
  model = await VlaModel.load(modelDir);
  gapBag = path.join(root, "gap");
  await writeSampleBag(gapBag, {
    durationS: 10,
    width: 96,
    height: 72,
    rateHz: 15,
    cameraGap: { startS: 3, durationS: 3 },
    instructionChange: { atS: 7, instruction: "Navigate to the blue box on the right", target: "right" },
  });
});

after(async () => {
  await model.close();
  await rm(root, { recursive: true, force: true });
});

test("teleop truth: a command holds for the hold time, then zero", () => {
  const track = new CommandHold<readonly [number, number]>([0, 0], 0.4);
  track.push(1.0, [1.15, 0]);
  track.push(2.0, [0, 1.15]);
  assert.deepEqual(track.activeAt(0.5), [0, 0]);
  assert.deepEqual(track.activeAt(1.0), [1.15, 0]);
  assert.deepEqual(track.activeAt(1.39), [1.15, 0]);
  assert.deepEqual(track.activeAt(1.41), [0, 0]);
  assert.deepEqual(track.activeAt(2.2), [0, 1.15]);
  track.push(1.5, [-1, 0]);
  assert.deepEqual(track.activeAt(1.6), [-1, 0], "an out-of-order command is placed by its time");
});

test("a camera gap zeroes the commands within the watchdog, and the robot moves again after it", async () => {
  const run = await replayBag(gapBag, { model, modelName: "tiny", params: DEFAULT_PARAMS });
  assert.equal(run.error, undefined);
  assert.ok(run.ticks.length >= 190 && run.ticks.length <= 202, `expected ~200 ticks at 20 Hz over 10 s, got ${run.ticks.length}`);
  const watchdog = DEFAULT_PARAMS.watchdog_timeout_s;
  const inGap = run.ticks.filter((t) => t.t > 3 + watchdog + 0.3 && t.t < 6);
  assert.ok(inGap.length > 20, "no ticks inside the camera gap");
  for (const t of inGap) assert.deepEqual(t.pred, [0, 0], `command at t=${t.t.toFixed(2)} s inside the camera gap is not zero`);
  const moving = (ts: typeof run.ticks) => ts.some((t) => t.pred[0] !== 0 || t.pred[1] !== 0);
  assert.ok(moving(run.ticks.filter((t) => t.t < 3)), "the policy never moved before the gap");
  assert.ok(moving(run.ticks.filter((t) => t.t > 6.5)), "the policy did not resume after the gap");
  assert.equal(run.backboneRuns, run.sampledFrames, "one backbone pass per sampled frame");
  assert.ok(run.chunks.length > 10, "no chunk samples recorded");
  // The truth is the teleop command clamped to [-1, 1], like training.
  assert.ok(
    run.ticks.every((t) => Math.abs(t.truth[0]) <= 1 && Math.abs(t.truth[1]) <= 1),
    "truth not clamped to [-1, 1]",
  );
  assert.ok(
    run.ticks.some((t) => t.truth[0] !== 0 || t.truth[1] !== 0),
    "the teleop never moved",
  );
});

test("an instruction change mid-bag rebuilds the window: commands after it differ from a bag without it", async () => {
  const same = path.join(root, "nochange");
  await writeSampleBag(same, { durationS: 10, width: 96, height: 72, rateHz: 15, cameraGap: { startS: 3, durationS: 3 } });
  const a = await replayBag(gapBag, { model, modelName: "tiny", params: DEFAULT_PARAMS });
  const b = await replayBag(same, { model, modelName: "tiny", params: DEFAULT_PARAMS });
  const before = (r: typeof a) => r.ticks.filter((t) => t.t > 1 && t.t < 2.9).map((t) => t.pred);
  assert.deepEqual(before(a), before(b), "identical bags before the change must give identical commands");
  const afterChange = (r: typeof a) => r.ticks.filter((t) => t.t > 7.5).map((t) => t.pred);
  assert.notDeepEqual(afterChange(a), afterChange(b), "the new instruction had no effect on the commands");
});

test("a sqlite3 bag from an independent writer replays: padded bgr8 frames, and mono8 on its own topic", async () => {
  const dir = path.join(root, "db3");
  execFileSync("python3", [DB3_WRITER, dir, "fixture"], { encoding: "utf8" });
  const params = parseParams({ frame_interval_s: 0.05, watchdog_timeout_s: 5 });
  for (const image of ["/camera/image_raw", "/camera/mono"]) {
    const run = await replayBag(dir, { model, modelName: "tiny", params, topics: { image } });
    assert.equal(run.decodeErrors, 0, `${image}: frames failed to decode`);
    assert.ok(run.sampledFrames >= 1, `${image}: no frame reached the policy`);
    assert.equal(run.backboneRuns, run.sampledFrames);
    assert.ok(run.ticks.length > 0, `${image}: no control ticks`);
  }
});

test("jpeg frames replay like raw ones", async () => {
  const dir = path.join(root, "jpeg");
  await writeSampleBag(dir, { durationS: 4, width: 96, height: 72, rateHz: 10, images: "compressed" });
  const run = await replayBag(dir, { model, modelName: "tiny", params: DEFAULT_PARAMS });
  assert.equal(run.decodeErrors, 0);
  assert.ok(run.sampledFrames >= 8, `only ${run.sampledFrames} jpeg frames sampled`);
});

test("a missing topic names every topic the bag has, with its type", async () => {
  await assert.rejects(replayBag(gapBag, { model, modelName: "tiny", params: DEFAULT_PARAMS, topics: { image: "/front/image" } }), (e: Error) => {
    assert.match(e.message, /has no topic \/front\/image/);
    assert.match(e.message, /\/camera\/image_raw \[sensor_msgs\/msg\/Image\]/);
    assert.match(e.message, /\/cmd_vel \[geometry_msgs\/msg\/Twist\]/);
    return true;
  });
  await assert.rejects(replayBag(gapBag, { model, modelName: "tiny", params: DEFAULT_PARAMS, topics: { instruction: "/say" } }), /has no topic \/say/);
});

test("eval: a truncated bag fails alone, the other bag is still evaluated, and the report is written", async () => {
  const good = path.join(root, "good");
  await writeSampleBag(good, { durationS: 3, width: 64, height: 48, rateHz: 10 });
  const broken = path.join(root, "broken");
  await writeSampleBag(broken, { durationS: 3, width: 64, height: 48, rateHz: 10 });
  const file = path.join(broken, "broken_0.mcap");
  await truncate(file, Math.floor((await stat(file)).size / 2));
  const out = path.join(root, "report");
  const result = await evaluate({
    models: [modelDir],
    sources: [
      { kind: "bag", path: broken },
      { kind: "bag", path: good },
    ],
    params: DEFAULT_PARAMS,
    outDir: out,
  });
  assert.equal(result.failed.length, 1);
  assert.equal(result.failed[0]!.source, broken);
  assert.match(result.failed[0]!.error ?? "", /broken_0\.mcap/);
  const json = JSON.parse(await readFile(result.files.json, "utf8"));
  const goodRun = json.runs.find((r: { source: string }) => r.source === good);
  assert.ok(goodRun && goodRun.series.length > 0, "the good bag was not evaluated");
  assert.ok((await stat(result.files.png)).size > 1000, "report.png is missing or empty");
});

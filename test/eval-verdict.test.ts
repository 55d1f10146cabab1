// Never a result that looks valid but is not (issue 16, A.2): a source on which the
// policy never produced an action is a failed source, named, with the reason; partial
// problems (decode errors, invalid outputs, dropped ticks) are counted in the table.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { RosbagMcapWriter, type WriterTopic } from "../src/bags/index.js";
import { checkEpisodes } from "../src/episodes/episode-check.js";
import { EpisodeWriter } from "../src/episodes/episode-writer.js";
import { formatTable } from "../src/eval/table.js";
import { noResultReason } from "../src/eval/run-verdict.js";
import type { RunSeries } from "../src/eval/types.js";
import { InvalidOutputError } from "../src/model/invalid-output.js";
import { VlaModel } from "../src/model/vla-model.js";
import { DEFAULT_PARAMS } from "../src/params/table.js";
import { replayBag } from "../src/replay/bag-replay.js";
import { replayEpisode } from "../src/replay/episode-replay.js";
import { episodeFiles, evaluate } from "../src/replay/evaluate.js";
import { makeTinyModel } from "../synthetic/tiny-model.js";
import { cli, showRun } from "./fixtures/cli.js";

const W = 64;
const H = 48;
const T0 = 1_700_000_000n * 1_000_000_000n;
const at = (s: number): bigint => T0 + BigInt(Math.round(s * 1e6)) * 1000n;
const INSTRUCTION = "Navigate to the gray basket on the left";

let root: string;
let modelDir: string;
let model: VlaModel;

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "vla-verdict-"));
  modelDir = path.join(root, "tiny");
  await makeTinyModel(modelDir, { seed: 3 });
  model = await VlaModel.load(modelDir);
});

after(async () => {
  await model.close();
  await rm(root, { recursive: true, force: true });
});

const TOPICS: WriterTopic[] = [
  { name: "/camera/image_raw", type: "sensor_msgs/msg/Image" },
  { name: "/cmd_vel", type: "geometry_msgs/msg/Twist" },
  { name: "/instruction", type: "std_msgs/msg/String" },
];

interface BagSpec {
  /** The camera message of frame k (default: a valid bgr8 frame). */
  frame?: (k: number) => Record<string, unknown>;
  frames?: number;
  /** linear.x of the teleop command at time t (s). */
  cmd?: (t: number) => number;
  /** A command every this many frames (default 10: once a second). */
  cmdEvery?: number;
  instruction?: string;
  /** header.stamp of frame k, seconds since the epoch (default: its log time). */
  headerStampS?: (k: number) => number;
}

let bagCount = 0;
/** A 3 s teleop bag at 10 Hz: the instruction, a command every second, the camera. */
async function writeBag(spec: BagSpec = {}): Promise<string> {
  const dir = path.join(root, `bag-${bagCount++}`);
  const w = await RosbagMcapWriter.create(dir, TOPICS);
  await w.write("/instruction", at(0), { data: spec.instruction ?? INSTRUCTION });
  const n = spec.frames ?? 30;
  for (let k = 0; k < Math.max(n, 30); k++) {
    const t = k / 10;
    if (k % (spec.cmdEvery ?? 10) === 0) {
      const x = spec.cmd ? spec.cmd(t) : 1.15;
      await w.write("/cmd_vel", at(t + 0.001), { linear: { x, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0 } });
    }
    if (k >= n) continue;
    const stampS = spec.headerStampS ? spec.headerStampS(k) : 1_700_000_000 + t + 0.002;
    const header = { stamp: { sec: Math.floor(stampS), nanosec: Math.round((stampS % 1) * 1e9) }, frame_id: "camera" };
    const pixels = new Uint8Array(W * H * 3);
    for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7 + k * 13) & 255;
    const frame = spec.frame ? spec.frame(k) : { height: H, width: W, encoding: "bgr8", is_bigendian: 0, step: W * 3, data: pixels };
    await w.write("/camera/image_raw", at(t + 0.002), { header, ...frame });
  }
  await w.close();
  return dir;
}

async function replay(bag: string, m: VlaModel = model, instruction?: string, headerStamps = false): Promise<RunSeries> {
  return replayBag(bag, { model: m, modelName: "tiny", params: DEFAULT_PARAMS, instruction, headerStamps });
}

/** The tiny model with one graph's output replaced by NaN. */
function poisoned(which: "backbone" | "head"): VlaModel {
  if (which === "head") {
    return Object.create(model, { runHead: { value: async (f: Float32Array, w: number) => (await model.runHead(f, w)).fill(NaN) } }) as VlaModel;
  }
  const out = model.manifest.backbone.output;
  const run = async (feeds: Parameters<VlaModel["backbone"]["run"]>[0]) => {
    const r = await model.backbone.run(feeds);
    const t = r[out]!;
    return { ...r, [out]: { type: t.type, size: t.size, data: new Float32Array(t.size).fill(NaN) } };
  };
  return Object.create(model, { backbone: { value: { run } } }) as VlaModel;
}

test("a clean bag has a result; its verdict is none", async () => {
  const run = await replay(await writeBag());
  assert.equal(noResultReason(run), null, "a bag the policy acted on");
  assert.ok(run.outcome && run.outcome.actions > 0, `actions counted: ${JSON.stringify(run.outcome)}`);
});

test("no camera frame reached the model: unsupported encoding, empty data, zero sizes, no camera messages", async () => {
  const cases: [string, BagSpec][] = [
    [
      "unsupported encoding",
      { frame: () => ({ height: H, width: W, encoding: "yuv422_yuy2", is_bigendian: 0, step: W * 2, data: new Uint8Array(W * H * 2) }) },
    ],
    ["empty data", { frame: () => ({ height: H, width: W, encoding: "bgr8", is_bigendian: 0, step: W * 3, data: new Uint8Array(0) }) }],
    ["zero sizes", { frame: () => ({ height: 0, width: 0, encoding: "bgr8", is_bigendian: 0, step: 0, data: new Uint8Array(0) }) }],
    ["no camera messages", { frames: 0 }],
  ];
  for (const [what, spec] of cases) {
    const run = await replay(await writeBag(spec));
    const reason = noResultReason(run);
    assert.ok(reason, `${what}: a failed source, got actions ${JSON.stringify(run.outcome)}`);
    assert.match(
      reason,
      /^the policy never produced an action: (no camera frame reached the model|none of the \d+ frame\(s\) given to the model could be decoded)/,
      `${what}: ${reason}`,
    );
  }
});

test("the head's NaN/Inf and the backbone's NaN features are invalid outputs; all of them is a failed source", async () => {
  const bag = await writeBag();
  const head = await replay(bag, poisoned("head"));
  assert.match(noResultReason(head) ?? "", /^the policy never produced an action: every model output was NaN\/Inf \(\d+ of \d+ step\(s\)/);
  assert.ok(head.outcome!.invalidOutputs > 0);

  const pixels = new Float32Array(3 * model.manifest.image.width * model.manifest.image.height).fill(0.5);
  await assert.rejects(
    poisoned("backbone").runBackbone(pixels, model.tokenizer.encode(INSTRUCTION)),
    (e: unknown) => e instanceof InvalidOutputError && /feature value 0 of \d+ is NaN/.test(e.message),
  );
  const backbone = await replay(bag, poisoned("backbone"));
  const reason = noResultReason(backbone) ?? "";
  assert.match(reason, /every model output was NaN\/Inf .*feature value 0 of \d+ is NaN/, `NaN features never become finite actions: ${reason}`);
  assert.equal(backbone.decodeErrors, 0, "a NaN feature is not a decode error");
});

test("NaN ground truth: all of it is a failed source; part of it is counted as dropped ticks in the table", async () => {
  // A command every 0.1 s: always one in force, and every one NaN.
  const all = await replay(await writeBag({ cmd: () => NaN, cmdEvery: 1 }));
  assert.match(noResultReason(all) ?? "", /^no tick could be scored: the ground truth or the prediction was NaN\/Inf on all \d+ tick\(s\)/);

  const someBag = await writeBag({ cmd: (t) => (t === 1 ? NaN : 1.15) });
  const some = await evaluate({ models: [modelDir], sources: [{ kind: "bag", path: someBag }], params: DEFAULT_PARAMS, outDir: path.join(root, "some-nan") });
  assert.deepEqual(some.failed, [], "partly NaN truth is a result");
  const dropped = some.report.comparison.pooled[0]!.metrics.nonFiniteTicks;
  assert.ok(dropped > 0, "dropped ticks counted in the report");
  assert.match(formatTable(some.report.comparison), new RegExp(`ticks dropped \\(NaN/Inf\\)\\s+-\\s+${dropped}`), "and shown in the printed table");
});

test("header stamps that make every frame stale, and an empty instruction, are failed sources naming why", async () => {
  const stale = await replay(await writeBag({ headerStampS: (k) => 1_000_000 + k / 10 }), model, undefined, true);
  assert.match(
    noResultReason(stale, { watchdogTimeoutS: 1 }) ?? "",
    /none of the 30 frame\(s\) received was given to the model, each was older than watchdog_timeout_s \(1 s\)/,
  );
  const empty = await replay(await writeBag({ instruction: "" }));
  assert.match(noResultReason(empty) ?? "", /no instruction/);
});

test("episodes with NaN actions get the same verdict from eval as from episodes check", async () => {
  const dir = path.join(root, "nan-episodes");
  const w = EpisodeWriter.open(dir, { startTime: new Date(2025, 0, 2, 3, 4, 5), scenario: "left", instruction: INSTRUCTION });
  for (let i = 0; i < 20; i++) w.append({ width: W, height: H, data: new Uint8Array(W * H * 3).fill(i) }, [1.15, 0, 0], i ? "start_action" : "episode_start");
  const file = await w.close({ endTime: new Date(2025, 0, 2, 3, 4, 9) });
  // Poke a NaN into the stored actions, as a damaged or hand-edited file would have.
  const { default: h5wasm } = await import("h5wasm/node");
  await h5wasm.ready;
  const f = new h5wasm.File(file, "a");
  (f.get("actions") as InstanceType<typeof h5wasm.Dataset>).write_slice([[7, 8]], Float32Array.from([NaN, 0, 0]));
  f.close();

  const check = checkEpisodes(dir);
  assert.equal(check.ok, false);
  const detail = check.problems[0]!.detail;
  assert.equal(detail, "actions: frame 7 axis 0 is NaN");
  await assert.rejects(
    replayEpisode(file, { model, modelName: "tiny", params: DEFAULT_PARAMS }),
    (e: unknown) => e instanceof Error && e.message.includes(detail) && e.message.includes("episodes check"),
  );
  const result = await evaluate({
    models: [modelDir],
    sources: [{ kind: "episode", path: file }],
    params: DEFAULT_PARAMS,
    outDir: path.join(root, "nan-eval"),
  });
  assert.equal(result.failed.length, 1, "a failed source");
  assert.match(result.failed[0]!.error!, /actions: frame 7 axis 0 is NaN/);
});

test("eval (and replay) on a bag the policy never acted on exits 1 naming the source and why; the other source still runs", async () => {
  const good = await writeBag();
  const blind = await writeBag({ frames: 0 });
  const out = path.join(root, "cli-report");
  const [r, replayRun] = await Promise.all([
    cli("eval", "--model", modelDir, "--bag", good, "--bag", blind, "--out", out),
    cli("replay", "--model", modelDir, "--bag", blind),
  ]);
  assert.equal(r.code, 1, showRun(r));
  assert.match(
    r.stderr,
    new RegExp(
      `1 run\\(s\\) failed:\\n  tiny on ${blind.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: the policy never produced an action: no camera frame reached the model`,
    ),
    showRun(r),
  );
  assert.match(r.stdout, /1 source\(s\) pooled/, "the good bag is still evaluated");
  assert.ok(fs.existsSync(path.join(out, "report.json")));
  assert.equal(replayRun.code, 1, `replay of a bag the model never saw fails too\n${showRun(replayRun)}`);
  assert.match(replayRun.stderr, /the policy never produced an action: no camera frame reached the model/, showRun(replayRun));
});

test("an unfinished episode (.h5.partial) is never evaluated: refused when named, left out of a folder", async () => {
  const dir = path.join(root, "partial-episodes");
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, "episode_20250102_030405.h5.partial"), "");
  fs.writeFileSync(path.join(dir, "episode_20250102_030406.h5"), "");
  await assert.rejects(episodeFiles(path.join(dir, "episode_20250102_030405.h5.partial")), /an episode that never finished/);
  assert.deepEqual(await episodeFiles(dir), [path.join(dir, "episode_20250102_030406.h5")]);
});

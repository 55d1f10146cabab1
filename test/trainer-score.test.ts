// The trainer's own score of episodes (issue 15 item 7), checked against an
// independent computation here: features through the preprocessor and backbone
// directly, the head over each training window, Huber in plain JS.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { DEFAULT_PARAMS } from "../src/params/table.js";
import { EpisodeWriter } from "../src/episodes/episode-writer.js";
import { buildReport } from "../src/eval/report-html.js";
import { formatTable } from "../src/eval/table.js";
import { formatTrainerLoss } from "../src/eval/trainer-loss.js";
import type { EvalReport, RunSeries, TrainerLossSummary } from "../src/eval/types.js";
import { Preprocessor } from "../src/model/preprocess.js";
import { makeTinyModel } from "../synthetic/tiny-model.js";
import { VlaModel } from "../src/model/vla-model.js";
import { replayEpisode } from "../src/replay/episode-replay.js";
import { evaluate } from "../src/replay/evaluate.js";
import { windowLoss } from "../src/replay/trainer-score.js";

const INSTRUCTION = "Navigate to the gray basket on the left";
const WIDTH = 40;
const HEIGHT = 30;

let root: string;
let modelDir: string;
let discreteDir: string;
let model: VlaModel;

type Action = [number, number, number];

/** Key presses publish 1.15 per component; training clamps the labels to 1. */
function actions(n: number, press = 1.15): Action[] {
  return Array.from({ length: n }, (_, i) =>
    i === 0 ? [0, 0, 0] : i % 5 === 1 ? [press, 0, 0] : i % 5 === 2 ? [press, press, 0] : i % 5 === 3 ? [0, -press, 0] : [-0.5, 0.25, 0],
  );
}

function frameBytes(i: number): Uint8Array {
  const data = new Uint8Array(WIDTH * HEIGHT * 3);
  for (let p = 0; p < data.length; p += 3) {
    data[p] = (p * 7 + i * 31) & 255;
    data[p + 1] = (p >> 4) & 255;
    data[p + 2] = (i * 13) & 255;
  }
  return data;
}

let second = 0;
async function writeEpisode(dir: string, acts: readonly Action[]): Promise<string> {
  const w = EpisodeWriter.open(dir, { scenario: "1box_hori_left_core", startTime: new Date(Date.UTC(2025, 11, 3, 12, 0, second++)) });
  acts.forEach((a, i) => w.append({ width: WIDTH, height: HEIGHT, data: frameBytes(i) }, a, i === 0 ? "episode_start" : "start_action"));
  return w.close();
}

/** torch.nn.functional.huber_loss, delta 1, written out here on purpose (not the package's). */
function refHuber(pred: number, label: number): number {
  const d = Math.abs(pred - label);
  return d < 1 ? 0.5 * d * d : d - 0.5;
}

/** The trainer's windows of one episode, computed independently of src/replay. */
async function referenceLosses(m: VlaModel, acts: readonly Action[]): Promise<number[]> {
  const { window: W, chunk: N, feature_dim: D } = m.manifest;
  const pre = new Preprocessor(m.manifest.image);
  const tokens = m.tokenizer.encode(INSTRUCTION);
  const features: Float32Array[] = [];
  for (let i = 0; i < acts.length; i++) {
    const pixels = await pre.run({ kind: "raw", width: WIDTH, height: HEIGHT, encoding: "bgr8", step: WIDTH * 3, isBigEndian: false, data: frameBytes(i) });
    features.push(await m.runBackbone(pixels, tokens));
  }
  const clamp = (v: number) => Math.min(1, Math.max(-1, v));
  const losses: number[] = [];
  for (let s = 0; s + W + N <= acts.length; s++) {
    const input = new Float32Array(W * D);
    for (let j = 0; j < W; j++) input.set(features[s + j]!, j * D);
    const out = await m.runHead(input, W);
    let sum = 0;
    for (let j = 0; j < W; j++) {
      for (let k = 0; k < N; k++) {
        for (let a = 0; a < 2; a++) sum += refHuber(out[(j * N + k) * 2 + a]!, clamp(acts[s + j + k]![a]!));
      }
    }
    losses.push(sum / (W * N * 2));
  }
  return losses;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function applicableSummary(s: TrainerLossSummary | undefined, what: string): Extract<TrainerLossSummary, { applicable: true }> {
  assert.ok(s, `${what}: no trainer_loss entry`);
  assert.ok(s.applicable, `${what}: trainer_loss says not applicable`);
  return s;
}

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "vla-trainer-score-"));
  modelDir = path.join(root, "tiny");
  discreteDir = path.join(root, "tiny-discrete");
  await makeTinyModel(modelDir, { seed: 11 });
  await makeTinyModel(discreteDir, { seed: 12, head: "discrete" });
  model = await VlaModel.load(modelDir);
});

after(async () => {
  await model.close();
  await rm(root, { recursive: true, force: true });
});

test("windowLoss is the mean Huber (delta 1) over W x N x 2, both branches, and null on NaN", () => {
  // W 1, N 2: labels of frames 0 and 1.
  const labels: [number, number][] = [
    [1, -1],
    [0, 0.5],
  ];
  const out = new Float32Array([0.5, 1, -0.25, 0.5]);
  // d = -0.5 (0.125), 2 (1.5), -0.25 (0.03125), 0 (0)
  const expected = (0.125 + 1.5 + 0.03125 + 0) / 4;
  assert.ok(Math.abs(windowLoss(out, labels, 0, 1, 2)! - expected) < 1e-12, `got ${windowLoss(out, labels, 0, 1, 2)}, expected ${expected}`);
  assert.equal(windowLoss(new Float32Array([NaN, 0, 0, 0]), labels, 0, 1, 2), null, "a NaN output must give no loss, not NaN");
  assert.throws(() => windowLoss(out, labels, 1, 1, 2), /needs labels up to frame 2/, "a window past the episode's end must be refused");
});

test("trainer_loss of an episode equals the head run by hand over every window start, Huber in plain JS", async () => {
  const acts = actions(23);
  const file = await writeEpisode(path.join(root, "one"), acts);
  // Count real backbone passes: the trainer score must reuse the robot-style pass's features.
  const runBackbone = model.runBackbone;
  let passes = 0;
  model.runBackbone = (...args) => {
    passes++;
    return runBackbone.apply(model, args);
  };
  let run: RunSeries;
  try {
    run = await replayEpisode(file, { model, modelName: "tiny", params: DEFAULT_PARAMS, instruction: INSTRUCTION });
  } finally {
    model.runBackbone = runBackbone;
  }
  const { window: W, chunk: N } = model.manifest;
  assert.ok(run.trainer?.applicable, "a continuous head must have a trainer score");
  const windows = run.trainer.windows;
  assert.equal(windows.length, acts.length - (W + N) + 1, "window count must be len - (W + N) + 1");
  assert.deepEqual(
    windows.map((w) => w.start),
    [0, 1, 2, 3, 4, 5],
    "every window start 0 .. len - (W + N)",
  );
  assert.equal(passes, acts.length, "each frame goes through the backbone exactly once for both scores");
  const ref = await referenceLosses(model, acts);
  windows.forEach((w, i) => {
    assert.ok(w.loss !== null && Math.abs(w.loss - ref[i]!) < 1e-9, `window ${i}: trainer ${w.loss} vs independent ${ref[i]}`);
  });
  assert.ok(
    ref.every((l) => l > 0),
    "the reference losses should be non-trivial",
  );
});

test("labels are clamped to [-1, 1]: key presses of 1.15 score exactly as 1.0", async () => {
  const f115 = await writeEpisode(path.join(root, "clamp115"), actions(19, 1.15));
  const f100 = await writeEpisode(path.join(root, "clamp100"), actions(19, 1.0));
  const a = await replayEpisode(f115, { model, modelName: "tiny", params: DEFAULT_PARAMS, instruction: INSTRUCTION });
  const b = await replayEpisode(f100, { model, modelName: "tiny", params: DEFAULT_PARAMS, instruction: INSTRUCTION });
  assert.ok(a.trainer?.applicable && b.trainer?.applicable, "both episodes must be scored");
  assert.equal(a.trainer.windows.length, 2, "19 frames with W + N = 18 give two windows");
  assert.deepEqual(a.trainer.windows, b.trainer.windows, "trainer loss with 1.15 labels must equal the loss with 1.0 labels");
  for (const c of a.chunks) for (const row of c.truth) for (const v of row) assert.ok(Math.abs(v) <= 1, `robot-style truth ${v} is not clamped`);
  assert.deepEqual(
    a.chunks.map((c) => c.truth),
    b.chunks.map((c) => c.truth),
    "robot-style truth must be clamped the same way",
  );
});

test("an episode shorter than W + N gives no window and says so", async () => {
  const file = await writeEpisode(path.join(root, "short"), actions(12));
  const run = await replayEpisode(file, { model, modelName: "tiny", params: DEFAULT_PARAMS, instruction: INSTRUCTION });
  assert.ok(run.trainer?.applicable, "still a continuous head");
  assert.equal(run.trainer.windows.length, 0, "12 frames < W + N = 18: no training window");
  assert.match(run.trainer.note ?? "", /12 frames, fewer than W \+ N = 18/, "the run must say why it has no window");
  assert.ok(run.ticks.length > 0, "the robot-style metrics still score a short episode");
});

test("robot-style default alignment follows training: the chunk answering frame i is scored against actions i .. i+N-1", async () => {
  const acts = actions(18);
  const file = await writeEpisode(path.join(root, "align"), acts);
  const run = await replayEpisode(file, { model, modelName: "tiny", params: DEFAULT_PARAMS, instruction: INSTRUCTION });
  const clamp = (v: number) => Math.min(1, Math.max(-1, v));
  assert.equal(run.ticks.length, 18, "every frame has its own action as the first label, the last one included");
  run.chunks.forEach((c, i) => {
    const expected = acts.slice(i, i + 10).map((a) => [clamp(a[0]), clamp(a[1])]);
    assert.deepEqual(c.truth, expected, `chunk ${i}: truth must start at the action recorded with frame ${i}`);
    assert.deepEqual(run.ticks[i]!.truth, expected[0], `tick ${i} truth is the action recorded with its frame`);
  });
  const shifted = await replayEpisode(file, { model, modelName: "tiny", params: DEFAULT_PARAMS, instruction: INSTRUCTION, chunkOffset: 1 });
  assert.equal(shifted.ticks.length, 17, "offset 1 (the old default) still scores against the next actions");
  assert.deepEqual(shifted.ticks[0]!.truth, [clamp(acts[1]![0]), clamp(acts[1]![1])], "offset 1: frame 0 against action 1");
  await assert.rejects(
    replayEpisode(file, { model, modelName: "tiny", params: DEFAULT_PARAMS, instruction: INSTRUCTION, chunkOffset: -1 }),
    /--chunk-offset: expected an integer number of frames >= 0, got -1/,
  );
});

test("eval writes trainer_loss into report.json per model (window-weighted), and a discrete head says not applicable", async () => {
  const dir = path.join(root, "eval-eps");
  const lengths = [18, 21, 12];
  const all = lengths.map((n) => actions(n));
  for (const a of all) await writeEpisode(dir, a);
  const { episodeFiles } = await import("../src/replay/evaluate.js");
  const files = await episodeFiles(dir);
  const outDir = path.join(root, "eval-out");
  const result = await evaluate({
    models: [modelDir, discreteDir],
    sources: files.map((f) => ({ kind: "episode" as const, path: f })),
    params: DEFAULT_PARAMS,
    outDir,
  });
  assert.equal(result.failed.length, 0, result.failed.map((f) => f.error).join("; "));
  const report = JSON.parse(await readFile(result.files.json, "utf8")) as EvalReport;
  const s = applicableSummary(report.trainer_loss["tiny"], "report.json trainer_loss.tiny");
  const perEpisode = await Promise.all(all.map((a) => referenceLosses(model, a)));
  const flat = perEpisode.flat();
  assert.equal(s.windows, 1 + 4 + 0, "windows: 18 -> 1, 21 -> 4, 12 -> 0");
  assert.ok(Math.abs(s.mean! - mean(flat)) < 1e-9, `mean ${s.mean} must weigh each window equally (${mean(flat)})`);
  assert.deepEqual(
    s.episodes.map((e) => e.windows),
    [1, 4, 0],
    "per-episode window counts, in source order",
  );
  s.episodes.forEach((e, i) => {
    if (perEpisode[i]!.length === 0) {
      assert.equal(e.mean, null, "an episode without windows has no mean");
      assert.match(e.note ?? "", /fewer than W \+ N/, "and says why");
    } else assert.ok(Math.abs(e.mean! - mean(perEpisode[i]!)) < 1e-9, `episode ${i}: ${e.mean} vs ${mean(perEpisode[i]!)}`);
  });
  const na = report.trainer_loss["tiny-discrete"];
  assert.ok(na && !na.applicable && /discrete head/.test(na.reason), `discrete head must be "not applicable", got ${JSON.stringify(na)}`);

  const row = report.comparison.rows.find((r) => r.key === "trainerLoss");
  assert.ok(row, "the comparison table must have a trainer loss row");
  assert.ok(Math.abs(row.values[0]! - mean(flat)) < 1e-9, "table row: the pooled trainer loss of model A");
  assert.equal(row.values[1], null, "table row: no number for the discrete head");
  const table = formatTable(result.report.comparison) + formatTrainerLoss(result.report.trainer_loss);
  assert.match(table, /trainer loss \(Huber\)/, "printed table has the row");
  assert.match(table, /trainer loss, tiny-discrete: not applicable/, "printed lines say not applicable");
  assert.match(table, /trainer loss, tiny: \d\.\d{4} over 5 window\(s\) of 3 episode\(s\); 1 episode\(s\) gave no window/, table);
  const html = await readFile(result.files.html, "utf8");
  assert.match(html, /<h2>Trainer loss<\/h2>/, "report.html has the trainer loss section");
});

test("a model that ran no episode has no trainer_loss entry and nothing is printed", () => {
  const run: RunSeries = {
    model: "m",
    source: "bag.mcap",
    sourceKind: "bag",
    ticks: [{ t: 0, pred: [0, 0], truth: [0, 0] }],
    chunks: [],
    latenciesMs: [],
    sampledFrames: 1,
    backboneRuns: 1,
    decodeErrors: 0,
  };
  const report = buildReport([run], { generated: "2026-01-01T00:00:00.000Z" });
  assert.deepEqual(report.trainer_loss, {}, "bags have no trainer score");
  assert.equal(
    report.comparison.rows.find((r) => r.key === "trainerLoss"),
    undefined,
    "no trainer row in a table without episodes",
  );
  assert.equal(formatTrainerLoss(report.trainer_loss), "", "no trainer lines under the table");
});

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { EpisodeWriter } from "../src/episodes/episode-writer.js";
import { DEFAULT_PARAMS } from "../src/params/table.js";
import { makeTinyModel } from "../synthetic/tiny-model.js";
import { VlaModel } from "../src/model/vla-model.js";
import { episodeInstruction, parseInstructionMap, replayEpisode } from "../src/replay/episode-replay.js";
import { evaluate } from "../src/replay/evaluate.js";
import { log } from "../src/util/log.js";
import { readFile, writeFile } from "node:fs/promises";

let root: string;
let modelDir: string;
let model: VlaModel;

/** Mode-1 style episode: 18 frames, frame 0 at rest, then key presses of 1.15 (clamped to 1 by the trainer). */
const ACTIONS: [number, number, number][] = Array.from({ length: 18 }, (_, i) =>
  i === 0 ? [0, 0, 0] : i < 10 ? [1.15, 0, 0] : i < 15 ? [1.15, 1.15, 0] : [0, -1.15, 0],
);

async function writeEpisode(dir: string, scenario: string, instruction?: string): Promise<string> {
  const w = EpisodeWriter.open(dir, { scenario, instruction, startTime: new Date(Date.UTC(2025, 11, 3, 12, 25, 10 + scenario.length)) });
  const width = 40;
  const height = 30;
  for (let i = 0; i < ACTIONS.length; i++) {
    const data = new Uint8Array(width * height * 3);
    for (let p = 0; p < data.length; p += 3) {
      data[p] = (p * 7 + i * 31) & 255;
      data[p + 1] = (p >> 4) & 255;
      data[p + 2] = (i * 13) & 255;
    }
    w.append({ width, height, data }, ACTIONS[i]!, i === 0 ? "episode_start" : "start_action");
  }
  return w.close();
}

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "vla-ep-replay-"));
  modelDir = path.join(root, "tiny");
  await makeTinyModel(modelDir, { seed: 6 });
  model = await VlaModel.load(modelDir);
});

after(async () => {
  await model.close();
  await rm(root, { recursive: true, force: true });
});

test("an episode is windowed from its first frame and each chunk is scored against the actions from its own frame on, clamped", async () => {
  const file = await writeEpisode(path.join(root, "a"), "1box_hori_left_core_medium");
  const run = await replayEpisode(file, { model, modelName: "tiny", params: DEFAULT_PARAMS });
  assert.equal(run.sourceKind, "episode");
  assert.equal(run.sampledFrames, 18);
  assert.equal(run.backboneRuns, 18);
  // Frame i is answered by actions i .. i+N-1, as training pairs them: every frame is scored.
  assert.equal(run.ticks.length, 18);
  assert.equal(run.chunks.length, 18);
  run.chunks.forEach((c, i) => {
    assert.equal(c.t, i * 0.4);
    const expected = ACTIONS.slice(i, i + 10).map((a) => [Math.min(1, Math.max(-1, a[0])), Math.min(1, Math.max(-1, a[1]))]);
    assert.deepEqual(c.truth, expected, `chunk ${i} truth`);
    assert.equal(c.pred.length, 10);
    assert.deepEqual(run.ticks[i]!.truth, expected[0], `tick ${i} truth is the action recorded with its frame`);
    assert.deepEqual(run.ticks[i]!.pred, c.pred[0], `tick ${i} pred is the chunk's first step`);
  });
});

test("the instruction comes from the attribute, else the file-name rule, else --instruction, else a clear error", () => {
  const map = parseInstructionMap("left=Go to the left basket,right=Go to the right basket");
  assert.equal(episodeInstruction({ path: "/d/episode_20251203_122510_1box_hori_left_core.h5", instruction: "stored one" }, map), "stored one");
  assert.equal(episodeInstruction({ path: "/d/episode_20251203_122510_1box_hori_left_core.h5", instruction: null }, map), "Go to the left basket");
  assert.equal(episodeInstruction({ path: "/d/episode_20251203_122510_2box_right.h5", instruction: null }, map), "Go to the right basket");
  assert.equal(episodeInstruction({ path: "/d/episode_20251203_122510_straight.h5", instruction: null }, map, "fallback"), "fallback");
  assert.throws(
    () => episodeInstruction({ path: "/d/episode_20251203_122510_straight.h5", instruction: null }, map),
    /no instruction attribute.*--instruction/,
  );
  assert.throws(() => parseInstructionMap("left"), /--instruction-map: expected word=instruction/);
});

test("eval over an episodes folder compares two models with the same report", async () => {
  const dir = path.join(root, "eps");
  await writeEpisode(dir, "1box_hori_left", undefined);
  await writeEpisode(dir, "1box_hori_right_x", "Navigate to the gray basket on the right");
  const other = path.join(root, "tiny2");
  await makeTinyModel(other, { seed: 7 });
  const { episodeFiles } = await import("../src/replay/evaluate.js");
  const files = await episodeFiles(dir);
  assert.equal(files.length, 2);
  const result = await evaluate({
    models: [modelDir, other],
    sources: files.map((f) => ({ kind: "episode" as const, path: f })),
    params: DEFAULT_PARAMS,
    outDir: path.join(root, "report"),
  });
  assert.equal(result.failed.length, 0, result.failed.map((f) => f.error).join("; "));
  assert.deepEqual(result.report.models, ["tiny", "tiny2"]);
  assert.equal(result.report.runs.length, 4);
  assert.ok(result.report.comparison.rows.length > 5, "no metric rows in the comparison");
});

test("eval warns once per instruction and model when its token count is not one the model was trained on", async () => {
  const dir = path.join(root, "eps-warn");
  await writeEpisode(dir, "1box_hori_left_a");
  await writeEpisode(dir, "1box_hori_left_bb");
  await writeEpisode(dir, "1box_hori_right_ccc");
  const warnDir = path.join(root, "tiny-trained");
  await makeTinyModel(warnDir, { seed: 8 });
  const manifestFile = path.join(warnDir, "manifest.json");
  const manifest = JSON.parse(await readFile(manifestFile, "utf8")) as Record<string, unknown>;
  // No real prompt of the tiny tokenizer has 999 tokens: every instruction must be flagged.
  manifest.training = { instructions: ["Navigate to the target location"], prompt_tokens: [999] };
  await writeFile(manifestFile, JSON.stringify(manifest));
  const { episodeFiles } = await import("../src/replay/evaluate.js");
  const files = await episodeFiles(dir);
  const warnings: string[] = [];
  const target = log as unknown as { warn: (message: string) => unknown };
  const warn = target.warn;
  target.warn = (message: string) => warnings.push(message);
  try {
    const result = await evaluate({
      models: [warnDir],
      sources: files.map((f) => ({ kind: "episode" as const, path: f })),
      params: DEFAULT_PARAMS,
      outDir: path.join(root, "report-warn"),
    });
    assert.equal(result.failed.length, 0, result.failed.map((f) => f.error).join("; "));
  } finally {
    target.warn = warn;
  }
  assert.equal(warnings.length, 2, `one warning per distinct instruction (left, right), got: ${warnings.join(" | ")}`);
  assert.ok(
    warnings.every((w) => /^tiny-trained: instruction ".*": \d+ tokens but the model was trained on prompts of 999 tokens/.test(w)),
    warnings.join(" | "),
  );
});

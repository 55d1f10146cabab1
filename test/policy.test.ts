import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { makeTinyModel } from "../synthetic/tiny-model.js";
import { VlaModel } from "../src/model/vla-model.js";
import { Preprocessor } from "../src/model/preprocess.js";
import { VlaPolicy } from "../src/policy/vla-policy.js";
import type { RawImageMessage, StampedImage } from "../src/msgs/image.js";
import type { ActionChunk } from "../src/policy/chunk.js";

let root: string;
let model: VlaModel;
let discrete: VlaModel;

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "vla-policy-"));
  await makeTinyModel(path.join(root, "c"), { seed: 3 });
  await makeTinyModel(path.join(root, "d"), { seed: 4, head: "discrete" });
  model = await VlaModel.load(path.join(root, "c"));
  discrete = await VlaModel.load(path.join(root, "d"));
});

after(async () => {
  await model.close();
  await discrete.close();
  await rm(root, { recursive: true, force: true });
});

/** A 48x40 bgr8 frame with a bright square whose place depends on i, so features differ per frame. */
function frame(i: number): StampedImage {
  const width = 48;
  const height = 40;
  const data = new Uint8Array(width * height * 3);
  const cx = 8 + ((i * 7) % 32);
  const cy = 6 + ((i * 5) % 28);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      const inside = Math.abs(x - cx) < 6 && Math.abs(y - cy) < 6;
      data[o] = inside ? 240 : (x * 3 + i) & 255;
      data[o + 1] = inside ? 20 : (y * 5) & 255;
      data[o + 2] = inside ? 60 : 128;
    }
  const image: RawImageMessage = { kind: "raw", width, height, encoding: "bgr8", step: width * 3, isBigEndian: false, data };
  return { stamp: i * 0.4, image };
}

function maxDiff(a: ActionChunk, b: ActionChunk): number {
  let d = 0;
  a.actions.forEach((row, k) => row.forEach((v, j) => (d = Math.max(d, Math.abs(v - b.actions[k]![j]!)))));
  return d;
}

/** The head's answer at the last of the given frames, computed without the policy's window. */
async function directChunkAfter(m: VlaModel, frames: StampedImage[], instruction: string, rows: "exact" | "pad"): Promise<number[][]> {
  const pre = new Preprocessor(m.manifest.image);
  const tokens = m.tokenizer.encode(instruction);
  const D = m.manifest.feature_dim;
  const feats: Float32Array[] = [];
  for (const f of frames) feats.push(await m.runBackbone(await pre.run(f.image), tokens));
  const W = m.manifest.window;
  const used = feats.slice(-W);
  const padded = rows === "pad" ? [...Array(W - used.length).fill(used[0]!), ...used] : used;
  const input = new Float32Array(padded.length * D);
  padded.forEach((f: Float32Array, i: number) => input.set(f, i * D));
  const out = await m.runHead(input, padded.length);
  const N = m.manifest.chunk;
  const last = padded.length - 1;
  const result: number[][] = [];
  for (let k = 0; k < N; k++) result.push([out[(last * N + k) * 2]!, out[(last * N + k) * 2 + 1]!]);
  return result;
}

test("the feature cache gives the same chunks as re-running every frame, across an instruction change", async () => {
  const cached = new VlaPolicy(model);
  const reference = new VlaPolicy(model, { cacheFeatures: false });
  let compared = 0;
  for (let i = 0; i < 34; i++) {
    const instruction = i < 17 ? "Navigate to the gray basket on the left" : "Navigate to the gray basket on the right";
    cached.setInstruction(instruction);
    reference.setInstruction(instruction);
    const a = await cached.step(frame(i));
    const b = await reference.step(frame(i));
    assert.ok(a && b, `step ${i} gave no chunk`);
    assert.ok(maxDiff(a, b) <= 1e-5, `step ${i}: cached and recomputed chunks differ by ${maxDiff(a, b)}`);
    assert.equal(a.stamp, frame(i).stamp);
    compared++;
  }
  assert.equal(compared, 34);
  const c = cached.counters();
  const r = reference.counters();
  assert.equal(c.backboneRuns, 34, "cache: one backbone pass per frame");
  // Reference: the window refills from 1 to 8 after each instruction, then W per step.
  const refillRuns = 2 * (1 + 2 + 3 + 4 + 5 + 6 + 7) + (34 - 14) * 8;
  assert.equal(r.backboneRuns, refillRuns);
  assert.equal(c.headRuns, 34);
});

test("grow: after k < W frames the chunk is the head run over exactly those k features", async () => {
  const policy = new VlaPolicy(model, { windowFill: "grow" });
  const instruction = "go forward";
  policy.setInstruction(instruction);
  const frames: StampedImage[] = [];
  for (let k = 1; k <= 5; k++) {
    frames.push(frame(k + 40));
    const chunk = await policy.step(frames[frames.length - 1]!);
    assert.ok(chunk, `no chunk after ${k} frames`);
    const direct = await directChunkAfter(model, frames, instruction, "exact");
    const d = Math.max(...chunk.actions.flatMap((row, i) => row.map((v, j) => Math.abs(v - direct[i]![j]!))));
    assert.ok(d <= 1e-5, `after ${k} frames the chunk differs from the head over ${k} features by ${d}`);
  }
});

test("pad repeats the oldest feature; wait gives nothing until the window is full", async () => {
  const pad = new VlaPolicy(model, { windowFill: "pad" });
  const wait = new VlaPolicy(model, { windowFill: "wait" });
  pad.setInstruction("go forward");
  wait.setInstruction("go forward");
  const frames: StampedImage[] = [];
  for (let k = 1; k <= 9; k++) {
    frames.push(frame(k));
    const p = await pad.step(frames[k - 1]!);
    const w = await wait.step(frames[k - 1]!);
    assert.ok(p, `pad gave no chunk after ${k} frames`);
    const direct = await directChunkAfter(model, frames, "go forward", "pad");
    const d = Math.max(...p.actions.flatMap((row, i) => row.map((v, j) => Math.abs(v - direct[i]![j]!))));
    assert.ok(d <= 1e-5, `pad after ${k} frames differs by ${d}`);
    if (k < 8) assert.equal(w, null, `wait answered after only ${k} frames`);
    else assert.ok(w && maxDiff(w, p) <= 1e-5, `wait with a full window should equal pad (k=${k})`);
  }
});

test("a new instruction invalidates the window: the next chunk equals a fresh policy's", async () => {
  const policy = new VlaPolicy(model);
  policy.setInstruction("turn left");
  for (let i = 0; i < 6; i++) await policy.step(frame(i));
  policy.setInstruction("turn right");
  const fresh = new VlaPolicy(model);
  fresh.setInstruction("turn right");
  for (let i = 6; i < 9; i++) {
    const a = await policy.step(frame(i));
    const b = await fresh.step(frame(i));
    assert.ok(a && b && maxDiff(a, b) === 0, `frame ${i}: an old-instruction feature leaked into the window`);
  }
  // Setting the same text again must not throw the window away.
  policy.setInstruction("turn right");
  const a = await policy.step(frame(9));
  const b = await fresh.step(frame(9));
  assert.ok(a && b && maxDiff(a, b) === 0, "re-sending the same instruction threw the window away");
});

test("an instruction change while a step is in flight keeps the old feature out", async () => {
  const policy = new VlaPolicy(model);
  policy.setInstruction("turn left");
  const inFlight = policy.step(frame(1));
  policy.setInstruction("turn right");
  assert.equal(await inFlight, null, "a chunk computed for the old instruction was returned");
  const fresh = new VlaPolicy(model);
  fresh.setInstruction("turn right");
  const a = await policy.step(frame(2));
  const b = await fresh.step(frame(2));
  assert.ok(a && b && maxDiff(a, b) === 0, "the stale feature entered the new window");
});

test("a discrete head decodes each step through the class table", async () => {
  const policy = new VlaPolicy(discrete);
  policy.setInstruction("go forward");
  const chunk = await policy.step(frame(3));
  assert.ok(chunk?.classIds, "no class ids for a discrete head");
  assert.equal(chunk.classIds.length, discrete.manifest.chunk);
  const head = discrete.manifest.head;
  assert.equal(head.kind, "discrete");
  chunk.classIds.forEach((c, k) => assert.deepEqual(chunk.actions[k], head.kind === "discrete" ? head.classes[c]!.action : []));
  assert.equal(chunk.invalid, false);
});

test("no instruction, or a bad frame, is refused with a clear error and leaves the window usable", async () => {
  const policy = new VlaPolicy(model);
  await assert.rejects(policy.step(frame(0)), /instruction: no instruction has been set/);
  assert.throws(() => policy.setInstruction("   "), /instruction: expected a non-empty text/);
  policy.setInstruction("go");
  const bad: StampedImage = {
    stamp: 1,
    image: { kind: "raw", width: 4, height: 4, encoding: "yuv422", step: 8, isBigEndian: false, data: new Uint8Array(32) },
  };
  await assert.rejects(policy.step(bad), /encoding/);
  const ok = await policy.step(frame(5));
  assert.ok(ok, "the policy did not recover after a bad frame");
  assert.equal(policy.counters().backboneRuns, 1);
});

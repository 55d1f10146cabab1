// `model verify` against a golden.json the TypeScript path wrote for a tiny folder
// (self-consistency), then with one value corrupted per stage: the failing stage must be named.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { cp, mkdtemp, rm, unlink } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { modelVerify, type CommandOutput } from "../src/cli/model-command.js";
import { GoldenError, decodeFloat32, encodeFloat32Base64, parseGolden } from "../src/model/golden.js";
import { makeTinyModel } from "../synthetic/tiny-model.js";
import { ErrorStat, cosine, maxAbsError } from "../src/model/verify.js";
import { bumpFloat, editGolden, readGolden, writeGolden, type GoldenJson } from "./fixtures/golden.js";

let root: string;
let good: string;

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "vla-verify-"));
  good = path.join(root, "good");
  await makeTinyModel(good, { seed: 4, int8: true });
  await writeGolden(good);
});

after(async () => rm(root, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function verify(dir: string, extra: Partial<Parameters<typeof modelVerify>[0]> = {}): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const out: CommandOutput = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) };
  const code = await modelVerify({ dir, threads: 1, ...extra }, out);
  return { code, stdout, stderr };
}

const show = (r: Run) => `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

/** The result column of a stage's row. */
function result(r: Run, stage: string): string {
  const row = r.stdout.split("\n").find((l) => l.startsWith(stage));
  assert.ok(row, `no row for ${stage}:\n${show(r)}`);
  return row.trim().split(/\s+/).pop()!;
}

async function corrupted(name: string, edit: (g: GoldenJson) => void): Promise<string> {
  const dir = path.join(root, name);
  await cp(good, dir, { recursive: true });
  await editGolden(dir, edit);
  return dir;
}

const STAGES = {
  tokenizer: "tokenizer (ids, mask)",
  preprocess: "preprocess (raw frame -> pixels)",
  backbone: "backbone (golden pixels + ids)",
  backboneE2e: "backbone (end to end from the raw frame)",
  head: "head (golden features)",
  chunk: "chunk (end to end from the raw frames)",
};

test("a folder verified against golden vectors from the same path passes every stage, exit 0", async () => {
  const r = await verify(good);
  assert.equal(r.code, 0, show(r));
  for (const stage of Object.values(STAGES)) assert.equal(result(r, stage), "PASS", `${stage}:\n${show(r)}`);
  assert.match(r.stdout, /^stage\s+compared\s+max abs error\s+tolerance\s+result$/m);
  assert.match(r.stdout, /^preprocess \(raw frame -> pixels\)\s+3 frames\s+0\s+<= 1e-6\s+PASS$/m);
  assert.match(r.stdout, /^head \(golden features\)\s+1 window x w = 1\.\.8\s+0\s+<= 1e-4\s+PASS$/m);
  assert.match(r.stdout, /result: PASS, every stage within tolerance \(6 stages\)/);
  assert.match(r.stdout, /instruction probe/);
  assert.match(r.stdout, /The instruction's words DO change this model's feature/, "the tiny backbone embeds each token, so its words matter");
});

test("a changed id fails the tokenizer stage, printing the first differing position and both id lists", async () => {
  const golden = await readGolden(good);
  const ids = golden.instructions[1]!.ids;
  const dir = await corrupted("bad-id", (g) => (g.instructions[1]!.ids[3] = ids[3]! + 1));
  const r = await verify(dir);
  assert.equal(r.code, 1, show(r));
  assert.equal(result(r, STAGES.tokenizer), "FAIL");
  assert.equal(result(r, STAGES.preprocess), "PASS");
  assert.equal(result(r, STAGES.backboneE2e), "PASS", "our own ids give the golden features");
  assert.match(r.stdout, /instruction 1 "go right":\n\s+ids: first difference at position 3: golden \d+, ours \d+/);
  const bumped = [...ids];
  bumped[3] = ids[3]! + 1;
  assert.ok(r.stdout.includes(`golden ids: [${bumped.join(", ")}]`), show(r));
  assert.ok(r.stdout.includes(`our ids:    [${ids.join(", ")}]`), show(r));
  assert.match(r.stdout, /result: FAIL, \d of 6 stages beyond tolerance: tokenizer/);
});

test("a changed pixel fails preprocessing; a changed feature fails the backbone; a changed head output fails the head", async () => {
  const pixel = await verify(await corrupted("bad-pixel", (g) => (g.pixels[1]!.data = bumpFloat(g.pixels[1]!.data, 100, 0.01))));
  assert.equal(pixel.code, 1, show(pixel));
  assert.equal(result(pixel, STAGES.preprocess), "FAIL");
  assert.equal(result(pixel, STAGES.tokenizer), "PASS");
  assert.match(pixel.stdout, /FAIL preprocess \(raw frame -> pixels\):\n\s+max abs error 0\.01\d* > 1e-6; worst: frame 1 \(box\)/);

  // Instruction 1 is in no window, so only the backbone stages see this feature.
  const feature = await verify(
    await corrupted("bad-feature", (g) => {
      const f = g.features.find((x) => x.frame === 0 && x.instruction === 1)!;
      f.data = bumpFloat(f.data, 5, 0.01);
    }),
  );
  assert.equal(feature.code, 1, show(feature));
  assert.equal(result(feature, STAGES.backbone), "FAIL");
  assert.equal(result(feature, STAGES.backboneE2e), "FAIL");
  assert.equal(result(feature, STAGES.head), "PASS");
  assert.equal(result(feature, STAGES.chunk), "PASS");
  assert.match(feature.stdout, /worst: frame 0, instruction 1/);

  const head = await verify(await corrupted("bad-head", (g) => (g.windows[0]!.outputs[3]!.data = bumpFloat(g.windows[0]!.outputs[3]!.data, 0, 0.01))));
  assert.equal(head.code, 1, show(head));
  assert.equal(result(head, STAGES.head), "FAIL");
  assert.equal(result(head, STAGES.backbone), "PASS");
  assert.match(head.stdout, /worst: window 0, w = 4/);
});

test("int8: features are compared by cosine and the chunk within 0.05 of the fp32 golden values, and the output says so", async () => {
  const r = await verify(good, { precision: "int8" });
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, /precision int8 \(backbone\.int8\.onnx\)/);
  assert.match(r.stdout, /int8 is compared with the fp32 PyTorch golden values/);
  assert.match(r.stdout, /^backbone \(golden pixels \+ ids\)\s+9 features\s+cosine 0\.99\d+ \(max abs [\d.e-]+\)\s+cosine >= 0\.99\s+PASS$/m);
  assert.match(r.stdout, /^chunk \(end to end from the raw frames\)\s+.*<= 0\.05\s+PASS$/m);
  assert.equal(result(r, STAGES.head), "PASS");

  const fp32Only = path.join(root, "fp32-only");
  await makeTinyModel(fp32Only, { seed: 4 });
  await writeGolden(fp32Only);
  const missing = await verify(fp32Only, { precision: "int8" });
  assert.equal(missing.code, 1, show(missing));
  assert.match(missing.stderr, /precision int8 was asked for but the model folder .*fp32-only has no int8 backbone \(it has: fp32\)/);
});

test("no golden.json, a malformed one, or one for another model: exit 1 with a message naming the problem", async () => {
  const none = path.join(root, "no-golden");
  await cp(good, none, { recursive: true });
  await unlink(path.join(none, "golden.json"));
  const r = await verify(none);
  assert.equal(r.code, 1, show(r));
  assert.match(r.stderr, /no golden\.json: verification needs the exporter's golden vectors/);
  assert.equal(r.stdout, "");

  const bad = await verify(await corrupted("bad-tolerance", (g) => ((g.tolerance as Record<string, unknown>).feature = "tight")));
  assert.equal(bad.code, 1, show(bad));
  assert.match(bad.stderr, /golden\.json: tolerance\.feature: expected a positive number, got "tight"/);

  const other = await verify(
    await corrupted("short-window", (g) => {
      g.windows[0]!.frames.pop();
      g.windows[0]!.outputs.pop();
    }),
  );
  assert.equal(other.code, 1, show(other));
  assert.match(other.stderr, /windows\[0\]\.frames: golden\.json has 7 frames but manifest\.json window says 8/);
});

test("bad options are usage errors: exit 2", async () => {
  const r = await verify(good, { precision: "fp16" as "fp32", threads: -1 });
  assert.equal(r.code, 2, show(r));
  assert.match(r.stderr, /--precision: expected one of fp32, int8, got "fp16"/);
  assert.match(r.stderr, /--threads: expected an integer >= 0, got -1/);
});

test("golden.json: every problem is named by its field", () => {
  const valid = {
    format: "mobile-vla-golden",
    version: 1,
    generator: "g",
    tolerance: { pixels: 1e-6, feature: 1e-4, chunk: 1e-4 },
    frames: [{ name: "f", width: 2, height: 1, encoding: "bgr8", data: Buffer.from([1, 2, 3, 4, 5, 6]).toString("base64") }],
    instructions: [{ text: "go", prompt: "<grounding>go", ids: [0, 5, 2], mask: [1, 1, 1] }],
    pixels: [{ frame: 0, shape: [1, 3, 1, 2], data: encodeFloat32Base64(new Float32Array(6)) }],
    features: [{ frame: 0, instruction: 0, data: encodeFloat32Base64([1, 2]) }],
    windows: [{ instruction: 0, frames: [0], outputs: [{ w: 1, data: encodeFloat32Base64([0.5, -0.5]) }] }],
  };
  const g = parseGolden(valid);
  assert.deepEqual([...g.features[0]!.data], [1, 2]);
  assert.equal(g.frames[0]!.data.length, 6);
  const broken = structuredClone(valid) as Record<string, any>;
  broken.format = "other";
  broken.frames[0].data = Buffer.from([1, 2, 3]).toString("base64");
  broken.instructions[0].mask = [1, 1];
  broken.pixels[0].data = "not base64!";
  broken.features[0].instruction = 3;
  broken.features.push({ frame: 0, instruction: 0, data: encodeFloat32Base64([1, 2, 3]) });
  broken.windows[0].outputs[0].w = 3;
  broken.windows[0].frames = [0, 7];
  broken.tolerance = { pixels: 0 };
  try {
    parseGolden(broken, "x/golden.json");
    assert.fail("expected a GoldenError");
  } catch (e) {
    assert.ok(e instanceof GoldenError, String(e));
    const expected = [
      /^format: expected "mobile-vla-golden", got "other"$/,
      /^tolerance\.pixels: expected a positive number, got 0$/,
      /^tolerance\.feature: missing/,
      /^frames\[0\]\.data: expected 2x1x3 = 6 bytes of bgr8, got 3$/,
      /^instructions\[0\]\.mask: expected 3 values \(one per id\), got 2$/,
      /^pixels\[0\]\.data: not valid base64$/,
      /^features\[0\]\.instruction: expected an index into instructions \(0\.\.0\), got 3$/,
      /^features\[1\]\.data: expected 2 float32 values, got 3$/,
      /^windows\[0\]\.frames\[1\]: expected an index into frames \(0\.\.0\), got 7$/,
      /^windows\[0\]\.outputs\[0\]\.w: expected a window length in 1\.\.2, got 3$/,
    ];
    for (const re of expected)
      assert.ok(
        e.problems.some((p) => re.test(p)),
        `no problem matches ${re}:\n${e.problems.join("\n")}`,
      );
    assert.match(e.message, /^x\/golden\.json: \d+ problems:/);
  }
  const nan = structuredClone(valid) as Record<string, any>;
  nan.features[0].data = encodeFloat32Base64([1, NaN]);
  assert.throws(() => parseGolden(nan), /features\[0\]\.data: value 1 is NaN; golden values must be finite/);
  assert.deepEqual([...decodeFloat32(new Uint8Array(Buffer.from(encodeFloat32Base64([1.5, -2]), "base64")))], [1.5, -2]);
});

test("non-finite numbers in our output fail the stage, whatever the tolerance", () => {
  assert.ok(Number.isNaN(maxAbsError([1, NaN], [1, 1])));
  assert.ok(Number.isNaN(maxAbsError([Infinity], [1])));
  assert.equal(maxAbsError([1, 2], [1.5, 2]), 0.5);
  assert.ok(Math.abs(cosine([1, 0], [1, 0]) - 1) < 1e-12);
  const stat = new ErrorStat();
  stat.add("feature 0", [0.1, 0.2], [0.1, 0.2]);
  stat.add("feature 1", [NaN, 0.2], [0.1, 0.2]);
  const row = stat.row("backbone", "2 features", 1e9);
  assert.equal(row.pass, false);
  assert.equal(row.measured, "non-finite");
  assert.match(row.details[0]!, /non-finite values \(NaN\/Inf\) in our output: feature 1/);
  const cos = new ErrorStat();
  cos.add("f", [NaN, 1], [1, 1], true);
  assert.equal(cos.cosineRow("backbone", "1 feature").pass, false);
});

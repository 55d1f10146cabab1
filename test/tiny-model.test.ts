import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { Tokenizer } from "@huggingface/tokenizers";
import { attr, GraphBuilder } from "../synthetic/onnx-builder.js";
import { loadManifest, parseManifest, type Manifest } from "../src/model/manifest.js";
import { buildTinyModel, makeTinyModel, TINY_DISCRETE_CLASSES, TINY_FEATURE_DIM, TINY_IMAGE_SIZE } from "../synthetic/tiny-model.js";
import { buildTinyTokenizer, METASPACE, TINY_TOKENIZER_CONFIG_FILE } from "../synthetic/tiny-tokenizer.js";

const PROMPT = "<grounding>An image of a robot Navigate to the gray basket on the left";

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "tiny-model-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * @huggingface/tokenizers 0.2's typings use extensionless relative re-exports, which
 * NodeNext resolution cannot follow, so `Tokenizer` arrives as `any`; this is the slice
 * of its API the tests use, typed.
 */
interface TypedTokenizer {
  encode(text: string, options?: { add_special_tokens?: boolean }): { ids: number[]; tokens: string[]; attention_mask: number[] };
  decode(ids: number[], options?: { skip_special_tokens?: boolean }): string;
  token_to_id(token: string): number | undefined;
}

function tinyTokenizer(config: object = buildTinyTokenizer().config): TypedTokenizer {
  return new Tokenizer(buildTinyTokenizer().tokenizer, config);
}

type Meta = { name: string; type: string; shape: readonly (number | string)[] };
function tensorMeta(list: readonly ort.InferenceSession.ValueMetadata[]): Meta[] {
  return list.map((m) => {
    assert.ok(m.isTensor, `${m.name} should be a tensor`);
    return { name: m.name, type: m.type, shape: [...m.shape] };
  });
}

/** A grey BGR frame with a red square on one side, planar [3, S, S] in [0, 1]. */
function scene(side: "left" | "right", red = 1): Float32Array {
  const S = TINY_IMAGE_SIZE;
  const px = new Float32Array(3 * S * S).fill(0.5);
  const x0 = side === "left" ? 2 : S - 10;
  for (let y = 12; y < 20; y++)
    for (let x = x0; x < x0 + 8; x++) {
      px[0 * S * S + y * S + x] = 0.1; // B
      px[1 * S * S + y * S + x] = 0.1; // G
      px[2 * S * S + y * S + x] = red; // R
    }
  return px;
}

async function feature(session: ort.InferenceSession, pixels: Float32Array, ids: readonly number[], mask: readonly number[]): Promise<Float32Array> {
  const S = TINY_IMAGE_SIZE;
  const out = await session.run({
    pixel_values: new ort.Tensor("float32", pixels, [1, 3, S, S]),
    input_ids: new ort.Tensor(
      "int64",
      BigInt64Array.from(ids, (v) => BigInt(v)),
      [1, ids.length],
    ),
    attention_mask: new ort.Tensor(
      "int64",
      BigInt64Array.from(mask, (v) => BigInt(v)),
      [1, mask.length],
    ),
  });
  const f = out.feature!;
  assert.deepEqual(f.dims, [1, TINY_FEATURE_DIM]);
  return f.data as Float32Array;
}

const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

/** Deterministic pseudo-features in (-1, 1), like the backbone's tanh output. */
function syntheticFeatures(frames: number, salt: number): Float32Array {
  return Float32Array.from({ length: frames * TINY_FEATURE_DIM }, (_, i) => Math.sin(i * 0.37 + salt) * 0.8);
}

async function runHead(session: ort.InferenceSession, features: Float32Array, w: number): Promise<ort.Tensor> {
  const out = await session.run({ features: new ort.Tensor("float32", features.slice(0, w * TINY_FEATURE_DIM), [1, w, TINY_FEATURE_DIM]) });
  return out[session.outputNames[0]!]!;
}

test("the tiny tokenizer splits the Kosmos-2 prompt into whole-word pieces between <s> and </s>", () => {
  const tok = buildTinyTokenizer();
  const enc = tinyTokenizer().encode(PROMPT);
  const words = ["An", "image", "of", "a", "robot", "Navigate", "to", "the", "gray", "basket", "on", "the", "left"];
  assert.deepEqual(enc.tokens, ["<s>", "<grounding>", ...words.map((w) => METASPACE + w), "</s>"]);
  assert.equal(enc.ids[0], 0);
  assert.equal(enc.ids[1], tok.ids.grounding);
  assert.equal(enc.ids.at(-1), 2);
  assert.ok(!enc.ids.includes(tok.ids.unk), "the prompt has an <unk>");
  assert.deepEqual(
    enc.attention_mask,
    enc.ids.map(() => 1),
  );
  assert.ok(
    enc.ids.every((id) => id < tok.vocabSize),
    "an id is outside the embedding table",
  );
  assert.ok(tok.vocabSize > 200 && tok.vocabSize < 1000, `vocab size ${tok.vocabSize}`);
});

test("the tiny tokenizer has XLM-R's special ids and Kosmos-2's image tokens", () => {
  const tok = buildTinyTokenizer();
  assert.deepEqual(
    tok.tokenizer.model.vocab.slice(0, 4).map(([p]) => p),
    ["<s>", "<pad>", "</s>", "<unk>"],
  );
  assert.equal(tok.tokenizer.model.unk_id, 3);
  const t = tinyTokenizer();
  assert.equal(t.token_to_id("<image>"), tok.ids.image);
  assert.equal(t.token_to_id("</image>"), tok.ids.imageEnd);
  assert.deepEqual(t.encode("<image></image>", { add_special_tokens: false }).ids, [tok.ids.image, tok.ids.imageEnd]);
});

test("unknown characters become <unk>, known words around them survive", () => {
  const enc = tinyTokenizer().encode("go ж left", { add_special_tokens: false });
  assert.deepEqual(enc.tokens, [`${METASPACE}go`, METASPACE, "ж", `${METASPACE}left`]);
  assert.equal(enc.ids[2], 3);
  assert.equal(enc.ids.filter((id) => id === 3).length, 1);
});

test("unknown words spell out from character pieces and suffixes", () => {
  const enc = tinyTokenizer().encode("Go baskets", { add_special_tokens: false });
  assert.deepEqual(enc.tokens, [`${METASPACE}Go`, `${METASPACE}basket`, "s"]);
  const spelled = tinyTokenizer().encode("zq", { add_special_tokens: false });
  assert.deepEqual(spelled.tokens, [`${METASPACE}z`, "q"]);
});

test("the tokenizer is deterministic and its ids do not depend on tokenizer_config.json", () => {
  const a = buildTinyTokenizer();
  const b = buildTinyTokenizer();
  assert.equal(JSON.stringify(a), JSON.stringify(b));
  const withConfig = tinyTokenizer(a.config).encode(PROMPT);
  const withoutConfig = tinyTokenizer({}).encode(PROMPT);
  assert.deepEqual(withoutConfig.ids, withConfig.ids);
  assert.equal(tinyTokenizer().decode(withConfig.ids, { skip_special_tokens: true }), PROMPT.replace("<grounding>", ""));
});

test("makeTinyModel writes a folder that parseManifest and loadManifest accept, under 1 MB", async (t) => {
  const dir = await tempDir(t);
  const manifest = await makeTinyModel(dir);
  const names = (await readdir(dir)).sort();
  assert.deepEqual(names, ["backbone.onnx", "head.onnx", "manifest.json", "tokenizer.json", TINY_TOKENIZER_CONFIG_FILE].sort());
  const parsed = parseManifest(JSON.parse(await readFile(path.join(dir, "manifest.json"), "utf8")));
  assert.deepEqual(parsed, manifest);
  assert.deepEqual(await loadManifest(dir), manifest);
  assert.equal(manifest.window, 8);
  assert.equal(manifest.chunk, 10);
  assert.equal(manifest.feature_dim, TINY_FEATURE_DIM);
  assert.deepEqual(manifest.image, { channel_order: "bgr", rotate: 0, width: 32, height: 32, resize: "bilinear", rescale: 1 / 255, mean: null, std: null });
  assert.equal(manifest.tokenizer.template, "<grounding>An image of a robot {instruction}");
  assert.deepEqual(manifest.tokenizer.padding, { kind: "none" });
  assert.equal(manifest.head.kind, "continuous");
  assert.equal(manifest.head_graph.output, "actions");
  let total = 0;
  for (const n of names) total += (await readFile(path.join(dir, n))).length;
  assert.ok(total < 1024 * 1024, `folder is ${total} bytes`);
});

test("the same options give the same bytes; another seed gives other weights", async (t) => {
  const [a, b, c] = [await tempDir(t), await tempDir(t), await tempDir(t)];
  await makeTinyModel(a, { seed: 7 });
  await makeTinyModel(b, { seed: 7 });
  await makeTinyModel(c, { seed: 8 });
  const names = await readdir(a);
  assert.ok(names.length >= 5, `only ${names.length} files`);
  for (const n of names) {
    const bytesA = await readFile(path.join(a, n));
    assert.ok(bytesA.equals(await readFile(path.join(b, n))), `${n} differs between two builds`);
  }
  for (const n of ["backbone.onnx", "head.onnx"]) {
    assert.ok(!(await readFile(path.join(a, n))).equals(await readFile(path.join(c, n))), `${n} should differ between seeds`);
  }
});

test("backbone: names, dtypes and shapes match the manifest", async () => {
  const { manifest, files } = buildTinyModel();
  const session = await ort.InferenceSession.create(files.get(manifest.backbone.file)!);
  assert.deepEqual(tensorMeta(session.inputMetadata), [
    { name: manifest.backbone.inputs.pixel_values, type: "float32", shape: [1, 3, 32, 32] },
    { name: manifest.backbone.inputs.input_ids, type: "int64", shape: [1, "seq"] },
    { name: manifest.backbone.inputs.attention_mask!, type: "int64", shape: [1, "seq"] },
  ]);
  assert.deepEqual(tensorMeta(session.outputMetadata), [{ name: manifest.backbone.output, type: "float32", shape: [1, TINY_FEATURE_DIM] }]);
});

test("backbone: the feature follows the image, each token id and the attention mask", async () => {
  const { manifest, files } = buildTinyModel();
  const session = await ort.InferenceSession.create(files.get(manifest.backbone.file)!);
  const enc = tinyTokenizer().encode(PROMPT);
  const ids = enc.ids;
  const mask = enc.attention_mask;
  const base = await feature(session, scene("left"), ids, mask);
  assert.ok(
    base.every((v) => Number.isFinite(v) && Math.abs(v) < 1),
    "feature values must be finite tanh outputs",
  );
  assert.deepEqual(await feature(session, scene("left"), ids, mask), base);

  const tol = 1e-3;
  assert.ok(maxAbsDiff(base, await feature(session, scene("right"), ids, mask)) > tol, "target moved left -> right");
  assert.ok(maxAbsDiff(base, await feature(session, scene("left", 0.1), ids, mask)) > tol, "target colour changed");
  const right = tinyTokenizer().encode(PROMPT.replace(/left$/, "right")).ids;
  assert.equal(right.length, ids.length);
  assert.ok(maxAbsDiff(base, await feature(session, scene("left"), right, mask)) > tol, "one token id changed");
  const maskAt = (i: number) => mask.map((m, j) => (j === i ? 0 : m));
  const masked5 = await feature(session, scene("left"), ids, maskAt(5));
  const masked7 = await feature(session, scene("left"), ids, maskAt(7));
  assert.ok(maxAbsDiff(base, masked5) > tol, "a masked position must stop counting");
  assert.ok(maxAbsDiff(masked5, masked7) > tol, "which position is masked must matter");
});

test("backbone: right padding with mask 0 leaves the feature as it was", async () => {
  const { manifest, files } = buildTinyModel();
  const session = await ort.InferenceSession.create(files.get(manifest.backbone.file)!);
  const enc = tinyTokenizer().encode(PROMPT);
  const base = await feature(session, scene("right"), enc.ids, enc.attention_mask);
  const padded = await feature(session, scene("right"), [...enc.ids, 1, 1, 1, 1], [...enc.attention_mask, 0, 0, 0, 0]);
  assert.ok(maxAbsDiff(base, padded) < 1e-6, "masked pads changed the feature");
  const unmaskedPad = await feature(session, scene("right"), [...enc.ids, 1, 1, 1, 1], [...enc.attention_mask, 1, 1, 1, 1]);
  assert.ok(maxAbsDiff(base, unmaskedPad) > 1e-3, "pads the mask lets through must change the feature");
});

test("continuous head: shapes for every window size, causal, spread but not saturated", async () => {
  const { manifest, files } = buildTinyModel();
  const session = await ort.InferenceSession.create(files.get(manifest.head_graph.file)!);
  assert.deepEqual(tensorMeta(session.inputMetadata), [{ name: "features", type: "float32", shape: [1, "window", TINY_FEATURE_DIM] }]);
  assert.deepEqual(tensorMeta(session.outputMetadata), [{ name: "actions", type: "float32", shape: [1, "window", 10, 2] }]);

  const W = manifest.window;
  const feats = syntheticFeatures(W, 0);
  const full = await runHead(session, feats, W);
  assert.deepEqual(full.dims, [1, W, 10, 2]);
  const all = full.data as Float32Array;
  const perPosition = 10 * 2;
  for (let w = 1; w <= W; w++) {
    const part = await runHead(session, feats, w);
    assert.deepEqual(part.dims, [1, w, 10, 2]);
    assert.ok(
      maxAbsDiff(part.data as Float32Array, all.subarray(0, w * perPosition)) <= 1e-5,
      `window ${w} disagrees with the first ${w} positions of the full window`,
    );
  }
  // Causality's converse: a later frame changes only its own and later positions.
  const changed = feats.slice();
  changed.fill(-0.5, 5 * TINY_FEATURE_DIM, 6 * TINY_FEATURE_DIM);
  const after = (await runHead(session, changed, W)).data as Float32Array;
  assert.ok(maxAbsDiff(after.subarray(0, 5 * perPosition), all.subarray(0, 5 * perPosition)) <= 1e-5, "a later frame changed earlier positions");
  assert.ok(maxAbsDiff(after.subarray(5 * perPosition), all.subarray(5 * perPosition)) > 1e-3, "a changed frame did not change its own position");

  const mean = all.reduce((s, v) => s + v, 0) / all.length;
  const std = Math.sqrt(all.reduce((s, v) => s + (v - mean) ** 2, 0) / all.length);
  assert.ok(
    all.every((v) => v > -1 && v < 1),
    "actions must lie in (-1, 1)",
  );
  assert.ok(std > 0.05, `actions std ${std}`);
  assert.ok(
    all.some((v) => Math.abs(v) < 0.9),
    "actions are saturated",
  );
});

test("continuous head: different windows and different seeds give different chunks", async () => {
  const a = buildTinyModel({ seed: 1 });
  const b = buildTinyModel({ seed: 2 });
  const sa = await ort.InferenceSession.create(a.files.get("head.onnx")!);
  const sb = await ort.InferenceSession.create(b.files.get("head.onnx")!);
  const f1 = syntheticFeatures(8, 0);
  const f2 = syntheticFeatures(8, 1.5);
  const a1 = (await runHead(sa, f1, 8)).data as Float32Array;
  assert.ok(maxAbsDiff(a1, (await runHead(sa, f2, 8)).data as Float32Array) > 1e-2, "the head ignores its input");
  assert.ok(maxAbsDiff(a1, (await runHead(sb, f1, 8)).data as Float32Array) > 1e-2, "two seeds gave the same head");
});

test("discrete head: logits [1, w, N, 9] and a class table of 8 directions plus stop", async (t) => {
  const dir = await tempDir(t);
  const manifest: Manifest = await makeTinyModel(dir, { head: "discrete", window: 6, chunk: 3, name: "tiny-discrete-test" });
  assert.deepEqual(parseManifest(JSON.parse(await readFile(path.join(dir, "manifest.json"), "utf8"))), manifest);
  assert.equal(manifest.name, "tiny-discrete-test");
  assert.equal(manifest.window, 6);
  assert.equal(manifest.chunk, 3);
  assert.equal(manifest.head_graph.output, "logits");
  assert.equal(manifest.head.kind, "discrete");
  if (manifest.head.kind !== "discrete") return;
  assert.equal(manifest.head.classes.length, 9);
  assert.deepEqual(manifest.head.classes, TINY_DISCRETE_CLASSES);
  assert.deepEqual(manifest.head.classes[0], { name: "stop", action: [0, 0] });
  assert.equal(new Set(manifest.head.classes.map((c) => c.action.join(","))).size, 9);
  assert.ok(
    manifest.head.classes.every((c) => c.action.every((v) => v >= -1 && v <= 1)),
    "class actions must lie in [-1, 1]",
  );

  const session = await ort.InferenceSession.create(path.join(dir, manifest.head_graph.file));
  assert.deepEqual(tensorMeta(session.outputMetadata), [{ name: "logits", type: "float32", shape: [1, "window", 3, 9] }]);
  const feats = syntheticFeatures(6, 0.3);
  const full = (await runHead(session, feats, 6)).data as Float32Array;
  for (const w of [1, 3, 6]) {
    const part = await runHead(session, feats, w);
    assert.deepEqual(part.dims, [1, w, 3, 9]);
    assert.ok(maxAbsDiff(part.data as Float32Array, full.subarray(0, w * 27)) <= 1e-5, `window ${w} disagrees with the full window`);
  }
  // Logits are not squashed, and the argmax is not the same class everywhere.
  const argmaxes = new Set<number>();
  for (let i = 0; i < full.length; i += 9) {
    const row = full.subarray(i, i + 9);
    argmaxes.add(row.indexOf(Math.max(...row)));
  }
  assert.ok(argmaxes.size > 1, "every step picks the same class");
});

test("bad options are refused", () => {
  assert.throws(() => buildTinyModel({ window: 0 }), RangeError);
  assert.throws(() => buildTinyModel({ chunk: 2.5 }), RangeError);
  assert.throws(() => buildTinyModel({ seed: -1 }), RangeError);
});

test("GraphBuilder: attribute and initializer order do not change the bytes", async () => {
  const build = (swap: boolean) => {
    const g = new GraphBuilder("g");
    const x = g.input("x", "float32", [1, "n"]);
    const mk = (n: string, v: number) => g.initializer(n, Float32Array.of(v), [1, 1]);
    const [b, a] = swap ? [mk("b", 2), mk("a", 1)] : [mk("a", 1), mk("b", 2)].reverse();
    const attrs = swap ? { alpha: attr.float(0.5), transB: attr.int(1) } : { transB: attr.int(1), alpha: attr.float(0.5) };
    g.op("Gemm", [x, a!, b!], attrs, "y");
    g.output("y", "float32", [1, 1]);
    return g.toModel();
  };
  const bytes = build(false);
  assert.deepEqual(build(true), bytes);
  const session = await ort.InferenceSession.create(bytes);
  const y = (await session.run({ x: new ort.Tensor("float32", Float32Array.of(4), [1, 1]) })).y!;
  // Gemm: 0.5 * (4 * a^T) + b with a = 1, b = 2
  assert.deepEqual(Array.from(y.data as Float32Array), [4]);
});

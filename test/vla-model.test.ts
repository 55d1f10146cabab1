import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile, cp, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { makeTinyModel } from "../synthetic/tiny-model.js";
import { VlaModel } from "../src/model/vla-model.js";
import { ManifestError } from "../src/model/manifest.js";
import { availableProviders, sessionOptions } from "../src/model/runtime.js";
import { rewriteMetadata, stripMetadata } from "./fixtures/onnx-metadata.js";

let root: string;
let good: string;
/** The good folder with no metadata in its graphs: only the graphs' shapes can catch a bad manifest. */
let bare: string;

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "vla-model-"));
  good = path.join(root, "good");
  await makeTinyModel(good, { seed: 9 });
  bare = path.join(root, "bare");
  await cp(good, bare, { recursive: true });
  await stripMetadata(path.join(bare, "backbone.onnx"));
  await stripMetadata(path.join(bare, "head.onnx"));
});

after(async () => rm(root, { recursive: true, force: true }));

/** A copy of a folder (the good one by default) with its manifest edited. */
async function variant(name: string, edit: (m: Record<string, any>) => void, from = good): Promise<string> {
  const dir = path.join(root, name);
  await cp(from, dir, { recursive: true });
  const file = path.join(dir, "manifest.json");
  const m = JSON.parse(await readFile(file, "utf8"));
  edit(m);
  await writeFile(file, JSON.stringify(m));
  return dir;
}

async function problemsOf(dir: string): Promise<{ file: string; problems: string[] }> {
  try {
    const m = await VlaModel.load(dir);
    await m.close();
  } catch (e) {
    assert.ok(e instanceof ManifestError, `expected a ManifestError, got ${String(e)}`);
    return { file: e.file, problems: e.problems };
  }
  assert.fail(`${dir} loaded although its manifest disagrees with its graphs`);
}

test("a consistent folder loads, warms up and reports a dynamic head window", async () => {
  const model = await VlaModel.load(good);
  assert.equal(model.headWindowDynamic, true);
  const tokens = model.tokenizer.encode("go to the basket");
  const feature = await model.runBackbone(new Float32Array(3 * 32 * 32), tokens);
  assert.equal(feature.length, 64);
  const out = await model.runHead(new Float32Array(3 * 64), 3);
  assert.equal(out.length, 3 * 10 * 2);
  assert.ok(model.timing.sessionMs > 0, "time inside session.run was not accounted");
  await model.close();
});

test("a backbone with external data (as > 2 GB backbones are stored) loads from the folder and computes the same feature", async () => {
  const ext = path.join(root, "external");
  await makeTinyModel(ext, { seed: 9, externalData: true });
  const inlineSize = (await stat(path.join(good, "backbone.onnx"))).size;
  const extSize = (await stat(path.join(ext, "backbone.onnx"))).size;
  assert.ok(extSize < inlineSize / 10, `backbone.onnx still holds its weights (${extSize} vs ${inlineSize} bytes)`);
  assert.ok((await stat(path.join(ext, "backbone.onnx.data"))).size > inlineSize / 2, "no external weight file written");
  const a = await VlaModel.load(good);
  const b = await VlaModel.load(ext);
  const pixels = new Float32Array(3 * 32 * 32).map((_, i) => (i % 97) / 97);
  const fa = await a.runBackbone(pixels, a.tokenizer.encode("go left"));
  const fb = await b.runBackbone(pixels, b.tokenizer.encode("go left"));
  assert.deepEqual([...fb], [...fa]);
  await a.close();
  await b.close();
});

test("the graph optimisation level reaches the session and does not change the result", async () => {
  assert.equal(sessionOptions({ provider: "cpu", threads: 1, graphOptimization: "disabled", deviceId: 0 }).graphOptimizationLevel, "disabled");
  assert.equal(sessionOptions({ provider: "cpu", threads: 1, graphOptimization: "disabled", deviceId: 0 }).intraOpNumThreads, 1);
  assert.deepEqual(sessionOptions({ provider: "cpu", threads: 0, graphOptimization: "all", deviceId: 0 }).extra, {
    session: { intra_op: { allow_spinning: "0" }, inter_op: { allow_spinning: "0" } },
  });
  const a = await VlaModel.load(good, { runtime: { graphOptimization: "all" } });
  const b = await VlaModel.load(good, { runtime: { graphOptimization: "disabled" } });
  assert.equal(b.runtime.graphOptimization, "disabled");
  const pixels = new Float32Array(3 * 32 * 32).map((_, i) => (i % 89) / 89);
  const fa = await a.runBackbone(pixels, a.tokenizer.encode("go right"));
  const fb = await b.runBackbone(pixels, b.tokenizer.encode("go right"));
  const d = Math.max(...fa.map((v, i) => Math.abs(v - fb[i]!)));
  assert.ok(d < 1e-5, `optimised and unoptimised graphs differ by ${d}`);
  await a.close();
  await b.close();
});

test("wrong tensor names are reported per graph with the names the graph has", async () => {
  const dir = await variant("names", (m) => {
    m.backbone.inputs.input_ids = "ids";
    m.backbone.output = "feat";
  });
  const { file, problems } = await problemsOf(dir);
  assert.match(file, /backbone\.onnx$/);
  assert.ok(
    problems.some((p) => /^backbone\.inputs\.input_ids: the graph has no input "ids" \(it has: pixel_values, input_ids, attention_mask\)/.test(p)),
    problems.join("\n"),
  );
  assert.ok(
    problems.some((p) => /^backbone\.output: the graph has no output "feat"/.test(p)),
    problems.join("\n"),
  );
  assert.ok(
    problems.some((p) => /graph input input_ids .* is not named in manifest\.backbone\.inputs/.test(p)),
    problems.join("\n"),
  );
});

test("graphs without metadata: W, N, D and image size that disagree with the graphs' shapes are each named", async () => {
  const dir = await variant(
    "dims",
    (m) => {
      m.feature_dim = 128;
      m.chunk = 12;
      m.image.width = 224;
    },
    bare,
  );
  const b = await problemsOf(dir);
  assert.ok(
    b.problems.some((p) => /^backbone\.inputs\.pixel_values pixel_values: dim 3 expected 224, got 32/.test(p)),
    b.problems.join("\n"),
  );
  assert.ok(
    b.problems.some((p) => /^feature_dim: manifest says 128 but output feature has last dim 64/.test(p)),
    b.problems.join("\n"),
  );
  const dir2 = await variant("chunk", (m) => (m.chunk = 12), bare);
  const h = await problemsOf(dir2);
  assert.match(h.file, /head\.onnx$/);
  assert.ok(
    h.problems.some((p) => /^chunk: manifest says 12 but output actions has 10 steps/.test(p)),
    h.problems.join("\n"),
  );
});

test("graphs without metadata: a discrete manifest on a continuous head is caught by the class count", async () => {
  const dir = await variant(
    "kind",
    (m) => {
      m.head = {
        kind: "discrete",
        classes: [
          { name: "stop", action: [0, 0] },
          { name: "fwd", action: [1, 0] },
          { name: "left", action: [0, 1] },
        ],
      };
      m.head_graph.output = "actions";
    },
    bare,
  );
  const { problems } = await problemsOf(dir);
  assert.ok(
    problems.some((p) => /^head: manifest declares 3 classes but output actions has last dim 2/.test(p)),
    problems.join("\n"),
  );
});

test("a missing graph file and an unavailable provider give clear errors", async () => {
  const dir = await variant("missing", (m) => (m.head_graph.file = "nope.onnx"));
  await assert.rejects(VlaModel.load(dir), /head_graph\.file: file .*nope\.onnx does not exist/);
  assert.ok(availableProviders().includes("cpu"), "cpu must always be available");
  if (!availableProviders().includes("cuda")) {
    await assert.rejects(
      VlaModel.load(good, { runtime: { provider: "cuda" } }),
      /provider: cuda is not available .*offers: cpu.*npm rebuild onnxruntime-node/s,
    );
  }
});

test("graphs without mobile_vla metadata still load and compute what the good folder computes", async () => {
  const a = await VlaModel.load(good, { warmup: false });
  const b = await VlaModel.load(bare, { warmup: false });
  const pixels = new Float32Array(3 * 32 * 32).map((_, i) => (i % 53) / 53);
  const fa = await a.runBackbone(pixels, a.tokenizer.encode("go left"));
  const fb = await b.runBackbone(pixels, b.tokenizer.encode("go left"));
  assert.deepEqual([...fb], [...fa], "stripping metadata changed the feature");
  await a.close();
  await b.close();
});

test("a hand-edited window, chunk, feature_dim or head kind is refused, naming the file, the key and both values", async () => {
  const cases: [string, (m: Record<string, any>) => void, RegExp][] = [
    ["window", (m) => (m.window = 9), /^window: manifest\.json says 9 but head\.onnx metadata mobile_vla\.window says 8$/],
    ["chunk", (m) => (m.chunk = 11), /^chunk: manifest\.json says 11 but head\.onnx metadata mobile_vla\.chunk says 10$/],
    ["feature_dim", (m) => (m.feature_dim = 65), /^feature_dim: manifest\.json says 65 but backbone\.onnx metadata mobile_vla\.feature_dim says 64$/],
    [
      "head kind",
      (m) => {
        m.head = {
          kind: "discrete",
          classes: [
            { name: "stop", action: [0, 0] },
            { name: "fwd", action: [1, 0] },
          ],
        };
        m.head_graph.output = "actions";
      },
      /^head\.kind: manifest\.json says discrete but head\.onnx metadata mobile_vla\.head_kind says continuous$/,
    ],
  ];
  for (const [name, edit, expected] of cases) {
    const dir = await variant(`meta-${name.replace(/ /g, "-")}`, edit);
    const { file, problems } = await problemsOf(dir);
    assert.match(file, /manifest\.json$/, `${name}: the error should name the manifest`);
    assert.ok(
      problems.some((p) => expected.test(p)),
      `${name}: no problem matches ${expected}:\n${problems.join("\n")}`,
    );
  }
});

test("the graphs' checkpoint hashes must agree with each other and with manifest.export; bad metadata values are named", async () => {
  const shaA = "a".repeat(64);
  const shaB = "b".repeat(64);
  const two = await variant("two-checkpoints", () => {});
  await rewriteMetadata(path.join(two, "backbone.onnx"), (m) => m.set("mobile_vla.checkpoint_sha256", shaA));
  await rewriteMetadata(path.join(two, "head.onnx"), (m) => m.set("mobile_vla.checkpoint_sha256", shaB));
  const mixed = await problemsOf(two);
  assert.ok(
    mixed.problems.some((p) => p.includes(`backbone.onnx metadata mobile_vla.checkpoint_sha256 says ${shaA} but head.onnx says ${shaB}`)),
    mixed.problems.join("\n"),
  );

  const agree = await variant("one-checkpoint", (m) => (m.export = { exporter_version: "0.1.0", checkpoint_sha256: shaB }));
  for (const g of ["backbone.onnx", "head.onnx"]) await rewriteMetadata(path.join(agree, g), (m) => m.set("mobile_vla.checkpoint_sha256", shaA));
  const vsManifest = await problemsOf(agree);
  assert.ok(
    vsManifest.problems.some(
      (p) => p === `export.checkpoint_sha256: manifest.json says ${shaB} but head.onnx metadata mobile_vla.checkpoint_sha256 says ${shaA}`,
    ),
    vsManifest.problems.join("\n"),
  );

  const matching = await variant("matching-checkpoint", (m) => (m.export = { checkpoint_sha256: shaA.toUpperCase(), torch_version: "2.13.0" }));
  for (const g of ["backbone.onnx", "head.onnx"]) await rewriteMetadata(path.join(matching, g), (m) => m.set("mobile_vla.checkpoint_sha256", shaA));
  const ok = await VlaModel.load(matching, { warmup: false });
  assert.deepEqual(ok.manifest.export, { checkpoint_sha256: shaA.toUpperCase(), torch_version: "2.13.0" });
  await ok.close();

  const garbled = await variant("garbled-window", () => {});
  await rewriteMetadata(path.join(garbled, "head.onnx"), (m) => m.set("mobile_vla.window", "eight"));
  const g = await problemsOf(garbled);
  assert.ok(g.problems.includes('head.onnx metadata mobile_vla.window: expected a positive integer, got "eight"'), g.problems.join("\n"));
});

test("precision: int8 opens backbone.variants.int8; a folder without it fails naming the precision, the folder and what it has", async () => {
  const q = path.join(root, "int8");
  await makeTinyModel(q, { seed: 9, int8: true });
  const fp32 = await VlaModel.load(q, { warmup: false });
  const int8 = await VlaModel.load(q, { precision: "int8", warmup: false });
  assert.equal(fp32.precision, "fp32");
  assert.equal(fp32.backboneFile, "backbone.onnx");
  assert.equal(int8.precision, "int8");
  assert.equal(int8.backboneFile, "backbone.int8.onnx");
  const pixels = new Float32Array(3 * 32 * 32).map((_, i) => (i % 41) / 41);
  const f32 = await fp32.runBackbone(pixels, fp32.tokenizer.encode("go left"));
  const f8 = await int8.runBackbone(pixels, int8.tokenizer.encode("go left"));
  const d = Math.max(...f32.map((v, i) => Math.abs(v - f8[i]!)));
  assert.ok(d > 0 && d < 0.1, `the int8 backbone should differ from fp32 a little, differs by ${d}`);
  await fp32.close();
  await int8.close();

  await assert.rejects(VlaModel.load(good, { precision: "int8" }), (e: unknown) => {
    assert.ok(e instanceof ManifestError, String(e));
    const text = `backbone.variants.int8: precision int8 was asked for but the model folder ${good} has no int8 backbone (it has: fp32)`;
    assert.ok(
      e.problems.some((p) => p.startsWith(text)),
      e.message,
    );
    return true;
  });

  // An int8 file whose metadata says fp32 was listed under the wrong precision.
  const wrong = path.join(root, "int8-wrong");
  await cp(q, wrong, { recursive: true });
  await rewriteMetadata(path.join(wrong, "backbone.int8.onnx"), (m) => m.set("mobile_vla.precision", "fp32"));
  await assert.rejects(
    VlaModel.load(wrong, { precision: "int8" }),
    /backbone\.variants\.int8: manifest\.json says backbone\.int8\.onnx is the int8 backbone but backbone\.int8\.onnx metadata mobile_vla\.precision says fp32/,
  );
});

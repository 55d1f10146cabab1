import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile, cp, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { makeTinyModel } from "../src/model/tiny-model.js";
import { VlaModel } from "../src/model/vla-model.js";
import { ManifestError } from "../src/model/manifest.js";
import { availableProviders, sessionOptions } from "../src/model/runtime.js";

let root: string;
let good: string;

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "vla-model-"));
  good = path.join(root, "good");
  await makeTinyModel(good, { seed: 9 });
});

after(async () => rm(root, { recursive: true, force: true }));

/** A copy of the good folder with its manifest edited. */
async function variant(name: string, edit: (m: Record<string, any>) => void): Promise<string> {
  const dir = path.join(root, name);
  await cp(good, dir, { recursive: true });
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
  assert.ok(problems.some((p) => /^backbone\.inputs\.input_ids: the graph has no input "ids" \(it has: pixel_values, input_ids, attention_mask\)/.test(p)), problems.join("\n"));
  assert.ok(problems.some((p) => /^backbone\.output: the graph has no output "feat"/.test(p)), problems.join("\n"));
  assert.ok(problems.some((p) => /graph input input_ids .* is not named in manifest\.backbone\.inputs/.test(p)), problems.join("\n"));
});

test("W, N, D and image size that disagree with the graphs are each named", async () => {
  const dir = await variant("dims", (m) => {
    m.feature_dim = 128;
    m.chunk = 12;
    m.image.width = 224;
  });
  const b = await problemsOf(dir);
  assert.ok(b.problems.some((p) => /^backbone\.inputs\.pixel_values pixel_values: dim 3 expected 224, got 32/.test(p)), b.problems.join("\n"));
  assert.ok(b.problems.some((p) => /^feature_dim: manifest says 128 but output feature has last dim 64/.test(p)), b.problems.join("\n"));
  const dir2 = await variant("chunk", (m) => (m.chunk = 12));
  const h = await problemsOf(dir2);
  assert.match(h.file, /head\.onnx$/);
  assert.ok(h.problems.some((p) => /^chunk: manifest says 12 but output actions has 10 steps/.test(p)), h.problems.join("\n"));
});

test("a discrete manifest on a continuous head is caught by the class count", async () => {
  const dir = await variant("kind", (m) => {
    m.head = { kind: "discrete", classes: [{ name: "stop", action: [0, 0] }, { name: "fwd", action: [1, 0] }, { name: "left", action: [0, 1] }] };
    m.head_graph.output = "actions";
  });
  const { problems } = await problemsOf(dir);
  assert.ok(problems.some((p) => /^head: manifest declares 3 classes but output actions has last dim 2/.test(p)), problems.join("\n"));
});

test("a missing graph file and an unavailable provider give clear errors", async () => {
  const dir = await variant("missing", (m) => (m.head_graph.file = "nope.onnx"));
  await assert.rejects(VlaModel.load(dir), /head_graph\.file: file .*nope\.onnx does not exist/);
  assert.ok(availableProviders().includes("cpu"), "cpu must always be available");
  if (!availableProviders().includes("cuda")) {
    await assert.rejects(VlaModel.load(good, { runtime: { provider: "cuda" } }), /provider: cuda is not available .*offers: cpu.*npm rebuild onnxruntime-node/s);
  }
});

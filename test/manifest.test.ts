import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ManifestError, backboneFileFor, backbonePrecisions, chunkIndex, headOutputWidth, loadManifest, parseManifest } from "../src/model/manifest.js";

test("an empty manifest gets the December 2025 defaults", () => {
  const m = parseManifest({});
  assert.equal(m.window, 8);
  assert.equal(m.chunk, 10);
  assert.equal(m.feature_dim, 2048);
  assert.equal(m.action_step_s, 0.4);
  assert.deepEqual(m.action_axes, ["linear_x", "linear_y"]);
  assert.equal(m.image.channel_order, "bgr");
  assert.equal(m.image.resize, "bilinear");
  assert.equal(m.image.width, 224);
  assert.equal(m.image.rescale, 1 / 255);
  assert.equal(m.image.mean, null);
  assert.equal(m.head.kind, "continuous");
  assert.deepEqual(m.head.denormalize, { kind: "minmax", min: [-1, -1], max: [1, 1] });
  assert.equal(m.tokenizer.template, "<grounding>An image of a robot {instruction}");
  assert.deepEqual(m.tokenizer.padding, { kind: "none" });
  assert.equal(m.chunk_position, "last");
});

test("every problem is reported at once, each naming its field", () => {
  try {
    parseManifest(
      { window: 0, chunk: 2.5, image: { channel_order: "rbg", rotate: 45, mean: [0.5, 0.5] }, tokenizer: { template: "no placeholder" } },
      "m/manifest.json",
    );
    assert.fail("expected a ManifestError");
  } catch (e) {
    assert.ok(e instanceof ManifestError);
    const text = e.message;
    assert.match(text, /^m\/manifest\.json: /);
    for (const field of ["window", "chunk", "image.channel_order", "image.rotate", "image.mean", "tokenizer.template"]) {
      assert.ok(
        e.problems.some((p) => p.startsWith(field)),
        `no problem names ${field}: ${text}`,
      );
    }
  }
});

test("a discrete head needs a class table whose actions match the axes", () => {
  assert.throws(() => parseManifest({ head: { kind: "discrete" } }), /head\.classes/);
  assert.throws(
    () =>
      parseManifest({
        head: {
          kind: "discrete",
          classes: [
            { name: "stop", action: [0, 0] },
            { name: "fwd", action: [1] },
          ],
        },
      }),
    /head\.classes\[1\]\.action: expected 2 finite numbers/,
  );
  const m = parseManifest({
    head: {
      kind: "discrete",
      classes: [
        { name: "stop", action: [0, 0] },
        { name: "fwd", action: [1, 0] },
        { name: "left", action: [0, 1] },
      ],
    },
  });
  assert.equal(headOutputWidth(m), 3);
  assert.equal(m.head_graph.output, "logits");
});

test("fixed padding is checked against max_length and needs a pad id", () => {
  const m = parseManifest({ tokenizer: { padding: { kind: "fixed", length: 64, pad_id: 0 } } });
  assert.deepEqual(m.tokenizer.padding, { kind: "fixed", length: 64, pad_id: 0 });
  assert.throws(
    () => parseManifest({ tokenizer: { max_length: 32, padding: { kind: "fixed", length: 64, pad_id: 0 } } }),
    /tokenizer\.padding\.length: 64 exceeds/,
  );
});

test("min/max denormalisation must have max above min on every axis", () => {
  assert.throws(() => parseManifest({ head: { denormalize: { kind: "minmax", min: [-1, 1], max: [1, 1] } } }), /max/);
});

test("chunk position picks the newest frame by default and clamps a fixed index to the fill", () => {
  const last = parseManifest({});
  assert.equal(chunkIndex(last, 8), 7);
  assert.equal(chunkIndex(last, 3), 2);
  const fixed = parseManifest({ chunk_position: 5 });
  assert.equal(chunkIndex(fixed, 8), 5);
  assert.equal(chunkIndex(fixed, 3), 2);
  assert.throws(() => parseManifest({ chunk_position: 8 }), /chunk_position/);
});

test("loading a folder names missing files and bad JSON", async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "vla-manifest-"));
  await assert.rejects(loadManifest(dir), /manifest\.json: .*cannot read the manifest \(ENOENT\)/s);
  await writeFile(path.join(dir, "manifest.json"), "{ not json");
  await assert.rejects(loadManifest(dir), /not valid JSON/);
  await writeFile(path.join(dir, "manifest.json"), JSON.stringify({ name: "x" }));
  await assert.rejects(loadManifest(dir), (e: unknown) => {
    assert.ok(e instanceof ManifestError);
    assert.equal(e.problems.length, 3);
    assert.match(e.problems.join("\n"), /backbone\.file: file .*backbone\.onnx does not exist/);
    assert.match(e.problems.join("\n"), /tokenizer\.file/);
    return true;
  });
});

function problemsOf(json: unknown): string[] {
  try {
    parseManifest(json);
  } catch (e) {
    assert.ok(e instanceof ManifestError, `expected a ManifestError, got ${String(e)}`);
    return e.problems;
  }
  assert.fail(`expected ${JSON.stringify(json)} to be refused`);
}

test("backbone.variants: precision -> file, fp32 is always backbone.file, unknown precisions are named", () => {
  const plain = parseManifest({});
  assert.deepEqual(plain.backbone.variants, {});
  assert.deepEqual(backbonePrecisions(plain), ["fp32"]);
  assert.equal(backboneFileFor(plain, "int8"), undefined);
  const m = parseManifest({ backbone: { file: "bb.onnx", variants: { int8: "bb.int8.onnx", fp32: "bb.onnx" } } });
  assert.deepEqual(m.backbone.variants, { int8: "bb.int8.onnx" }, "fp32 naming backbone.file is accepted and not stored twice");
  assert.equal(backboneFileFor(m, "fp32"), "bb.onnx");
  assert.equal(backboneFileFor(m, "int8"), "bb.int8.onnx");
  assert.deepEqual(backbonePrecisions(m), ["fp32", "int8"]);
  const problems = problemsOf({ backbone: { variants: { fp16: "x.onnx", fp32: "other.onnx", int8: 3 } } });
  assert.ok(
    problems.some((p) => /^backbone\.variants\.fp16: unknown precision; expected one of "fp32", "int8"/.test(p)),
    problems.join("\n"),
  );
  assert.ok(
    problems.some((p) => /^backbone\.variants\.fp32: fp32 is always backbone\.file \("backbone\.onnx"\), got "other\.onnx"/.test(p)),
    problems.join("\n"),
  );
  assert.ok(
    problems.some((p) => /^backbone\.variants\.int8: expected a non-empty string, got 3/.test(p)),
    problems.join("\n"),
  );
  assert.ok(problemsOf({ backbone: { variants: ["int8"] } }).some((p) => p.startsWith("backbone.variants: expected an object")));
});

test("training: instructions and prompt token counts, each problem named; counts are a sorted set", () => {
  assert.equal(parseManifest({}).training, undefined, "no training block stays absent");
  const m = parseManifest({ training: { instructions: ["Navigate to the target location"], prompt_tokens: [12, 10, 12] } });
  assert.deepEqual(m.training, { instructions: ["Navigate to the target location"], prompt_tokens: [10, 12] });
  assert.deepEqual(parseManifest({ training: { instructions: [] } }).training, { instructions: [], prompt_tokens: [] });
  const problems = problemsOf({ training: { instructions: ["ok", ""], prompt_tokens: [10, 0] } });
  assert.ok(problems.includes('training.instructions[1]: expected a non-empty string, got ""'), problems.join("\n"));
  assert.ok(problems.includes("training.prompt_tokens[1]: expected a positive integer, got 0"), problems.join("\n"));
  assert.ok(problemsOf({ training: { prompt_tokens: 10 } }).some((p) => p.startsWith("training.prompt_tokens: expected a list")));
  assert.ok(problemsOf({ training: "x" }).some((p) => p.startsWith("training: expected an object")));
});

test("export: the known fields are kept as strings, unknown ones (numbers, objects) ignored, a bad one named", () => {
  assert.equal(parseManifest({}).export, undefined);
  const sha = "0123456789abcdef".repeat(4);
  const m = parseManifest({
    export: {
      exporter_version: "0.1.0",
      checkpoint: "t1.ckpt",
      checkpoint_sha256: sha,
      config: "t1.json",
      attn_implementation: "eager",
      torch_version: "2.13.0",
      transformers_version: "5.18.0",
      future_field: { any: 1 },
    },
  });
  assert.deepEqual(m.export, {
    exporter_version: "0.1.0",
    checkpoint: "t1.ckpt",
    checkpoint_sha256: sha,
    config: "t1.json",
    attn_implementation: "eager",
    torch_version: "2.13.0",
    transformers_version: "5.18.0",
  });
  const problems = problemsOf({ export: { checkpoint_sha256: "", torch_version: 2 } });
  assert.ok(problems.includes('export.checkpoint_sha256: expected a non-empty string, got ""'), problems.join("\n"));
  assert.ok(problems.includes("export.torch_version: expected a non-empty string, got 2"), problems.join("\n"));
  // A synthetic export has no checkpoint and writes a label where the hash would be.
  assert.equal(
    parseManifest({ export: { checkpoint_sha256: "synthetic-tiny-seed0", flops_per_frame: 1e12 } }).export?.checkpoint_sha256,
    "synthetic-tiny-seed0",
  );
});

test("a missing variant file is reported with the other missing files", async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "vla-manifest-"));
  await writeFile(path.join(dir, "manifest.json"), JSON.stringify({ backbone: { variants: { int8: "backbone.int8.onnx" } } }));
  await assert.rejects(loadManifest(dir), (e: unknown) => {
    assert.ok(e instanceof ManifestError);
    assert.equal(e.problems.length, 4, e.message);
    assert.match(e.problems.join("\n"), /backbone\.variants\.int8: file .*backbone\.int8\.onnx does not exist/);
    return true;
  });
});

test("absurd sizes and times are refused at load with the bound named, before anything is allocated or scheduled", () => {
  const problems = problemsOf({
    window: 1e9,
    chunk: 1e7,
    feature_dim: 2 ** 31,
    action_step_s: 1e308,
    tokenizer: { max_length: 1e9 },
    image: { width: 100000 },
  });
  for (const line of [
    "window: expected an integer in [1, 256], got 1000000000",
    "chunk: expected an integer in [1, 1024], got 10000000",
    "feature_dim: expected an integer in [1, 65536], got 2147483648",
    "action_step_s: expected a number of seconds in [0.01, 10], got 1e+308",
    "tokenizer.max_length: expected an integer in [1, 65536], got 1000000000",
    "image.width: expected an integer in [1, 8192], got 100000",
  ]) {
    assert.ok(problems.includes(line), `missing "${line}" in:\n${problems.join("\n")}`);
  }
  assert.ok(problemsOf({ action_step_s: 0.001 }).some((p) => p.startsWith("action_step_s: expected a number of seconds in [0.01, 10]")));
  assert.ok(
    problemsOf({ tokenizer: { padding: { kind: "fixed", length: 1e9 } } }).some((p) =>
      p.startsWith("tokenizer.padding.length: expected an integer in [2, 65536]"),
    ),
  );
});

test("the relations between fields are checked even when other fields are wrong", () => {
  const problems = problemsOf({ window: "eight", chunk_position: 3, head: { denormalize: { kind: "scale", scale: [1, 1, 1] } }, image: { mean: [0, 0, 0] } });
  assert.ok(
    problems.some((p) => p.startsWith("window: ")),
    problems.join("\n"),
  );
  assert.ok(problems.includes("head.denormalize.scale: expected 2 finite numbers (one per action axis), got [1,1,1]"), problems.join("\n"));
  assert.ok(problems.includes("image.mean/image.std: give both or neither"), problems.join("\n"));
  assert.ok(problemsOf({ window: 4, chunk_position: 4 }).includes('chunk_position: expected "last" or an integer in [0, 3], got 4'));
  assert.ok(problemsOf({ action_axes: ["angular_z"] }).some((p) => /^action_axes: .*neither linear_x nor linear_y/.test(p)));
});

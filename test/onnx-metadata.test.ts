import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { GraphBuilder } from "../synthetic/onnx-builder.js";
import { OnnxMetadataError, readOnnxMetadata } from "../src/model/onnx-metadata.js";
import { buildTinyModel } from "../synthetic/tiny-model.js";

let root: string;

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "onnx-meta-"));
});

after(async () => rm(root, { recursive: true, force: true }));

/** A protobuf length-delimited field: tag, varint length, body. */
function field(number: number, body: Uint8Array): Uint8Array {
  const varint = (n: number) => {
    const out: number[] = [];
    while (n >= 0x80) {
      out.push((n % 0x80) | 0x80);
      n = Math.floor(n / 0x80);
    }
    out.push(n);
    return out;
  };
  return Uint8Array.from([...varint(number * 8 + 2), ...varint(body.length), ...body]);
}

const text = (s: string) => new TextEncoder().encode(s);
const entry = (k: string, v: string) => field(14, Uint8Array.from([...field(1, text(k)), ...field(2, text(v))]));

test("the tiny model's graphs carry the contract's keys, read without onnxruntime", async () => {
  const { manifest, files } = buildTinyModel({ seed: 3, head: "discrete", window: 6, chunk: 3 });
  await writeFile(path.join(root, "backbone.onnx"), files.get(manifest.backbone.file)!);
  await writeFile(path.join(root, "head.onnx"), files.get(manifest.head_graph.file)!);
  const b = await readOnnxMetadata(path.join(root, "backbone.onnx"));
  const h = await readOnnxMetadata(path.join(root, "head.onnx"));
  const common = {
    "mobile_vla.window": "6",
    "mobile_vla.chunk": "3",
    "mobile_vla.feature_dim": "64",
    "mobile_vla.action_dim": "9",
    "mobile_vla.head_kind": "discrete",
  };
  for (const [k, v] of Object.entries(common)) {
    assert.equal(b.get(k), v, `backbone ${k}`);
    assert.equal(h.get(k), v, `head ${k}`);
  }
  assert.equal(b.get("mobile_vla.precision"), "fp32");
  assert.equal(h.has("mobile_vla.precision"), false, "the head has no precision key");
});

test("the graph is skipped by its length, never decoded: garbage inside it does not matter", async () => {
  // Field 7 (graph) holds bytes that are not a GraphProto; fields 1 and 8 are other
  // top-level kinds (a varint, a message) that must be skipped correctly too.
  const garbage = new Uint8Array(300_000).map((_, i) => (i * 31 + 7) & 0xff);
  const irVersion = Uint8Array.from([0x08, 0x08]);
  const bytes = Uint8Array.from([...irVersion, ...field(7, garbage), ...entry("mobile_vla.window", "8"), ...field(8, text("xx")), ...entry("k", "é ✓")]);
  const file = path.join(root, "garbage-graph.onnx");
  await writeFile(file, bytes);
  const meta = await readOnnxMetadata(file);
  assert.deepEqual(
    [...meta],
    [
      ["mobile_vla.window", "8"],
      ["k", "é ✓"],
    ],
  );
});

test("a graph without metadata gives an empty map; a truncated or non-ONNX file names the file", async () => {
  const g = new GraphBuilder("empty");
  g.input("x", "float32", [1]);
  g.op("Identity", ["x"], {}, "y");
  g.output("y", "float32", [1]);
  const plain = path.join(root, "plain.onnx");
  await writeFile(plain, g.toModel());
  assert.equal((await readOnnxMetadata(plain)).size, 0);

  const truncated = path.join(root, "truncated.onnx");
  await writeFile(truncated, field(7, new Uint8Array(1000)).subarray(0, 500));
  await assert.rejects(readOnnxMetadata(truncated), (e: unknown) => {
    assert.ok(e instanceof OnnxMetadataError, String(e));
    assert.match(e.message, /truncated\.onnx: not a readable ONNX model \(field 7 running past the end of the file/);
    return true;
  });
  const notOnnx = path.join(root, "text.onnx");
  await writeFile(notOnnx, '{"this": "is json"}');
  await assert.rejects(readOnnxMetadata(notOnnx), /text\.onnx: not a readable ONNX model/);
});

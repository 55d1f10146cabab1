// FLOPs of one backbone pass, for expressing its latency against the machine's
// GEMM rate. The exporter knows the real figure (it counts from the Kosmos-2
// config: 257 vision tokens x 24 layers, projection, text decoder over 64 + prompt
// positions) and writes it to manifest.json `export.flops_per_frame`. Without it,
// the graph alone gives only a lower bound: the sequence length each MatMul sees
// needs shape inference, so every weight matrix is counted for ONE row.
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import onnxProto from "onnx-proto";
import { MANIFEST_FILE } from "../src/model/manifest.js";

const { onnx } = onnxProto;

export interface FlopsEstimate {
  /** FLOPs per frame, or null when only a bound (or nothing) is known. */
  flopsPerFrame: number | null;
  /** Where flopsPerFrame came from, or why it is null. */
  source: string;
  /** 2 x (weight elements of every MatMul/Gemm/Conv initializer): one row through each. */
  lowerBound: number | null;
}

/** Decoding the whole ModelProto copies inline weights; past this, only the manifest figure is used. */
const MAX_DECODE_BYTES = 512 * 2 ** 20;

/** `export.flops_per_frame` from manifest.json, read raw because it is informational only. */
async function manifestFlops(dir: string): Promise<number | null> {
  const json: unknown = JSON.parse(await readFile(path.join(dir, MANIFEST_FILE), "utf8"));
  if (typeof json !== "object" || json === null) return null;
  const exp = (json as { export?: unknown }).export;
  if (typeof exp !== "object" || exp === null) return null;
  const v = (exp as { flops_per_frame?: unknown }).flops_per_frame;
  return typeof v === "number" && Number.isFinite(v) && v > 0 ? v : null;
}

/** 2 x weight elements of the MatMul/Gemm/Conv nodes whose weight is an initializer. */
async function graphLowerBound(file: string): Promise<number | null> {
  if ((await stat(file)).size > MAX_DECODE_BYTES) return null;
  const model = onnx.ModelProto.decode(await readFile(file));
  const graph = model.graph;
  if (!graph) return null;
  const elements = new Map<string, number>();
  for (const t of graph.initializer ?? []) {
    // int64 dims may decode as Long objects: String() works for both.
    if (t.name)
      elements.set(
        t.name,
        (t.dims ?? []).reduce<number>((a, d) => a * Number(String(d)), 1),
      );
  }
  let flops = 0;
  for (const node of graph.node ?? []) {
    if (node.opType !== "MatMul" && node.opType !== "Gemm" && node.opType !== "Conv") continue;
    // The weight is the second input of all three.
    const w = node.input?.[1];
    const n = w ? elements.get(w) : undefined;
    if (n !== undefined) flops += 2 * n;
  }
  return flops;
}

export async function backboneFlops(dir: string, backboneFile: string): Promise<FlopsEstimate> {
  const fromManifest = await manifestFlops(dir);
  const lowerBound = await graphLowerBound(path.join(dir, backboneFile));
  if (fromManifest !== null) return { flopsPerFrame: fromManifest, source: "manifest.json export.flops_per_frame", lowerBound };
  return {
    flopsPerFrame: null,
    source:
      lowerBound === null
        ? `manifest.json has no export.flops_per_frame and ${backboneFile} is over ${MAX_DECODE_BYTES / 2 ** 20} MB to decode`
        : "manifest.json has no export.flops_per_frame; the graph gives only a lower bound (each weight matrix counted for one row), too loose for a latency ratio",
    lowerBound,
  };
}

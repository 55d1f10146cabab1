// The one module that owns onnxruntime-node: which execution providers this build
// offers, how a provider name from the parameters becomes session options, and
// graph metadata in a form the manifest validator can check.
import { readdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import * as ort from "onnxruntime-node";

import { PROVIDERS, type Provider } from "./providers.js";
export { PROVIDERS, type Provider };

import { GRAPH_OPTIMIZATIONS, type GraphOptimization } from "./providers.js";
export { GRAPH_OPTIMIZATIONS, type GraphOptimization };

export interface RuntimeOptions {
  provider: Provider;
  /** Intra-op threads; 0 lets onnxruntime pick (one per physical core). */
  threads: number;
  graphOptimization: GraphOptimization;
  /** CUDA / TensorRT device index. */
  deviceId: number;
}

export const DEFAULT_RUNTIME: RuntimeOptions = { provider: "cpu", threads: 0, graphOptimization: "all", deviceId: 0 };

export type TensorType = ort.Tensor.Type;

export interface TensorInfo {
  name: string;
  type: TensorType | "non-tensor";
  /** Fixed dims as numbers, symbolic dims as their names, unknown rank as []. */
  shape: (number | string)[];
}

export class RuntimeError extends Error {
  override name = "RuntimeError";
}

/** Providers this onnxruntime-node build can actually use (CUDA/TensorRT need the extra install). */
export function availableProviders(): Provider[] {
  const out: Provider[] = [];
  for (const b of ort.listSupportedBackends()) {
    const name = b.name as Provider;
    if (!(PROVIDERS as readonly string[]).includes(name)) continue;
    // "bundled: false" means the EP library is only present after the CUDA install step.
    if (b.bundled || providerLibraryPresent(name)) out.push(name);
  }
  return out;
}

/** CUDA/TensorRT provider libraries sit beside the binding once the GPU install step ran. */
function providerLibraryPresent(name: Provider): boolean {
  if (name === "cpu") return true;
  if (name !== "cuda" && name !== "tensorrt") return false;
  try {
    const pkgDir = path.dirname(createRequire(import.meta.url).resolve("onnxruntime-node/package.json"));
    const binDir = path.join(pkgDir, "bin");
    const lib = `libonnxruntime_providers_${name}.so`;
    return readdirSync(binDir, { recursive: true }).some((f) => String(f).endsWith(lib));
  } catch {
    return false;
  }
}

const INSTALL_HINT =
  "CUDA/TensorRT builds of onnxruntime-node are not downloaded by default (package.json's allowScripts denies its install script). " +
  "On a GPU machine run: ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node --dangerously-allow-all-scripts";

export function sessionOptions(o: RuntimeOptions): ort.InferenceSession.SessionOptions {
  const ep: ort.InferenceSession.ExecutionProviderConfig =
    o.provider === "cuda" ? { name: "cuda", deviceId: o.deviceId } : o.provider === "tensorrt" ? { name: "tensorrt", deviceId: o.deviceId } : o.provider;
  return {
    // CPU stays last so an operator the GPU provider lacks still runs.
    executionProviders: o.provider === "cpu" ? ["cpu"] : [ep, "cpu"],
    graphOptimizationLevel: o.graphOptimization,
    ...(o.threads > 0 ? { intraOpNumThreads: o.threads } : {}),
    interOpNumThreads: 1,
    executionMode: "sequential",
    // The robot runs a few inferences a second; a spinning thread pool between them
    // burnt ~23% of a core on a live graph for nothing (measured on the policy node).
    extra: { session: { intra_op: { allow_spinning: "0" }, inter_op: { allow_spinning: "0" } } },
  };
}

/** Opens an ONNX file; external-data files are found next to it because we pass the path. */
export async function openSession(file: string, o: RuntimeOptions): Promise<ort.InferenceSession> {
  if (!PROVIDERS.includes(o.provider)) {
    throw new RuntimeError(`provider: unknown execution provider ${JSON.stringify(o.provider)}; expected one of ${PROVIDERS.join(", ")}`);
  }
  const offered = availableProviders();
  if (!offered.includes(o.provider)) {
    throw new RuntimeError(`provider: ${o.provider} is not available in this onnxruntime-node install (it offers: ${offered.join(", ")}). ${INSTALL_HINT}`);
  }
  try {
    return await ort.InferenceSession.create(file, sessionOptions(o));
  } catch (e) {
    const msg = (e as Error).message;
    const hint = o.provider === "cpu" ? "" : ` ${INSTALL_HINT}`;
    throw new RuntimeError(`${file}: onnxruntime could not load the graph with provider ${o.provider}: ${msg}${hint}`);
  }
}

export function graphInputs(s: ort.InferenceSession): TensorInfo[] {
  return s.inputMetadata.map(toInfo);
}

export function graphOutputs(s: ort.InferenceSession): TensorInfo[] {
  return s.outputMetadata.map(toInfo);
}

function toInfo(m: ort.InferenceSession.ValueMetadata): TensorInfo {
  if (!m.isTensor) return { name: m.name, type: "non-tensor", shape: [] };
  return { name: m.name, type: m.type, shape: [...m.shape] };
}

export function float32Tensor(data: Float32Array, dims: readonly number[]): ort.Tensor {
  return new ort.Tensor("float32", data, dims);
}

export function int64Tensor(data: BigInt64Array, dims: readonly number[]): ort.Tensor {
  return new ort.Tensor("int64", data, dims);
}

export type Session = ort.InferenceSession;
export type Feeds = Record<string, ort.Tensor>;

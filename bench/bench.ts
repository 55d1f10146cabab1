// `npm run bench [-- --model DIR] [--precision fp32|int8|both] [--frames N]`: the
// performance targets, as JSON lines on stdout.
// Never a test: figures depend on the machine. Latency is also given as "GEMM-
// equivalent GFLOP" (latency x the fp32 MatMul rate measured in the same run) so
// figures from different machines can be compared.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { GraphBuilder } from "../synthetic/onnx-builder.js";
import { openSession, float32Tensor, DEFAULT_RUNTIME, type Provider } from "../src/model/runtime.js";
import { makeTinyModel } from "../synthetic/tiny-model.js";
import { VlaModel } from "../src/model/vla-model.js";
import { VlaPolicy } from "../src/policy/vla-policy.js";
import type { RawImageMessage, StampedImage } from "../src/msgs/image.js";
import { percentile } from "../src/util/percentile.js";
import { extraBenches } from "./extra-benches.js";
import { backboneBench } from "./backbone-bench.js";
import { backbonePrecisions, loadManifest, PRECISIONS, type Precision } from "../src/model/manifest.js";

export function emit(record: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(record) + "\n");
}

export const round = (x: number | null, digits = 3): number | null => (x === null ? null : Number(x.toFixed(digits)));

/** fp32 MatMul throughput with weights larger than the caches, the unit the step latencies are expressed in. */
async function gemmRate(threads: number, tmp: string): Promise<number> {
  const M = 128;
  const K = 2048;
  const N = 8192;
  const g = new GraphBuilder("gemm");
  const a = g.input("a", "float32", [M, K]);
  const w = new Float32Array(K * N);
  for (let i = 0; i < w.length; i++) w[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
  const wName = g.initializer("w", w, [K, N]);
  g.output(g.op("MatMul", [a, wName], {}, "y"), "float32", [M, N]);
  const file = path.join(tmp, "gemm.onnx");
  const { writeFile } = await import("node:fs/promises");
  await writeFile(file, g.toModel());
  const session = await openSession(file, { ...DEFAULT_RUNTIME, threads });
  const input = float32Tensor(new Float32Array(M * K).fill(0.01), [M, K]);
  for (let i = 0; i < 3; i++) await session.run({ a: input });
  const runs = 20;
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) await session.run({ a: input });
  const s = (performance.now() - t0) / 1000;
  await session.release();
  const gflops = (2 * M * K * N * runs) / s / 1e9;
  emit({ bench: "gemm_fp32", m: M, k: K, n: N, weights_mb: (K * N * 4) / 2 ** 20, threads: threads || "default", gflop_per_s: round(gflops, 1) });
  return gflops;
}

function cameraFrame(i: number, width = 640, height = 480): StampedImage {
  const data = new Uint8Array(width * height * 3);
  for (let p = 0; p < data.length; p += 3) {
    data[p] = (p + i * 7) & 255;
    data[p + 1] = (p >> 8) & 255;
    data[p + 2] = (i * 13) & 255;
  }
  const image: RawImageMessage = { kind: "raw", width, height, encoding: "rgb8", step: width * 3, isBigEndian: false, data };
  return { stamp: i * 0.4, image };
}

interface StepFigures {
  p50: number | null;
  p99: number | null;
  overheadP50: number | null;
  overheadP99: number | null;
  backbonePerStep: number;
}

/** Steady-state steps (window already full), with the time outside session.run split out. */
async function stepLatency(model: VlaModel, cacheFeatures: boolean, steps: number): Promise<StepFigures> {
  const policy = new VlaPolicy(model, { cacheFeatures });
  policy.setInstruction("Navigate to the gray basket on the left");
  const frames = Array.from({ length: 16 }, (_, i) => cameraFrame(i));
  for (let i = 0; i < model.manifest.window; i++) await policy.step(frames[i % frames.length]!);
  const total: number[] = [];
  const overhead: number[] = [];
  const before = policy.counters().backboneRuns;
  for (let i = 0; i < steps; i++) {
    const s0 = model.timing.sessionMs;
    const t0 = performance.now();
    await policy.step(frames[i % frames.length]!);
    const ms = performance.now() - t0;
    total.push(ms);
    overhead.push(ms - (model.timing.sessionMs - s0));
  }
  return {
    p50: percentile(total, 50),
    p99: percentile(total, 99),
    overheadP50: percentile(overhead, 50),
    overheadP99: percentile(overhead, 99),
    backbonePerStep: (policy.counters().backboneRuns - before) / steps,
  };
}

async function main(): Promise<void> {
  const argv = await yargs(hideBin(process.argv))
    .option("model", { type: "string", describe: "model folder to benchmark (default: a generated tiny model)" })
    .option("steps", { type: "number", describe: "steady-state steps per mode (default 300 tiny, 5 for a real model)" })
    .option("frames", { type: "number", describe: "backbone frames timed per precision, >= 5 (default 50 tiny, 5 for a real model: seconds each)" })
    .option("precision", { type: "string", choices: [...PRECISIONS, "both"], describe: "backbone precision(s) to time (default: every one the folder has)" })
    .option("threads", { type: "number", default: 0 })
    .option("provider", { type: "string", default: "cpu" })
    .option("only", { type: "string", describe: "comma-separated subset: gemm,backbone,policy,replay,recorder,episodes" })
    .strict()
    .parseAsync();
  const only = argv.only ? new Set(argv.only.split(",")) : null;
  const frames = argv.frames ?? (argv.model ? 5 : 50);
  if (!Number.isInteger(frames) || frames < 5) throw new Error(`--frames: expected an integer >= 5 (a p50 and p90 of fewer frames say little), got ${frames}`);
  const want = (name: string) => !only || only.has(name);
  const tmp = await mkdtemp(path.join(os.tmpdir(), "vla-bench-"));
  try {
    emit({ bench: "machine", cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? "unknown", node: process.version });
    const gflops = want("gemm") || want("policy") || want("backbone") ? await gemmRate(argv.threads, tmp) : null;
    const dir = argv.model ?? path.join(tmp, "tiny");
    // The generated model carries an int8 variant so both precision paths are timed.
    if (!argv.model && (want("policy") || want("backbone"))) await makeTinyModel(dir, { seed: 1, int8: true });
    const runtime = { provider: argv.provider as Provider, threads: argv.threads };
    if (want("backbone")) {
      const available = backbonePrecisions(await loadManifest(dir));
      const precisions: Precision[] = argv.precision === undefined || argv.precision === "both" ? available : [argv.precision as Precision];
      if (argv.precision === "both" && !available.includes("int8")) {
        throw new Error(`--precision both: ${dir} has no int8 backbone (manifest backbone.variants.int8); it has: ${available.join(", ")}`);
      }
      await backboneBench({
        dir,
        precisions,
        frames,
        runtime,
        gemmGflops: gflops,
        instruction: "Navigate to the gray basket on the left",
        frame: cameraFrame,
        emit,
      });
    }
    if (want("policy")) {
      // One precision asked for: the steps run on it; otherwise on fp32.
      const precision: Precision = argv.precision === undefined || argv.precision === "both" ? "fp32" : (argv.precision as Precision);
      const model = await VlaModel.load(dir, { runtime, precision });
      const steps = argv.steps ?? (argv.model ? 5 : 300);
      for (const cacheFeatures of [true, false]) {
        const f = await stepLatency(model, cacheFeatures, steps);
        emit({
          bench: "policy_step",
          model: model.manifest.name,
          precision,
          mode: cacheFeatures ? "cached" : "reference (all W frames re-run)",
          frame: "640x480 rgb8",
          steps,
          backbone_passes_per_step: f.backbonePerStep,
          p50_ms: round(f.p50),
          p99_ms: round(f.p99),
          p50_gemm_equivalent_gflop: f.p50 === null || gflops === null ? null : round((f.p50 / 1000) * gflops, 3),
          overhead_outside_session_run_p50_ms: round(f.overheadP50),
          overhead_outside_session_run_p99_ms: round(f.overheadP99),
          overhead_target_p99_ms: 2,
        });
      }
      await model.close();
    }
    await extraBenches({ want, tmp, emit });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});

// Per-frame backbone figures for each precision of a model folder: session load
// time, process RSS after load, first-frame and steady per-frame latency (p50/p90),
// and the p50 against the compute bound FLOPs / GEMM rate measured in the same run
// (target <= 1.3), then the int8 speed-up over fp32. Full-size backbones take
// seconds per frame, so the frame count is small for them.
import { performance } from "node:perf_hooks";
import { percentile } from "../src/util/percentile.js";
import type { Precision } from "../src/model/manifest.js";
import { Preprocessor } from "../src/model/preprocess.js";
import type { RuntimeOptions } from "../src/model/runtime.js";
import { VlaModel } from "../src/model/vla-model.js";
import { backboneFlops, type FlopsEstimate } from "./flops.js";
import type { StampedImage } from "../src/msgs/image.js";

export interface BackboneBenchOptions {
  dir: string;
  precisions: readonly Precision[];
  frames: number;
  runtime: Partial<RuntimeOptions>;
  /** fp32 GEMM rate of this run (GFLOP/s), or null when not measured. */
  gemmGflops: number | null;
  instruction: string;
  frame: (i: number) => StampedImage;
  emit: (record: Record<string, unknown>) => void;
}

/** What the backbone can at best do on this machine: the ratio target of the issue. */
export const TARGET_LATENCY_VS_GEMM_BOUND = 1.3;

const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
const r3 = (x: number | null) => (x === null ? null : Number(x.toFixed(3)));

export async function backboneBench(o: BackboneBenchOptions): Promise<void> {
  const p50s = new Map<Precision, number>();
  let flops: FlopsEstimate | null = null;
  for (const precision of o.precisions) {
    const rssBefore = process.memoryUsage().rss;
    const t0 = performance.now();
    // No warm-up inside load: the first frame is timed on its own below.
    const model = await VlaModel.load(o.dir, { runtime: o.runtime, precision, warmup: false });
    const loadMs = performance.now() - t0;
    const rssAfter = process.memoryUsage().rss;
    try {
      // FLOPs are the model's, whatever the precision: counted on the fp32 graph.
      flops ??= await backboneFlops(o.dir, model.manifest.backbone.file);
      const pre = new Preprocessor(model.manifest.image);
      const tokens = model.tokenizer.encode(o.instruction);
      const pixels: Float32Array[] = [];
      for (let i = 0; i < Math.min(o.frames, 4); i++) pixels.push(await pre.run(o.frame(i).image));
      const f0 = performance.now();
      await model.runBackbone(pixels[0]!, tokens);
      const firstMs = performance.now() - f0;
      const ms: number[] = [];
      for (let i = 0; i < o.frames; i++) {
        const t = performance.now();
        await model.runBackbone(pixels[i % pixels.length]!, tokens);
        ms.push(performance.now() - t);
      }
      const p50 = percentile(ms, 50);
      const p90 = percentile(ms, 90);
      if (p50 !== null) p50s.set(precision, p50);
      const boundMs = flops.flopsPerFrame !== null && o.gemmGflops !== null ? (flops.flopsPerFrame / (o.gemmGflops * 1e9)) * 1000 : null;
      o.emit({
        bench: "backbone_frame",
        model: model.manifest.name,
        precision,
        file: model.backboneFile,
        session_load_ms: r3(loadMs),
        rss_after_load_mb: mb(rssAfter),
        rss_load_delta_mb: mb(rssAfter - rssBefore),
        tokens: tokens.length,
        first_frame_ms: r3(firstMs),
        frames: o.frames,
        p50_ms: r3(p50),
        p90_ms: r3(p90),
        flops_per_frame: flops.flopsPerFrame,
        flops_source: flops.source,
        flops_lower_bound_one_row: flops.lowerBound,
        gemm_fp32_gflop_per_s: o.gemmGflops === null ? null : Number(o.gemmGflops.toFixed(1)),
        // How far the frame is from running at the fp32 GEMM rate (1 = every FLOP at GEMM speed).
        p50_vs_gemm_bound: boundMs === null || p50 === null ? null : r3(p50 / boundMs),
        target_p50_vs_gemm_bound: TARGET_LATENCY_VS_GEMM_BOUND,
        ...(boundMs === null ? { p50_vs_gemm_bound_reason: o.gemmGflops === null ? "GEMM rate not measured (--only without gemm)" : flops.source } : {}),
      });
    } finally {
      await model.close();
    }
  }
  const fp32 = p50s.get("fp32");
  const int8 = p50s.get("int8");
  if (fp32 !== undefined && int8 !== undefined) {
    o.emit({ bench: "backbone_int8_speedup", p50_fp32_ms: r3(fp32), p50_int8_ms: r3(int8), speedup_p50: r3(fp32 / int8) });
  }
}

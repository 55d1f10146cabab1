// Paired bootstrap of metric differences (B - A). Both models are resampled with
// the SAME unit draws, so what varies between replicates is which stretches of the
// data are seen, not which model saw them. Units are whole sources when there are
// enough of them (sources are the independent samples); otherwise contiguous time
// blocks, because neighbouring ticks of one run are strongly correlated and
// resampling single ticks would give far too narrow intervals.
import { SUM_FIELDS, accuracyValue, addChunks, addStats, addTicks, addTrainerWindows, emptyStats, runStats, trainerWindowsOf } from "./metrics.js";
import { percentile } from "../util/percentile.js";
import type { AccuracyKey, SumStats } from "./metrics.js";
import type { Better, BootstrapScheme, MetricParams, RunSeries, Verdict } from "./types.js";

import { mulberry32 } from "../util/prng.js";

// Re-exported: the tests (and callers) draw from the same stream the bootstrap uses.
export { mulberry32 };

/** One resampling unit: the sums of both models over the same stretch of data. */
export interface BootstrapUnit {
  label: string;
  a: SumStats;
  b: SumStats;
}

export interface AlignOptions {
  /** Largest |tA - tB| (s) for two ticks to count as the same tick. */
  timeTolerance: number;
  /** Largest difference of the teleop commands at the same tick. */
  truthTolerance: number;
}

export const DEFAULT_ALIGN: Readonly<AlignOptions> = { timeTolerance: 1e-3, truthTolerance: 1e-6 };

/**
 * Throws unless the two runs are the same tick series: same count, same times, same
 * teleop. A mismatch means the runner clocked the models differently, and a paired
 * comparison would pair unrelated ticks.
 */
export function checkAligned(a: RunSeries, b: RunSeries, opts: AlignOptions = DEFAULT_ALIGN): void {
  const where = `source ${JSON.stringify(a.source)}: models ${JSON.stringify(a.model)} and ${JSON.stringify(b.model)}`;
  if (a.source !== b.source) {
    throw new Error(`cannot pair runs of different sources: ${JSON.stringify(a.source)} vs ${JSON.stringify(b.source)}`);
  }
  if (a.ticks.length !== b.ticks.length) {
    throw new Error(`${where} have different tick counts (${a.ticks.length} vs ${b.ticks.length}); the runs must share one control clock`);
  }
  for (let i = 0; i < a.ticks.length; i++) {
    const ta = a.ticks[i];
    const tb = b.ticks[i];
    if (!(Math.abs(ta.t - tb.t) <= opts.timeTolerance)) {
      throw new Error(`${where} are not aligned at tick ${i}: t = ${ta.t} vs ${tb.t} (tolerance ${opts.timeTolerance} s)`);
    }
    const dx = Math.abs(ta.truth[0] - tb.truth[0]);
    const dy = Math.abs(ta.truth[1] - tb.truth[1]);
    // NaN truth on both sides is the same (missing) teleop, not a misalignment.
    const same = (d: number, p: number, q: number) => d <= opts.truthTolerance || (Number.isNaN(p) && Number.isNaN(q));
    if (!same(dx, ta.truth[0], tb.truth[0]) || !same(dy, ta.truth[1], tb.truth[1])) {
      throw new Error(`${where} disagree on the teleop command at tick ${i} (t = ${ta.t}): [${ta.truth.join(", ")}] vs [${tb.truth.join(", ")}]`);
    }
  }
}

export interface PairedRuns {
  a: RunSeries;
  b: RunSeries;
}

/** One unit per source. */
export function sourceUnits(pairs: readonly PairedRuns[], params: MetricParams): BootstrapUnit[] {
  return pairs.map(({ a, b }) => ({
    label: a.source,
    a: runStats(a, params),
    b: runStats(b, params),
  }));
}

/**
 * Non-overlapping blocks of blockSeconds within each source, numbered from the
 * source's first tick; blocks never span two sources. A chunk goes to the block of
 * its stamp (clamped to the source's tick span). Empty blocks (gaps) are dropped.
 */
export function blockUnits(pairs: readonly PairedRuns[], params: MetricParams, blockSeconds: number): BootstrapUnit[] {
  if (!(blockSeconds > 0)) throw new RangeError(`blockSeconds must be > 0, got ${blockSeconds}`);
  const units: BootstrapUnit[] = [];
  for (const { a, b } of pairs) {
    const t0 = a.ticks.length > 0 ? a.ticks[0].t : 0;
    const blockOf = (t: number) => (Number.isFinite(t) ? Math.max(0, Math.floor((t - t0) / blockSeconds)) : 0);
    const byBlock = new Map<number, BootstrapUnit>();
    const unit = (k: number): BootstrapUnit => {
      let u = byBlock.get(k);
      if (!u) {
        u = { label: `${a.source}#${k}`, a: emptyStats(), b: emptyStats() };
        byBlock.set(k, u);
      }
      return u;
    };
    for (let i = 0; i < a.ticks.length; i++) {
      const u = unit(blockOf(a.ticks[i].t));
      addTicks(u.a, [a.ticks[i]], params);
      addTicks(u.b, [b.ticks[i]], params);
    }
    const lastBlock = a.ticks.length > 0 ? blockOf(a.ticks[a.ticks.length - 1].t) : 0;
    const place = (t: number) => {
      const k = Math.min(blockOf(t), lastBlock);
      // A chunk stamped inside a gap joins the nearest earlier block that exists.
      for (let j = k; j >= 0; j--) if (byBlock.has(j)) return unit(j);
      return unit(k);
    };
    for (const c of a.chunks) addChunks(place(c.t).a, [c]);
    for (const c of b.chunks) addChunks(place(c.t).b, [c]);
    // A trainer window joins the block of its first frame, like a chunk.
    for (const w of trainerWindowsOf(a)) addTrainerWindows(place(w.t).a, [w]);
    for (const w of trainerWindowsOf(b)) addTrainerWindows(place(w.t).b, [w]);
    units.push(...[...byBlock.entries()].sort((x, y) => x[0] - y[0]).map(([, u]) => u));
  }
  return units;
}

export interface BootstrapOptions {
  replicates: number;
  seed: number;
  /** e.g. 0.95 */
  confidence: number;
}

export const DEFAULT_BOOTSTRAP: Readonly<BootstrapOptions> = { replicates: 2000, seed: 1, confidence: 0.95 };

export interface DiffInterval {
  diff: number | null;
  ciLow: number | null;
  ciHigh: number | null;
  validReplicates: number;
}

/**
 * Percentile bootstrap: draws units.length units with replacement per replicate,
 * recomputes each metric for A and B from the summed stats, and takes the
 * (1 - confidence)/2 and (1 + confidence)/2 linear percentiles of B - A.
 * Replicates where either side is undefined (e.g. no moving tick drawn) are left out.
 */
export function pairedBootstrap(
  units: readonly BootstrapUnit[],
  keys: readonly AccuracyKey[],
  opts: BootstrapOptions = DEFAULT_BOOTSTRAP,
): Map<AccuracyKey, DiffInterval> {
  const totalA = emptyStats();
  const totalB = emptyStats();
  for (const u of units) {
    addStats(totalA, u.a);
    addStats(totalB, u.b);
  }
  const diffOf = (key: AccuracyKey, a: SumStats, b: SumStats): number | null => {
    const va = accuracyValue(key, a);
    const vb = accuracyValue(key, b);
    return va === null || vb === null ? null : vb - va;
  };
  const samples = new Map<AccuracyKey, number[]>(keys.map((k) => [k, []]));
  const n = units.length;
  if (n >= 2) {
    // Flat arrays: the inner loop runs replicates x units times.
    const F = SUM_FIELDS.length;
    const flat = (pick: (u: BootstrapUnit) => SumStats) => {
      const out = new Float64Array(n * F);
      units.forEach((u, i) => SUM_FIELDS.forEach((f, j) => (out[i * F + j] = pick(u)[f])));
      return out;
    };
    const fa = flat((u) => u.a);
    const fb = flat((u) => u.b);
    const accA = new Float64Array(F);
    const accB = new Float64Array(F);
    const toStats = (acc: Float64Array): SumStats => {
      const s = emptyStats();
      SUM_FIELDS.forEach((f, j) => (s[f] = acc[j]));
      return s;
    };
    const rng = mulberry32(opts.seed);
    for (let r = 0; r < opts.replicates; r++) {
      accA.fill(0);
      accB.fill(0);
      for (let i = 0; i < n; i++) {
        const base = Math.floor(rng() * n) * F;
        for (let j = 0; j < F; j++) {
          accA[j] += fa[base + j];
          accB[j] += fb[base + j];
        }
      }
      const sa = toStats(accA);
      const sb = toStats(accB);
      for (const k of keys) {
        const d = diffOf(k, sa, sb);
        if (d !== null && Number.isFinite(d)) samples.get(k)!.push(d);
      }
    }
  }
  const lowP = ((1 - opts.confidence) / 2) * 100;
  const highP = ((1 + opts.confidence) / 2) * 100;
  const out = new Map<AccuracyKey, DiffInterval>();
  for (const k of keys) {
    const s = samples.get(k)!;
    out.set(k, {
      diff: diffOf(k, totalA, totalB),
      ciLow: percentile(s, lowP, "linear"),
      ciHigh: percentile(s, highP, "linear"),
      validReplicates: s.length,
    });
  }
  return out;
}

/** Below this, a CI bound is float noise around 0, not evidence of a difference. */
export const VERDICT_EPSILON = 1e-12;

/** A model is better only when the whole CI lies on its side of 0. */
export function verdict(better: Better, ciLow: number | null, ciHigh: number | null): Verdict {
  if (better === null || ciLow === null || ciHigh === null) return "n/a";
  if (ciLow > VERDICT_EPSILON) return better === "higher" ? "B better" : "A better";
  if (ciHigh < -VERDICT_EPSILON) return better === "higher" ? "A better" : "B better";
  return "no significant difference";
}

export function chooseScheme(sourceCount: number, minSources: number): BootstrapScheme {
  return sourceCount >= minSources ? "sources" : "blocks";
}

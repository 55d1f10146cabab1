// Per-run and pooled metrics. Every accuracy metric is a ratio of sums over ticks
// (or chunk elements), kept as SumStats so that pooling runs and bootstrap
// resampling are both just "add the sums of the chosen pieces" — the pooled value
// is tick-weighted, never a mean of per-run means.
import { DEFAULT_COS_THRESHOLD, DEFAULT_MOVE_THRESHOLD, DIRECTION_CLASSES, cosine, directionClassIndex, moves } from "./direction.js";
import { percentile } from "../util/percentile.js";
import type { Better, ChunkSample, MetricKey, MetricParams, RunMetrics, RunSeries, Tick, TrainerWindow } from "./types.js";

export const DEFAULT_METRIC_PARAMS: Readonly<MetricParams> = {
  moveThreshold: DEFAULT_MOVE_THRESHOLD,
  cosThreshold: DEFAULT_COS_THRESHOLD,
};

/** Additive sufficient statistics of the accuracy metrics. */
export interface SumStats {
  n: number;
  nonFinite: number;
  moving: number;
  absX: number;
  absY: number;
  sqX: number;
  sqY: number;
  dirAgree: number;
  classEq: number;
  stopMoveEq: number;
  chunkAbs: number;
  chunkCount: number;
  chunkSamples: number;
  /** Sum of the trainer's per-window losses, over trainerWindows finite windows. */
  trainerLoss: number;
  trainerWindows: number;
  trainerNonFinite: number;
}

export const SUM_FIELDS = [
  "n",
  "nonFinite",
  "moving",
  "absX",
  "absY",
  "sqX",
  "sqY",
  "dirAgree",
  "classEq",
  "stopMoveEq",
  "chunkAbs",
  "chunkCount",
  "chunkSamples",
  "trainerLoss",
  "trainerWindows",
  "trainerNonFinite",
] as const satisfies readonly (keyof SumStats)[];

export function emptyStats(): SumStats {
  return {
    n: 0,
    nonFinite: 0,
    moving: 0,
    absX: 0,
    absY: 0,
    sqX: 0,
    sqY: 0,
    dirAgree: 0,
    classEq: 0,
    stopMoveEq: 0,
    chunkAbs: 0,
    chunkCount: 0,
    chunkSamples: 0,
    trainerLoss: 0,
    trainerWindows: 0,
    trainerNonFinite: 0,
  };
}

export function addStats(into: SumStats, from: SumStats): SumStats {
  for (const f of SUM_FIELDS) into[f] += from[f];
  return into;
}

export function emptyConfusion(): number[][] {
  return DIRECTION_CLASSES.map(() => DIRECTION_CLASSES.map(() => 0));
}

function finiteVec(v: readonly number[]): boolean {
  return v.length >= 2 && Number.isFinite(v[0]) && Number.isFinite(v[1]);
}

/**
 * Adds ticks to the stats (and the confusion matrix when given). A tick with a
 * non-finite component is counted in nonFinite and otherwise skipped, so one bad
 * value cannot turn a whole run's MAE into NaN.
 */
export function addTicks(s: SumStats, ticks: readonly Tick[], params: MetricParams, confusion?: number[][]): SumStats {
  const { moveThreshold: th, cosThreshold } = params;
  for (const tick of ticks) {
    const { pred, truth } = tick;
    if (!finiteVec(pred) || !finiteVec(truth)) {
      s.nonFinite++;
      continue;
    }
    s.n++;
    const dx = pred[0] - truth[0];
    const dy = pred[1] - truth[1];
    s.absX += Math.abs(dx);
    s.absY += Math.abs(dy);
    s.sqX += dx * dx;
    s.sqY += dy * dy;
    const pm = moves(pred, th);
    const tm = moves(truth, th);
    if (pm === tm) s.stopMoveEq++;
    if (pm || tm) {
      s.moving++;
      // Only a pair that both move can agree: a command inside the deadzone
      // does nothing on the hardware, whatever its direction.
      if (pm && tm && (cosine(pred, truth) ?? -1) > cosThreshold) s.dirAgree++;
    }
    const cp = directionClassIndex(pred, th);
    const ct = directionClassIndex(truth, th);
    if (cp === ct) s.classEq++;
    if (confusion) confusion[ct][cp]++;
  }
  return s;
}

/** Chunk error: absolute error over every (step, axis) that both pred and truth have. */
export function addChunks(s: SumStats, chunks: readonly ChunkSample[]): SumStats {
  for (const c of chunks) {
    const steps = Math.min(c.pred.length, c.truth.length);
    let abs = 0;
    let count = 0;
    for (let k = 0; k < steps; k++) {
      const p = c.pred[k];
      const q = c.truth[k];
      for (let a = 0; a < 2; a++) {
        const d = p[a] - q[a];
        if (Number.isFinite(d)) {
          abs += Math.abs(d);
          count++;
        }
      }
    }
    if (count === 0) continue;
    s.chunkAbs += abs;
    s.chunkCount += count;
    s.chunkSamples++;
  }
  return s;
}

/**
 * Trainer windows (src/replay/trainer-score.ts): each window weighs the same, as
 * the training log's val_loss weighs its samples; a NaN/Inf window is counted apart.
 */
export function addTrainerWindows(s: SumStats, windows: readonly TrainerWindow[]): SumStats {
  for (const w of windows) {
    if (w.loss === null || !Number.isFinite(w.loss)) {
      s.trainerNonFinite++;
      continue;
    }
    s.trainerLoss += w.loss;
    s.trainerWindows++;
  }
  return s;
}

/** The run's trainer windows, or none (bags, discrete heads). */
export function trainerWindowsOf(run: Pick<RunSeries, "trainer">): readonly TrainerWindow[] {
  return run.trainer?.applicable ? run.trainer.windows : [];
}

export const ACCURACY_KEYS = [
  "maeX",
  "maeY",
  "rmseX",
  "rmseY",
  "directionAgreement",
  "directionAccuracy",
  "stopMoveAgreement",
  "chunkMae",
  "trainerLoss",
] as const satisfies readonly MetricKey[];

export type AccuracyKey = (typeof ACCURACY_KEYS)[number];

const ratio = (num: number, den: number): number | null => (den > 0 ? num / den : null);

export function accuracyValue(key: AccuracyKey, s: SumStats): number | null {
  switch (key) {
    case "maeX":
      return ratio(s.absX, s.n);
    case "maeY":
      return ratio(s.absY, s.n);
    case "rmseX":
      return s.n > 0 ? Math.sqrt(s.sqX / s.n) : null;
    case "rmseY":
      return s.n > 0 ? Math.sqrt(s.sqY / s.n) : null;
    case "directionAgreement":
      return ratio(s.dirAgree, s.moving);
    case "directionAccuracy":
      return ratio(s.classEq, s.n);
    case "stopMoveAgreement":
      return ratio(s.stopMoveEq, s.n);
    case "chunkMae":
      return ratio(s.chunkAbs, s.chunkCount);
    case "trainerLoss":
      return ratio(s.trainerLoss, s.trainerWindows);
  }
}

function metricsFrom(
  s: SumStats,
  confusion: number[][],
  latencies: readonly number[],
  sampledFrames: number,
  backboneRuns: number,
  decodeErrors: number,
  invalidOutputs: number,
): RunMetrics {
  return {
    ticks: s.n,
    nonFiniteTicks: s.nonFinite,
    movingTicks: s.moving,
    maeX: accuracyValue("maeX", s),
    maeY: accuracyValue("maeY", s),
    rmseX: accuracyValue("rmseX", s),
    rmseY: accuracyValue("rmseY", s),
    directionAgreement: accuracyValue("directionAgreement", s),
    directionAccuracy: accuracyValue("directionAccuracy", s),
    stopMoveAgreement: accuracyValue("stopMoveAgreement", s),
    confusion,
    chunkMae: accuracyValue("chunkMae", s),
    chunkSamples: s.chunkSamples,
    trainerLoss: accuracyValue("trainerLoss", s),
    trainerWindows: s.trainerWindows,
    trainerNonFiniteWindows: s.trainerNonFinite,
    latencyP50Ms: percentile(latencies, 50),
    latencyP99Ms: percentile(latencies, 99),
    latencySamples: latencies.filter(Number.isFinite).length,
    backbonePerFrame: sampledFrames > 0 ? backboneRuns / sampledFrames : null,
    sampledFrames,
    backboneRuns,
    decodeErrors,
    invalidOutputs,
  };
}

export function runStats(run: Pick<RunSeries, "ticks" | "chunks" | "trainer">, params: MetricParams = DEFAULT_METRIC_PARAMS): SumStats {
  return addTrainerWindows(addChunks(addTicks(emptyStats(), run.ticks, params), run.chunks), trainerWindowsOf(run));
}

export function computeRunMetrics(run: RunSeries, params: MetricParams = DEFAULT_METRIC_PARAMS): RunMetrics {
  return poolMetrics([run], params);
}

/** Pools runs as if they were one long run (tick-weighted; latencies concatenated). */
export function poolMetrics(runs: readonly RunSeries[], params: MetricParams = DEFAULT_METRIC_PARAMS): RunMetrics {
  const s = emptyStats();
  const confusion = emptyConfusion();
  const latencies: number[] = [];
  let sampledFrames = 0;
  let backboneRuns = 0;
  let decodeErrors = 0;
  let invalidOutputs = 0;
  for (const r of runs) {
    addTicks(s, r.ticks, params, confusion);
    addChunks(s, r.chunks);
    addTrainerWindows(s, trainerWindowsOf(r));
    for (const l of r.latenciesMs) latencies.push(l);
    sampledFrames += r.sampledFrames;
    backboneRuns += r.backboneRuns;
    decodeErrors += r.decodeErrors;
    invalidOutputs += r.outcome?.invalidOutputs ?? 0;
  }
  return metricsFrom(s, confusion, latencies, sampledFrames, backboneRuns, decodeErrors, invalidOutputs);
}

export interface MetricSpec {
  key: MetricKey;
  label: string;
  unit: string;
  better: Better;
  /** Differences of this metric get a bootstrap CI (accuracy metrics only). */
  bootstrap: boolean;
  /** Decimal places for display. */
  digits: number;
  /** Defined for episodes only: left out of a comparison without any episode source. */
  episodesOnly?: boolean;
  /** A count of partial problems: shown only when some model has any, so a clean run's table stays short. */
  problemCount?: boolean;
}

/** The comparison table's rows, in order. */
export const METRICS: readonly MetricSpec[] = [
  { key: "ticks", label: "ticks evaluated", unit: "", better: null, bootstrap: false, digits: 0 },
  { key: "maeX", label: "MAE linear_x", unit: "", better: "lower", bootstrap: true, digits: 4 },
  { key: "maeY", label: "MAE linear_y", unit: "", better: "lower", bootstrap: true, digits: 4 },
  { key: "rmseX", label: "RMSE linear_x", unit: "", better: "lower", bootstrap: true, digits: 4 },
  { key: "rmseY", label: "RMSE linear_y", unit: "", better: "lower", bootstrap: true, digits: 4 },
  { key: "directionAgreement", label: "direction agreement", unit: "", better: "higher", bootstrap: true, digits: 4 },
  { key: "directionAccuracy", label: "direction-class accuracy", unit: "", better: "higher", bootstrap: true, digits: 4 },
  { key: "stopMoveAgreement", label: "stop/move agreement", unit: "", better: "higher", bootstrap: true, digits: 4 },
  { key: "chunkMae", label: "chunk MAE", unit: "", better: "lower", bootstrap: true, digits: 4 },
  // The training log's val_loss, recomputed: model units, every window the trainer takes.
  { key: "trainerLoss", label: "trainer loss (Huber)", unit: "", better: "lower", bootstrap: true, digits: 4, episodesOnly: true },
  { key: "trainerWindows", label: "trainer windows", unit: "", better: null, bootstrap: false, digits: 0, episodesOnly: true },
  { key: "latencyP50Ms", label: "latency p50", unit: "ms", better: "lower", bootstrap: false, digits: 1 },
  { key: "latencyP99Ms", label: "latency p99", unit: "ms", better: "lower", bootstrap: false, digits: 1 },
  { key: "backbonePerFrame", label: "backbone passes / frame", unit: "", better: "lower", bootstrap: false, digits: 3 },
  // Partial problems, so a run that lost part of its input says so in the table.
  { key: "decodeErrors", label: "decode errors", unit: "", better: null, bootstrap: false, digits: 0 },
  { key: "invalidOutputs", label: "invalid model outputs (NaN/Inf)", unit: "", better: null, bootstrap: false, digits: 0, problemCount: true },
  { key: "nonFiniteTicks", label: "ticks dropped (NaN/Inf)", unit: "", better: null, bootstrap: false, digits: 0, problemCount: true },
];

export function metricValue(m: RunMetrics, key: MetricKey): number | null {
  return m[key];
}

export function isAccuracyKey(key: MetricKey): key is AccuracyKey {
  return (ACCURACY_KEYS as readonly MetricKey[]).includes(key);
}

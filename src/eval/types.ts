// Data shapes of the evaluation layer. The runner (models over bags / episodes)
// produces RunSeries; everything after that is pure and lives in src/eval.
// Metric values are `number | null` rather than NaN so that what a caller holds in
// memory is exactly what report.json carries (JSON has no NaN).

/** A velocity command (linear_x, linear_y); +x forward, +y left. */
export type Vec2 = [number, number];

/** One control tick: what the pipeline sent (after safety; zero when stopped) and the teleop command active then. */
export interface Tick {
  /** Seconds (bag or episode time). */
  t: number;
  pred: Vec2;
  truth: Vec2;
}

/** A predicted chunk and the recorded steps it should have matched. */
export interface ChunkSample {
  t: number;
  /** N x 2 predicted steps. */
  pred: number[][];
  /** N x 2 recorded steps that followed; may be shorter near the end of a source. */
  truth: number[][];
}

export type SourceKind = "bag" | "episode";

/** Everything the runner recorded for one model over one source. */
export interface RunSeries {
  model: string;
  /** Bag or episode path. */
  source: string;
  sourceKind: SourceKind;
  ticks: Tick[];
  chunks: ChunkSample[];
  latenciesMs: number[];
  sampledFrames: number;
  backboneRuns: number;
  decodeErrors: number;
  /** Set when the source failed; such runs are reported but kept out of pooled metrics and comparisons. */
  error?: string;
}

export interface MetricParams {
  /** |v| above this counts as moving (the hardware deadzone). */
  moveThreshold: number;
  /** Cosine above this counts as the same direction. */
  cosThreshold: number;
}

export interface RunMetrics {
  /** Ticks evaluated (finite ones). */
  ticks: number;
  /** Ticks skipped because pred or truth held NaN/Inf. */
  nonFiniteTicks: number;
  /** Ticks where pred or truth moves: the denominator of directionAgreement. */
  movingTicks: number;
  maeX: number | null;
  maeY: number | null;
  rmseX: number | null;
  rmseY: number | null;
  directionAgreement: number | null;
  directionAccuracy: number | null;
  stopMoveAgreement: number | null;
  /** confusion[truthClass][predClass], classes in DIRECTION_CLASSES order. */
  confusion: number[][];
  chunkMae: number | null;
  chunkSamples: number;
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  latencySamples: number;
  backbonePerFrame: number | null;
  sampledFrames: number;
  backboneRuns: number;
  decodeErrors: number;
}

export type MetricKey =
  | "ticks"
  | "maeX"
  | "maeY"
  | "rmseX"
  | "rmseY"
  | "directionAgreement"
  | "directionAccuracy"
  | "stopMoveAgreement"
  | "chunkMae"
  | "latencyP50Ms"
  | "latencyP99Ms"
  | "backbonePerFrame"
  | "decodeErrors";

/** null: informational, no "better" direction. */
export type Better = "higher" | "lower" | null;

export type Verdict = "B better" | "A better" | "no significant difference" | "n/a";

export interface MetricDiff {
  key: MetricKey;
  /** B - A on the full data; null when either side is undefined. */
  diff: number | null;
  ciLow: number | null;
  ciHigh: number | null;
  /** Replicates in which both sides were defined (the CI is taken over these). */
  validReplicates: number;
  verdict: Verdict;
}

export type BootstrapScheme = "sources" | "blocks";

export interface PairComparison {
  a: string;
  b: string;
  scheme: BootstrapScheme;
  /** Resampling units: sources, or time blocks over all sources. */
  units: number;
  replicates: number;
  seed: number;
  blockSeconds: number;
  confidence: number;
  /** Why no CI could be computed, if so. */
  note?: string;
  diffs: MetricDiff[];
}

export interface TableRow {
  key: MetricKey;
  label: string;
  better: Better;
  /** One per model, in Comparison.models order. */
  values: (number | null)[];
  /** Indices of the best value(s); empty when informational or all null. */
  best: number[];
}

export interface Comparison {
  models: string[];
  /** Sources every model ran without error: the ones pooled and compared. */
  sources: string[];
  excludedSources: { source: string; reason: string }[];
  params: MetricParams;
  pooled: { model: string; metrics: RunMetrics }[];
  rows: TableRow[];
  /** The first model (A) against each other model (B). */
  pairs: PairComparison[];
}

export interface SeriesPoint {
  t: number;
  pred: Vec2;
  truth: Vec2;
}

export interface ReportRun {
  model: string;
  source: string;
  sourceKind: SourceKind;
  error?: string;
  metrics: RunMetrics;
  series: SeriesPoint[];
}

export interface EvalReport {
  /** ISO 8601. */
  generated: string;
  models: string[];
  sources: { source: string; kind: SourceKind }[];
  runs: ReportRun[];
  comparison: Comparison;
}

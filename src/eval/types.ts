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

/** One training window of an episode, scored as the trainer scores it (src/replay/trainer-score.ts). */
export interface TrainerWindow {
  /** Index of the window's first frame. */
  start: number;
  /** Episode time of that frame (s), which places the window in a bootstrap block. */
  t: number;
  /** Mean Huber loss over W x N x 2; null when the head output held NaN/Inf. */
  loss: number | null;
}

/** The trainer's own score of one run: only episodes have it, and only continuous heads. */
export type TrainerRunScore =
  | {
      applicable: true;
      windows: TrainerWindow[];
      /** Windows left out because one of their frames could not be decoded. */
      skippedWindows: number;
      /** Why the run gives fewer windows than expected (e.g. an episode shorter than W + N). */
      note?: string;
    }
  | { applicable: false; reason: string };

/**
 * What became of a source's camera frames on their way to an action: the runner
 * counts it (replay/timed-policy.ts), the verdict (run-verdict.ts) reads it, and
 * the table shows the partial problems.
 */
export interface RunOutcome {
  /** Camera frames the source delivered to the pipeline (an episode: its frames). */
  framesReceived: number;
  /** Frames the policy was given (after sampling, stale frames and no-instruction drops). */
  steps: number;
  /** Steps whose image could not be decoded or preprocessed. */
  decodeErrors: number;
  /** Steps whose model output held NaN/Inf (backbone features or head actions). */
  invalidOutputs: number;
  /** Steps that failed for another reason. */
  otherErrors: number;
  /** Chunks that could drive the robot: finite, from a full enough window. */
  actions: number;
  /** Whether the policy was ever given an instruction. */
  instructed: boolean;
  /** The first message of each kind of failure, to name in a verdict. */
  firstErrors: string[];
}

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
  /** Episodes only: the loss the training log reports, over the trainer's windows. */
  trainer?: TrainerRunScore;
  /** What became of the frames; absent where the runner did not count (runs built by hand). */
  outcome?: RunOutcome;
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
  /** Mean over the trainer's windows of its Huber loss (normalised units); null without any. */
  trainerLoss: number | null;
  /** Windows behind trainerLoss (finite ones). */
  trainerWindows: number;
  /** Windows whose head output held NaN/Inf, left out of trainerLoss. */
  trainerNonFiniteWindows: number;
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  latencySamples: number;
  backbonePerFrame: number | null;
  sampledFrames: number;
  backboneRuns: number;
  decodeErrors: number;
  /** Model outputs with NaN/Inf (features or actions): steps that gave no action. */
  invalidOutputs: number;
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
  | "trainerLoss"
  | "trainerWindows"
  | "latencyP50Ms"
  | "latencyP99Ms"
  | "backbonePerFrame"
  | "decodeErrors"
  | "invalidOutputs"
  | "nonFiniteTicks";

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

/** One episode's trainer score for one model. */
export interface TrainerEpisodeLoss {
  source: string;
  /** Mean Huber loss over this episode's windows; null when it has none. */
  mean: number | null;
  windows: number;
  skippedWindows: number;
  nonFiniteWindows: number;
  note?: string;
}

/**
 * report.json `trainer_loss[<model>]`: the validation loss as the training log
 * computes it (each window weighted equally), over every episode the model ran
 * without error. Absent for a model that ran no episode.
 */
export type TrainerLossSummary =
  | { applicable: true; mean: number | null; windows: number; episodes: TrainerEpisodeLoss[] }
  | { applicable: false; reason: string };

export interface EvalReport {
  /** ISO 8601. */
  generated: string;
  models: string[];
  sources: { source: string; kind: SourceKind }[];
  runs: ReportRun[];
  comparison: Comparison;
  /** Model name -> its trainer score over the episodes (see TrainerLossSummary). */
  trainer_loss: Record<string, TrainerLossSummary>;
}

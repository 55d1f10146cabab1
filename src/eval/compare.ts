// Comparison of models run over the same sources: pooled metric table with the
// best value per row, and for the first model (A) against each other (B) the
// difference B - A with a paired bootstrap CI and a verdict.
import { DEFAULT_ALIGN, DEFAULT_BOOTSTRAP, blockUnits, checkAligned, chooseScheme, pairedBootstrap, sourceUnits, verdict } from "./bootstrap.js";
import type { AlignOptions, BootstrapOptions, PairedRuns } from "./bootstrap.js";
import { DEFAULT_METRIC_PARAMS, METRICS, isAccuracyKey, metricValue, poolMetrics } from "./metrics.js";
import type { AccuracyKey } from "./metrics.js";
import type { Better, Comparison, MetricDiff, MetricParams, PairComparison, RunSeries, TableRow } from "./types.js";

export interface CompareOptions {
  params?: Partial<MetricParams>;
  bootstrap?: Partial<BootstrapOptions>;
  /** Block length for the block bootstrap (s). Default 2. */
  blockSeconds?: number;
  /** Resample whole sources from this many sources on; below, time blocks. Default 5. */
  minSourcesForSourceResampling?: number;
  align?: Partial<AlignOptions>;
  /** Model order (A first). Default: order of first appearance in runs. */
  models?: string[];
}

export const DEFAULT_BLOCK_SECONDS = 2;
export const DEFAULT_MIN_SOURCES = 5;

function uniqueInOrder(values: Iterable<string>): string[] {
  return [...new Set(values)];
}

/** Indices of the best values; ties (to float noise) are all marked. */
export function bestIndices(values: readonly (number | null)[], better: Better): number[] {
  if (better === null) return [];
  const present = values.filter((v): v is number => v !== null && Number.isFinite(v));
  if (present.length === 0) return [];
  const best = better === "higher" ? Math.max(...present) : Math.min(...present);
  const tol = 1e-12 * Math.max(1, Math.abs(best));
  const out: number[] = [];
  values.forEach((v, i) => {
    if (v !== null && Math.abs(v - best) <= tol) out.push(i);
  });
  return out;
}

export function compareModels(runs: readonly RunSeries[], opts: CompareOptions = {}): Comparison {
  const params: MetricParams = { ...DEFAULT_METRIC_PARAMS, ...opts.params };
  const boot: BootstrapOptions = { ...DEFAULT_BOOTSTRAP, ...opts.bootstrap };
  const align: AlignOptions = { ...DEFAULT_ALIGN, ...opts.align };
  const blockSeconds = opts.blockSeconds ?? DEFAULT_BLOCK_SECONDS;
  const minSources = opts.minSourcesForSourceResampling ?? DEFAULT_MIN_SOURCES;

  const models = opts.models ?? uniqueInOrder(runs.map((r) => r.model));
  const byKey = new Map<string, RunSeries>();
  for (const r of runs) {
    const key = JSON.stringify([r.model, r.source]);
    if (byKey.has(key)) throw new Error(`two runs of model ${JSON.stringify(r.model)} on source ${JSON.stringify(r.source)}`);
    byKey.set(key, r);
  }
  const runOf = (model: string, source: string) => byKey.get(JSON.stringify([model, source]));

  const sources: string[] = [];
  const excludedSources: { source: string; reason: string }[] = [];
  for (const source of uniqueInOrder(runs.map((r) => r.source))) {
    const reasons: string[] = [];
    for (const m of models) {
      const r = runOf(m, source);
      if (!r) reasons.push(`no run for model ${m}`);
      else if (r.error !== undefined) reasons.push(`model ${m} failed: ${r.error}`);
    }
    if (reasons.length > 0) excludedSources.push({ source, reason: reasons.join("; ") });
    else sources.push(source);
  }

  const runsOf = (m: string) => sources.map((s) => runOf(m, s)!);
  const pooled = models.map((model) => ({ model, metrics: poolMetrics(runsOf(model), params) }));

  const hasEpisodes = runs.some((r) => r.sourceKind === "episode");
  const specs = METRICS.filter(
    (spec) => (hasEpisodes || !spec.episodesOnly) && (!spec.problemCount || pooled.some((p) => (metricValue(p.metrics, spec.key) ?? 0) > 0)),
  );
  const rows: TableRow[] = specs.map((spec) => {
    const values = pooled.map((p) => metricValue(p.metrics, spec.key));
    return { key: spec.key, label: spec.label, better: spec.better, values, best: bestIndices(values, spec.better) };
  });

  const pairs: PairComparison[] = [];
  for (let j = 1; j < models.length; j++) {
    const a = models[0];
    const b = models[j];
    const paired: PairedRuns[] = sources.map((s) => ({ a: runOf(a, s)!, b: runOf(b, s)! }));
    for (const p of paired) checkAligned(p.a, p.b, align);
    const scheme = chooseScheme(paired.length, minSources);
    const units = scheme === "sources" ? sourceUnits(paired, params) : blockUnits(paired, params, blockSeconds);
    const keys = specs.filter((s) => s.bootstrap && isAccuracyKey(s.key)).map((s) => s.key as AccuracyKey);
    const intervals = pairedBootstrap(units, keys, boot);
    const pa = pooled[0].metrics;
    const pb = pooled[j].metrics;
    const diffs: MetricDiff[] = specs.map((spec) => {
      const iv = isAccuracyKey(spec.key) && spec.bootstrap ? intervals.get(spec.key) : undefined;
      if (iv) {
        return { key: spec.key, ...iv, verdict: verdict(spec.better, iv.ciLow, iv.ciHigh) };
      }
      const va = metricValue(pa, spec.key);
      const vb = metricValue(pb, spec.key);
      return {
        key: spec.key,
        diff: va === null || vb === null ? null : vb - va,
        ciLow: null,
        ciHigh: null,
        validReplicates: 0,
        verdict: "n/a",
      };
    });
    const pair: PairComparison = {
      a,
      b,
      scheme,
      units: units.length,
      replicates: boot.replicates,
      seed: boot.seed,
      blockSeconds,
      confidence: boot.confidence,
      diffs,
    };
    if (units.length < 2) pair.note = `only ${units.length} resampling unit(s): no confidence interval`;
    pairs.push(pair);
  }

  return { models, sources, excludedSources, params, pooled, rows, pairs };
}

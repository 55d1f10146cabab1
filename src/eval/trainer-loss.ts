// Per-model summary of the trainer's own score (the training log's val_loss,
// recomputed on the evaluated episodes), for report.json `trainer_loss` and for
// the lines printed under the comparison table.
import { addTrainerWindows, emptyStats, accuracyValue } from "./metrics.js";
import { formatValue, printable } from "./table.js";
import type { RunSeries, TrainerEpisodeLoss, TrainerLossSummary } from "./types.js";

/** Digits of the trainer loss wherever it is shown (the table row uses the same). */
const DIGITS = 4;

/**
 * One summary per model that ran at least one episode without error. The mean
 * weighs every window equally (sum of window losses / windows), as the training
 * log averages equal-size batches of samples; it is not a mean of episode means.
 */
export function trainerLossSummaries(runs: readonly RunSeries[], models: readonly string[]): Record<string, TrainerLossSummary> {
  const out: Record<string, TrainerLossSummary> = {};
  for (const model of models) {
    const scored = runs.filter((r) => r.model === model && r.sourceKind === "episode" && r.error === undefined && r.trainer);
    if (scored.length === 0) continue;
    // One model has one head kind: either every episode has a score or none has.
    const first = scored[0]!.trainer!;
    if (!first.applicable) {
      out[model] = { applicable: false, reason: first.reason };
      continue;
    }
    const total = emptyStats();
    const episodes: TrainerEpisodeLoss[] = scored.map((r) => {
      const t = r.trainer!;
      const s = emptyStats();
      if (t.applicable) addTrainerWindows(s, t.windows);
      addTrainerWindows(total, t.applicable ? t.windows : []);
      const e: TrainerEpisodeLoss = {
        source: r.source,
        mean: accuracyValue("trainerLoss", s),
        windows: s.trainerWindows,
        skippedWindows: t.applicable ? t.skippedWindows : 0,
        nonFiniteWindows: s.trainerNonFinite,
      };
      if (t.applicable && t.note) e.note = t.note;
      return e;
    });
    out[model] = { applicable: true, mean: accuracyValue("trainerLoss", total), windows: total.trainerWindows, episodes };
  }
  return out;
}

/** Episode lines printed per model up to this many episodes; report.json/html always have all. */
const MAX_PRINTED_EPISODES = 12;

/** Lines for the terminal, under the comparison table. */
export function formatTrainerLoss(summaries: Readonly<Record<string, TrainerLossSummary>>): string {
  const lines: string[] = [];
  for (const [model, s] of Object.entries(summaries)) {
    if (!s.applicable) {
      lines.push(`trainer loss, ${printable(model)}: not applicable (${s.reason})`);
      continue;
    }
    const empty = s.episodes.filter((e) => e.windows === 0).length;
    lines.push(
      `trainer loss, ${printable(model)}: ${formatValue(s.mean, DIGITS)} over ${s.windows} window(s) of ${s.episodes.length} episode(s)` +
        (empty ? `; ${empty} episode(s) gave no window` : "") +
        " (Huber, delta 1, on the raw head output vs actions[:, :2] clamped to [-1, 1], as the training log's val_loss)",
    );
    if (s.episodes.length <= MAX_PRINTED_EPISODES) {
      for (const e of s.episodes) {
        lines.push(
          `  ${formatValue(e.mean, DIGITS).padStart(7)}  ${String(e.windows).padStart(4)} window(s)  ${printable(e.source)}${e.note ? `  (${e.note})` : ""}`,
        );
      }
    } else {
      lines.push(`  per-episode values: report.json trainer_loss[${JSON.stringify(printable(model))}].episodes and report.html`);
    }
  }
  return lines.length ? lines.join("\n") + "\n" : "";
}

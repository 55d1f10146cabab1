// The score the trainer itself gives an episode: the validation loss its log
// reports. Read in the 2025-12-04 training code (mobile_vla_h5_dataset.py and
// MobileVLALSTMDecoder at 37e0ead, see REFERENCE.md "training labels and loss"):
// - every window start s = 0 .. len-(W+N) is one sample; shorter episodes give none;
// - the window is frames s .. s+W-1, the head runs over their W features from a
//   fresh LSTM state;
// - labels are actions[:, :2] clamped to [-1, 1]; the chunk at window position j
//   is scored against actions[s+j .. s+j+N-1] (the action recorded WITH frame s+j
//   is its first label);
// - the loss is huber_loss(pred, labels) (delta 1, mean) over W x N x 2, on the raw
//   tanh output (no denormalisation), and the logged val_loss is its mean over
//   samples, each sample weighted equally.
// Features come from the robot's own path (VlaPolicy), computed once per frame;
// only the head runs once per window here.
import { huber } from "../eval/huber.js";
import type { TrainerRunScore, TrainerWindow, Vec2 } from "../eval/types.js";
import { headOutputWidth, type Manifest } from "../model/manifest.js";
import type { VlaModel } from "../model/vla-model.js";
import { clampUnit } from "../mobile-vla/action-range.js";

/** Axes training scored: actions[:, :2] (linear_x, linear_y). */
const TRAINED_AXES = 2;

/**
 * The training labels of an episode: actions[:, :2] of every frame, clamped to
 * [-1, 1] as the dataset's __getitem__ clamps them. Robot-style metrics score
 * against the same labels.
 */
export function episodeLabels(actions: Float32Array, actionDim: number, source: string): Vec2[] {
  if (actionDim < TRAINED_AXES) {
    throw new Error(`${source}: actions have ${actionDim} column(s); expected at least ${TRAINED_AXES} (linear_x, linear_y)`);
  }
  const frames = Math.floor(actions.length / actionDim);
  const out: Vec2[] = [];
  for (let i = 0; i < frames; i++) out.push(clampUnit([actions[i * actionDim]!, actions[i * actionDim + 1]!]));
  return out;
}

/** Number of samples the trainer takes from an episode of `frames` frames. */
export function trainerWindowCount(frames: number, window: number, chunk: number): number {
  return Math.max(0, frames - (window + chunk) + 1);
}

/** Why a manifest's head has no trainer score, or null when it has one. */
export function trainerScoreUnavailable(m: Manifest): string | null {
  if (m.head.kind !== "continuous") {
    return `${m.head.kind} head: training used a classification loss over its classes, not the continuous head's Huber, so this score does not apply`;
  }
  const C = headOutputWidth(m);
  if (C !== TRAINED_AXES) return `the head outputs ${C} axes per step; the training loss scores ${TRAINED_AXES} (actions[:, :2])`;
  return null;
}

/**
 * Mean Huber loss of one window's head output (W x N x 2, normalised units) against
 * the labels starting at frame `start`; null when the output holds NaN/Inf.
 */
export function windowLoss(out: Float32Array, labels: readonly Vec2[], start: number, window: number, chunk: number): number | null {
  const expected = window * chunk * TRAINED_AXES;
  if (out.length !== expected) throw new Error(`head output: expected ${expected} values (W ${window} x N ${chunk} x ${TRAINED_AXES}), got ${out.length}`);
  if (start + window + chunk - 1 > labels.length) {
    throw new Error(`window at frame ${start} needs labels up to frame ${start + window + chunk - 2}, the episode has ${labels.length} frames`);
  }
  let sum = 0;
  for (let j = 0; j < window; j++) {
    for (let k = 0; k < chunk; k++) {
      const label = labels[start + j + k]!;
      for (let a = 0; a < TRAINED_AXES; a++) {
        const p = out[(j * chunk + k) * TRAINED_AXES + a]!;
        if (!Number.isFinite(p)) return null;
        sum += huber(p - label[a]!);
      }
    }
  }
  return sum / expected;
}

/**
 * Scores every training window of one episode. `features[i]` is frame i's feature,
 * undefined where the frame could not be decoded; `labels` come from episodeLabels.
 */
export async function trainerScore(model: VlaModel, features: readonly (Float32Array | undefined)[], labels: readonly Vec2[]): Promise<TrainerRunScore> {
  const m = model.manifest;
  const reason = trainerScoreUnavailable(m);
  if (reason) return { applicable: false, reason };
  const W = m.window;
  const N = m.chunk;
  const D = m.feature_dim;
  const frames = labels.length;
  const count = trainerWindowCount(frames, W, N);
  if (count === 0) {
    return {
      applicable: true,
      windows: [],
      skippedWindows: 0,
      note: `${frames} frames, fewer than W + N = ${W + N}: the trainer takes no window from this episode`,
    };
  }
  const windows: TrainerWindow[] = [];
  let skippedWindows = 0;
  const input = new Float32Array(W * D);
  for (let s = 0; s < count; s++) {
    let complete = true;
    for (let j = 0; j < W && complete; j++) {
      const f = features[s + j];
      if (!f) complete = false;
      else input.set(f, j * D);
    }
    if (!complete) {
      skippedWindows++;
      continue;
    }
    // Always W rows: every training window starts from a zero LSTM state at frame s.
    const out = await model.runHead(input, W);
    windows.push({ start: s, t: s * m.action_step_s, loss: windowLoss(out, labels, s, W, N) });
  }
  const note = skippedWindows > 0 ? `${skippedWindows} of ${count} windows left out: a frame in them could not be decoded` : undefined;
  return note ? { applicable: true, windows, skippedWindows, note } : { applicable: true, windows, skippedWindows };
}

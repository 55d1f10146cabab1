// Action chunks indexed by time. A chunk is stamped with its newest frame's time and
// step k stands for [stamp + k*stepS, stamp + (k+1)*stepS), so asking "what now?"
// with the current time skips by construction the steps that went by while the
// inference ran, and a chunk whose last step is over simply stops answering.
import { chunkUsable, type ActionChunk } from "../policy/chunk.js";

export type Aggregation = "latest" | "ensemble";
export const AGGREGATIONS: readonly Aggregation[] = ["latest", "ensemble"];

export interface ChunkQueueOptions {
  aggregation: Aggregation;
  /** Temporal ensembling weight exp(-k*i); only used by "ensemble". */
  ensembleK: number;
  /**
   * Hard cap on stored chunks, oldest dropped first. Expiry already bounds the
   * queue to (chunk length / frame interval) chunks; this guards a caller that
   * pushes without ever asking for an action.
   */
  maxChunks?: number;
}

export type QueueAnswer =
  /** `stamp`/`step`: the newest chunk used and its step index; `used`: how many chunks were combined. */
  | { kind: "action"; action: number[]; stamp: number; step: number; used: number }
  /** The newest chunk covering t is invalid (NaN/Inf): nothing may move the robot. */
  | { kind: "invalid"; stamp: number }
  /** No chunk covers t. */
  | { kind: "none" };

// Floating-point times like 0.1 + 0.3 land a hair below a step boundary; a
// nanosecond of slack keeps boundaries where a human computing by hand puts them.
const EPS = 1e-9;

/** Time (s) at which the chunk's last step ends. */
export function chunkEnd(chunk: Pick<ActionChunk, "stamp" | "stepS" | "actions">): number {
  return chunk.stamp + chunk.actions.length * chunk.stepS;
}

/** Index of the chunk's step covering time t, or null when t is before the chunk or after its last step. */
export function stepIndex(chunk: Pick<ActionChunk, "stamp" | "stepS" | "actions">, t: number): number | null {
  const rel = (t - chunk.stamp) / chunk.stepS;
  if (rel < -EPS) return null;
  const k = Math.max(0, Math.floor(rel + EPS));
  return k < chunk.actions.length ? k : null;
}

function checkEnsembleK(k: number): void {
  if (!(k >= 0) || !Number.isFinite(k)) throw new RangeError(`ChunkQueue: ensembleK must be a finite number >= 0, got ${k}`);
}

export class ChunkQueue {
  private opts: Required<ChunkQueueOptions>;
  /** Sorted by stamp, ties in push order: index 0 is the oldest. */
  private items: ActionChunk[] = [];
  /** Latest time anyone asked about; chunks ending before it are gone for good. */
  private horizon = -Infinity;

  constructor(opts: ChunkQueueOptions) {
    checkEnsembleK(opts.ensembleK);
    this.opts = { maxChunks: 64, ...opts };
  }

  get aggregation(): Aggregation {
    return this.opts.aggregation;
  }

  /** How the stored chunks answer from the next actionAt on (a live parameter change); the chunks stay. */
  setAggregation(aggregation: Aggregation, ensembleK: number): void {
    checkEnsembleK(ensembleK);
    this.opts = { ...this.opts, aggregation, ensembleK };
  }

  get size(): number {
    return this.items.length;
  }

  /** The stored chunks, oldest first (copies, for debugging and diagnostics). */
  chunks(): ActionChunk[] {
    return this.items.map((c) => ({ ...c, actions: c.actions.map((r) => [...r]) }));
  }

  /**
   * Stores a chunk. One that is not usable (chunkUsable: flagged, non-finite or
   * ragged) is stored as invalid, because it still has to block the older chunks it
   * supersedes. Returns false when the chunk had already
   * expired (e.g. inference took longer than the whole chunk) and was dropped.
   */
  push(chunk: ActionChunk): boolean {
    if (!(chunk.stepS > 0) || !Number.isFinite(chunk.stepS) || !Number.isFinite(chunk.stamp) || chunk.actions.length === 0) {
      throw new RangeError(
        `ChunkQueue.push: a chunk needs a finite stamp, stepS > 0 and at least one step (stamp ${chunk.stamp}, stepS ${chunk.stepS}, ${chunk.actions.length} steps)`,
      );
    }
    const invalid = !chunkUsable(chunk);
    // Copied so a caller reusing its buffers cannot change what the robot will do.
    const stored: ActionChunk = { stamp: chunk.stamp, stepS: chunk.stepS, actions: chunk.actions.map((r) => [...r]), invalid };
    if (chunk.classIds) stored.classIds = [...chunk.classIds];
    if (chunkEnd(stored) <= this.horizon + EPS) return false;
    // The model just said it cannot be trusted for the newest view: the older
    // chunks answer older views and must not take over once this one expires.
    if (invalid) this.items = this.items.filter((c) => c.stamp > stored.stamp);
    let i = this.items.length;
    while (i > 0 && this.items[i - 1].stamp > stored.stamp) i--;
    this.items.splice(i, 0, stored);
    while (this.items.length > this.opts.maxChunks) this.items.shift();
    return true;
  }

  clear(): void {
    this.items = [];
  }

  /** Drops every chunk whose last step ended at or before t. */
  prune(t: number): void {
    if (t > this.horizon) this.horizon = t;
    this.items = this.items.filter((c) => chunkEnd(c) > this.horizon + EPS);
  }

  /**
   * The action for time t. Chunks that have fully expired by t are dropped, so t
   * is expected not to go backwards between calls.
   *
   * Among the chunks covering t, the newest invalid one hides everything older
   * than itself: an older valid chunk answers an older view of the world, and
   * the model just said it cannot be trusted for this one.
   *
   * latest: the newest covering chunk's step.
   * ensemble: ACT's temporal ensembling, sum_i w_i a_i / sum_i w_i with
   * w_i = exp(-k*i) over the covering chunks ordered OLDEST FIRST, so the oldest
   * chunk gets i = 0 and the largest weight, exactly as ACT (Zhao et al. 2023,
   * `exp_weights = np.exp(-k * np.arange(n))` over actions_for_curr_step, which is
   * in chunk creation order). With k > 0 this favours the older predictions (more
   * smoothing); k = 0 is a plain mean.
   */
  actionAt(t: number): QueueAnswer {
    this.prune(t);
    const covering: { chunk: ActionChunk; step: number }[] = [];
    for (const chunk of this.items) {
      const step = stepIndex(chunk, t);
      if (step !== null) covering.push({ chunk, step });
    }
    let firstUsable = 0;
    for (let i = covering.length - 1; i >= 0; i--) {
      if (covering[i].chunk.invalid) {
        firstUsable = i + 1;
        break;
      }
    }
    const usable = covering.slice(firstUsable);
    if (usable.length === 0) {
      return firstUsable > 0 ? { kind: "invalid", stamp: covering[firstUsable - 1].chunk.stamp } : { kind: "none" };
    }
    const newest = usable[usable.length - 1];
    if (this.opts.aggregation === "latest") {
      return { kind: "action", action: [...newest.chunk.actions[newest.step]], stamp: newest.chunk.stamp, step: newest.step, used: 1 };
    }
    const width = newest.chunk.actions[newest.step].length;
    // A chunk of another width (a model swap) cannot be averaged with this one.
    const rows = usable.map(({ chunk, step }) => chunk.actions[step]).filter((r) => r.length === width);
    const sum = new Array<number>(width).fill(0);
    let wsum = 0;
    rows.forEach((row, i) => {
      const w = Math.exp(-this.opts.ensembleK * i);
      for (let a = 0; a < width; a++) sum[a] += w * row[a];
      wsum += w;
    });
    return { kind: "action", action: sum.map((s) => s / wsum), stamp: newest.chunk.stamp, step: newest.step, used: rows.length };
  }
}

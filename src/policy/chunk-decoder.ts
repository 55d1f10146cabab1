// The ONE place where the head's output becomes something the robot can use: the
// manifest's window position is picked, a discrete head's logits become class ids and
// the class table's rows, every value is denormalised into the teleop's units, and a
// chunk the robot must not act on is flagged invalid. Everything after this (the chunk
// queue, safety, evaluation) sees velocities in m/s and never reads the manifest.
import { chunkIndex, headOutputWidth, type Denormalize, type Manifest } from "../model/manifest.js";
import type { ActionChunk } from "./chunk.js";

/** (linear_x, linear_y) in the teleop's units (m/s). */
type Velocity = [number, number];

/** The part of the manifest that says how to read the head's output. */
export type ChunkContract = Pick<Manifest, "head" | "action_axes" | "chunk" | "chunk_position" | "action_step_s">;

/**
 * Maps one normalised action back to the training data's units, per axis.
 * minmax: a in [-1, 1] -> (a + 1) / 2 * (max - min) + min (the inverse of the
 * trainer's normalisation); scale: a * scale (the robot code's max-speed multiply,
 * a negative scale being its INVERT_X_AXIS). Both are affine, so denormalising each
 * chunk before the queue ensembles them gives what ensembling first would.
 */
export function denormalize(spec: Denormalize, action: readonly number[]): number[] {
  const per = spec.kind === "minmax" ? spec.min.length : spec.scale.length;
  if (action.length !== per) throw new RangeError(`denormalize: action has ${action.length} axes, the manifest's denormalize has ${per}`);
  if (spec.kind === "scale") return action.map((a, i) => a * spec.scale[i]!);
  return action.map((a, i) => ((a + 1) / 2) * (spec.max[i]! - spec.min[i]!) + spec.min[i]!);
}

export class ChunkDecoder {
  /** Seconds one chunk step stands for. */
  readonly stepS: number;
  private readonly m: ChunkContract;
  /** Values per step in the head's output (A or K). */
  private readonly width: number;
  /** Where linear_x / linear_y sit among the action axes; -1: the model does not drive that axis. */
  private readonly ix: number;
  private readonly iy: number;
  /** A discrete head's class table, already in robot units. */
  private readonly classVelocities: Velocity[];

  constructor(m: ChunkContract) {
    this.m = m;
    this.stepS = m.action_step_s;
    this.width = headOutputWidth(m);
    this.ix = m.action_axes.indexOf("linear_x");
    this.iy = m.action_axes.indexOf("linear_y");
    this.classVelocities = m.head.kind === "discrete" ? m.head.classes.map((c) => this.velocity(c.action)) : [];
  }

  /** One step of the model's action axes, denormalised, as (linear_x, linear_y). */
  private velocity(action: readonly number[]): Velocity {
    const v = denormalize(this.m.head.denormalize, action);
    return [this.ix >= 0 ? v[this.ix]! : 0, this.iy >= 0 ? v[this.iy]! : 0];
  }

  /**
   * The chunk answering the newest frame of a head output of shape (1, rows, N, width),
   * stamped with that frame's time. Any non-finite output (or a velocity that overflows)
   * makes the chunk invalid; its velocities are then zeros, so nothing downstream can
   * move on them by mistake.
   */
  decode(out: Float32Array, rows: number, stamp: number): ActionChunk {
    const N = this.m.chunk;
    const C = this.width;
    const base = chunkIndex(this.m, rows) * N * C;
    if (!(rows >= 1) || out.length < base + N * C) {
      throw new RangeError(`head output: ${out.length} values cannot hold ${rows} window rows of ${N} x ${C}`);
    }
    let invalid = false;
    const actions: Velocity[] = [];
    const classIds: number[] = [];
    for (let k = 0; k < N; k++) {
      const row = out.subarray(base + k * C, base + (k + 1) * C);
      for (const v of row) if (!Number.isFinite(v)) invalid = true;
      if (this.m.head.kind === "continuous") {
        actions.push(this.velocity(Array.from(row)));
      } else {
        let best = 0;
        for (let c = 1; c < C; c++) if (row[c]! > row[best]!) best = c;
        classIds.push(best);
        actions.push([...this.classVelocities[best]!]);
      }
      const [x, y] = actions[k]!;
      if (!Number.isFinite(x) || !Number.isFinite(y)) invalid = true;
    }
    const velocities = invalid ? actions.map((): Velocity => [0, 0]) : actions;
    const chunk: ActionChunk = { stamp, stepS: this.stepS, actions: velocities, invalid };
    if (this.m.head.kind === "discrete") chunk.classIds = classIds;
    return chunk;
  }
}

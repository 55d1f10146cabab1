// From what the head said to velocities in the teleop's units: the discrete class
// table and the manifest's per-axis denormalisation.
import type { ActionChunk } from "../policy/chunk.js";
import type { Denormalize, HeadSpec } from "../model/manifest.js";

/**
 * Maps one normalised action back to the training data's units, per axis.
 * minmax: a in [-1, 1] -> (a + 1) / 2 * (max - min) + min (the inverse of the
 * trainer's normalisation); scale: a * scale (the robot code's max-speed multiply,
 * a negative scale being its INVERT_X_AXIS).
 */
export function denormalize(spec: Denormalize, action: readonly number[]): number[] {
  const per = spec.kind === "minmax" ? spec.min.length : spec.scale.length;
  if (action.length !== per) throw new RangeError(`denormalize: action has ${action.length} axes, the manifest's denormalize has ${per}`);
  if (spec.kind === "scale") return action.map((a, i) => a * spec.scale[i]);
  return action.map((a, i) => ((a + 1) / 2) * (spec.max[i] - spec.min[i]) + spec.min[i]);
}

/**
 * The chunk the control layer stores, in normalised units with one row per step
 * of `axes` values. A discrete chunk carrying class ids is re-read from the
 * manifest's class table (the table is the contract; the policy's copy of the
 * rows is only a convenience). Anything that cannot be mapped (class id out of
 * range, wrong row width, non-finite value) makes the chunk invalid rather than
 * throwing, so the robot stops instead of the pipeline.
 */
export function resolveChunk(head: HeadSpec, axes: number, chunk: ActionChunk): ActionChunk {
  let invalid = chunk.invalid;
  let actions = chunk.actions;
  if (head.kind === "discrete" && chunk.classIds) {
    actions = chunk.classIds.map((id) => {
      const cls = Number.isInteger(id) ? head.classes[id] : undefined;
      if (!cls) {
        invalid = true;
        return new Array<number>(axes).fill(0);
      }
      return [...cls.action];
    });
  }
  if (actions.length === 0 || actions.some((row) => row.length !== axes || row.some((v) => !Number.isFinite(v)))) {
    invalid = true;
    actions = actions.length ? actions.map(() => new Array<number>(axes).fill(0)) : [new Array<number>(axes).fill(0)];
  }
  const out: ActionChunk = { stamp: chunk.stamp, stepS: chunk.stepS, actions: actions.map((r) => [...r]), invalid };
  if (chunk.classIds) out.classIds = [...chunk.classIds];
  return out;
}

// A chunk as the robot uses it: N steps of velocities in the teleop's units, stamped
// with the time of the newest frame in the window that produced it. Only the chunk
// decoder (chunk-decoder.ts) makes one from a model's output.

export interface ActionChunk {
  /** Time (s) of the newest frame behind this chunk; step k covers [stamp + k*stepS, stamp + (k+1)*stepS). */
  stamp: number;
  /** Seconds each step stands for (the manifest's action_step_s). */
  stepS: number;
  /**
   * N rows of (linear_x, linear_y) in the teleop's units (m/s): denormalised, a
   * discrete head's class already looked up. An axis the model does not drive is 0.
   */
  actions: number[][];
  /** For discrete heads: the chosen class index per step. */
  classIds?: number[];
  /** True when any model output was NaN or Inf: the chunk must not drive the robot (its actions are then zeros). */
  invalid: boolean;
}

/**
 * Whether a chunk may drive the robot: the decoder did not flag it, and every step is
 * a row of finite numbers of one width. The chunk decoder's chunks pass unless flagged;
 * the control layer applies this to whatever a policy hands it, so a policy that
 * forgot the flag still cannot move the robot on NaN.
 */
export function chunkUsable(chunk: Pick<ActionChunk, "actions" | "invalid">): boolean {
  if (chunk.invalid || chunk.actions.length === 0) return false;
  const width = chunk.actions[0]!.length;
  return chunk.actions.every((row) => row.length === width && width > 0 && row.every((v) => Number.isFinite(v)));
}

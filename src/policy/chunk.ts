// A predicted action chunk: N steps of the model's action axes, stamped with the
// time of the newest frame in the window that produced it.

export interface ActionChunk {
  /** Time (s) of the newest frame behind this chunk; step k covers [stamp + k*stepS, stamp + (k+1)*stepS). */
  stamp: number;
  /** Seconds each step stands for (the manifest's action_step_s). */
  stepS: number;
  /** N x A actions in the model's normalised units (continuous: tanh output; discrete: the class table's action). */
  actions: number[][];
  /** For discrete heads: the chosen class index per step. */
  classIds?: number[];
  /** True when any raw model output was NaN or Inf: the chunk must not drive the robot. */
  invalid: boolean;
}

// What the control layer needs from a policy, so control can be tested with a fake
// and the real ONNX policy stays free of clocks and ROS.
import type { StampedImage } from "../msgs/image.js";
import type { ActionChunk } from "./chunk.js";

export interface PolicyCounters {
  /** Frames given to step(). */
  frames: number;
  /** Backbone (feature) passes. With the cache: one per frame. */
  backboneRuns: number;
  headRuns: number;
}

export interface ChunkPolicy {
  /** Current instruction, or null before one is set. */
  readonly instruction: string | null;
  /** Seconds one chunk step stands for (manifest action_step_s). */
  readonly stepS: number;
  /** Sets the instruction; a different text invalidates the feature window. */
  setInstruction(text: string): void;
  /**
   * Adds one sampled frame to the window and returns the chunk answering it, or
   * null when the window-fill policy says to wait. Throws on bad input (the
   * caller zeroes the robot).
   */
  step(frame: StampedImage): Promise<ActionChunk | null>;
  /** Forgets every cached feature (e.g. after a camera gap). */
  reset(): void;
  counters(): PolicyCounters;
}

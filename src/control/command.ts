// The velocity command the control layer hands to its sink (cmd_vel on a robot, a
// list in a replay), with the reason it is what it is, for diagnostics and evaluation.

/**
 * Why a command has the value it has. "ok" means the policy's action, after the
 * safety limits; every other reason means the command was driven towards zero.
 */
export type Reason = "ok" | "no_action" | "no_instruction" | "estop" | "stale_camera" | "invalid_output" | "policy_error" | "shutdown";

export const REASONS: readonly Reason[] = ["ok", "no_action", "no_instruction", "estop", "stale_camera", "invalid_output", "policy_error", "shutdown"];

export type StopReason = Exclude<Reason, "ok">;

/**
 * Stops that zero the output at once, skipping the deceleration limit: an operator
 * pressing e-stop expects the wheels to stop now, and the shutdown command is the
 * last one ever sent, so there is no later tick to finish a ramp in. Every other
 * stop (no action, no instruction, stale camera, invalid output, policy error)
 * ramps down at max_decel like any other slowdown, so a stop caused by the model
 * or the camera does not jerk the robot (max_decel 0 makes those immediate too).
 */
export const IMMEDIATE_STOPS: ReadonlySet<StopReason> = new Set<StopReason>(["estop", "shutdown"]);

export interface Command {
  /** Clock time (s) of this command. */
  t: number;
  /** m/s (the teleop's units, after denormalisation and every safety limit). */
  linear_x: number;
  linear_y: number;
  /** The Mobile-VLA models are 2-DOF: they never command rotation. */
  angular_z: 0;
  reason: Reason;
  /** What this tick aimed for (after the max speed clamp and deadband), before the accel/decel limit. */
  target_x: number;
  target_y: number;
  /** Stamp of the newest chunk behind the action and the step index used in it; null when no action was used. */
  chunk_stamp: number | null;
  step: number | null;
}

export type CommandSink = (cmd: Command) => void;

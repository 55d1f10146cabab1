// Every command the robot receives goes through here, in this order:
// max speed clamp -> deadband -> accel/decel limit -> max speed clamp again (a limit
// lowered while moving holds from the next tick, faster than max_decel) -> deadband on
// what is published. Targets arrive in the teleop's units (the chunk decoder
// denormalised them), as (linear_x, linear_y). limit_mode (limit-mode.ts) says
// whether each step works on the speed, keeping the direction (direction), or on each
// axis (per_axis). Stops skip the first two (their target is zero) and, except for
// the immediate ones (e-stop, shutdown; see IMMEDIATE_STOPS), still respect max_decel.
import { IMMEDIATE_STOPS, type Command, type StopReason } from "./command.js";
import { ZERO_VELOCITY, clampSpeed, deadbandOutput, deadbandTarget, rampTowards, type LimitMode, type Velocity } from "./limit-mode.js";

export interface SafetyLimits {
  /** m/s, > 0: |linear_x| never exceeds it. */
  max_linear_x: number;
  /** m/s, > 0. */
  max_linear_y: number;
  /** m/s^2, growth of the speed (direction) or of each |axis| (per_axis); 0 or Infinity: unlimited. */
  max_accel: number;
  /** m/s^2, shrinking of the speed or of each |axis|; 0 or Infinity: unlimited (every stop immediate). */
  max_decel: number;
  /** m/s: a weaker target becomes 0 (by speed, or per axis), and no command weaker than it (by speed) is published. */
  deadband: number;
  /** The nominal tick rate; after a late tick, growth is limited as if one nominal tick had passed. */
  control_rate_hz: number;
  /** Whether the limits keep the target's direction (see limit-mode.ts). */
  limit_mode: LimitMode;
}

export type SafetyRequest =
  /** `action`: the target (linear_x, linear_y) in m/s; `chunk_stamp`/`step`: where it came from, for diagnostics. */
  { kind: "action"; action: readonly number[]; chunk_stamp: number; step: number } | { kind: "stop"; reason: StopReason };

/** Throws a RangeError naming the first limit Safety cannot work with (the parameter table refuses them earlier, with every reason). */
function checkLimits(limits: SafetyLimits): void {
  if (!(limits.max_linear_x > 0) || !(limits.max_linear_y > 0)) throw new RangeError("Safety: max_linear_x and max_linear_y must be > 0");
  if (!(limits.control_rate_hz > 0)) throw new RangeError("Safety: control_rate_hz must be > 0");
  if (limits.limit_mode !== "direction" && limits.limit_mode !== "per_axis")
    throw new RangeError(`Safety: limit_mode must be "direction" or "per_axis", got ${String(limits.limit_mode)}`);
}

export class Safety {
  /** The ramp's velocity after the last tick, before the published deadband: a ramp slower than the deadband per tick still starts. */
  private prev: { t: number; v: Velocity } | null = null;
  private lastCmd: Command | null = null;
  private L: Readonly<SafetyLimits>;

  constructor(limits: SafetyLimits) {
    checkLimits(limits);
    this.L = { ...limits };
  }

  get last(): Command | null {
    return this.lastCmd;
  }

  get limits(): Readonly<SafetyLimits> {
    return this.L;
  }

  /**
   * New limits from the next command on (a live parameter change). The ramp goes on
   * from where it is, except that a lowered max speed holds at once.
   */
  setLimits(limits: SafetyLimits): void {
    checkLimits(limits);
    this.L = { ...limits };
  }

  /** Forgets the previous command: the next one is limited as if the robot stood still. */
  reset(): void {
    this.prev = null;
    this.lastCmd = null;
  }

  command(t: number, req: SafetyRequest): Command {
    const L = this.L;
    const mode = L.limit_mode;
    const period = 1 / L.control_rate_hz;
    let reason: Command["reason"] = "ok";
    let target: Velocity = ZERO_VELOCITY;
    let chunk_stamp: number | null = null;
    let step: number | null = null;
    if (req.kind === "action") {
      const rx = req.action[0] ?? NaN;
      const ry = req.action[1] ?? NaN;
      // The last guard before the wheels: whatever produced this target, NaN never drives.
      if (!Number.isFinite(rx) || !Number.isFinite(ry)) {
        reason = "invalid_output";
      } else {
        target = deadbandTarget(mode, clampSpeed(mode, { x: rx, y: ry }, L.max_linear_x, L.max_linear_y), L.deadband);
        chunk_stamp = req.chunk_stamp;
        step = req.step;
      }
    } else {
      reason = req.reason;
    }

    let v: Velocity;
    if (reason !== "ok" && IMMEDIATE_STOPS.has(reason)) {
      v = ZERO_VELOCITY;
    } else {
      const p = this.prev ?? { t: t - period, v: ZERO_VELOCITY };
      const dt = Math.max(0, t - p.t);
      // Growth after a late tick is limited to one nominal tick: a scheduling hiccup
      // must not let the robot jump; braking uses the real elapsed time.
      const growDt = Math.min(dt, period);
      // Clamped again after the ramp: a max speed lowered while moving (a live
      // parameter) holds from this tick, not after max_decel has brought the speed down.
      v = clampSpeed(mode, rampTowards(mode, p.v, target, dt, growDt, L.max_accel, L.max_decel), L.max_linear_x, L.max_linear_y);
    }
    this.prev = { t, v };
    const out = deadbandOutput(v, L.deadband);
    const cmd: Command = { t, linear_x: out.x, linear_y: out.y, angular_z: 0, reason, target_x: target.x, target_y: target.y, chunk_stamp, step };
    this.lastCmd = cmd;
    return cmd;
  }
}

// Every command the robot receives goes through here, in this order:
// per-axis max speed clamp -> deadband -> per-axis accel/decel limit. Targets arrive
// in the teleop's units (the chunk decoder denormalised them), as (linear_x, linear_y).
// Stops skip the first two (their target is zero) and, except for the immediate
// ones (e-stop, shutdown; see IMMEDIATE_STOPS), still respect max_decel.
import { IMMEDIATE_STOPS, type Command, type StopReason } from "./command.js";

export interface SafetyLimits {
  /** m/s, > 0: |linear_x| never exceeds it. */
  max_linear_x: number;
  /** m/s, > 0. */
  max_linear_y: number;
  /** m/s^2 per axis, growth of |v|; 0 or Infinity: unlimited. */
  max_accel: number;
  /** m/s^2 per axis, shrinking of |v|; 0 or Infinity: unlimited (every stop immediate). */
  max_decel: number;
  /** m/s per axis: |v| below it becomes 0, so the model's near-zero noise does not creep the robot. */
  deadband: number;
  /** The nominal tick rate; after a late tick, growth is limited as if one nominal tick had passed. */
  control_rate_hz: number;
}

export type SafetyRequest =
  /** `action`: the target (linear_x, linear_y) in m/s; `chunk_stamp`/`step`: where it came from, for diagnostics. */
  | { kind: "action"; action: readonly number[]; chunk_stamp: number; step: number }
  | { kind: "stop"; reason: StopReason };

const unlimited = (rate: number): boolean => rate === 0 || rate === Infinity;

// Object.is(-0, 0) is false; a -0 in a Twist is harmless but confuses equality checks downstream.
const clean = (v: number): number => (v === 0 ? 0 : v);

/**
 * Moves one axis from v0 towards v1 within the limits. Growing |v| is limited by
 * accel over growDt, shrinking by decel over dt; a sign change first brakes to zero
 * at decel and spends what is left of the tick accelerating the other way.
 */
export function limitAxis(v0: number, v1: number, dt: number, growDt: number, accel: number, decel: number): number {
  const a = unlimited(accel) ? Infinity : accel;
  const d = unlimited(decel) ? Infinity : decel;
  if (v0 === 0 || v1 === 0 || Math.sign(v0) === Math.sign(v1)) {
    if (Math.abs(v1) >= Math.abs(v0)) {
      const mag = Math.min(Math.abs(v1), Math.abs(v0) + a * growDt);
      return clean(Math.sign(v1) * mag);
    }
    const mag = Math.max(Math.abs(v1), Math.abs(v0) - d * dt);
    return clean(Math.sign(v0) * mag);
  }
  const tStop = d === Infinity ? 0 : Math.abs(v0) / d;
  if (tStop >= dt) return clean(Math.sign(v0) * (Math.abs(v0) - d * dt));
  const left = Math.min(dt, growDt) - tStop;
  return clean(Math.sign(v1) * Math.min(Math.abs(v1), a * Math.max(0, left)));
}

export class Safety {
  private prev: { t: number; x: number; y: number } | null = null;
  private lastCmd: Command | null = null;

  constructor(private readonly limits: SafetyLimits) {
    if (!(limits.max_linear_x > 0) || !(limits.max_linear_y > 0)) throw new RangeError("Safety: max_linear_x and max_linear_y must be > 0");
    if (!(limits.control_rate_hz > 0)) throw new RangeError("Safety: control_rate_hz must be > 0");
  }

  get last(): Command | null {
    return this.lastCmd;
  }

  /** Forgets the previous command: the next one is limited as if the robot stood still. */
  reset(): void {
    this.prev = null;
    this.lastCmd = null;
  }

  command(t: number, req: SafetyRequest): Command {
    const L = this.limits;
    const period = 1 / L.control_rate_hz;
    let reason: Command["reason"] = "ok";
    let tx = 0;
    let ty = 0;
    let chunk_stamp: number | null = null;
    let step: number | null = null;
    if (req.kind === "action") {
      const rx = req.action[0] ?? NaN;
      const ry = req.action[1] ?? NaN;
      // The last guard before the wheels: whatever produced this target, NaN never drives.
      if (!Number.isFinite(rx) || !Number.isFinite(ry)) {
        reason = "invalid_output";
      } else {
        tx = Math.min(L.max_linear_x, Math.max(-L.max_linear_x, rx));
        ty = Math.min(L.max_linear_y, Math.max(-L.max_linear_y, ry));
        if (Math.abs(tx) < L.deadband) tx = 0;
        if (Math.abs(ty) < L.deadband) ty = 0;
        chunk_stamp = req.chunk_stamp;
        step = req.step;
      }
    } else {
      reason = req.reason;
    }

    let x: number;
    let y: number;
    if (reason !== "ok" && IMMEDIATE_STOPS.has(reason)) {
      x = 0;
      y = 0;
    } else {
      const p = this.prev ?? { t: t - period, x: 0, y: 0 };
      const dt = Math.max(0, t - p.t);
      // Growth after a late tick is limited to one nominal tick: a scheduling hiccup
      // must not let the robot jump; braking uses the real elapsed time.
      const growDt = Math.min(dt, period);
      x = limitAxis(p.x, tx, dt, growDt, L.max_accel, L.max_decel);
      y = limitAxis(p.y, ty, dt, growDt, L.max_accel, L.max_decel);
    }
    this.prev = { t, x, y };
    const cmd: Command = { t, linear_x: clean(x), linear_y: clean(y), angular_z: 0, reason, target_x: clean(tx), target_y: clean(ty), chunk_stamp, step };
    this.lastCmd = cmd;
    return cmd;
  }
}

// How the speed limits treat the two axes (the limit_mode parameter).
//
// Mobile-VLA bases drive by DIRECTION only: the hardware takes atan2(y, x) at a fixed
// throttle (with a 0.15 deadzone), so a limit that bends the commanded direction
// sends the robot somewhere the policy never asked for. A limit applied to each axis
// on its own bends it: a clamp on one axis, or a ramp that one axis finishes before
// the other (the demo bag's (0.239, 0.330) -> (0.039, 0.130) -> (0.139, 0.230) turned
// the robot by 19 degrees and back in three ticks).
//
//   direction: the max speed clamp scales both axes by one factor, the deadband and
//              the accel/decel limits act on the speed |v| = hypot(x, y), and the
//              command keeps its target's direction (a stop keeps the direction it
//              had while it slows down). nav2's velocity smoother (scale_velocities)
//              scales the CHANGE of velocity, which keeps the direction only when
//              the robot already moves the target's way; this scales the velocity.
//   per_axis:  every limit per axis, as before limit_mode existed, for bases whose
//              axes are driven apart.

export const LIMIT_MODES = ["direction", "per_axis"] as const;
export type LimitMode = (typeof LIMIT_MODES)[number];

export interface Velocity {
  x: number;
  y: number;
}

export const ZERO_VELOCITY: Readonly<Velocity> = Object.freeze({ x: 0, y: 0 });

const unlimited = (rate: number): boolean => rate === 0 || rate === Infinity;

// Object.is(-0, 0) is false; a -0 in a Twist is harmless but confuses equality checks downstream.
const clean = (v: number): number => (v === 0 ? 0 : v);

const speed = (v: Velocity): number => Math.hypot(v.x, v.y);

const scaled = (v: Velocity, k: number): Velocity => ({ x: clean(v.x * k), y: clean(v.y * k) });

/**
 * Moves one axis (or, in direction mode, the speed) from v0 towards v1 within the
 * limits. Growing |v| is limited by accel over growDt, shrinking by decel over dt; a
 * sign change first brakes to zero at decel and spends what is left of the tick
 * accelerating the other way.
 */
export function limitAxis(v0: number, v1: number, dt: number, growDt: number, accel: number, decel: number): number {
  const a = unlimited(accel) ? Infinity : accel;
  const d = unlimited(decel) ? Infinity : decel;
  // Infinity * 0 is NaN: no time means no change, however unlimited the rate.
  const change = (rate: number, t: number): number => (t > 0 ? rate * t : 0);
  if (v0 === 0 || v1 === 0 || Math.sign(v0) === Math.sign(v1)) {
    if (Math.abs(v1) >= Math.abs(v0)) {
      const mag = Math.min(Math.abs(v1), Math.abs(v0) + change(a, growDt));
      return clean(Math.sign(v1) * mag);
    }
    const mag = Math.max(Math.abs(v1), Math.abs(v0) - change(d, dt));
    return clean(Math.sign(v0) * mag);
  }
  const tStop = d === Infinity ? 0 : Math.abs(v0) / d;
  if (tStop >= dt) return clean(Math.sign(v0) * (Math.abs(v0) - change(d, dt)));
  const left = Math.min(dt, growDt) - tStop;
  return clean(Math.sign(v1) * Math.min(Math.abs(v1), change(a, left)));
}

/**
 * The max speed clamp: |x| <= maxX and |y| <= maxY. per_axis clamps each axis;
 * direction scales both by the factor that brings the axis furthest over its bound
 * onto it, so the direction stays.
 */
export function clampSpeed(mode: LimitMode, v: Velocity, maxX: number, maxY: number): Velocity {
  const clampAxis = (a: number, max: number): number => clean(Math.min(max, Math.max(-max, a)));
  if (mode === "direction") {
    const k = Math.min(1, v.x === 0 ? 1 : maxX / Math.abs(v.x), v.y === 0 ? 1 : maxY / Math.abs(v.y));
    if (k === 1) return { x: clean(v.x), y: clean(v.y) };
    v = scaled(v, k);
    // x * (maxX / |x|) can land one ulp above maxX; the bound is the promise, the ulp of direction is not.
  }
  return { x: clampAxis(v.x, maxX), y: clampAxis(v.y, maxY) };
}

/** A target weaker than the deadband is no target: per axis, or (direction) by its speed. */
export function deadbandTarget(mode: LimitMode, v: Velocity, deadband: number): Velocity {
  if (mode === "direction") return speed(v) < deadband ? { ...ZERO_VELOCITY } : v;
  return { x: Math.abs(v.x) < deadband ? 0 : v.x, y: Math.abs(v.y) < deadband ? 0 : v.y };
}

/**
 * What is published: the ramp's velocity, or zero when its speed is below the
 * deadband, so no moving command weaker than the deadband ever leaves, in either mode
 * (the ramp itself goes on from the unrounded velocity, so a slow ramp still starts).
 */
export function deadbandOutput(v: Velocity, deadband: number): Velocity {
  return speed(v) < deadband ? { ...ZERO_VELOCITY } : v;
}

/**
 * One tick of the accel/decel limits from `prev` towards `target`. per_axis ramps
 * each axis (limitAxis); direction ramps the speed and points the result exactly
 * where the target points, or, for a zero target (a stop), where `prev` pointed.
 */
export function rampTowards(mode: LimitMode, prev: Velocity, target: Velocity, dt: number, growDt: number, accel: number, decel: number): Velocity {
  if (mode === "per_axis") {
    return { x: limitAxis(prev.x, target.x, dt, growDt, accel, decel), y: limitAxis(prev.y, target.y, dt, growDt, accel, decel) };
  }
  const s0 = speed(prev);
  const s1 = speed(target);
  const s = limitAxis(s0, s1, dt, growDt, accel, decel);
  const along = s1 > 0 ? target : prev;
  const n = s1 > 0 ? s1 : s0;
  return n === 0 || s === 0 ? { ...ZERO_VELOCITY } : scaled(along, s / n);
}

// The recorded teleop commands of one source, as ground truth: which command was
// in force at any time. Mobile-VLA teleop publishes one Twist per key and the base
// stops by itself after a hold time, so a command counts only for `holdS` seconds.
import type { Vec2 } from "../eval/types.js";

export class TeleopTrack {
  private readonly times: number[] = [];
  private readonly commands: Vec2[] = [];

  constructor(readonly holdS: number) {
    if (!(holdS > 0)) throw new RangeError(`teleop hold time must be > 0 s, got ${holdS}`);
  }

  get size(): number {
    return this.times.length;
  }

  /** Commands arrive in time order from a bag; an out-of-order one is inserted in place. */
  push(t: number, command: Vec2): void {
    let i = this.times.length;
    while (i > 0 && this.times[i - 1]! > t) i--;
    this.times.splice(i, 0, t);
    this.commands.splice(i, 0, command);
  }

  /** The command in force at t (zero before the first, and once the hold ran out). */
  activeAt(t: number): Vec2 {
    let lo = 0;
    let hi = this.times.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.times[mid]! <= t) lo = mid + 1;
      else hi = mid;
    }
    const i = lo - 1;
    // 1 µs of slack: a command re-issued exactly every hold period must not flicker to zero.
    if (i < 0 || t - this.times[i]! >= this.holdS + 1e-6) return [0, 0];
    return this.commands[i]!;
  }
}

/** Training clamps every action axis to [-1, 1]; truth is compared in the same range. */
export function clampUnit(v: Vec2): Vec2 {
  return [Math.max(-1, Math.min(1, v[0])), Math.max(-1, Math.min(1, v[1]))];
}

// Which teleop command is in force at a time: the one rule behind the recorder's
// stored actions, the converter's, the evaluation's ground truth and the live
// teleop's auto-stop. A Mobile-VLA teleop publishes one command per key and the base
// stops by itself TELEOP_HOLD_S later, so a command is in force from its own time
// for holdS seconds, until a newer command replaces it.
import { TELEOP_HOLD_S } from "./teleop.js";

/**
 * Times closer than this count as the same instant. Bag times are ~1.7e9 s, where
 * one double step is 2.4e-7 s, and control ticks and key presses are sums of
 * floats: a key re-issued exactly one hold after the last must replace it, not
 * leave a zero between them, and a command exactly holdS old has expired.
 */
export const SAME_INSTANT_S = 1e-6;

export interface CommandHoldOptions {
  /**
   * Keep only commands younger than this (relative to the newest) plus the one in
   * force at that edge, so a live node's memory stays bounded. Default: keep all
   * (an evaluation looks commands up anywhere in a recording).
   */
  retainS?: number;
}

export class CommandHold<V extends readonly number[]> {
  private readonly times: number[] = [];
  private readonly commands: V[] = [];
  private readonly retainS: number;

  /** `zero` is what is in force with no command (before the first one, after a hold ran out). */
  constructor(
    private readonly zero: V,
    readonly holdS: number = TELEOP_HOLD_S,
    opts: CommandHoldOptions = {},
  ) {
    if (!(holdS > 0) || !Number.isFinite(holdS)) throw new RangeError(`hold time ${holdS} must be a finite number of seconds > 0`);
    this.retainS = opts.retainS ?? Infinity;
    if (!(this.retainS >= holdS)) throw new RangeError(`retainS ${this.retainS} must be at least the hold time ${holdS}`);
  }

  get size(): number {
    return this.times.length;
  }

  /** Commands arrive in time order (a bag, a node); an out-of-order one is inserted in place. */
  push(t: number, command: V): void {
    let i = this.times.length;
    while (i > 0 && this.times[i - 1]! > t) i--;
    this.times.splice(i, 0, t);
    this.commands.splice(i, 0, command);
    if (this.retainS === Infinity) return;
    const keepAfter = this.times[this.times.length - 1]! - this.retainS;
    let drop = 0;
    while (drop < this.times.length - 1 && this.times[drop + 1]! < keepAfter) drop++;
    if (drop > 0) {
      this.times.splice(0, drop);
      this.commands.splice(0, drop);
    }
  }

  /** The command in force at t: the newest at or before t while younger than holdS, else zero. */
  activeAt(t: number): V {
    const at = t + SAME_INSTANT_S;
    let lo = 0;
    let hi = this.times.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.times[mid]! <= at) lo = mid + 1;
      else hi = mid;
    }
    const i = lo - 1;
    if (i < 0 || at - this.times[i]! >= this.holdS) return this.zero;
    return this.commands[i]!;
  }

  clear(): void {
    this.times.length = 0;
    this.commands.length = 0;
  }
}

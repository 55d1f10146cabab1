// Keyboard teleop as a pure state object: keys and times in, what to publish out.
// The ROS node feeds it terminal keys and calls poll() from a timer at
// nextDeadline(); tests drive it with made-up times.
//
// Auto-stop: like the collector, a move key moves the robot for hold_s
// (TELEOP_HOLD_S) and then a zero command is published by itself; a new key within
// the hold replaces the command and restarts the hold. Which command is in force is
// CommandHold's rule, the one the recorder and the evaluation use.
//
// Throttle: in the collector, f/g changed only the speed percentage handed to its
// direct motor driver (pop.driving move(angle, throttle)); cmd_vel always carried
// components of 1.15 and so do the recorded actions. So the published Twist keeps
// magnitude `speed` whatever the throttle, and the throttle is a separate value the
// node can publish or hand to a driver. Scaling cmd_vel by it would change the
// recorded actions and break their match with the existing dataset.
import { CommandHold } from "../mobile-vla/command-hold.js";
import { TELEOP_HOLD_S } from "../mobile-vla/teleop.js";
import { DEFAULT_SPEED, DEFAULT_THROTTLE, clampThrottle, keyAction } from "./keymap.js";

export type Twist3 = [number, number, number];

export type TeleopOutput =
  | { kind: "cmd_vel"; t: number; twist: Twist3; reason: "key" | "stop" | "auto_stop" | "quit" }
  | { kind: "episode"; t: number; command: "start" | "stop" }
  | { kind: "throttle"; t: number; throttle: number }
  | { kind: "quit"; t: number };

export interface TeleopOptions {
  /** Component magnitude of a move key (default TELEOP_SPEED). */
  speed?: number;
  /** Seconds a move key lasts before the automatic stop (default TELEOP_HOLD_S). */
  holdS?: number;
  /** Starting throttle, 10..100 (default 50). */
  throttle?: number;
}

const ZERO: Twist3 = [0, 0, 0];

function checkSpeed(speed: number): void {
  if (!(speed > 0) || !Number.isFinite(speed)) throw new RangeError(`speed ${speed} must be a finite number > 0`);
}

export class TeleopState {
  private speedValue: number;
  private throttleValue: number;
  /** What was published, for commandAt(); only the newest command matters here. */
  private hold: CommandHold<Twist3>;
  /** The move in force and when it was keyed (for a hold time changed mid-move); null when stopped. */
  private move: { t: number; twist: Twist3 } | null = null;
  /** Time the current move stops by itself; null when stopped. */
  private stopAt: number | null = null;

  constructor(opts: TeleopOptions = {}) {
    this.speedValue = opts.speed ?? DEFAULT_SPEED;
    checkSpeed(this.speedValue);
    const holdS = opts.holdS ?? TELEOP_HOLD_S;
    this.hold = new CommandHold<Twist3>(ZERO, holdS, { retainS: holdS });
    this.throttleValue = clampThrottle(opts.throttle ?? DEFAULT_THROTTLE);
  }

  get speed(): number {
    return this.speedValue;
  }

  get holdS(): number {
    return this.hold.holdS;
  }

  get throttle(): number {
    return this.throttleValue;
  }

  /**
   * New speed and hold time (live parameters), from the next key on. A move in
   * progress keeps its speed, and its stop time unless the new hold ends it sooner:
   * a shorter hold must not leave the robot moving for the old, longer one.
   * Throws, changing nothing, on values the teleop cannot use.
   */
  configure(opts: { speed: number; holdS: number }, t: number): void {
    checkSpeed(opts.speed);
    const hold = new CommandHold<Twist3>(ZERO, opts.holdS, { retainS: opts.holdS });
    this.speedValue = opts.speed;
    if (opts.holdS === this.hold.holdS) return;
    this.hold = hold;
    if (this.move && this.stopAt !== null) {
      this.stopAt = Math.max(t, Math.min(this.stopAt, this.move.t + opts.holdS));
      // The move stays in force until its (possibly earlier) stop time, as commandAt() reports.
      hold.push(this.stopAt - opts.holdS, this.move.twist);
    }
  }

  /** The command in force at t (zero once the hold has run out). */
  commandAt(t: number): Twist3 {
    return [...this.hold.activeAt(t)];
  }

  /** When poll() has something to publish next (the pending auto-stop), or null. */
  nextDeadline(): number | null {
    return this.stopAt;
  }

  /** Publishes the auto-stop once its time has come. */
  poll(t: number): TeleopOutput[] {
    if (this.stopAt === null || t < this.stopAt) return [];
    this.stopAt = null;
    this.move = null;
    this.hold.push(t, ZERO);
    return [{ kind: "cmd_vel", t, twist: [...ZERO], reason: "auto_stop" }];
  }

  onKey(key: string, t: number): TeleopOutput[] {
    // An auto-stop that fell due before this key is published first, so the
    // sequence of commands is the same whatever the timer's jitter.
    const out = this.poll(t);
    const a = keyAction(key, this.speedValue);
    switch (a.kind) {
      case "move":
        this.hold.push(t, [...a.twist]);
        this.move = { t, twist: [...a.twist] };
        this.stopAt = t + this.holdS;
        out.push({ kind: "cmd_vel", t, twist: [...a.twist], reason: "key" });
        break;
      case "stop":
        // Published even when already stopped: a stop key must always reach the robot.
        this.hold.push(t, ZERO);
        this.stopAt = null;
        this.move = null;
        out.push({ kind: "cmd_vel", t, twist: [...ZERO], reason: "stop" });
        break;
      case "throttle": {
        const before = this.throttleValue;
        this.throttleValue = clampThrottle(before + a.delta);
        if (this.throttleValue !== before) out.push({ kind: "throttle", t, throttle: this.throttleValue });
        break;
      }
      case "episode":
        out.push({ kind: "episode", t, command: a.command });
        break;
      case "quit":
        this.hold.push(t, ZERO);
        this.stopAt = null;
        this.move = null;
        out.push({ kind: "cmd_vel", t, twist: [...ZERO], reason: "quit" }, { kind: "quit", t });
        break;
      case "none":
        break;
    }
    return out;
  }
}

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

export class TeleopState {
  readonly speed: number;
  readonly holdS: number;
  private throttleValue: number;
  /** What was published, for commandAt(); only the newest command matters here. */
  private readonly hold: CommandHold<Twist3>;
  /** Time the current move stops by itself; null when stopped. */
  private stopAt: number | null = null;

  constructor(opts: TeleopOptions = {}) {
    this.speed = opts.speed ?? DEFAULT_SPEED;
    if (!(this.speed > 0) || !Number.isFinite(this.speed)) throw new RangeError(`speed ${this.speed} must be a finite number > 0`);
    this.holdS = opts.holdS ?? TELEOP_HOLD_S;
    this.hold = new CommandHold<Twist3>(ZERO, this.holdS, { retainS: this.holdS });
    this.throttleValue = clampThrottle(opts.throttle ?? DEFAULT_THROTTLE);
  }

  get throttle(): number {
    return this.throttleValue;
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
    this.hold.push(t, ZERO);
    return [{ kind: "cmd_vel", t, twist: [...ZERO], reason: "auto_stop" }];
  }

  onKey(key: string, t: number): TeleopOutput[] {
    // An auto-stop that fell due before this key is published first, so the
    // sequence of commands is the same whatever the timer's jitter.
    const out = this.poll(t);
    const a = keyAction(key, this.speed);
    switch (a.kind) {
      case "move":
        this.hold.push(t, [...a.twist]);
        this.stopAt = t + this.holdS;
        out.push({ kind: "cmd_vel", t, twist: [...a.twist], reason: "key" });
        break;
      case "stop":
        // Published even when already stopped: a stop key must always reach the robot.
        this.hold.push(t, ZERO);
        this.stopAt = null;
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
        out.push({ kind: "cmd_vel", t, twist: [...ZERO], reason: "quit" }, { kind: "quit", t });
        break;
      case "none":
        break;
    }
    return out;
  }
}

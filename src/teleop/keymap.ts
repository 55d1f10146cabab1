// The Mobile-VLA collector's keyboard map (mobile_vla_data_collector.py), so an
// operator's habits and the recorded actions carry over unchanged:
//
//   w / s        +x / -x             q / e   forward-left / forward-right
//   a / d        +y / -y (a = left)  z / c   back-left / back-right
//   r / t        +angular z / -angular z
//   space        stop
//   f / g        throttle -10 / +10, clamped to 10..100
//   n / m        start / end an episode
//   Ctrl-C       quit
//
// Every move key sets each non-zero component to +-speed (TELEOP_SPEED, diagonals
// included, not normalised), which is what the recorded actions contain. The keys
// and their directions are the package's one direction table (mobile-vla/teleop.ts).
import { DIRECTIONS, ROTATION_KEYS, TELEOP_SPEED } from "../mobile-vla/teleop.js";

export type MoveKey = "w" | "s" | "a" | "d" | "q" | "e" | "z" | "c" | "r" | "t";

/** [linear_x, linear_y, angular_z] as signs; multiplied by the speed. */
export const MOVE_KEYS: Readonly<Record<MoveKey, readonly [number, number, number]>> = Object.freeze(
  Object.fromEntries([
    ...DIRECTIONS.filter((d) => d.name !== "stop").map((d) => [d.key, [d.sign[0], d.sign[1], 0]] as const),
    ["r", [0, 0, ROTATION_KEYS.r]],
    ["t", [0, 0, ROTATION_KEYS.t]],
  ]) as Record<MoveKey, readonly [number, number, number]>,
);

export const DEFAULT_SPEED = TELEOP_SPEED;
export const THROTTLE_MIN = 10;
export const THROTTLE_MAX = 100;
export const THROTTLE_STEP = 10;
/** The collector's starting throttle. */
export const DEFAULT_THROTTLE = 50;
export const CTRL_C = "\u0003";

export type KeyAction =
  | { kind: "move"; key: MoveKey; twist: [number, number, number] }
  | { kind: "stop" }
  | { kind: "throttle"; delta: number }
  | { kind: "episode"; command: "start" | "stop" }
  | { kind: "quit" }
  | { kind: "none"; key: string };

function isMoveKey(k: string): k is MoveKey {
  return Object.hasOwn(MOVE_KEYS, k);
}

/** What one key means. Letters are case-insensitive (the collector lower-cased every key). */
export function keyAction(key: string, speed = DEFAULT_SPEED): KeyAction {
  if (key === CTRL_C) return { kind: "quit" };
  if (key === " ") return { kind: "stop" };
  const k = key.length === 1 ? key.toLowerCase() : key;
  if (isMoveKey(k)) {
    const [x, y, z] = MOVE_KEYS[k];
    // `+ 0` turns -0 into 0 so a published Twist never carries a negative zero.
    return { kind: "move", key: k, twist: [x * speed + 0, y * speed + 0, z * speed + 0] };
  }
  switch (k) {
    case "f":
      return { kind: "throttle", delta: -THROTTLE_STEP };
    case "g":
      return { kind: "throttle", delta: THROTTLE_STEP };
    case "n":
      return { kind: "episode", command: "start" };
    case "m":
      return { kind: "episode", command: "stop" };
    default:
      return { kind: "none", key };
  }
}

export function clampThrottle(v: number): number {
  return Math.min(THROTTLE_MAX, Math.max(THROTTLE_MIN, v));
}

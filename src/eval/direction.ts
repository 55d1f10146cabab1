// The teleop's vocabulary of motions (8 directions + stop) and how a velocity maps
// onto it. The hardware only uses atan2(y, x) with a deadzone, so these classes are
// what the robot actually does with a command.
import { DIRECTIONS, DIRECTION_NAMES, type DirectionName } from "../mobile-vla/teleop.js";
import type { Vec2 } from "./types.js";

/** Default deadzone: at or below this speed the base does not move. */
export const DEFAULT_MOVE_THRESHOLD = 0.15;
/** Default cosine above which two motions count as the same direction (about 45.6 degrees). */
export const DEFAULT_COS_THRESHOLD = 0.7;

/**
 * Class order: stop, then the 8 sectors counter-clockwise from +x (forward), so
 * sector k (index k + 1) is centred on k * 45 degrees: the package's one direction
 * table (mobile-vla/teleop.ts).
 */
export const DIRECTION_CLASSES: readonly DirectionName[] = DIRECTION_NAMES;

export type DirectionClass = DirectionName;

/** The teleop key of each class (REFERENCE.md, "Teleop"). */
export const TELEOP_KEY: Readonly<Record<DirectionClass, string>> = Object.fromEntries(DIRECTIONS.map((d) => [d.name, d.key])) as Record<
  DirectionClass,
  string
>;

export function speed(v: Vec2): number {
  return Math.hypot(v[0], v[1]);
}

/** Strictly above the threshold: a command exactly at the deadzone does not move the base. */
export function moves(v: Vec2, threshold = DEFAULT_MOVE_THRESHOLD): boolean {
  return speed(v) > threshold;
}

/** Cosine of the angle between a and b; null when either is the zero vector. */
export function cosine(a: Vec2, b: Vec2): number | null {
  const na = speed(a);
  const nb = speed(b);
  if (na === 0 || nb === 0) return null;
  return (a[0] * b[0] + a[1] * b[1]) / (na * nb);
}

/**
 * Index into DIRECTION_CLASSES. A vector exactly on a sector boundary (22.5 + k*45
 * degrees) goes to the counter-clockwise neighbour: Math.round rounds halves up.
 */
export function directionClassIndex(v: Vec2, threshold = DEFAULT_MOVE_THRESHOLD): number {
  if (!moves(v, threshold)) return 0;
  const sector = Math.round(Math.atan2(v[1], v[0]) / (Math.PI / 4));
  // atan2 spans [-pi, pi], so sector spans [-4, 4]; -4 and 4 are both "back".
  return (((sector % 8) + 8) % 8) + 1;
}

export function directionClass(v: Vec2, threshold = DEFAULT_MOVE_THRESHOLD): DirectionClass {
  return DIRECTION_CLASSES[directionClassIndex(v, threshold)];
}

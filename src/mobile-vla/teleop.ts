// The Mobile-VLA collector's teleop conventions (mobile_vla_data_collector.py), the
// one home of the numbers the recorded actions, the live teleop, the synthetic
// teleop, the evaluation's ground truth and its direction classes all rest on.

/**
 * Seconds one teleop command stays in force: the collector's base stops by itself
 * this long after a key (its auto-stop), so a command counts only this long.
 */
export const TELEOP_HOLD_S = 0.4;

/**
 * A zero command arriving this close before the hold runs out (at most a quarter
 * of the hold) is the teleop's own auto-stop, not the stop key. The teleop
 * publishes it exactly one hold after the key, but over a live graph it can reach
 * the recorder a few milliseconds less than a hold after the key's command: on
 * Humble 3 of 9 auto-stops were taken for stop keys, each adding a stop_action
 * frame the collector never took. A stop key pressed in that last 0.05 s takes no
 * frame; the base stops within 0.05 s anyway.
 */
export const AUTO_STOP_MARGIN_S = 0.05;

/**
 * Component magnitude of every move key, diagonals included ((1.15, 1.15), not
 * normalised): what the recorded actions contain. Training clamps it to 1.
 */
export const TELEOP_SPEED = 1.15;

/** [linear_x, linear_y] signs; +x forward, +y left. */
export type DirectionSign = readonly [number, number];

export interface Direction {
  /** Class name used by every table, plot and model folder of this package. */
  readonly name: string;
  /** The collector's key for it ("space" is the space bar). */
  readonly key: string;
  readonly sign: DirectionSign;
}

/**
 * The teleop's vocabulary of motions: stop, then the 8 directions counter-clockwise
 * from +x (forward), so direction k (index k + 1) is centred on k * 45 degrees. The
 * hardware only uses the direction (atan2(y, x)) of a command.
 */
export const DIRECTIONS = [
  { name: "stop", key: "space", sign: [0, 0] },
  { name: "forward", key: "w", sign: [1, 0] },
  { name: "forward_left", key: "q", sign: [1, 1] },
  { name: "left", key: "a", sign: [0, 1] },
  { name: "back_left", key: "z", sign: [-1, 1] },
  { name: "back", key: "s", sign: [-1, 0] },
  { name: "back_right", key: "c", sign: [-1, -1] },
  { name: "right", key: "d", sign: [0, -1] },
  { name: "forward_right", key: "e", sign: [1, -1] },
] as const satisfies readonly Direction[];

export type DirectionName = (typeof DIRECTIONS)[number]["name"];

export const DIRECTION_NAMES: readonly DirectionName[] = DIRECTIONS.map((d) => d.name);

/** The rotation keys: the collector had them, the 2-DOF models never learnt them. */
export const ROTATION_KEYS = { r: 1, t: -1 } as const;

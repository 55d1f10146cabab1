// The vla_teleop parameters, in one table (param-table.ts), as vla_policy's are. Both
// apply live: the next key uses them.
import { TELEOP_HOLD_S, TELEOP_SPEED } from "../mobile-vla/teleop.js";
import { ParamTable } from "./param-table.js";
import { numberParam } from "./spec.js";

const TELEOP_PARAMS = {
  speed: numberParam({
    applies: "live",
    unit: "m/s",
    default: TELEOP_SPEED,
    min: 0,
    minInclusive: false,
    description: "Component magnitude of a move key's cmd_vel, diagonals on both axes (the Mobile-VLA data was recorded at 1.15).",
  }),
  hold_s: numberParam({
    applies: "live",
    unit: "s",
    default: TELEOP_HOLD_S,
    min: 0,
    minInclusive: false,
    description:
      "Seconds a move key lasts before the automatic zero (the collector's auto-stop). Set while a move is on, a shorter hold also cuts that move short.",
  }),
};

/** The one check of vla_teleop's parameters: at start and on `ros2 param set`. */
export const TELEOP_TABLE = new ParamTable(TELEOP_PARAMS);

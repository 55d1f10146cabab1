// The parameter table as yargs options, so every CLI command that runs the policy
// takes the node's parameters under the same names (`--control_rate_hz 15`).
import { PARAM_NAMES, paramSpec, type ParamName } from "./table.js";

export interface YargsOption {
  type: "string" | "number" | "boolean";
  default: string | number | boolean | null;
  describe: string;
}

/** Option definitions for yargs (`.options(YARGS_OPTIONS)`), without importing yargs here. */
export const YARGS_OPTIONS: Record<ParamName, YargsOption> = Object.fromEntries(
  PARAM_NAMES.map((n) => {
    const s = paramSpec(n);
    const type = s.type === "integer" ? "number" : s.type;
    return [n, { type, default: s.default as YargsOption["default"], describe: s.unit ? `${s.description} [${s.unit}]` : s.description }];
  }),
) as Record<ParamName, YargsOption>;

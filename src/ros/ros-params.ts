// Declaring a node's parameters on rclnodejs and reading back what the launch
// file / params file / command line set.
//
// No ParameterDescriptor is passed: rclnodejs then infers the descriptor from the
// override, so `max_accel: 2` (an integer in YAML) is accepted for a parameter
// whose default is 2.0, and the value is checked by this package's own parser,
// which names the parameter and what it expected. With a typed descriptor
// rclnodejs would throw a bare "Type mismatch" naming nothing.
import type { Rclnodejs, RosNode, RosParameter } from "./rclnodejs-api.js";
import { PARAMETER_TYPE } from "./rclnodejs-api.js";

export type ParamDefault = string | number | boolean;

export interface ParamDecl {
  name: string;
  default: ParamDefault;
  /** Integers are declared as ROS integers, other numbers as doubles. */
  integer?: boolean;
}

/** Parameters every rclnodejs node may carry that are not ours. */
const ROS_OWN_PARAMS = new Set(["use_sim_time", "start_type_description_service", "qos_overrides"]);

export class RosParamsError extends Error {
  override name = "RosParamsError";
}

function newParameter(rcl: Rclnodejs, d: ParamDecl): RosParameter {
  const v = d.default;
  if (typeof v === "boolean") return new rcl.Parameter(d.name, PARAMETER_TYPE.BOOL, v);
  if (typeof v === "string") return new rcl.Parameter(d.name, PARAMETER_TYPE.STRING, v);
  if (d.integer) {
    // rclnodejs 1.x wants a BigInt for integers, 0.x a number: try the newer form first.
    try {
      return new rcl.Parameter(d.name, PARAMETER_TYPE.INTEGER, BigInt(v));
    } catch {
      return new rcl.Parameter(d.name, PARAMETER_TYPE.INTEGER, v);
    }
  }
  return new rcl.Parameter(d.name, PARAMETER_TYPE.DOUBLE, v);
}

/** A parameter's value as the parsers expect it: BigInt integers become numbers. */
export function plainValue(p: RosParameter): unknown {
  if (p.type === PARAMETER_TYPE.NOT_SET) return undefined;
  const v = p.value;
  if (typeof v === "bigint") return Number(v);
  return v;
}

/**
 * Declares every parameter and returns name -> value (defaults replaced by
 * overrides). Overrides for names that are not declared are returned too, so the
 * caller's parser can refuse a misspelt parameter instead of silently ignoring it.
 */
export function declareParams(rcl: Rclnodejs, node: RosNode, decls: readonly ParamDecl[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const d of decls) {
    try {
      node.declareParameter(newParameter(rcl, d));
      out[d.name] = plainValue(node.getParameter(d.name));
    } catch (e) {
      problems.push(`${d.name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (problems.length) throw new RosParamsError(`could not declare parameters:\n  - ${problems.join("\n  - ")}`);
  const known = new Set(decls.map((d) => d.name));
  for (const o of node.getParameterOverrides?.() ?? []) {
    if (!known.has(o.name) && !ROS_OWN_PARAMS.has(o.name) && !o.name.startsWith("qos_overrides.")) out[o.name] = plainValue(o);
  }
  return out;
}

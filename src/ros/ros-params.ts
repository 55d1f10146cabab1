// Declaring a node's parameters on rclnodejs and reading back what the launch
// file / params file / command line set.
//
// The overrides come from the process's --ros-args resolved as rclcpp resolves
// them (ros-args.ts): rclnodejs' own resolution lets a node-specific params-file
// entry beat every later "/**" value and ignores "/node" and namespaced keys, so
// on a live graph the launch file's model:= argument was overridden by the
// params file's `model: ""`. Each parameter that has an override is declared
// with that value and rclnodejs' own override ignored.
//
// No ParameterDescriptor is passed: rclnodejs then infers the descriptor from the
// override, so `max_accel: 2` (an integer in YAML) is accepted for a parameter
// whose default is 2.0, and the value is checked by this package's own parser,
// which names the parameter and what it expected. With a typed descriptor
// rclnodejs would throw a bare "Type mismatch" naming nothing.
import type { Rclnodejs, RosNode, RosParameter } from "./rclnodejs-api.js";
import { PARAMETER_TYPE } from "./rclnodejs-api.js";
import { fullyQualifiedName, overridesFromArgv, type TypedParam } from "./ros-args.js";
import { errorText } from "../util/errors.js";

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

export function integerParameter(rcl: Rclnodejs, name: string, v: bigint | number): RosParameter {
  // rclnodejs 1.x wants a BigInt for integers, 0.x a number: try the newer form first.
  try {
    return new rcl.Parameter(name, PARAMETER_TYPE.INTEGER, BigInt(v));
  } catch {
    return new rcl.Parameter(name, PARAMETER_TYPE.INTEGER, Number(v));
  }
}

function newParameter(rcl: Rclnodejs, d: ParamDecl): RosParameter {
  const v = d.default;
  if (typeof v === "boolean") return new rcl.Parameter(d.name, PARAMETER_TYPE.BOOL, v);
  if (typeof v === "string") return new rcl.Parameter(d.name, PARAMETER_TYPE.STRING, v);
  if (d.integer) return integerParameter(rcl, d.name, v);
  return new rcl.Parameter(d.name, PARAMETER_TYPE.DOUBLE, v);
}

/**
 * An override as an rclnodejs Parameter of the type rcl gave it, except that a
 * number takes the declared numeric kind when that keeps its value: YAML's
 * `max_accel: 2` is an integer, and a parameter declared integer would refuse
 * every later `ros2 param set max_accel 1.5`. Null for arrays (left to rclnodejs).
 */
function overrideParameter(rcl: Rclnodejs, d: ParamDecl, t: TypedParam): RosParameter | null {
  const name = d.name;
  if (typeof d.default === "number") {
    if (!d.integer && t.type === PARAMETER_TYPE.INTEGER) return new rcl.Parameter(name, PARAMETER_TYPE.DOUBLE, Number(t.value));
    if (d.integer && t.type === PARAMETER_TYPE.DOUBLE && Number.isSafeInteger(t.value)) return integerParameter(rcl, name, t.value as number);
  }
  switch (t.type) {
    case PARAMETER_TYPE.BOOL:
    case PARAMETER_TYPE.DOUBLE:
    case PARAMETER_TYPE.STRING:
      return new rcl.Parameter(name, t.type, t.value);
    case PARAMETER_TYPE.INTEGER:
      return integerParameter(rcl, name, t.value);
    default:
      return null;
  }
}

export interface DeclareOptions {
  /** The process's arguments (default process.argv); their --ros-args overrides are resolved as rclcpp does. */
  argv?: readonly string[];
  /** Reads a --params-file (default fs.readFileSync). */
  readFile?: (path: string) => string;
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
export function declareParams(rcl: Rclnodejs, node: RosNode, decls: readonly ParamDecl[], opts: DeclareOptions = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  let resolved = new Map<string, TypedParam>();
  try {
    resolved = overridesFromArgv(opts.argv ?? process.argv, fullyQualifiedName(node.namespace?.() ?? "/", node.name()), opts.readFile);
  } catch (e) {
    // rcl has already accepted these arguments, so this is a gap here, not a user error: rclnodejs' own overrides stand.
    node.getLogger().warn(`could not resolve the --ros-args parameter overrides (${errorText(e)}); using rclnodejs' own`);
  }
  for (const d of decls) {
    try {
      const t = resolved.get(d.name);
      const p = t ? overrideParameter(rcl, d, t) : null;
      if (p) node.declareParameter(p, undefined, true);
      else node.declareParameter(newParameter(rcl, d));
      out[d.name] = plainValue(node.getParameter(d.name));
    } catch (e) {
      problems.push(`${d.name}: ${errorText(e)}`);
    }
  }
  if (problems.length) throw new RosParamsError(`could not declare parameters:\n  - ${problems.join("\n  - ")}`);
  const known = new Set(decls.map((d) => d.name));
  const foreign = (name: string): boolean => !known.has(name) && !ROS_OWN_PARAMS.has(name) && !name.startsWith("qos_overrides.");
  for (const o of node.getParameterOverrides?.() ?? []) if (foreign(o.name)) out[o.name] = plainValue(o);
  for (const [name, t] of resolved) if (foreign(name)) out[name] = typeof t.value === "bigint" ? Number(t.value) : t.value;
  return out;
}

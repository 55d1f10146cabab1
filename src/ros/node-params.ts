// A node's parameter table (params/param-table.ts) on rclnodejs, the same way for all
// three nodes: every parameter declared when the node is created, read and checked at
// configure, and every `ros2 param set` decided by one rule, in the node's
// set-parameters callback (nav2's dynamic-parameters callback does the same):
//
//   a name that is not the node's        -> left alone (use_sim_time, qos_overrides...)
//   node in a transition, or finalized   -> refused: set it again once the transition is over
//   applies "start" (autostart)          -> refused: read once, when the node starts
//   applies "configure", node configured -> refused, naming the way through cleanup and configure
//   a value the table refuses            -> refused with the table's reason; the old value stays
//   node configured, applies "live"      -> applied to the running node now (from the next
//                                           control tick), then accepted
//   node unconfigured                    -> accepted; configure reads it
//
// rclnodejs 2.2 checks a change against the declared type before any callback and
// refuses every other type with the reason "Parameter <name> does not  readonly".
// So a pre-set callback first gives a number of the other numeric type the declared
// one (`ros2 param set /vla_policy control_rate_hz 2` sends an integer for a
// double; a params file's `max_accel: 2` is accepted the same way), and stands any
// other mismatch (`max_linear_x fast`) in with the current value, noting what was
// sent, so that the set-parameters callback refuses it with the table's reason.
//
// A change is checked through the same table check as configure, over every
// parameter with the new values in: a rule between parameters (deadband below the
// max speeds) holds whichever of them changes. Only problems the change brings are
// reported, so a bad value already waiting for configure does not block other sets.
// A refusal is never a silent no-op: before this, a configured node answered
// "successful" and went on with the old value.
import type { AnyParamTable } from "../params/param-table.js";
import {
  PARAMETER_TYPE,
  PARAMETER_TYPE_NAMES as TYPE_NAMES,
  type Rclnodejs,
  type RosNode,
  type RosParameter,
  type RosSetParametersResult,
} from "./rclnodejs-api.js";
import { fullyQualifiedName } from "./ros-args.js";
import { declareParams, integerParameter, plainValue, type DeclareOptions, type ParamDecl } from "./ros-params.js";
import { errorText } from "../util/errors.js";

/** Where a node is, as far as a parameter change is concerned. */
export type NodePhase =
  | { kind: "unconfigured" }
  /** label: "inactive", "active", or "running" for a node without a lifecycle. */
  | { kind: "configured"; label: string }
  /** A transition under way (configuring, ...) or finalized: no change can be taken now. */
  | { kind: "busy"; label: string };

export interface ParamWatch {
  phase(): NodePhase;
  /**
   * Applies accepted live changes to the configured node. `raw` holds every
   * parameter with the new values in (already checked), `changed` the names set.
   * A throw refuses the change with its message.
   */
  apply(raw: Record<string, unknown>, changed: readonly string[]): void;
}

/** A table's parameters as ROS declarations: a null default (frame_interval_s) is 0.0, as ROS parameters cannot be null. */
export function paramDecls(table: AnyParamTable): ParamDecl[] {
  return table.names.map((name) => {
    const spec = table.spec(name);
    const d = spec.default;
    const value = d === null ? 0 : (d as string | number | boolean);
    return { name, default: value, integer: spec.type === "integer" };
  });
}

const OK: RosSetParametersResult = { successful: true, reason: "" };
const refuse = (reason: string): RosSetParametersResult => ({ successful: false, reason });

export class NodeParams {
  /** What was declared when the node was created (defaults replaced by overrides). */
  readonly initial: Readonly<Record<string, unknown>>;
  /** Overrides whose names no parameter has (a misspelt name): the table refuses them at configure. */
  private readonly foreign: Readonly<Record<string, unknown>>;

  /** Declares every parameter of `table` on `node`; throws RosParamsError when rclnodejs refuses one. */
  constructor(
    private readonly rcl: Rclnodejs,
    private readonly node: RosNode,
    private readonly table: AnyParamTable,
    opts: DeclareOptions = {},
  ) {
    const declared = declareParams(rcl, node, paramDecls(table), opts);
    this.initial = declared;
    this.foreign = Object.fromEntries(Object.entries(declared).filter(([k]) => !table.has(k)));
  }

  /** Every parameter's value now, and the foreign overrides: what configure checks. */
  raw(): Record<string, unknown> {
    const raw: Record<string, unknown> = { ...this.foreign };
    for (const name of this.table.names) raw[name] = plainValue(this.node.getParameter(name));
    return raw;
  }

  /** Registers the set-parameters callback; call after every parameter is declared (rclnodejs runs it for declarations too). */
  watch(w: ParamWatch): void {
    this.node.addPreSetParametersCallback?.((params) => {
      this.mistyped.clear();
      return params.map((p) => this.asDeclaredType(p));
    });
    this.node.addOnSetParametersCallback?.((params) => this.decide(params, w));
  }

  /** What was sent for parameters given in a type that could not become the declared one, this call. */
  private readonly mistyped = new Map<string, { type: number; value: unknown }>();

  /**
   * A change in the declared type: a number of the other numeric type converted
   * when that keeps its value exactly, any other mismatch replaced by the current
   * value and noted, for decide() to refuse.
   */
  private asDeclaredType(p: RosParameter): RosParameter {
    if (!this.table.has(p.name) || p.type === PARAMETER_TYPE.NOT_SET) return p;
    const current = this.node.getParameter(p.name);
    if (p.type === current.type) return p;
    const v = plainValue(p);
    if (current.type === PARAMETER_TYPE.DOUBLE && p.type === PARAMETER_TYPE.INTEGER && typeof v === "number") {
      return new this.rcl.Parameter(p.name, PARAMETER_TYPE.DOUBLE, v);
    }
    if (current.type === PARAMETER_TYPE.INTEGER && p.type === PARAMETER_TYPE.DOUBLE && typeof v === "number" && Number.isSafeInteger(v)) {
      return integerParameter(this.rcl, p.name, v);
    }
    this.mistyped.set(p.name, { type: p.type, value: v });
    return current;
  }

  /** The refusal of a value sent in a type the parameter cannot take: the table's reason, else the types. */
  private mistypedReason(name: string, sent: { type: number; value: unknown }, current: Record<string, unknown>): string {
    const before = new Set(this.table.problems(current));
    const brought = this.table.problems({ ...current, [name]: sent.value }).filter((m) => !before.has(m));
    if (brought.length) return brought.join("; ");
    const declared = TYPE_NAMES[this.node.getParameter(name).type] ?? "value";
    return `${name}: a ${declared} is expected (ROS parameters keep their declared type), got the ${TYPE_NAMES[sent.type] ?? "value"} ${JSON.stringify(sent.value)}`;
  }

  private decide(params: readonly RosParameter[], w: ParamWatch): RosSetParametersResult {
    const ours = params.filter((p) => this.table.has(p.name));
    const mistyped = new Map(this.mistyped);
    this.mistyped.clear();
    if (ours.length === 0) return OK;
    const node = this.node.name();
    const names = ours.map((p) => p.name);
    const phase = w.phase();
    if (phase.kind === "busy") return refuse(`${node} is ${phase.label}: set ${names.join(", ")} again once it is unconfigured, inactive or active`);
    for (const p of ours) {
      if (p.type === PARAMETER_TYPE.NOT_SET) return refuse(`${p.name}: ${node} needs it; it cannot be undeclared`);
      const applies = this.table.spec(p.name).applies;
      if (applies === "start") return refuse(`${p.name} is read once, when ${node} starts: start it again with ${p.name}:=<value>`);
      if (applies === "configure" && phase.kind === "configured") return refuse(this.reloadReason(p.name, phase.label));
    }
    const current = this.raw();
    for (const p of ours) {
      const sent = mistyped.get(p.name);
      if (sent) return refuse(this.mistypedReason(p.name, sent, current));
    }
    const next = { ...current };
    for (const p of ours) next[p.name] = plainValue(p);
    const before = new Set(this.table.problems(current));
    const brought = this.table.problems(next).filter((m) => !before.has(m));
    if (brought.length) return refuse(brought.join("; "));
    if (phase.kind === "configured") {
      try {
        w.apply(next, names);
      } catch (e) {
        return refuse(`${names.join(", ")}: not applied: ${errorText(e)}`);
      }
    }
    return OK;
  }

  /** How to get a configure-time parameter applied: the lifecycle steps from where the node is. */
  private reloadReason(name: string, label: string): string {
    const fqn = fullyQualifiedName(this.node.namespace?.() ?? "/", this.node.name());
    const steps =
      label === "active" ? `deactivate and clean up (ros2 lifecycle set ${fqn} deactivate, then cleanup)` : `clean up (ros2 lifecycle set ${fqn} cleanup)`;
    return `${this.node.name()} reads ${name} at configure and is ${label}: ${steps}, set it, then configure and activate`;
  }
}

// The vla_policy parameters, in ONE table: the ROS node, the CLI, config/vla_policy.yaml
// and the README all derive from it (yargs.ts, ros-file.ts, markdown.ts), so a name,
// default, unit, bound or when-it-applies (spec.ts's ParamApply) cannot drift between them.
import { AGGREGATIONS, type Aggregation } from "../control/chunk-queue.js";
import { LIMIT_MODES, type LimitMode } from "../control/limit-mode.js";
import { PRECISIONS, type Precision } from "../model/manifest.js";
import { GRAPH_OPTIMIZATIONS, PROVIDERS, type GraphOptimization, type Provider } from "../model/providers.js";
import { instructionTooLong } from "../model/instruction-length.js";
import { WINDOW_FILLS, type WindowFill } from "../policy/feature-window.js";
import { ParamTable, type TableValues } from "./param-table.js";
import { boolParam, numberParam, oneOfParam, stringParam, toNumber, type ParamSpec } from "./spec.js";

/**
 * Frame sampling intervals the pipeline runs (s): below the lower bound its timer
 * would fire millions of times per second of replay, above the upper one it would
 * never sample a frame in a recording.
 */
export const FRAME_INTERVAL_BOUNDS = [0.01, 60] as const;
/** The fastest control tick (Hz): a 1 kHz loop is already beyond any base this drives. */
const MAX_CONTROL_RATE_HZ = 1000;
/** onnxruntime's intra-op threads; more than any machine has is a typo. */
const MAX_THREADS = 1024;

// ROS 2 parameters cannot be null, so the YAML writes 0 for "use the manifest's
// action_step_s"; the CLI and JSON may also say null, "null" or "auto".
const frameInterval: ParamSpec<number | null> = {
  type: "number",
  unit: "s",
  default: null,
  // Live: the sampling grid starts again at the new interval and the window starts
  // empty, so it never mixes frames taken at two spacings.
  applies: "live",
  description: `Seconds between frames sampled into the policy window: the first frame, then the one nearest each interval after it by the frames' stamps, taken as it arrives (the others are dropped), in [${FRAME_INTERVAL_BOUNDS.join(", ")}]. 0 or null: the model manifest's action_step_s, the spacing the model was trained on.`,
  parse(raw) {
    if (raw === null || (typeof raw === "string" && /^(null|auto|)$/i.test(raw.trim()))) return { ok: true, value: null };
    const n = toNumber(raw);
    if (n === 0) return { ok: true, value: null };
    if (!(Number.isFinite(n) && n > 0)) return { ok: false, expected: "a number of seconds > 0, or 0/null for the manifest's action_step_s" };
    const [lo, hi] = FRAME_INTERVAL_BOUNDS;
    if (n < lo || n > hi) return { ok: false, expected: `a number of seconds in [${lo}, ${hi}], or 0/null for the manifest's action_step_s` };
    return { ok: true, value: n };
  },
};

/** The parameter table, in documentation order. */
export const PARAMS = {
  model: stringParam({
    applies: "configure",
    default: "",
    description: "Path to the model folder (manifest.json, backbone.onnx, head.onnx, tokenizer.json). Required to run the policy.",
  }),
  precision: oneOfParam({
    applies: "configure",
    allowed: PRECISIONS,
    default: "fp32" as Precision,
    description:
      "Which backbone graph of the model folder to run: fp32 (backbone.file) or int8 (backbone.variants.int8: faster on CPU, a little less exact; check it with `mobile-vla model verify DIR --precision int8` first). A folder without that precision refuses to load.",
  }),
  provider: oneOfParam({ applies: "configure", allowed: PROVIDERS, default: "cpu" as Provider, description: "onnxruntime execution provider." }),
  threads: numberParam({
    applies: "configure",
    unit: "",
    default: 0,
    integer: true,
    min: 0,
    minInclusive: true,
    max: MAX_THREADS,
    description: "Intra-op threads for onnxruntime; 0 lets onnxruntime choose.",
  }),
  graph_optimization: oneOfParam({
    applies: "configure",
    allowed: GRAPH_OPTIMIZATIONS,
    default: "all" as GraphOptimization,
    description: "onnxruntime graph optimisation level; lower it only to debug a graph.",
  }),
  instruction: stringParam({
    applies: "live",
    default: "",
    check: instructionTooLong,
    description:
      "Instruction used until one arrives on the instruction topic; empty: the robot stays still until one arrives. Set on a running node, it replaces the current instruction as one arriving on the topic does.",
  }),
  image_source: oneOfParam({
    applies: "configure",
    allowed: ["topic", "service"] as const,
    default: "topic" as "topic" | "service",
    description:
      "Where camera frames come from: topic (subscribe to image and image/compressed) or service (call image_service once per frame_interval_s, never two requests at a time; an answer missing after watchdog_timeout_s, or a service that is gone, is a stale camera).",
  }),
  image_service: stringParam({
    applies: "configure",
    default: "get_image_service",
    nonEmpty: true,
    description: "The camera service called with image_source: service (the Mobile-VLA robots' camera node serves get_image_service).",
  }),
  image_service_type: stringParam({
    applies: "configure",
    default: "camera_interfaces/srv/GetImage",
    nonEmpty: true,
    check: (s) => (/^\w+\/srv\/\w+$/.test(s.trim()) ? null : "a service type like camera_interfaces/srv/GetImage"),
    description: "Type of image_service; its response carries the frame in `image` (sensor_msgs/Image, or CompressedImage).",
  }),
  frame_interval_s: frameInterval,
  window_fill: oneOfParam({
    applies: "live",
    allowed: WINDOW_FILLS,
    default: "grow" as WindowFill,
    description:
      "How the policy acts before the window holds W frames: grow (run the causal head over the frames it has, exact w.r.t. training), pad (repeat the oldest frame), wait (no action until full).",
  }),
  control_rate_hz: numberParam({
    applies: "live",
    unit: "Hz",
    default: 20,
    min: 0,
    minInclusive: false,
    max: MAX_CONTROL_RATE_HZ,
    description: `Rate of the control tick, at most ${MAX_CONTROL_RATE_HZ}; each tick publishes one velocity command.`,
  }),
  aggregation: oneOfParam({
    applies: "live",
    allowed: AGGREGATIONS,
    default: "latest" as Aggregation,
    description:
      "How overlapping chunks answer the current time: latest (the newest chunk covering it) or ensemble (ACT temporal ensembling, weights exp(-ensemble_k*i), i = 0 for the oldest chunk).",
  }),
  ensemble_k: numberParam({
    applies: "live",
    unit: "",
    default: 0.01,
    min: 0,
    minInclusive: true,
    description: "Temporal ensembling decay per chunk (aggregation: ensemble); 0 is a plain mean, larger favours older chunks, as in ACT.",
  }),
  limit_mode: oneOfParam({
    applies: "live",
    allowed: LIMIT_MODES,
    default: "direction" as LimitMode,
    description:
      "How the speed limits treat the two axes: direction (the max speed clamp scales both axes by one factor; deadband, max_accel and max_decel act on the speed hypot(x, y); every command points exactly where its target points, as Mobile-VLA bases, which drive by direction only, need) or per_axis (each axis clamped, deadbanded and ramped on its own, which turns the command while one axis ramps longer than the other).",
  }),
  max_linear_x: numberParam({
    applies: "live",
    unit: "m/s",
    default: 1.0,
    min: 0,
    minInclusive: false,
    description:
      "Largest |linear.x| ever published, after denormalisation (the teleop's units); in direction mode a faster target is scaled down on both axes. Lowered while moving, it holds from the next command.",
  }),
  max_linear_y: numberParam({
    applies: "live",
    unit: "m/s",
    default: 1.0,
    min: 0,
    minInclusive: false,
    description: "Largest |linear.y| ever published; as max_linear_x.",
  }),
  max_accel: numberParam({
    applies: "live",
    unit: "m/s^2",
    default: 2.0,
    min: 0,
    minInclusive: true,
    infinite: true,
    description: "Limit on how fast the speed may grow: hypot(x, y) in direction mode, each |axis| in per_axis; 0 or inf: unlimited.",
  }),
  max_decel: numberParam({
    applies: "live",
    unit: "m/s^2",
    default: 4.0,
    min: 0,
    minInclusive: true,
    infinite: true,
    description:
      "Limit on how fast the speed (direction) or each |axis| (per_axis) may shrink, stops included (except e-stop and shutdown, which are immediate); 0 or inf: unlimited.",
  }),
  deadband: numberParam({
    applies: "live",
    unit: "m/s",
    default: 0.05,
    min: 0,
    minInclusive: true,
    description:
      "A target weaker than this becomes 0 (its speed in direction mode, each axis in per_axis), so near-zero model noise does not creep the robot; and no command whose speed is below it is ever published (a zero instead).",
  }),
  watchdog_timeout_s: numberParam({
    applies: "live",
    unit: "s",
    default: 1.0,
    min: 0,
    minInclusive: false,
    description: "The robot stops when the newest camera frame is older than this, and moves again only after a fresh frame has produced a new chunk.",
  }),
  stamped: boolParam({ applies: "configure", default: false, description: "Publish geometry_msgs/TwistStamped instead of Twist on cmd_vel." }),
  frame_id: stringParam({ applies: "live", default: "base_link", nonEmpty: true, description: "header.frame_id of TwistStamped commands (stamped: true)." }),
  autostart: boolParam({
    applies: "start",
    default: true,
    description:
      "ROS node: configure and activate at start, so a plain `ros2 launch` drives the robot; false leaves the node unconfigured for `ros2 lifecycle set` or nav2's lifecycle manager.",
  }),
} satisfies Record<string, ParamSpec<unknown>>;

export type ParamName = keyof typeof PARAMS;
export type PolicyParams = TableValues<typeof PARAMS>;

/** The one check of vla_policy's parameters: at start (CLI), at configure and on `ros2 param set`. */
export const POLICY_TABLE = new ParamTable(PARAMS, (p, ok) => {
  const problems: string[] = [];
  for (const axis of ["max_linear_x", "max_linear_y"] as const) {
    if (ok("deadband") && ok(axis) && p.deadband >= p[axis]) {
      problems.push(`deadband: expected less than ${axis} (${p[axis]}), got ${p.deadband}; that axis could never move`);
    }
  }
  return problems;
});

export const PARAM_NAMES: ParamName[] = POLICY_TABLE.names;

/** A parameter's spec without its value type, for code that walks the whole table. */
export function paramSpec(name: ParamName): ParamSpec<unknown> {
  return POLICY_TABLE.spec(name);
}

export const DEFAULT_PARAMS: Readonly<PolicyParams> = POLICY_TABLE.defaults;

/**
 * Typed parameters from raw values (a ROS params YAML's ros__parameters, or CLI
 * strings). Missing names take their defaults. Throws one ParamsError listing
 * every unknown name and every bad value, each naming the parameter and what was
 * expected.
 */
export function parseParams(raw: Record<string, unknown>): PolicyParams {
  return POLICY_TABLE.parse(raw);
}

/** Just the table's names out of a bigger object (e.g. a yargs argv with `_` and `$0`). */
export function pickParams(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const n of PARAM_NAMES) if (obj[n] !== undefined) out[n] = obj[n];
  return out;
}

/** The frame sampling interval in seconds: the parameter, or the manifest's action step. */
export function frameIntervalS(params: Pick<PolicyParams, "frame_interval_s">, actionStepS: number): number {
  return params.frame_interval_s ?? actionStepS;
}

/**
 * Everything among the parameters that VlaModel.load takes (its LoadOptions): the
 * precision and the onnxruntime settings. Every command that loads a model from
 * parameters goes through this, so a new load setting reaches all of them.
 */
export function modelLoadOptions(p: Pick<PolicyParams, "precision" | "provider" | "threads" | "graph_optimization">): {
  precision: Precision;
  runtime: { provider: Provider; threads: number; graphOptimization: GraphOptimization };
} {
  return { precision: p.precision, runtime: { provider: p.provider, threads: p.threads, graphOptimization: p.graph_optimization } };
}

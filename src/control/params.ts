// The vla_policy parameters, in ONE table: the ROS node, the CLI, the config YAML
// and the README all derive from it, so a name, default or unit cannot drift
// between them. Values may come from a ROS params YAML (typed) or from a command
// line (strings like "0.5" / "true"); both go through parseParams.
import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { AGGREGATIONS, type Aggregation } from "./chunk-queue.js";

export type ParamType = "string" | "number" | "integer" | "boolean";

type Parsed<T> = { ok: true; value: T } | { ok: false; expected: string };

export interface ParamSpec<T> {
  type: ParamType;
  /** Unit for documentation; "" when it has none. */
  unit: string;
  default: T;
  description: string;
  /** Reads a YAML value or a command-line string. */
  parse(raw: unknown): Parsed<T>;
}

import { WINDOW_FILLS, type WindowFill } from "../policy/feature-window.js";
export { WINDOW_FILLS, type WindowFill };
/** Execution providers the model loader knows; onnxruntime-node on Linux ships these. */
import { GRAPH_OPTIMIZATIONS, PROVIDERS, type GraphOptimization, type Provider } from "../model/providers.js";
export { PROVIDERS, type Provider };
import { PRECISIONS, type Precision } from "../model/manifest.js";
export { PRECISIONS, type Precision };

const NUMBER_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const INF_RE = /^\+?(\.?inf|infinity)$/i;

/** A number from YAML or a CLI string; NaN when it is not one. */
function toNumber(raw: unknown): number {
  if (typeof raw === "number") return raw;
  if (typeof raw !== "string") return NaN;
  const s = raw.trim();
  if (NUMBER_RE.test(s)) return Number(s);
  if (INF_RE.test(s)) return Infinity;
  return NaN;
}

function numberParam(o: {
  unit: string; default: number; description: string; integer?: boolean;
  /** Smallest allowed value, and whether it is allowed itself. */
  min: number; minInclusive: boolean; infinite?: boolean;
}): ParamSpec<number> {
  const what = o.integer ? "an integer" : "a number";
  const expected = `${what} ${o.minInclusive ? ">=" : ">"} ${o.min}${o.infinite ? " (inf allowed)" : ""}`;
  return {
    type: o.integer ? "integer" : "number",
    unit: o.unit,
    default: o.default,
    description: o.description,
    parse(raw) {
      const n = toNumber(raw);
      const finiteOk = Number.isFinite(n) || (o.infinite === true && n === Infinity);
      const ok = finiteOk && (o.minInclusive ? n >= o.min : n > o.min) && (!o.integer || Number.isInteger(n));
      return ok ? { ok: true, value: n } : { ok: false, expected };
    },
  };
}

function stringParam(o: { unit?: string; default: string; description: string; nonEmpty?: boolean }): ParamSpec<string> {
  return {
    type: "string",
    unit: o.unit ?? "",
    default: o.default,
    description: o.description,
    parse(raw) {
      if (typeof raw !== "string" || (o.nonEmpty && raw.trim() === "")) return { ok: false, expected: o.nonEmpty ? "a non-empty string" : "a string" };
      return { ok: true, value: raw };
    },
  };
}

function oneOfParam<T extends string>(o: { allowed: readonly T[]; default: T; description: string }): ParamSpec<T> {
  return {
    type: "string",
    unit: "",
    default: o.default,
    description: `${o.description} One of: ${o.allowed.join(", ")}.`,
    parse(raw) {
      const s = typeof raw === "string" ? raw.trim() : raw;
      return (o.allowed as readonly unknown[]).includes(s) ? { ok: true, value: s as T } : { ok: false, expected: `one of ${o.allowed.map((a) => JSON.stringify(a)).join(", ")}` };
    },
  };
}

function boolParam(o: { default: boolean; description: string }): ParamSpec<boolean> {
  return {
    type: "boolean",
    unit: "",
    default: o.default,
    description: o.description,
    parse(raw) {
      if (typeof raw === "boolean") return { ok: true, value: raw };
      if (typeof raw === "string" && /^(true|false)$/i.test(raw.trim())) return { ok: true, value: raw.trim().toLowerCase() === "true" };
      return { ok: false, expected: "true or false" };
    },
  };
}

// ROS 2 parameters cannot be null, so the YAML writes 0 for "use the manifest's
// action_step_s"; the CLI and JSON may also say null, "null" or "auto".
const frameInterval: ParamSpec<number | null> = {
  type: "number",
  unit: "s",
  default: null,
  description: "Seconds between frames sampled into the policy window (the newest camera frame is taken, older ones dropped). 0 or null: the model manifest's action_step_s, the spacing the model was trained on.",
  parse(raw) {
    if (raw === null || (typeof raw === "string" && /^(null|auto|)$/i.test(raw.trim()))) return { ok: true, value: null };
    const n = toNumber(raw);
    if (n === 0) return { ok: true, value: null };
    return Number.isFinite(n) && n > 0 ? { ok: true, value: n } : { ok: false, expected: "a number of seconds > 0, or 0/null for the manifest's action_step_s" };
  },
};

/** The parameter table, in documentation order. */
export const PARAMS = {
  model: stringParam({ default: "", description: "Path to the model folder (manifest.json, backbone.onnx, head.onnx, tokenizer.json). Required to run the policy." }),
  precision: oneOfParam({ allowed: PRECISIONS, default: "fp32" as Precision, description: "Which backbone graph of the model folder to run: fp32 (backbone.file) or int8 (backbone.variants.int8: faster on CPU, a little less exact; check it with `mobile-vla model verify DIR --precision int8` first). A folder without that precision refuses to load." }),
  provider: oneOfParam({ allowed: PROVIDERS, default: "cpu" as Provider, description: "onnxruntime execution provider." }),
  threads: numberParam({ unit: "", default: 0, integer: true, min: 0, minInclusive: true, description: "Intra-op threads for onnxruntime; 0 lets onnxruntime choose." }),
  graph_optimization: oneOfParam({ allowed: GRAPH_OPTIMIZATIONS, default: "all" as GraphOptimization, description: "onnxruntime graph optimisation level; lower it only to debug a graph." }),
  instruction: stringParam({ default: "", description: "Instruction used until one arrives on the instruction topic; empty: the robot stays still until one arrives." }),
  frame_interval_s: frameInterval,
  window_fill: oneOfParam({ allowed: WINDOW_FILLS, default: "grow" as WindowFill, description: "How the policy acts before the window holds W frames: grow (run the causal head over the frames it has, exact w.r.t. training), pad (repeat the oldest frame), wait (no action until full)." }),
  control_rate_hz: numberParam({ unit: "Hz", default: 20, min: 0, minInclusive: false, description: "Rate of the control tick; each tick publishes one velocity command." }),
  aggregation: oneOfParam({ allowed: AGGREGATIONS, default: "latest" as Aggregation, description: "How overlapping chunks answer the current time: latest (the newest chunk covering it) or ensemble (ACT temporal ensembling, weights exp(-ensemble_k*i), i = 0 for the oldest chunk)." }),
  ensemble_k: numberParam({ unit: "", default: 0.01, min: 0, minInclusive: true, description: "Temporal ensembling decay per chunk (aggregation: ensemble); 0 is a plain mean, larger favours older chunks, as in ACT." }),
  max_linear_x: numberParam({ unit: "m/s", default: 1.0, min: 0, minInclusive: false, description: "Largest |linear.x| ever published, after denormalisation (the teleop's units)." }),
  max_linear_y: numberParam({ unit: "m/s", default: 1.0, min: 0, minInclusive: false, description: "Largest |linear.y| ever published." }),
  max_accel: numberParam({ unit: "m/s^2", default: 2.0, min: 0, minInclusive: true, infinite: true, description: "Per-axis limit on how fast |v| may grow; 0 or inf: unlimited." }),
  max_decel: numberParam({ unit: "m/s^2", default: 4.0, min: 0, minInclusive: true, infinite: true, description: "Per-axis limit on how fast |v| may shrink, stops included (except e-stop and shutdown, which are immediate); 0 or inf: unlimited." }),
  deadband: numberParam({ unit: "m/s", default: 0.05, min: 0, minInclusive: true, description: "Per axis, |v| below this becomes 0 so near-zero model noise does not creep the robot." }),
  watchdog_timeout_s: numberParam({ unit: "s", default: 1.0, min: 0, minInclusive: false, description: "The robot stops when the newest camera frame is older than this, and moves again only after a fresh frame has produced a new chunk." }),
  stamped: boolParam({ default: false, description: "Publish geometry_msgs/TwistStamped instead of Twist on cmd_vel." }),
  frame_id: stringParam({ default: "base_link", nonEmpty: true, description: "header.frame_id of TwistStamped commands (stamped: true)." }),
} satisfies Record<string, ParamSpec<unknown>>;

export type ParamName = keyof typeof PARAMS;
type ValueOf<S> = S extends ParamSpec<infer T> ? T : never;
export type PolicyParams = { [K in ParamName]: ValueOf<(typeof PARAMS)[K]> };

export const PARAM_NAMES = Object.keys(PARAMS) as ParamName[];

export const DEFAULT_PARAMS: Readonly<PolicyParams> = Object.freeze(
  Object.fromEntries(PARAM_NAMES.map((n) => [n, PARAMS[n].default])) as PolicyParams,
);

export class ParamsError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid parameters (${problems.length}):\n  - ${problems.join("\n  - ")}`);
    this.name = "ParamsError";
  }
}

function show(raw: unknown): string {
  if (typeof raw === "number" && !Number.isFinite(raw)) return String(raw);
  return JSON.stringify(raw) ?? String(raw);
}

/**
 * Typed parameters from raw values (a ROS params YAML's ros__parameters, or CLI
 * strings). Missing names take their defaults. Throws one ParamsError listing
 * every unknown name and every bad value, each naming the parameter and what was
 * expected.
 */
export function parseParams(raw: Record<string, unknown>): PolicyParams {
  const problems: string[] = [];
  const out: Record<string, unknown> = { ...DEFAULT_PARAMS };
  for (const key of Object.keys(raw)) {
    if (!(key in PARAMS)) problems.push(`${key}: unknown parameter; known: ${PARAM_NAMES.join(", ")}`);
  }
  for (const name of PARAM_NAMES) {
    if (!(name in raw) || raw[name] === undefined) continue;
    const r = (PARAMS[name] as ParamSpec<unknown>).parse(raw[name]);
    if (r.ok) out[name] = r.value;
    else problems.push(`${name}: expected ${r.expected}, got ${show(raw[name])}`);
  }
  const p = out as PolicyParams;
  for (const axis of ["max_linear_x", "max_linear_y"] as const) {
    if (!problems.some((m) => m.startsWith("deadband:") || m.startsWith(`${axis}:`)) && p.deadband >= p[axis]) {
      problems.push(`deadband: expected less than ${axis} (${p[axis]}), got ${p.deadband}; that axis could never move`);
    }
  }
  if (problems.length) throw new ParamsError(problems);
  return p;
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

export interface YargsOption {
  type: "string" | "number" | "boolean";
  default: string | number | boolean | null;
  describe: string;
}

function describe(name: ParamName): string {
  const s = PARAMS[name] as ParamSpec<unknown>;
  return s.unit ? `${s.description} [${s.unit}]` : s.description;
}

/** Option definitions for yargs (`.options(YARGS_OPTIONS)`), without importing yargs here. */
export const YARGS_OPTIONS: Record<ParamName, YargsOption> = Object.fromEntries(
  PARAM_NAMES.map((n) => {
    const s = PARAMS[n] as ParamSpec<unknown>;
    const type = s.type === "integer" ? "number" : s.type;
    return [n, { type, default: s.default as YargsOption["default"], describe: describe(n) }];
  }),
) as Record<ParamName, YargsOption>;

function fmtDefault(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "string") return v === "" ? '`""`' : `\`${v}\``;
  return `\`${String(v)}\``;
}

/** The parameter table as markdown, for the README. */
export function paramsMarkdown(): string {
  const esc = (s: string) => s.replace(/\|/g, "\\|");
  const rows = PARAM_NAMES.map((n) => {
    const s = PARAMS[n] as ParamSpec<unknown>;
    return `| \`${n}\` | ${s.type} | ${s.unit ? esc(s.unit) : "-"} | ${fmtDefault(s.default)} | ${esc(s.description)} |`;
  });
  return ["| name | type | unit | default | description |", "| --- | --- | --- | --- | --- |", ...rows].join("\n") + "\n";
}

/**
 * The ros__parameters of `node` in a ROS 2 params YAML, with the `/**` wildcard
 * section applied first as ROS does. Throws when the file has neither.
 */
export function rosParamsFromYaml(text: string, node = "vla_policy", file = "<params>"): Record<string, unknown> {
  const doc: unknown = parseYaml(text);
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) throw new ParamsError([`${file}: expected a mapping of node names to {ros__parameters: ...}`]);
  const top = doc as Record<string, unknown>;
  const sections = ["/**", node, `/${node}`].map((k) => top[k]).filter((s) => s !== undefined);
  if (sections.length === 0) throw new ParamsError([`${file}: no section for node "${node}" (or "/**")`]);
  const out: Record<string, unknown> = {};
  for (const s of sections) {
    const rp = (s as Record<string, unknown> | null)?.ros__parameters;
    if (rp === null || typeof rp !== "object" || Array.isArray(rp)) throw new ParamsError([`${file}: expected ros__parameters to be a mapping under "${node}"`]);
    Object.assign(out, rp);
  }
  return out;
}

/** Reads and validates a ROS 2 params file. */
export async function loadParamsFile(file: string, node = "vla_policy"): Promise<PolicyParams> {
  return parseParams(rosParamsFromYaml(await readFile(file, "utf8"), node, file));
}

/**
 * Everything among the parameters that VlaModel.load takes (its LoadOptions): the
 * precision and the onnxruntime settings. Every command that loads a model from
 * parameters goes through this, so a new load setting reaches all of them.
 */
export function modelLoadOptions(p: Pick<PolicyParams, "precision" | "provider" | "threads" | "graph_optimization">): {
  precision: Precision;
  runtime: ReturnType<typeof runtimeOptions>;
} {
  return { precision: p.precision, runtime: runtimeOptions(p) };
}

/** The onnxruntime settings among the parameters, in the form VlaModel.load takes. */
export function runtimeOptions(p: Pick<PolicyParams, "provider" | "threads" | "graph_optimization">): { provider: Provider; threads: number; graphOptimization: GraphOptimization } {
  return { provider: p.provider, threads: p.threads, graphOptimization: p.graph_optimization };
}

// Parameter overrides from the process's --ros-args, resolved the way rclcpp
// resolves them, because rclnodejs does not.
//
// Found on a live Humble graph (rclnodejs 2.2): rclnodejs merges only the
// override entries keyed exactly "/**" and exactly its node name without a
// slash ("vla_policy"), node-specific always winning. So
//   - `ros2 launch mobile_vla_ros vla.launch.xml model:=...` refused to start:
//     launch passes config/vla_policy.yaml (key `vla_policy`) and then its own
//     `<param name="model">` as a second file keyed "/**", and the file's
//     `model: ""` beat the launch argument;
//   - `--params-file f -p name:=value` ignored the -p whenever f set that name;
//   - files keyed "/vla_policy" (what `ros2 param dump` writes), "/ns/vla_policy"
//     or a wildcard other than "/**" were ignored altogether.
// rcl itself parses all of these into one ordered list of node entries (every
// --params-file and -p in command-line order, an entry per node key in order of
// first appearance, a later value replacing an earlier one inside an entry);
// rclcpp applies every entry whose key matches the node's fully qualified name
// in that order, later entries winning. This module rebuilds that list from
// argv with rcl's own typing of YAML scalars and applies rclcpp's rule.
import { readFileSync } from "node:fs";
import { isMap, isScalar, isSeq, parseDocument, Scalar, type Node as YamlNode } from "yaml";
import { PARAMETER_TYPE } from "./rclnodejs-api.js";

/** One --params-file or -p, in command-line order. */
export type ParamSource = { kind: "file"; path: string } | { kind: "rule"; node: string; name: string; value: string };

/** A parameter value typed as rcl types it (integers as BigInt: rcl's are int64). */
export type TypedParam =
  | { type: typeof PARAMETER_TYPE.BOOL; value: boolean }
  | { type: typeof PARAMETER_TYPE.INTEGER; value: bigint }
  | { type: typeof PARAMETER_TYPE.DOUBLE; value: number }
  | { type: typeof PARAMETER_TYPE.STRING; value: string }
  /** Arrays: kept so a name is known to be set; not converted further. */
  | { type: "array"; value: unknown[] };

/** rcl_params_t's shape: node keys in order of first appearance, each with its parameters. */
export interface NodeParamEntry {
  node: string;
  params: Map<string, TypedParam>;
}

export class RosArgsError extends Error {
  override name = "RosArgsError";
}

/** rcl's ROS arguments that take a value (Humble .. Jazzy); anything else is a flag. */
const WITH_VALUE = new Set(["-r", "--remap", "-p", "--param", "--params-file", "-e", "--enclave", "--log-level", "--log-config-file", "--log-file-name"]);

/** Every --params-file and -p/--param inside --ros-args sections, in order. */
export function rosArgsParamSources(argv: readonly string[]): ParamSource[] {
  const out: ParamSource[] = [];
  let inRos = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--ros-args") {
      inRos = true;
      continue;
    }
    if (!inRos) continue;
    if (a === "--") {
      inRos = false;
      continue;
    }
    if (!WITH_VALUE.has(a)) continue;
    const v = argv[++i];
    if (v === undefined) break;
    if (a === "--params-file") out.push({ kind: "file", path: v });
    else if (a === "-p" || a === "--param") out.push(parseParamRule(v));
  }
  return out;
}

/** `[node:]name:=value`; without a node, rcl files the rule under "/**". */
export function parseParamRule(rule: string): ParamSource & { kind: "rule" } {
  const eq = rule.indexOf(":=");
  if (eq <= 0) throw new RosArgsError(`-p ${JSON.stringify(rule)}: expected name:=value`);
  const left = rule.slice(0, eq);
  const value = rule.slice(eq + 2);
  const colon = left.indexOf(":");
  if (colon < 0) return { kind: "rule", node: "/**", name: left, value };
  return { kind: "rule", node: left.slice(0, colon), name: left.slice(colon + 1), value };
}

const TRUE_WORDS = new Set(["Y", "y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"]);
const FALSE_WORDS = new Set(["N", "n", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"]);
const SPECIAL_FLOATS: Record<string, number> = {
  ".nan": NaN,
  ".NaN": NaN,
  ".NAN": NaN,
  ".inf": Infinity,
  ".Inf": Infinity,
  ".INF": Infinity,
  "+.inf": Infinity,
  "+.Inf": Infinity,
  "+.INF": Infinity,
  "-.inf": -Infinity,
  "-.Inf": -Infinity,
  "-.INF": -Infinity,
};
const INT_RE = /^\s*[+-]?(?:0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/;
const FLOAT_RE = /^\s*[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf(?:inity)?|nan)$/i;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function parseCInt(text: string): bigint {
  const t = text.trim();
  const neg = t.startsWith("-");
  const body = t.replace(/^[+-]/, "");
  const v = /^0[xX]/.test(body) ? BigInt(body) : body.length > 1 && body.startsWith("0") ? BigInt("0o" + body.slice(1)) : BigInt(body);
  return neg ? -v : v;
}

/** A YAML scalar as rcl's parser types it (rcl_yaml_param_parser get_value): quoted is a string; else bool, int64 (strtoll base 0), double (strtod), string. */
export function rosScalar(text: string, quoted: boolean): TypedParam {
  if (!quoted) {
    if (TRUE_WORDS.has(text)) return { type: PARAMETER_TYPE.BOOL, value: true };
    if (FALSE_WORDS.has(text)) return { type: PARAMETER_TYPE.BOOL, value: false };
    if (INT_RE.test(text)) {
      const v = parseCInt(text);
      if (v >= INT64_MIN && v <= INT64_MAX) return { type: PARAMETER_TYPE.INTEGER, value: v };
    }
    if (Object.hasOwn(SPECIAL_FLOATS, text)) return { type: PARAMETER_TYPE.DOUBLE, value: SPECIAL_FLOATS[text]! };
    if (FLOAT_RE.test(text))
      return {
        type: PARAMETER_TYPE.DOUBLE,
        value: Number(
          text
            .trim()
            .replace(/^\+/, "")
            .replace(/^(-?)inf(inity)?$/i, "$1Infinity")
            .replace(/^-?nan$/i, "NaN"),
        ),
      };
  }
  return { type: PARAMETER_TYPE.STRING, value: text };
}

function typedFromYaml(n: YamlNode | null, where: string): TypedParam {
  if (n === null) return { type: PARAMETER_TYPE.STRING, value: "" };
  if (isScalar(n)) return rosScalar(String(n.value ?? ""), n.type === Scalar.QUOTE_DOUBLE || n.type === Scalar.QUOTE_SINGLE);
  if (isSeq(n)) return { type: "array", value: n.items.map((x) => (isScalar(x) ? x.value : x)) };
  throw new RosArgsError(`${where}: a parameter value must be a scalar or a list`);
}

function parseYaml(text: string, where: string): YamlNode | null {
  // failsafe: every scalar stays a string with its quoting style, so rcl's typing can be applied here.
  const doc = parseDocument(text, { schema: "failsafe" });
  if (doc.errors.length) throw new RosArgsError(`${where}: ${doc.errors[0]!.message}`);
  return doc.contents as YamlNode | null;
}

function entryFor(entries: NodeParamEntry[], node: string): NodeParamEntry {
  let e = entries.find((x) => x.node === node);
  if (!e) {
    e = { node, params: new Map() };
    entries.push(e);
  }
  return e;
}

function addParams(entry: NodeParamEntry, map: YamlNode, prefix: string, where: string): void {
  if (!isMap(map)) throw new RosArgsError(`${where}: expected ros__parameters to be a mapping`);
  for (const item of map.items) {
    const key = String(isScalar(item.key) ? item.key.value : item.key);
    const name = prefix ? `${prefix}.${key}` : key;
    const v = item.value as YamlNode | null;
    if (isMap(v)) addParams(entry, v, name, where);
    else entry.params.set(name, typedFromYaml(v, `${where}: ${name}`));
  }
}

function addFile(entries: NodeParamEntry[], root: YamlNode | null, path: string): void {
  if (root === null) return;
  const walk = (n: YamlNode, keys: string[]): void => {
    if (!isMap(n)) throw new RosArgsError(`${path}: expected a map under ${keys.join("/") || "the top level"}`);
    for (const item of n.items) {
      const key = String(isScalar(item.key) ? item.key.value : item.key);
      const v = item.value as YamlNode | null;
      if (key === "ros__parameters") {
        if (!keys.length) throw new RosArgsError(`${path}: ros__parameters without a node name`);
        if (v !== null) addParams(entryFor(entries, keys.join("/")), v, "", path);
      } else if (v !== null) walk(v, [...keys, key]);
    }
  };
  walk(root, []);
}

/** rcl's parsed overrides: every source in order, an entry per node key in order of first appearance. */
export function paramEntries(sources: readonly ParamSource[], readFile: (path: string) => string = (p) => readFileSync(p, "utf8")): NodeParamEntry[] {
  const entries: NodeParamEntry[] = [];
  for (const s of sources) {
    if (s.kind === "file") addFile(entries, parseYaml(readFile(s.path), s.path), s.path);
    else entryFor(entries, s.node).params.set(s.name, typedFromYaml(parseYaml(s.value, `-p ${s.name}`), `-p ${s.name}`));
  }
  return entries;
}

/** rclcpp's match of a parameter-file node key against a node's fully qualified name ("/*" one token, "/**" any). */
export function nodeKeyMatches(key: string, fqn: string): boolean {
  const k = key.startsWith("/") ? key : `/${key}`;
  let re = "";
  for (let i = 0; i < k.length; ) {
    if (k.startsWith("/**", i)) {
      re += "(/\\w+)*";
      i += 3;
    } else if (k.startsWith("/*", i)) {
      re += "(/\\w+)";
      i += 2;
    } else {
      re += k[i]!.replace(/[.+?^${}()|[\]\\*]/g, "\\$&");
      i += 1;
    }
  }
  return new RegExp(`^${re}$`).test(fqn);
}

/** The overrides that apply to the node `fqn`, later matching entries winning (rclcpp's rule). */
export function resolveParamOverrides(entries: readonly NodeParamEntry[], fqn: string): Map<string, TypedParam> {
  const out = new Map<string, TypedParam>();
  for (const e of entries) if (nodeKeyMatches(e.node, fqn)) for (const [k, v] of e.params) out.set(k, v);
  return out;
}

/** "/ns/name" from a node's namespace and name. */
export function fullyQualifiedName(namespace: string, name: string): string {
  return namespace === "" || namespace === "/" ? `/${name}` : `${namespace.replace(/\/$/, "")}/${name}`;
}

/** The overrides for node `fqn` from a process's argv (--ros-args sections). */
export function overridesFromArgv(argv: readonly string[], fqn: string, readFile?: (path: string) => string): Map<string, TypedParam> {
  return resolveParamOverrides(paramEntries(rosArgsParamSources(argv), readFile), fqn);
}

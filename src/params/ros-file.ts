// A ROS 2 params file (config/vla_policy.yaml, `ros2 param dump` output) read the way
// the node reads it: through ros-args.ts, which types and merges entries as rcl and
// rclcpp do, then through the table's own parser.
import { readFile } from "node:fs/promises";
import { nodeKeyMatches, paramEntries, resolveParamOverrides, RosArgsError } from "../ros/ros-args.js";
import { ParamsError } from "./param-table.js";
import { parseParams, type PolicyParams } from "./table.js";

/**
 * The parameters a params file gives node `node` (its own section, "/**" and any other
 * key matching it, later entries winning), as plain values. Throws ParamsError when
 * the file cannot be read as a params file or has no section for the node.
 */
export function rosParamsFromYaml(text: string, node = "vla_policy", file = "<params>"): Record<string, unknown> {
  let entries: ReturnType<typeof paramEntries>;
  try {
    entries = paramEntries([{ kind: "file", path: file }], () => text);
  } catch (e) {
    if (e instanceof RosArgsError) throw new ParamsError([e.message]);
    throw e;
  }
  const fqn = `/${node}`;
  if (!entries.some((e) => nodeKeyMatches(e.node, fqn))) throw new ParamsError([`${file}: no section for node "${node}" (or "/**")`]);
  const values = resolveParamOverrides(entries, fqn);
  const out: Record<string, unknown> = {};
  // rcl's integers are int64 (BigInt); the table's parsers take numbers.
  for (const [name, t] of values) out[name] = typeof t.value === "bigint" ? Number(t.value) : t.value;
  return out;
}

/** Reads and validates a ROS 2 params file. */
export async function loadParamsFile(file: string, node = "vla_policy"): Promise<PolicyParams> {
  return parseParams(rosParamsFromYaml(await readFile(file, "utf8"), node, file));
}

// Parameter overrides from --ros-args, resolved as rclcpp resolves them. On a
// live Humble graph rclnodejs 2.2 let the params file's node-specific
// `model: ""` beat the launch file's model:= (passed as a later "/**" file), so
// `ros2 launch ... vla.launch.xml model:=...` refused to start; these tests pin
// the rclcpp order and rcl's typing.
import { repoPath } from "./fixtures/repo-path.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { VirtualClock } from "../src/control/clock.js";
import { POLICY_TABLE, parseParams } from "../src/params/table.js";
import { PARAMETER_TYPE, type RosParameter } from "../src/ros/rclnodejs-api.js";
import { nodeKeyMatches, overridesFromArgv, paramEntries, parseParamRule, rosArgsParamSources, rosScalar } from "../src/ros/ros-args.js";
import { declareParams } from "../src/ros/ros-params.js";
import { paramDecls } from "../src/ros/node-params.js";
import { FakeNode, FakeRcl, override } from "./ros-fake-rclnodejs.js";

/** A fake node that, like rclnodejs, skips its own override when asked to and has a namespace. */
class NsNode extends FakeNode {
  constructor(
    name: string,
    private readonly ns: string,
    overrides: RosParameter[],
  ) {
    super(name, new VirtualClock({ start: 0 }), overrides);
  }

  namespace(): string {
    return this.ns;
  }

  override declareParameter(parameter: RosParameter, descriptor?: unknown, ignoreOverride = false): RosParameter {
    if (!ignoreOverride) return super.declareParameter(parameter);
    if (this.params.has(parameter.name)) throw new Error(`Parameter(${parameter.name}) already declared.`);
    this.params.set(parameter.name, parameter);
    return parameter;
  }
}

const CONFIG = readFileSync(repoPath("config", "vla_policy.yaml"), "utf8");
/** What launch_ros writes for <param name="model" value="..."/> on a node without a namespace. */
const LAUNCH_DICT = "/**:\n  ros__parameters:\n    model: /models/t1\n";

function files(map: Record<string, string>): (p: string) => string {
  return (p) => {
    const t = map[p];
    if (t === undefined) throw new Error(`no such file ${p}`);
    return t;
  };
}

test("--ros-args: every --params-file and -p in order, other ROS arguments and non-ROS arguments skipped", () => {
  const argv = [
    "node",
    "main.js",
    "vla_policy",
    "-p",
    "x:=1",
    "--ros-args",
    "-r",
    "__node:=vla_policy",
    "--params-file",
    "/a.yaml",
    "--log-level",
    "info",
    "-p",
    "model:=/m",
    "--disable-rosout-logs",
    "--",
    "--params-file",
    "/not-ros.yaml",
    "--ros-args",
    "--param",
    "vla_policy:stamped:=true",
  ];
  assert.deepEqual(rosArgsParamSources(argv), [
    { kind: "file", path: "/a.yaml" },
    { kind: "rule", node: "/**", name: "model", value: "/m" },
    { kind: "rule", node: "vla_policy", name: "stamped", value: "true" },
  ]);
  assert.deepEqual(parseParamRule("instruction:=go to the basket"), { kind: "rule", node: "/**", name: "instruction", value: "go to the basket" });
  assert.throws(() => parseParamRule("model=/m"), /name:=value/);
});

test("scalars are typed as rcl types them", () => {
  assert.deepEqual(rosScalar("true", false), { type: PARAMETER_TYPE.BOOL, value: true });
  assert.deepEqual(rosScalar("yes", false), { type: PARAMETER_TYPE.BOOL, value: true });
  assert.deepEqual(rosScalar("Off", false), { type: PARAMETER_TYPE.BOOL, value: false });
  assert.deepEqual(rosScalar("true", true), { type: PARAMETER_TYPE.STRING, value: "true" });
  assert.deepEqual(rosScalar("2", false), { type: PARAMETER_TYPE.INTEGER, value: 2n });
  assert.deepEqual(rosScalar("-3", false), { type: PARAMETER_TYPE.INTEGER, value: -3n });
  assert.deepEqual(rosScalar("0x10", false), { type: PARAMETER_TYPE.INTEGER, value: 16n });
  assert.deepEqual(rosScalar("010", false), { type: PARAMETER_TYPE.INTEGER, value: 8n }, "strtoll base 0: octal");
  assert.deepEqual(rosScalar("08", false), { type: PARAMETER_TYPE.DOUBLE, value: 8 }, "not octal, so strtod");
  assert.deepEqual(rosScalar("2.0", false), { type: PARAMETER_TYPE.DOUBLE, value: 2 });
  assert.deepEqual(rosScalar("1e-3", false), { type: PARAMETER_TYPE.DOUBLE, value: 0.001 });
  assert.deepEqual(rosScalar(".inf", false), { type: PARAMETER_TYPE.DOUBLE, value: Infinity });
  assert.deepEqual(rosScalar("-.inf", false), { type: PARAMETER_TYPE.DOUBLE, value: -Infinity });
  assert.deepEqual(rosScalar("/models/t1", false), { type: PARAMETER_TYPE.STRING, value: "/models/t1" });
  assert.deepEqual(rosScalar("constructor", false), { type: PARAMETER_TYPE.STRING, value: "constructor" });
  assert.deepEqual(rosScalar("", false), { type: PARAMETER_TYPE.STRING, value: "" });
});

test("the launch file's model:= (a later /** file) beats the params file's node-specific model: \"\"", () => {
  const read = files({ "/cfg.yaml": CONFIG, "/launch_params": LAUNCH_DICT });
  const argv = ["--ros-args", "-r", "__node:=vla_policy", "--params-file", "/cfg.yaml", "--params-file", "/launch_params", "-r", "image:=/camera/image"];
  const o = overridesFromArgv(argv, "/vla_policy", read);
  assert.deepEqual(o.get("model"), { type: PARAMETER_TYPE.STRING, value: "/models/t1" });
  assert.deepEqual(o.get("control_rate_hz"), { type: PARAMETER_TYPE.DOUBLE, value: 20 });
  assert.deepEqual(o.get("threads"), { type: PARAMETER_TYPE.INTEGER, value: 0n });
  // rclcpp's rule is entry order, not argument order: the /** entry first seen first loses to the node's entry.
  const reversed = overridesFromArgv(["--ros-args", "--params-file", "/launch_params", "--params-file", "/cfg.yaml"], "/vla_policy", read);
  assert.deepEqual(reversed.get("model"), { type: PARAMETER_TYPE.STRING, value: "" });
});

test("-p after --params-file wins when the file's entry came first; a later value in the same entry replaces an earlier one", () => {
  const read = files({ "/cfg.yaml": CONFIG, "/g.yaml": "/**:\n  ros__parameters:\n    control_rate_hz: 7.0\n" });
  const o = overridesFromArgv(["--ros-args", "--params-file", "/cfg.yaml", "-p", "model:=/m", "-p", "stamped:=true"], "/vla_policy", read);
  assert.deepEqual(o.get("model"), { type: PARAMETER_TYPE.STRING, value: "/m" });
  assert.deepEqual(o.get("stamped"), { type: PARAMETER_TYPE.BOOL, value: true });
  const g = overridesFromArgv(["--ros-args", "--params-file", "/g.yaml", "-p", "control_rate_hz:=9"], "/vla_policy", read);
  assert.deepEqual(g.get("control_rate_hz"), { type: PARAMETER_TYPE.INTEGER, value: 9n });
});

test("node keys: /name, bare name, namespaces, nested namespace maps and wildcards match as in rclcpp", () => {
  assert.ok(nodeKeyMatches("/vla_policy", "/vla_policy"), "/vla_policy");
  assert.ok(nodeKeyMatches("vla_policy", "/vla_policy"), "bare name");
  assert.ok(nodeKeyMatches("/**", "/robot1/vla_policy"), "/** matches everything");
  assert.ok(nodeKeyMatches("/**/vla_policy", "/robot1/vla_policy"), "/**/name");
  assert.ok(nodeKeyMatches("/**/vla_policy", "/vla_policy"), "/**/name at the root");
  assert.ok(nodeKeyMatches("/robot1/*", "/robot1/vla_policy"), "/ns/*");
  assert.ok(!nodeKeyMatches("/vla_policy", "/robot1/vla_policy"), "root key does not match a namespaced node");
  assert.ok(!nodeKeyMatches("/robot1/vla_policy", "/vla_policy"), "namespaced key does not match the root node");
  assert.ok(!nodeKeyMatches("/episode_recorder", "/vla_policy"), "another node");
  const entries = paramEntries(
    [{ kind: "file", path: "/n.yaml" }],
    files({
      "/n.yaml": "robot1:\n  vla_policy:\n    ros__parameters:\n      model: /m\n      nested:\n        a: 1\n",
    }),
  );
  assert.equal(entries.length, 1);
  assert.equal(entries[0]!.node, "robot1/vla_policy");
  assert.deepEqual([...entries[0]!.params.keys()], ["model", "nested.a"]);
  assert.ok(nodeKeyMatches(entries[0]!.node, "/robot1/vla_policy"), "nested namespace key");
});

test("declareParams: the resolved override is declared over rclnodejs' own, a number in the parameter's numeric kind", () => {
  const read = files({ "/cfg.yaml": CONFIG, "/launch_params": LAUNCH_DICT });
  const argv = ["--ros-args", "--params-file", "/cfg.yaml", "--params-file", "/launch_params", "-p", "max_accel:=3"];
  // What rclnodejs 2.2 computed from these arguments: the node-specific file entry won.
  const fake = new NsNode("vla_policy", "/", [override("model", ""), override("max_accel", 2.0)]);
  const raw = declareParams(new FakeRcl(new VirtualClock({ start: 0 })), fake, paramDecls(POLICY_TABLE), { argv, readFile: read });
  assert.equal(raw.model, "/models/t1");
  assert.equal(raw.max_accel, 3);
  assert.equal(fake.getParameter("model").value, "/models/t1");
  // rcl typed -p max_accel:=3 an integer; max_accel is a double, and declared so (a later `param set max_accel 1.5` must fit).
  assert.equal(fake.getParameter("max_accel").type, PARAMETER_TYPE.DOUBLE);
  assert.equal(fake.getParameter("max_accel").value, 3);
  assert.equal(parseParams(raw).model, "/models/t1");
});

test("declareParams: a /ns/name params file applies to a namespaced node, and a misspelt name in it is refused", () => {
  const read = files({ "/r.yaml": "/robot1/vla_policy:\n  ros__parameters:\n    model: /m\n    contol_rate_hz: 5\n" });
  const fake = new NsNode("vla_policy", "/robot1", []);
  const raw = declareParams(new FakeRcl(new VirtualClock({ start: 0 })), fake, paramDecls(POLICY_TABLE), {
    argv: ["--ros-args", "--params-file", "/r.yaml"],
    readFile: read,
  });
  assert.equal(raw.model, "/m");
  assert.throws(() => parseParams(raw), /contol_rate_hz/);
  const other = new NsNode("vla_policy", "/", []);
  const rawRoot = declareParams(new FakeRcl(new VirtualClock({ start: 0 })), other, paramDecls(POLICY_TABLE), {
    argv: ["--ros-args", "--params-file", "/r.yaml"],
    readFile: read,
  });
  assert.equal(rawRoot.model, "", "the /robot1 entry does not apply to /vla_policy");
});

test("declareParams: unreadable --ros-args leave rclnodejs' overrides in place and say so", () => {
  const fake = new NsNode("vla_policy", "/", [override("model", "/from-rclnodejs")]);
  const raw = declareParams(new FakeRcl(new VirtualClock({ start: 0 })), fake, paramDecls(POLICY_TABLE), {
    argv: ["--ros-args", "--params-file", "/missing.yaml"],
    readFile: files({}),
  });
  assert.equal(raw.model, "/from-rclnodejs");
  assert.ok(
    fake.logs.some((l) => l.level === "warn" && l.message.includes("/missing.yaml")),
    `a warning names the file: ${JSON.stringify(fake.logs)}`,
  );
});

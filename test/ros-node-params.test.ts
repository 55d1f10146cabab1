// The one rule every node's `ros2 param set` goes through (ros/node-params.ts), on a
// table of its own and the in-memory rclnodejs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { VirtualClock } from "../src/control/clock.js";
import { ParamTable } from "../src/params/param-table.js";
import { boolParam, numberParam, stringParam } from "../src/params/spec.js";
import { POLICY_TABLE } from "../src/params/table.js";
import { RECORDER_TABLE } from "../src/params/recorder-table.js";
import { TELEOP_TABLE } from "../src/params/teleop-table.js";
import { NodeParams, type NodePhase } from "../src/ros/node-params.js";
import { PARAMETER_TYPE } from "../src/ros/rclnodejs-api.js";
import { FakeParameter, FakeRcl, override } from "./ros-fake-rclnodejs.js";

const TABLE = new ParamTable(
  {
    limit: numberParam({ applies: "live", unit: "m/s", default: 1, min: 0, minInclusive: false, description: "" }),
    floor: numberParam({ applies: "live", unit: "m/s", default: 0.1, min: 0, minInclusive: true, description: "" }),
    path: stringParam({ applies: "configure", default: "", description: "" }),
    autostart: boolParam({ applies: "start", default: true, description: "" }),
  },
  (p, ok) => (ok("floor") && ok("limit") && p.floor >= p.limit ? [`floor: expected less than limit (${p.limit}), got ${p.floor}`] : []),
);

/** rclnodejs' own overrides (FakeRcl's), or `-p` arguments resolved from argv as a launched node's are. */
function setup(overrides: FakeParameter[] = [], rosArgs: string[] = []) {
  const clock = new VirtualClock({ start: 0 });
  const rcl = new FakeRcl(clock, overrides);
  const node = rcl.createNode("robot_node");
  const params = new NodeParams(rcl, node, TABLE, { argv: ["node", "main.js", "--ros-args", ...rosArgs.flatMap((a) => ["-p", a])] });
  let phase: NodePhase = { kind: "unconfigured" };
  const applied: { raw: Record<string, unknown>; changed: readonly string[] }[] = [];
  let failApply: string | null = null;
  params.watch({
    phase: () => phase,
    apply: (raw, changed) => {
      if (failApply) throw new Error(failApply);
      applied.push({ raw, changed });
    },
  });
  return {
    node,
    params,
    applied,
    set: (name: string, value: boolean | number | string) => node.setParameters([override(name, value)])[0]!,
    value: (name: string) => node.getParameter(name).value,
    phase: (p: NodePhase) => void (phase = p),
    failApply: (m: string | null) => void (failApply = m),
  };
}

test("unconfigured: a valid value is accepted for configure to read (nothing applied), a bad one refused with the table's reason and the old value kept", () => {
  const h = setup();
  assert.deepEqual(h.set("limit", 0.5), { successful: true, reason: "" });
  assert.deepEqual(h.set("path", "/data"), { successful: true, reason: "" }, "a configure parameter is free while unconfigured");
  assert.deepEqual(h.applied, [], "nothing runs to apply it to");
  assert.deepEqual(h.set("limit", -5), { successful: false, reason: "limit: expected a number > 0, got -5" });
  assert.equal(h.value("limit"), 0.5, "the old value stays");
  assert.deepEqual(h.params.raw(), { limit: 0.5, floor: 0.1, path: "/data", autostart: true });
});

test("configured: a live value is applied, with every value and the names changed; a bad one is refused and nothing applied", () => {
  const h = setup();
  h.phase({ kind: "configured", label: "active" });
  assert.deepEqual(h.set("limit", 0.3), { successful: true, reason: "" });
  assert.deepEqual(h.applied, [{ raw: { limit: 0.3, floor: 0.1, path: "", autostart: true }, changed: ["limit"] }]);
  assert.equal(h.value("limit"), 0.3);
  assert.deepEqual(h.set("limit", "fast"), { successful: false, reason: 'limit: expected a number > 0, got "fast"' });
  assert.equal(h.applied.length, 1);
  assert.equal(h.value("limit"), 0.3);
});

test("a rule between parameters holds whichever of them changes", () => {
  const h = setup();
  h.phase({ kind: "configured", label: "active" });
  assert.deepEqual(h.set("limit", 0.05), { successful: false, reason: "floor: expected less than limit (0.05), got 0.1" });
  assert.deepEqual(h.set("floor", 2), { successful: false, reason: "floor: expected less than limit (1), got 2" });
  assert.deepEqual(h.set("floor", 0.01), { successful: true, reason: "" });
  assert.deepEqual(h.set("limit", 0.05), { successful: true, reason: "" }, "in that order it is fine");
});

test("configure and start parameters on a configured node: refused, saying how to apply them", () => {
  const h = setup();
  h.phase({ kind: "configured", label: "active" });
  const active = h.set("path", "/other");
  assert.equal(active.successful, false);
  assert.equal(
    active.reason,
    "robot_node reads path at configure and is active: deactivate and clean up (ros2 lifecycle set /robot_node deactivate, then cleanup), set it, then configure and activate",
  );
  h.phase({ kind: "configured", label: "inactive" });
  assert.equal(
    h.set("path", "/other").reason,
    "robot_node reads path at configure and is inactive: clean up (ros2 lifecycle set /robot_node cleanup), set it, then configure and activate",
  );
  assert.equal(h.value("path"), "");
  for (const phase of [{ kind: "unconfigured" }, { kind: "configured", label: "active" }] as const) {
    h.phase(phase);
    const r = h.set("autostart", false);
    assert.deepEqual(r, { successful: false, reason: "autostart is read once, when robot_node starts: start it again with autostart:=<value>" }, phase.kind);
  }
  assert.deepEqual(h.applied, []);
});

test("during a transition or once finalized nothing is taken; a failed apply refuses the change", () => {
  const h = setup();
  h.phase({ kind: "busy", label: "configuring" });
  assert.deepEqual(h.set("limit", 0.5), {
    successful: false,
    reason: "robot_node is configuring: set limit again once it is unconfigured, inactive or active",
  });
  h.phase({ kind: "configured", label: "active" });
  h.failApply("the timer could not be made");
  assert.deepEqual(h.set("limit", 0.5), { successful: false, reason: "limit: not applied: the timer could not be made" });
  assert.equal(h.value("limit"), 1);
});

test("what is not the node's is left alone; a parameter cannot be undeclared; a misspelt override or a bad value already waiting does not block other sets", () => {
  const h = setup([], ["limt:=3", "floor:=-1"]);
  h.node.declareParameter(override("use_sim_time", false));
  assert.deepEqual(h.node.setParameters([override("use_sim_time", true)]), [{ successful: true, reason: "" }]);
  assert.throws(() => TABLE.parse(h.params.raw()), /limt: unknown parameter[\s\S]*floor: expected a number >= 0, got -1/, "configure will refuse both");
  assert.deepEqual(h.set("limit", 0.5), { successful: true, reason: "" });
  assert.deepEqual(h.set("floor", 0.2), { successful: true, reason: "" }, "and the bad value can be fixed");
  const unset = h.node.setParameters([new FakeParameter("limit", PARAMETER_TYPE.NOT_SET)])[0]!;
  assert.deepEqual(unset, { successful: false, reason: "limit: robot_node needs it; it cannot be undeclared" });
});

test("a number in the other numeric type keeps the declared one: an integer for a double, from -p or ros2 param set", () => {
  // -p floor:=0 and `ros2 param set ... limit 2` are integers; both parameters are doubles.
  const h = setup([], ["floor:=0"]);
  assert.equal(h.node.getParameter("floor").type, PARAMETER_TYPE.DOUBLE, "declared a double, so 0.5 can be set later");
  assert.deepEqual(h.set("floor", 0.5), { successful: true, reason: "" });
  assert.deepEqual(h.set("limit", 2), { successful: true, reason: "" });
  assert.deepEqual([h.node.getParameter("limit").type, h.value("limit")], [PARAMETER_TYPE.DOUBLE, 2]);
  // Another type: the table's reason when it has one, else what type is expected; the old value stays.
  assert.deepEqual(h.set("limit", "fast"), { successful: false, reason: 'limit: expected a number > 0, got "fast"' });
  assert.deepEqual(h.set("limit", true), { successful: false, reason: "limit: expected a number > 0, got true" });
  assert.deepEqual(h.set("path", 3), { successful: false, reason: "path: expected a string, got 3" });
  assert.deepEqual([h.value("limit"), h.value("path")], [2, ""]);
  // A refusal does not carry over to the next set.
  assert.deepEqual(h.set("limit", 3.5), { successful: true, reason: "" });
  // A value the table would take but ROS cannot store in the declared type: frame_interval_s is a double (0 = auto).
  const rcl = new FakeRcl(new VirtualClock({ start: 0 }));
  const node = rcl.createNode("vla_policy");
  new NodeParams(rcl, node, POLICY_TABLE, { argv: [] }).watch({ phase: () => ({ kind: "unconfigured" }), apply: () => {} });
  assert.deepEqual(node.setParameters([override("frame_interval_s", "auto")]), [
    { successful: false, reason: 'frame_interval_s: a double is expected (ROS parameters keep their declared type), got the string "auto"' },
  ]);
  assert.deepEqual(node.setParameters([override("frame_interval_s", 0)]), [{ successful: true, reason: "" }]);
});

test("every node's parameters say when they apply: limits, rates and aggregation live; what builds the model, a publisher or a state machine at configure; autostart at start", () => {
  const byApplies = (t: { names: readonly string[]; spec(n: string): { applies: string } }) => {
    const out: Record<string, string[]> = { live: [], configure: [], start: [] };
    for (const n of t.names) out[t.spec(n).applies]!.push(n);
    return out;
  };
  assert.deepEqual(byApplies(POLICY_TABLE), {
    live: [
      "instruction",
      "frame_interval_s",
      "window_fill",
      "control_rate_hz",
      "aggregation",
      "ensemble_k",
      "limit_mode",
      "max_linear_x",
      "max_linear_y",
      "max_accel",
      "max_decel",
      "deadband",
      "watchdog_timeout_s",
      "frame_id",
    ],
    configure: ["model", "precision", "provider", "threads", "graph_optimization", "image_source", "image_service", "image_service_type", "stamped"],
    start: ["autostart"],
  });
  assert.deepEqual(byApplies(RECORDER_TABLE), {
    live: ["scenario"],
    configure: ["output_dir", "capture", "capture_interval_s", "hold_s", "channel_order", "gzip"],
    start: ["autostart"],
  });
  assert.deepEqual(byApplies(TELEOP_TABLE), { live: ["speed", "hold_s"], configure: [], start: [] });
});

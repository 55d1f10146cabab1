// The managed-node state machine against rcl's default one (ids, labels, which
// transition leads where), its ROS services as `ros2 lifecycle` and nav2's
// lifecycle manager call them, the bond, autostart and the set-parameters hook.
import { test } from "node:test";
import assert from "node:assert/strict";
import { VirtualClock } from "../src/control/clock.js";
import { BOND, type BondStatusMsg } from "../src/ros/bond.js";
import { LIFECYCLE_SERVICES, TRANSITION_EVENT } from "../src/ros/lifecycle-interface.js";
import { LifecycleStateMachine, STATE, TRANSITION, type CallbackResult, type LifecycleCallbacks, type TransitionEvent } from "../src/ros/lifecycle.js";
import { ManagedNode, StartupError } from "../src/ros/managed-node.js";
import { FakeRcl } from "./ros-fake-rclnodejs.js";

const quiet = { info: () => {}, warn: () => {}, error: () => {} };

/** Callbacks that record their calls and return what the test says. */
function scripted(results: Partial<Record<keyof LifecycleCallbacks, CallbackResult | (() => Promise<CallbackResult>)>> = {}) {
  const calls: string[] = [];
  const make =
    (name: keyof LifecycleCallbacks) =>
    async (from?: number): Promise<CallbackResult> => {
      calls.push(from === undefined ? name : `${name}(${from})`);
      const r = results[name] ?? "success";
      return typeof r === "function" ? r() : r;
    };
  const callbacks: LifecycleCallbacks = {
    onConfigure: make("onConfigure"),
    onActivate: make("onActivate"),
    onDeactivate: make("onDeactivate"),
    onCleanup: make("onCleanup"),
    onShutdown: make("onShutdown"),
    onError: make("onError"),
  };
  return { calls, callbacks };
}

test("rcl's state machine: configure, activate, deactivate, cleanup, shutdown in order, one transition event per step", async () => {
  const { calls, callbacks } = scripted();
  const events: TransitionEvent[] = [];
  const m = new LifecycleStateMachine(callbacks, { log: quiet, onTransition: (e) => events.push(e) });
  assert.deepEqual(m.state, { id: 1, label: "unconfigured" });
  assert.deepEqual(
    m.availableTransitions().map((t) => [t.transition.id, t.transition.label, t.goal_state.label]),
    [
      [1, "configure", "configuring"],
      [5, "shutdown", "shuttingdown"],
    ],
    "from unconfigured: configure and shutdown, as rcl offers",
  );
  for (const [step, goal] of [
    ["configure", "inactive"],
    ["activate", "active"],
    ["deactivate", "inactive"],
    ["cleanup", "unconfigured"],
    ["shutdown", "finalized"],
  ] as const) {
    const r = await m[step]();
    assert.deepEqual([r.success, r.state.label, r.refused], [true, goal, null], `${step} succeeds into ${goal}`);
  }
  assert.deepEqual(calls, ["onConfigure", "onActivate", "onDeactivate", "onCleanup", `onShutdown(${STATE.UNCONFIGURED})`]);
  assert.deepEqual(
    events.map((e) => `${e.transition.id}:${e.start_state.label}->${e.goal_state.label}`),
    [
      "1:unconfigured->configuring",
      "10:configuring->inactive",
      "3:inactive->activating",
      "40:activating->active",
      "4:active->deactivating",
      "50:deactivating->inactive",
      "2:inactive->cleaningup",
      "20:cleaningup->unconfigured",
      "5:unconfigured->shuttingdown",
      "30:shuttingdown->finalized",
    ],
  );
  assert.deepEqual(m.availableTransitions(), [], "nothing leaves finalized");
  assert.equal(m.transitionGraph().length, 25, "rcl's 25 transitions");
  assert.equal(m.availableStates().length, 11, "rcl's 11 states");
});

test("a transition not valid from the current state is refused and runs no callback; the label wins over the id", async () => {
  const { calls, callbacks } = scripted();
  const m = new LifecycleStateMachine(callbacks, { log: quiet });
  const r = await m.activate();
  assert.deepEqual([r.success, r.state.label], [false, "unconfigured"]);
  assert.match(r.refused ?? "", /transition 3 is not available from state unconfigured/);
  assert.equal((await m.change({ id: TRANSITION.ON_CONFIGURE_SUCCESS })).success, false, "the machine's own result transitions cannot be requested");
  assert.deepEqual(calls, []);
  // `ros2 service call ... "{transition: {label: configure}}"` leaves id 0.
  assert.equal((await m.change({ id: 0, label: "configure" })).state.label, "inactive");
  assert.equal((await m.change({ id: 0, label: "bogus" })).success, false);
});

test("shutdown is one label for three transitions: 5, 6 or 7 by the state it starts from", async () => {
  for (const [prep, id, from] of [
    [[], TRANSITION.UNCONFIGURED_SHUTDOWN, STATE.UNCONFIGURED],
    [["configure"], TRANSITION.INACTIVE_SHUTDOWN, STATE.INACTIVE],
    [["configure", "activate"], TRANSITION.ACTIVE_SHUTDOWN, STATE.ACTIVE],
  ] as const) {
    const { calls, callbacks } = scripted();
    const events: TransitionEvent[] = [];
    const m = new LifecycleStateMachine(callbacks, { log: quiet, onTransition: (e) => events.push(e) });
    for (const p of prep) await m[p]();
    assert.equal((await m.shutdown()).state.label, "finalized");
    assert.equal(events.at(-2)?.transition.id, id, `shutdown from state ${from} is transition ${id}`);
    assert.equal(calls.at(-1), `onShutdown(${from})`, "on_shutdown learns where it started");
  }
});

test("FAILURE returns to the start state; ERROR (or a throw) runs on_error, which ends in unconfigured or finalized", async () => {
  const fail = scripted({ onConfigure: "failure" });
  const m1 = new LifecycleStateMachine(fail.callbacks, { log: quiet });
  assert.deepEqual([(await m1.configure()).success, m1.state.label], [false, "unconfigured"]);

  const err = scripted({ onActivate: "error" });
  const m2 = new LifecycleStateMachine(err.callbacks, { log: quiet });
  await m2.configure();
  const r2 = await m2.activate();
  assert.deepEqual([r2.success, r2.state.label], [false, "unconfigured"], "on_error SUCCESS: unconfigured");
  assert.deepEqual(err.calls, ["onConfigure", "onActivate", `onError(${STATE.INACTIVE})`]);

  const thrown = scripted({
    onConfigure: async () => {
      throw new Error("boom");
    },
    onError: "failure",
  });
  const logged: string[] = [];
  const m3 = new LifecycleStateMachine(thrown.callbacks, { log: { ...quiet, error: (m: string) => void logged.push(m) } });
  const r3 = await m3.configure();
  assert.deepEqual([r3.success, r3.state.label], [false, "finalized"], "a throw is ERROR, on_error FAILURE: finalized");
  assert.ok(
    logged.some((l) => /configuring callback threw: boom/.test(l)),
    `the throw is logged: ${logged.join(" | ")}`,
  );
});

test("a request while a transition runs is refused (the node is in a transition state); shutdownFromAnyState waits for it", async () => {
  let release!: () => void;
  const slow = scripted({ onConfigure: () => new Promise<CallbackResult>((r) => (release = () => r("success"))) });
  const m = new LifecycleStateMachine(slow.callbacks, { log: quiet });
  const configuring = m.configure();
  assert.equal(m.state.label, "configuring", "in the transition state while the callback runs");
  assert.ok(m.busy);
  const during = await m.change({ id: TRANSITION.ACTIVATE });
  assert.deepEqual([during.success, during.state.label], [false, "configuring"]);
  assert.deepEqual(
    m.availableTransitions().map((t) => t.transition.label),
    ["transition_success", "transition_failure", "transition_error"],
  );
  const down = m.shutdownFromAnyState();
  release();
  assert.equal((await configuring).state.label, "inactive");
  assert.deepEqual(await down, { id: STATE.FINALIZED, label: "finalized" });
  assert.deepEqual(slow.calls, ["onConfigure", `onShutdown(${STATE.INACTIVE})`]);
});

function managed(results: Parameters<typeof scripted>[0] = {}) {
  const clock = new VirtualClock({ start: 50 });
  const rcl = new FakeRcl(clock);
  const node = rcl.createNode("vla_policy");
  const s = scripted(results);
  const m = new ManagedNode(node, clock, quiet, s.callbacks);
  return { clock, rcl, node, m, calls: s.calls };
}

test("the lifecycle services answer as ros2 lifecycle and nav2's lifecycle manager expect", async () => {
  const { node } = managed();
  for (const s of Object.values(LIFECYCLE_SERVICES)) assert.equal(node.serviceType(s.name), s.type, `${s.name} is offered as ${s.type}`);
  assert.deepEqual(await node.call("~/get_state"), { current_state: { id: 1, label: "unconfigured" } });
  // ros2 lifecycle set: the transition from get_available_transitions, id and label.
  const avail = (await node.call("~/get_available_transitions")) as { available_transitions: { transition: { id: number; label: string } }[] };
  const configure = avail.available_transitions.find((t) => t.transition.label === "configure")!.transition;
  assert.deepEqual(await node.call("~/change_state", { transition: configure }), { success: true });
  // nav2's lifecycle manager: change_state by id, then get_state must show the goal.
  assert.deepEqual(await node.call("~/change_state", { transition: { id: TRANSITION.ACTIVATE, label: "" } }), { success: true });
  assert.deepEqual(await node.call("~/get_state"), { current_state: { id: 3, label: "active" } });
  assert.deepEqual(
    await node.call("~/change_state", { transition: { id: TRANSITION.CONFIGURE, label: "" } }),
    { success: false },
    "configure from active is refused",
  );
  assert.deepEqual(await node.call("~/change_state", { nonsense: true }), { success: false }, "a malformed request asks for nothing");
  const graph = (await node.call("~/get_transition_graph")) as { available_transitions: unknown[] };
  assert.equal(graph.available_transitions.length, 25);
  const states = (await node.call("~/get_available_states")) as { available_states: { label: string }[] };
  assert.ok(states.available_states.some((s) => s.label === "errorprocessing"));
  const events = node.published(TRANSITION_EVENT.topic) as { transition: { id: number }; start_state: { label: string }; goal_state: { label: string } }[];
  assert.deepEqual(
    events.map((e) => e.goal_state.label),
    ["configuring", "inactive", "activating", "active"],
  );
  assert.equal(node.publishers.get(TRANSITION_EVENT.topic)?.type, TRANSITION_EVENT.type);
});

test("bond: heartbeats on /bond while active (nav2's manager waits for them), active: false on leaving, silence after", async () => {
  const { clock, node, m } = managed();
  const bond = () => node.published(BOND.topic) as BondStatusMsg[];
  await m.machine.configure();
  assert.equal(bond().length, 0, "no heartbeats before activation");
  await m.machine.activate();
  await clock.advanceBy(1.0);
  const beats = bond();
  assert.equal(beats.length, 5, "one at activation and one per 0.25 s");
  assert.ok(
    beats.every((b) => b.id === "vla_policy" && b.active && b.heartbeat_period === BOND.heartbeatPeriodS && b.heartbeat_timeout === BOND.heartbeatTimeoutS),
    JSON.stringify(beats[0]),
  );
  assert.equal(new Set(beats.map((b) => b.instance_id)).size, 1, "one instance id");
  await m.machine.deactivate();
  assert.equal(bond().at(-1)?.active, false, "deactivate ends the bond");
  const n = bond().length;
  await clock.advanceBy(1.0);
  assert.equal(bond().length, n, "nothing after");
  assert.equal(node.publishers.get(BOND.topic)?.type, BOND.type);
});

test("autostart: configure then activate; a failure names the transition and the node's reason", async () => {
  const ok = managed();
  await ok.m.startup(() => "unused");
  assert.deepEqual([ok.m.stateLabel, ok.m.isActive], ["active", true]);
  const bad = managed({ onConfigure: "failure" });
  await assert.rejects(
    bad.m.startup(() => 'model "/x" did not load'),
    (e: unknown) => {
      assert.ok(e instanceof StartupError);
      assert.equal(e.message, 'vla_policy: refusing to start: configure failed: model "/x" did not load');
      return true;
    },
  );
  assert.deepEqual(bad.calls, ["onConfigure"], "activate is not tried after a failed configure");
});

test("the parameter phase follows the lifecycle: unconfigured, configured (inactive / active), busy in a transition or finalized", async () => {
  let release!: () => void;
  const { m } = managed({ onConfigure: () => new Promise<CallbackResult>((r) => (release = () => r("success"))) });
  assert.deepEqual(m.paramPhase(), { kind: "unconfigured" });
  const configuring = m.machine.configure();
  assert.deepEqual(m.paramPhase(), { kind: "busy", label: "configuring" });
  release();
  await configuring;
  assert.deepEqual(m.paramPhase(), { kind: "configured", label: "inactive" });
  await m.machine.activate();
  assert.deepEqual(m.paramPhase(), { kind: "configured", label: "active" });
  await m.shutdown();
  assert.deepEqual(m.paramPhase(), { kind: "busy", label: "finalized" });
});

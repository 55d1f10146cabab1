// vla_policy as a managed node, driven the way `ros2 lifecycle set` and nav2's
// lifecycle manager drive it (through ~/change_state), on the in-memory rclnodejs,
// a virtual clock and a real tiny model.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { VirtualClock } from "../src/control/clock.js";
import { makeTinyModel } from "../synthetic/tiny-model.js";
import { VlaModel, type LoadOptions } from "../src/model/vla-model.js";
import { BOND, type BondStatusMsg } from "../src/ros/bond.js";
import type { DiagnosticArrayMsg } from "../src/ros/diagnostics.js";
import { PolicyNode, POLICY_TOPICS } from "../src/ros/policy-node.js";
import { FakeRcl, override, type FakeNode, type FakeParameter } from "./ros-fake-rclnodejs.js";
import { driveCamera, isZero, twistsOn } from "./fixtures/ros-policy.js";

let root: string;
let modelA: string;
let modelB: string;

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "ros-policy-lc-"));
  modelA = path.join(root, "a");
  modelB = path.join(root, "b");
  await makeTinyModel(modelA, { seed: 11 });
  await makeTinyModel(modelB, { seed: 12 });
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

interface Harness {
  clock: VirtualClock;
  fake: FakeNode;
  node: PolicyNode;
  loads: string[];
  closes: string[];
  /** `ros2 lifecycle set vla_policy <label>`. */
  set(label: string): Promise<boolean>;
}

async function managedNode(extra: FakeParameter[]): Promise<Harness> {
  const clock = new VirtualClock({ start: 1000, latency: 0.05 });
  const rcl = new FakeRcl(clock, extra);
  const loads: string[] = [];
  const closes: string[] = [];
  const loadModel = async (dir: string, o: LoadOptions): Promise<VlaModel> => {
    loads.push(dir);
    const m = await VlaModel.load(dir, o);
    const close = m.close.bind(m);
    m.close = async () => {
      closes.push(dir);
      await close();
    };
    return m;
  };
  const node = await PolicyNode.create({ rcl, scheduler: clock, flushMs: 0, loadModel });
  const fake = rcl.nodes[0]!;
  const set = async (label: string) => ((await fake.call("~/change_state", { transition: { id: 0, label } })) as { success: boolean }).success;
  return { clock, fake, node, loads, closes, set };
}

const lastDiag = (fake: FakeNode) => {
  const d = (fake.published(POLICY_TOPICS.diagnostics) as DiagnosticArrayMsg[]).at(-1)!.status[0]!;
  return { level: d.level, message: d.message, v: Object.fromEntries(d.values.map((kv) => [kv.key, kv.value])) };
};

test("autostart false: unconfigured until told; configure loads the model but drives nothing; activate drives; deactivate sends one zero then silence", async () => {
  const h = await managedNode([override("model", modelA), override("autostart", false)]);
  const { fake, clock } = h;
  assert.equal(h.node.lifecycleState, "unconfigured");
  assert.deepEqual(h.loads, [], "no model loaded before configure");
  assert.equal(fake.publishers.has(POLICY_TOPICS.cmdVel), false, "no cmd_vel publisher before configure");
  assert.deepEqual([...fake.subscriptions.keys()], [], "no subscriptions before configure");
  await clock.advanceBy(1);
  assert.deepEqual(
    [lastDiag(fake).level, lastDiag(fake).message, lastDiag(fake).v.lifecycle_state],
    [0, "unconfigured: not driving", "unconfigured"],
    "diagnostics from the start",
  );

  assert.equal(await h.set("configure"), true);
  assert.equal(h.node.lifecycleState, "inactive");
  assert.deepEqual(h.loads, [modelA]);
  assert.deepEqual([...fake.subscriptions.keys()].sort(), [POLICY_TOPICS.estop, POLICY_TOPICS.instruction], "inactive: instruction and e-stop only, no camera");
  fake.deliver(POLICY_TOPICS.instruction, { data: "go left" });
  await clock.advanceBy(1);
  assert.equal(twistsOn(fake).length, 0, "nothing published while inactive");

  assert.equal(await h.set("activate"), true);
  assert.ok(fake.subscriptions.has(POLICY_TOPICS.image) && fake.subscriptions.has(POLICY_TOPICS.compressed), "activate subscribes to the camera");
  await driveCamera(fake, clock, 3.0);
  assert.ok(
    twistsOn(fake).some((t) => !isZero(t)),
    "the instruction sent while inactive drives the robot once active",
  );

  const n = twistsOn(fake).length;
  assert.equal(await h.set("deactivate"), true);
  assert.equal(twistsOn(fake).length, n + 1, "exactly one command on deactivate");
  assert.ok(isZero(twistsOn(fake).at(-1)!), "and it is zero");
  assert.equal(fake.subscriptions.has(POLICY_TOPICS.image), false, "the camera is unsubscribed");
  await clock.advanceBy(2);
  assert.equal(twistsOn(fake).length, n + 1, "silence while inactive");

  assert.equal(await h.set("activate"), true);
  await driveCamera(fake, clock, 3.0, 100);
  assert.ok(
    twistsOn(fake)
      .slice(n + 1)
      .some((t) => !isZero(t)),
    "moves again after a second activation",
  );
  await h.node.shutdown();
  assert.ok(isZero(twistsOn(fake).at(-1)!), "shutdown from active: a zero first");
  assert.equal(h.node.lifecycleState, "finalized");
  assert.deepEqual(h.closes, [modelA], "the model is released");
});

test("cleanup releases the model and publishers, so a new model path loads on the next configure", async () => {
  const h = await managedNode([override("model", modelA)]);
  const { fake } = h;
  assert.equal(h.node.lifecycleState, "active", "autostart (default true)");
  const [refused] = fake.setParameters([override("model", modelB)]);
  assert.equal(refused!.successful, false, "a new model is refused while active");
  assert.match(refused!.reason, /reads model at configure and is active: deactivate and clean up/);
  assert.equal(await h.set("deactivate"), true);
  assert.equal(await h.set("cleanup"), true);
  assert.equal(h.node.lifecycleState, "unconfigured");
  assert.deepEqual(h.closes, [modelA], "cleanup closes the model");
  assert.equal(fake.publishers.has(POLICY_TOPICS.cmdVel), false, "and destroys the publishers");
  assert.deepEqual([...fake.subscriptions.keys()], []);
  assert.equal(h.node.pipeline, null);

  const [bad] = fake.setParameters([override("max_linear_x", -5.0)]);
  assert.deepEqual(
    bad,
    { successful: false, reason: "max_linear_x: expected a number > 0, got -5" },
    "an invalid value is refused with the reason (the table's own message, as at configure)",
  );
  assert.deepEqual(fake.setParameters([override("model", modelB), override("max_linear_x", 0.3)]), [
    { successful: true, reason: "" },
    { successful: true, reason: "" },
  ]);
  assert.equal(await h.set("configure"), true);
  assert.deepEqual(h.loads, [modelA, modelB], "the new path is loaded");
  assert.equal(h.node.params!.model, modelB);
  assert.equal(h.node.params!.max_linear_x, 0.3);
  await h.node.shutdown();
});

test("shutdown: from inactive one zero, from unconfigured nothing; either way finalized, diagnostics STALE", async () => {
  const inactive = await managedNode([override("model", modelA), override("autostart", false)]);
  assert.equal(await inactive.set("configure"), true);
  await inactive.node.shutdown();
  assert.equal(twistsOn(inactive.fake).length, 1, "one command");
  assert.ok(isZero(twistsOn(inactive.fake)[0]!), "a zero");
  assert.deepEqual(inactive.closes, [modelA]);

  const unconfigured = await managedNode([override("model", modelA), override("autostart", false)]);
  await unconfigured.node.shutdown();
  assert.equal(twistsOn(unconfigured.fake).length, 0, "never configured: no cmd_vel publisher, nothing sent");
  assert.equal(unconfigured.node.lifecycleState, "finalized");
  assert.deepEqual([lastDiag(unconfigured.fake).level, lastDiag(unconfigured.fake).message], [3, "finalized"]);
});

test("a failed configure leaves the node unconfigured and says why in /diagnostics (ERROR); fixed, it configures", async () => {
  const h = await managedNode([override("model", path.join(root, "missing")), override("autostart", false)]);
  assert.equal(await h.set("configure"), false, "ChangeState answers success: false");
  assert.equal(h.node.lifecycleState, "unconfigured");
  await h.clock.advanceBy(1);
  const d = lastDiag(h.fake);
  assert.equal(d.level, 2, "ERROR");
  assert.match(d.message, /^unconfigured: model ".*missing" did not load/);
  assert.ok(
    h.fake.logs.some((l) => l.level === "error" && /configure failed: model ".*missing" did not load/.test(l.message)),
    "logged",
  );
  assert.deepEqual(h.fake.setParameters([override("model", modelA)]), [{ successful: true, reason: "" }]);
  assert.equal(await h.set("configure"), true);
  await h.clock.advanceBy(1);
  assert.deepEqual([lastDiag(h.fake).level, lastDiag(h.fake).message], [0, "inactive: not driving"]);
  await h.node.shutdown();
});

test("an e-stop received while inactive still holds after activation", async () => {
  const h = await managedNode([override("model", modelA), override("autostart", false), override("instruction", "go left")]);
  assert.equal(await h.set("configure"), true);
  h.fake.deliver(POLICY_TOPICS.estop, { data: true });
  assert.equal(await h.set("activate"), true);
  await driveCamera(h.fake, h.clock, 3.0);
  assert.ok(twistsOn(h.fake).length > 50 && twistsOn(h.fake).every(isZero), "held still by the e-stop");
  h.fake.deliver(POLICY_TOPICS.estop, { data: false });
  await driveCamera(h.fake, h.clock, 3.0, 30);
  assert.ok(
    twistsOn(h.fake).some((t) => !isZero(t)),
    "released, it moves",
  );
  await h.node.shutdown();
});

test("nav2's lifecycle manager: change_state by id then get_state, bond heartbeats while active, the bring-down sequence", async () => {
  const h = await managedNode([override("model", modelA), override("autostart", false)]);
  const byId = async (id: number) => ((await h.fake.call("~/change_state", { transition: { id, label: "" } })) as { success: boolean }).success;
  const state = async () => ((await h.fake.call("~/get_state")) as { current_state: { id: number } }).current_state.id;
  assert.deepEqual([await byId(1), await state()], [true, 2], "configure -> inactive");
  assert.deepEqual([await byId(3), await state()], [true, 3], "activate -> active");
  await h.clock.advanceBy(1);
  const beats = h.fake.published(BOND.topic) as BondStatusMsg[];
  assert.ok(beats.length >= 4 && beats.every((b) => b.id === "vla_policy" && b.active), `heartbeats while active: ${beats.length}`);
  // shutdownAllNodes(): deactivate, cleanup, unconfigured shutdown.
  assert.deepEqual([await byId(4), await state()], [true, 2]);
  assert.equal((h.fake.published(BOND.topic) as BondStatusMsg[]).at(-1)?.active, false, "the bond ends with deactivation");
  assert.deepEqual([await byId(2), await state()], [true, 1]);
  assert.deepEqual([await byId(5), await state()], [true, 4]);
  assert.deepEqual(h.closes, [modelA]);
});

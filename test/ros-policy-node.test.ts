// The vla_policy node on a fake rclnodejs and a virtual clock: real tiny model,
// real pipeline, only the ROS transport is simulated.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { VirtualClock } from "../src/control/clock.js";
import { makeTinyModel } from "../synthetic/tiny-model.js";
import { VlaModel, type LoadOptions } from "../src/model/vla-model.js";
import { PolicyNode, PolicyNodeStartError, POLICY_TOPICS, MSG } from "../src/ros/policy-node.js";
import { QOS_SENSOR_DATA } from "../src/ros/rclnodejs-api.js";
import { FakeRcl, override, type FakeNode } from "./ros-fake-rclnodejs.js";
import type { FakeParameter } from "./ros-fake-rclnodejs.js";
import { driveCamera, imageMsg, isZero, twistsOn, type TwistLike } from "./fixtures/ros-policy.js";

let root: string;
let modelDir: string;

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "ros-policy-"));
  modelDir = path.join(root, "tiny");
  await makeTinyModel(modelDir, { seed: 11 });
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

interface Harness {
  clock: VirtualClock;
  rcl: FakeRcl;
  fake: FakeNode;
  node: PolicyNode;
}

async function startNode(extra: FakeParameter[] = []): Promise<Harness> {
  const clock = new VirtualClock({ start: 1000, latency: 0.05 });
  const rcl = new FakeRcl(clock, [override("model", modelDir), ...extra]);
  // autostart (the default) configures and activates the node.
  const node = await PolicyNode.create({ rcl, scheduler: clock, flushMs: 0 });
  const fake = rcl.nodes[0]!;
  assert.equal(node.lifecycleState, "active", "autostart leaves the node active");
  return { clock, rcl, fake, node };
}

async function drive(h: Harness, seconds: number, from = 0): Promise<void> {
  await driveCamera(h.fake, h.clock, seconds, from);
}

function twists(h: Harness): TwistLike[] {
  return twistsOn(h.fake);
}

/** Shuts the node down; an inference in flight completes only as virtual time moves, so time moves. */
async function stop(h: Harness): Promise<void> {
  const done = h.node.shutdown();
  await h.clock.advanceBy(1);
  await done;
}

test("subscribes to the camera with sensor-data QoS and to instruction/estop; publishes Twist on cmd_vel", async () => {
  const h = await startNode();
  try {
    const img = h.fake.subscriptions.get(POLICY_TOPICS.image);
    assert.ok(img, "image subscription exists");
    assert.equal(img.type, MSG.image);
    assert.equal(img.options.qos, QOS_SENSOR_DATA);
    assert.equal(h.fake.subscriptions.get(POLICY_TOPICS.compressed)?.type, MSG.compressed);
    assert.equal(h.fake.subscriptions.get(POLICY_TOPICS.compressed)?.options.qos, QOS_SENSOR_DATA);
    assert.equal(h.fake.subscriptions.get(POLICY_TOPICS.instruction)?.type, MSG.string);
    assert.equal(h.fake.subscriptions.get(POLICY_TOPICS.estop)?.type, MSG.bool);
    assert.equal(h.fake.publishers.get(POLICY_TOPICS.cmdVel)?.type, MSG.twist);
    assert.equal(h.fake.publishers.get(POLICY_TOPICS.diagnostics)?.type, MSG.diagnostics);
  } finally {
    await stop(h);
  }
});

test("image + instruction messages -> moving Twist commands; none before the instruction", async () => {
  const h = await startNode();
  try {
    await drive(h, 1.0);
    const before = twists(h);
    assert.ok(before.length >= 15, `a command every control tick before the instruction, got ${before.length}`);
    assert.ok(before.every(isZero), "no instruction: every command is zero");
    assert.equal(h.node.pipeline!.diagnostics().safety_state, "no_instruction");

    h.fake.deliver(POLICY_TOPICS.instruction, { data: "Navigate to the gray basket on the left" });
    await drive(h, 3.0, 10);
    const after = twists(h).slice(before.length);
    assert.ok(after.length >= 50, `20 Hz over 3 s, got ${after.length}`);
    const moving = after.filter((t) => !isZero(t));
    assert.ok(moving.length > 10, `the tiny model's chunks move the robot, got ${moving.length} non-zero of ${after.length}`);
    for (const t of after) {
      assert.ok(Math.abs(t.linear.x) <= 1 + 1e-9 && Math.abs(t.linear.y) <= 1 + 1e-9, `within max_linear: ${JSON.stringify(t)}`);
      assert.equal(t.angular.z, 0);
      assert.equal(typeof t.linear.x, "number");
    }
    const chunks = h.fake.published(POLICY_TOPICS.chunk) as { data: string }[];
    assert.ok(chunks.length > 0, "chunks are published on ~/chunk");
    const c = JSON.parse(chunks[0]!.data) as { stamp: number; step_s: number; actions: number[][] };
    assert.equal(c.step_s, 0.4);
    assert.equal(c.actions.length, 10);
    assert.ok(c.stamp >= 1000 && c.stamp <= h.clock.now(), `chunk stamp is a receipt time on the node clock: ${c.stamp}`);
  } finally {
    await stop(h);
  }
});

test("estop true -> an immediate zero and zeros until released; release moves again", async () => {
  const h = await startNode();
  try {
    h.fake.deliver(POLICY_TOPICS.instruction, { data: "go left" });
    await drive(h, 3.0);
    assert.ok(!isZero(twists(h).at(-1)!), "moving before the e-stop");
    const n = twists(h).length;
    h.fake.deliver(POLICY_TOPICS.estop, { data: true });
    assert.equal(twists(h).length, n + 1, "engaging publishes at once, without waiting for a tick");
    assert.ok(isZero(twists(h).at(-1)!), "the e-stop command is zero");
    await drive(h, 1.0, 30);
    assert.ok(twists(h).slice(n).every(isZero), "zero while engaged");
    h.fake.deliver(POLICY_TOPICS.estop, { data: false });
    await drive(h, 2.0, 40);
    assert.ok(
      twists(h)
        .slice(n)
        .some((t) => !isZero(t)),
      "moves again after release",
    );
  } finally {
    await stop(h);
  }
});

test("stamped:=true publishes TwistStamped with frame_id and numeric node-clock stamps", async () => {
  const h = await startNode([override("stamped", true), override("frame_id", "base_footprint")]);
  try {
    assert.equal(h.fake.publishers.get(POLICY_TOPICS.cmdVel)?.type, MSG.twistStamped);
    h.fake.deliver(POLICY_TOPICS.instruction, { data: "go" });
    await drive(h, 1.0);
    const msgs = h.fake.published(POLICY_TOPICS.cmdVel) as { header: { stamp: { sec: unknown; nanosec: unknown }; frame_id: string }; twist: TwistLike }[];
    assert.ok(msgs.length >= 15, `commands published, got ${msgs.length}`);
    let prev = -Infinity;
    for (const m of msgs) {
      assert.equal(m.header.frame_id, "base_footprint");
      assert.equal(typeof m.header.stamp.sec, "number");
      assert.equal(typeof m.header.stamp.nanosec, "number");
      const sec = m.header.stamp.sec as number;
      const ns = m.header.stamp.nanosec as number;
      assert.ok(Number.isInteger(sec) && Number.isInteger(ns) && ns >= 0 && ns < 1e9, `a valid Time: ${sec}.${ns}`);
      const t = sec + ns / 1e9;
      assert.ok(t >= 1000 && t <= h.clock.now() + 1e-6, `stamp on the node clock: ${t}`);
      assert.ok(t > prev, "stamps increase");
      prev = t;
      assert.equal(typeof m.twist.linear.x, "number");
    }
    // The first tick is one control period after start (1000 s).
    const first = msgs[0]!.header.stamp;
    assert.equal(first.sec, 1000);
    assert.ok(Math.abs((first.nanosec as number) - 50_000_000) <= 1, `first tick at 1000.05 s, got ${String(first.nanosec)} ns`);
  } finally {
    await stop(h);
  }
});

test("bad parameters -> refused, naming each parameter", async () => {
  const clock = new VirtualClock();
  const bad = new FakeRcl(clock, [
    override("model", modelDir),
    override("max_linear_x", -1.5),
    override("aggregation", "median"),
    override("max_linear_z", 1.0),
  ]);
  await assert.rejects(PolicyNode.create({ rcl: bad, scheduler: clock, flushMs: 0 }), (e: unknown) => {
    assert.ok(e instanceof PolicyNodeStartError, `a start error, got ${String(e)}`);
    assert.match(e.message, /max_linear_x/);
    assert.match(e.message, /aggregation/);
    assert.match(e.message, /max_linear_z: unknown parameter/);
    return true;
  });
  const noModel = new FakeRcl(clock, []);
  await assert.rejects(PolicyNode.create({ rcl: noModel, scheduler: clock, flushMs: 0 }), /refusing to start: .*model/s);
  const missingModel = new FakeRcl(clock, [override("model", path.join(root, "nope"))]);
  await assert.rejects(PolicyNode.create({ rcl: missingModel, scheduler: clock, flushMs: 0 }), /model ".*nope" did not load/);
});

test("ROS-typed overrides: an integer for a double parameter and BigInt threads are accepted", async () => {
  const h = await startNode([override("max_accel", 3), override("threads", 1n), override("control_rate_hz", 10)]);
  try {
    assert.equal(h.node.params!.max_accel, 3);
    assert.equal(h.node.params!.threads, 1);
    assert.equal(h.node.params!.control_rate_hz, 10);
    assert.equal(h.node.params!.frame_interval_s, null, "frame_interval_s 0.0 means the manifest's step");
    assert.equal(h.node.pipeline!.frameIntervalS, 0.4);
    await h.clock.advanceBy(1.0);
    assert.equal(twists(h).length, 10, "10 Hz control");
  } finally {
    await stop(h);
  }
});

test("shutdown publishes a final zero after motion, then publishes nothing more", async () => {
  const h = await startNode();
  h.fake.deliver(POLICY_TOPICS.instruction, { data: "go left" });
  await drive(h, 3.0);
  assert.ok(!isZero(twists(h).at(-1)!), "moving before shutdown");
  const n = twists(h).length;
  await stop(h);
  assert.equal(twists(h).length, n + 1, "exactly one command at shutdown");
  assert.ok(isZero(twists(h).at(-1)!), "the final command is zero");
  assert.equal(h.node.lifecycleState, "finalized");
  assert.equal(h.node.pipeline, null, "the pipeline and model are released");
  await h.clock.advanceBy(2);
  assert.equal(twists(h).length, n + 1, "no commands after shutdown");
  await stop(h);
  assert.equal(twists(h).length, n + 1, "shutdown is idempotent");
});

test("a callback error is logged, stops the robot through the pipeline and the node keeps running", async () => {
  const h = await startNode();
  try {
    h.fake.deliver(POLICY_TOPICS.instruction, { data: "go left" });
    await drive(h, 3.0);
    assert.ok(!isZero(twists(h).at(-1)!), "moving");
    // A malformed image: data shorter than step * height.
    const broken = { ...imageMsg(0, h.clock.now()), data: new Uint8Array(10) };
    assert.doesNotThrow(() => h.fake.deliver(POLICY_TOPICS.image, broken), "the error does not escape into rclnodejs");
    assert.ok(
      h.fake.logs.some((l) => l.level === "error" && /image callback failed/.test(l.message) && /10 bytes/.test(l.message)),
      "logged with the reason",
    );
    // A malformed instruction withdraws the instruction: the robot stops.
    assert.doesNotThrow(() => h.fake.deliver(POLICY_TOPICS.instruction, { data: 42 }));
    await drive(h, 0.5, 50);
    assert.equal(h.node.pipeline!.diagnostics().safety_state, "no_instruction");
    // A malformed e-stop counts as pressed.
    h.fake.deliver(POLICY_TOPICS.estop, { nope: true });
    assert.equal(h.node.pipeline!.diagnostics().estop, true);
    assert.equal(h.node.errors, 3);
    // Still alive: a new instruction and e-stop release drive it again.
    h.fake.deliver(POLICY_TOPICS.estop, { data: false });
    h.fake.deliver(POLICY_TOPICS.instruction, { data: "go right" });
    const n = twists(h).length;
    await drive(h, 3.0, 60);
    assert.ok(
      twists(h)
        .slice(n)
        .some((t) => !isZero(t)),
      "moves again",
    );
  } finally {
    await stop(h);
  }
});

test("/diagnostics: one DiagnosticArray a second from pipeline.diagnostics()", async () => {
  const h = await startNode();
  try {
    await drive(h, 2.05);
    const diags = h.fake.published(POLICY_TOPICS.diagnostics) as {
      header: { stamp: { sec: number } };
      status: { level: number; name: string; message: string; values: { key: string; value: string }[] }[];
    }[];
    assert.equal(diags.length, 2, "1 Hz");
    const s = diags[1]!.status[0]!;
    assert.equal(s.name, "vla_policy: pipeline");
    assert.equal(s.level, 0, "waiting for an instruction is OK");
    assert.equal(s.message, "waiting for an instruction");
    const v = Object.fromEntries(s.values.map((kv) => [kv.key, kv.value]));
    assert.ok(Number(v.frames_received) >= 19, `frames counted: ${v.frames_received}`);
    assert.equal(v.safety_state, "no_instruction");
    assert.equal(diags[1]!.header.stamp.sec, 1002);
    for (const kv of s.values) assert.equal(typeof kv.value, "string", `${kv.key} is a string`);
  } finally {
    await stop(h);
  }
});

test("an instruction whose token count training never saw is warned about once, when it arrives; the precision reaches the loader", async () => {
  const trained = path.join(root, "trained");
  await makeTinyModel(trained, { seed: 11 });
  const probe = await VlaModel.load(trained, { warmup: false });
  const count = probe.tokenizer.encode("go left").length;
  assert.equal(probe.tokenizer.encode("go right").length, count, "the test needs two instructions of the same count");
  assert.notEqual(probe.tokenizer.encode("go to the left").length, count);
  await probe.close();
  const file = path.join(trained, "manifest.json");
  const manifest = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
  await writeFile(file, JSON.stringify({ ...manifest, training: { instructions: ["go left"], prompt_tokens: [count] } }));

  const clock = new VirtualClock({ start: 1000, latency: 0.05 });
  const rcl = new FakeRcl(clock, [override("model", trained), override("instruction", "go to the left")]);
  const loads: LoadOptions[] = [];
  const node = await PolicyNode.create({
    rcl,
    scheduler: clock,
    flushMs: 0,
    loadModel: (dir, o) => (loads.push(o), VlaModel.load(dir, o)),
  });
  const h: Harness = { clock, rcl, fake: rcl.nodes[0]!, node };
  try {
    assert.equal(loads[0]?.precision, "fp32", "the precision parameter is passed to the loader");
    const warnings = () => h.fake.logs.filter((l) => l.level === "warn" && l.message.includes("tokens but the model was trained on")).map((l) => l.message);
    assert.deepEqual(warnings(), [
      `instruction "go to the left": ${count + 2} tokens but the model was trained on prompts of ${count} tokens; for this model the token count changes the feature`,
    ]);
    for (const data of ["go to the left", "go to the left", "go right", "go left", "go to the right", "go to the right"]) {
      h.fake.deliver(POLICY_TOPICS.instruction, { data });
      await h.clock.advanceBy(0.1);
    }
    assert.equal(warnings().length, 2, `one warning per new off-count instruction:\n${warnings().join("\n")}`);
    assert.match(warnings()[1]!, /^instruction "go to the right": /);
  } finally {
    await stop(h);
  }

  const noInt8 = new FakeRcl(clock, [override("model", trained), override("precision", "int8")]);
  await assert.rejects(
    PolicyNode.create({ rcl: noInt8, scheduler: clock, flushMs: 0 }),
    /did not load: .*precision int8 was asked for but the model folder .*trained has no int8 backbone \(it has: fp32\)/s,
  );
});

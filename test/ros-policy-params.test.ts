// `ros2 param set` on a running vla_policy (the in-memory rclnodejs, a virtual clock,
// a real tiny model): a live parameter reaches the next control tick, a bad value is
// refused with the reason and the old one kept, a reload parameter is refused while
// configured and read at the next configure. On a live Humble graph every one of these
// answered "Set parameter successful" and changed nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { VirtualClock } from "../src/control/clock.js";
import { PolicyNode } from "../src/ros/policy-node.js";
import { FakeRcl, override, type FakeNode, type FakeParameter } from "./ros-fake-rclnodejs.js";
import { driveCamera, twistsOn, type TwistLike, tinyModelForFile } from "./fixtures/ros-policy.js";

const modelDir = tinyModelForFile("ros-policy-params-", { seed: 11 });

interface Harness {
  clock: VirtualClock;
  fake: FakeNode;
  node: PolicyNode;
  /** `ros2 param set /vla_policy name value`: the SetParameters result. */
  set(name: string, value: boolean | number | string): { successful: boolean; reason: string };
  /** `ros2 lifecycle set /vla_policy label`. */
  lifecycle(label: string): Promise<boolean>;
  /** Frames every 0.1 s for `seconds`, the clock moving with them; the commands published meanwhile. */
  drive(seconds: number): Promise<TwistLike[]>;
}

async function startNode(extra: FakeParameter[] = []): Promise<Harness> {
  const clock = new VirtualClock({ start: 1000, latency: 0.05 });
  const rcl = new FakeRcl(clock, [override("model", modelDir()), override("instruction", "go to the basket"), ...extra]);
  const node = await PolicyNode.create({ rcl, scheduler: clock, flushMs: 0 });
  const fake = rcl.nodes[0]!;
  let frame = 0;
  return {
    clock,
    fake,
    node,
    set: (name, value) => fake.setParameters([override(name, value)])[0]!,
    lifecycle: async (label) => ((await fake.call("~/change_state", { transition: { id: 0, label } })) as { success: boolean }).success,
    drive: async (seconds) => {
      const n = twistsOn(fake).length;
      await driveCamera(fake, clock, seconds, frame);
      frame += Math.round(seconds / 0.1);
      return twistsOn(fake).slice(n);
    },
  };
}

async function stop(h: Harness): Promise<void> {
  const done = h.node.shutdown();
  await h.clock.advanceBy(1);
  await done;
}

const speed = (t: TwistLike): number => Math.hypot(t.linear.x, t.linear.y);
const maxAbs = (ts: TwistLike[], axis: "x" | "y"): number => Math.max(...ts.map((t) => Math.abs(t.linear[axis])));

test("max_linear_x set while driving bounds the very next command; max_linear_y too; both keep the direction", async () => {
  const h = await startNode([override("max_accel", 0), override("max_decel", 0)]);
  try {
    const before = await h.drive(3);
    assert.ok(maxAbs(before, "x") > 0.3, `the tiny model drives faster than 0.3 m/s in x first (${maxAbs(before, "x")})`);
    assert.deepEqual(h.set("max_linear_x", 0.3), { successful: true, reason: "" });
    assert.equal(h.fake.getParameter("max_linear_x").value, 0.3, "ros2 param get shows it");
    assert.equal(h.node.params!.max_linear_x, 0.3, "and the node runs with it");
    const n = twistsOn(h.fake).length;
    await h.clock.advanceBy(0.05);
    const next = twistsOn(h.fake)[n]!;
    assert.ok(next && Math.abs(next.linear.x) <= 0.3 + 1e-12, `the next command: x ${next?.linear.x}`);
    const after = await h.drive(2);
    assert.ok(maxAbs(after, "x") <= 0.3 + 1e-12, `every command after: max |x| ${maxAbs(after, "x")}`);
    assert.ok(
      after.some((t) => speed(t) > 0),
      "still driving",
    );
    assert.deepEqual(h.set("max_linear_y", 0.1), { successful: true, reason: "" });
    const slower = await h.drive(2);
    assert.ok(maxAbs(slower, "y") <= 0.1 + 1e-12 && maxAbs(slower, "x") <= 0.3 + 1e-12, "both bounds hold");
  } finally {
    await stop(h);
  }
});

test("invalid values are refused with the reason and change nothing: max_linear_x -5, window_fill bogus, a max speed at the deadband", async () => {
  const h = await startNode();
  try {
    await h.drive(1);
    assert.deepEqual(h.set("max_linear_x", -5), { successful: false, reason: "max_linear_x: expected a number > 0, got -5" });
    assert.deepEqual(h.set("window_fill", "bogus"), { successful: false, reason: 'window_fill: expected one of "grow", "pad", "wait", got "bogus"' });
    assert.deepEqual(h.set("control_rate_hz", 1e6), { successful: false, reason: "control_rate_hz: expected a number <= 1000, got 1000000" });
    // 0.05 is the default deadband: that axis could never move.
    assert.deepEqual(h.set("max_linear_x", 0.05), {
      successful: false,
      reason: "deadband: expected less than max_linear_x (0.05), got 0.05; that axis could never move",
    });
    assert.equal(h.fake.getParameter("max_linear_x").value, 1.0, "ros2 param get still shows the old value");
    assert.equal(h.node.params!.max_linear_x, 1.0);
    assert.equal(h.node.params!.window_fill, "grow");
    assert.deepEqual(h.set("deadband", 0.01), { successful: true, reason: "" });
    assert.deepEqual(h.set("max_linear_x", 0.05), { successful: true, reason: "" }, "with the deadband lowered first it is fine");
    const after = await h.drive(2);
    assert.ok(maxAbs(after, "x") <= 0.05 + 1e-12, `|x| <= 0.05: ${maxAbs(after, "x")}`);
  } finally {
    await stop(h);
  }
});

test("reload parameters (model, provider, threads, precision, image_source, stamped) are refused while active or inactive, taken while unconfigured and read at the next configure", async () => {
  const h = await startNode();
  try {
    for (const [name, value] of [
      ["model", "/nonexistent"],
      ["provider", "cuda"],
      ["threads", 2],
      ["precision", "int8"],
      ["image_source", "service"],
      ["stamped", true],
    ] as const) {
      const r = h.set(name, value);
      assert.equal(r.successful, false, `${name} refused while active`);
      assert.equal(
        r.reason,
        `vla_policy reads ${name} at configure and is active: deactivate and clean up (ros2 lifecycle set /vla_policy deactivate, then cleanup), set it, then configure and activate`,
      );
    }
    assert.equal(await h.lifecycle("deactivate"), true);
    assert.match(h.set("threads", 2).reason, /reads threads at configure and is inactive: clean up \(ros2 lifecycle set \/vla_policy cleanup\)/);
    assert.equal(await h.lifecycle("cleanup"), true);
    assert.deepEqual(h.set("threads", 2), { successful: true, reason: "" });
    assert.deepEqual(h.set("stamped", true), { successful: true, reason: "" });
    assert.deepEqual(h.set("max_linear_x", 0.4), { successful: true, reason: "" }, "a live parameter set while unconfigured waits for configure too");
    assert.equal(h.node.params, null);
    assert.equal(await h.lifecycle("configure"), true);
    assert.deepEqual([h.node.params!.threads, h.node.params!.stamped, h.node.params!.max_linear_x], [2, true, 0.4], "read at configure");
    assert.equal(h.fake.publishers.get("cmd_vel")?.type, "geometry_msgs/msg/TwistStamped");
    assert.equal(h.set("autostart", false).reason, "autostart is read once, when vla_policy starts: start it again with autostart:=<value>");
  } finally {
    await stop(h);
  }
});

test("control_rate_hz changes the control timer's rate from the next tick: 20 commands a second, then 2, then 50", async () => {
  const h = await startNode();
  try {
    const count = async (seconds: number) => (await h.drive(seconds)).length;
    await h.drive(0.5);
    assert.equal(await count(1), 20);
    assert.deepEqual(h.set("control_rate_hz", 2), { successful: true, reason: "" });
    assert.equal(await count(2), 4, "2 Hz");
    assert.deepEqual(h.set("control_rate_hz", 50.0), { successful: true, reason: "" });
    assert.equal(await count(1), 50, "50 Hz");
  } finally {
    await stop(h);
  }
});

test("limit_mode, aggregation, watchdog, frame interval, window fill, frame_id and the instruction apply live", async () => {
  const h = await startNode();
  try {
    await h.drive(2);
    const pipeline = h.node.pipeline!;
    for (const [name, value] of [
      ["limit_mode", "per_axis"],
      ["aggregation", "ensemble"],
      ["ensemble_k", 0.5],
      ["watchdog_timeout_s", 0.5],
      ["window_fill", "pad"],
      ["frame_id", "base"],
    ] as const) {
      assert.deepEqual(h.set(name, value), { successful: true, reason: "" }, name);
      assert.equal(h.node.params![name], value, name);
    }
    const interval = pipeline.frameIntervalS;
    assert.deepEqual(h.set("frame_interval_s", 0.2), { successful: true, reason: "" });
    assert.equal(pipeline.frameIntervalS, 0.2);
    const sampled = pipeline.diagnostics().frames_sampled;
    await h.drive(2);
    assert.equal(pipeline.diagnostics().frames_sampled - sampled, 10, `one frame every 0.2 s (was ${interval} s)`);
    assert.equal(pipeline.diagnostics().frame_interval_s, 0.2, "and /diagnostics says so");
    assert.deepEqual(h.set("instruction", "go left"), { successful: true, reason: "" });
    assert.equal(pipeline.diagnostics().instruction, "go left", "a new instruction parameter is a new instruction");
    assert.deepEqual(h.set("frame_interval_s", 0.0), { successful: true, reason: "" });
    assert.equal(pipeline.frameIntervalS, interval, "0 is the model's action step again");
    // The watchdog is now 0.5 s: frames stop, the robot stops 0.5 s later, not 1 s.
    const n = twistsOn(h.fake).length;
    await h.clock.advanceBy(0.75);
    const stale = twistsOn(h.fake).slice(n);
    assert.ok(
      stale.slice(-5).every((t) => speed(t) === 0),
      "stopped within 0.75 s of the last frame",
    );
    assert.equal(pipeline.diagnostics().last_command?.reason, "stale_camera");
  } finally {
    await stop(h);
  }
});

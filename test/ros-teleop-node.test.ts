// The vla_teleop node on a fake rclnodejs, a fake TTY and a virtual clock.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { VirtualClock } from "../src/control/clock.js";
import { MOVE_KEYS, CTRL_C } from "../src/teleop/keymap.js";
import type { ProcessLike, RawInput } from "../src/teleop/raw-terminal.js";
import { TeleopNode, TeleopNodeStartError, TELEOP_TOPICS } from "../src/ros/teleop-node.js";
import { FakeRcl, override, type FakeNode, type FakeParameter } from "./ros-fake-rclnodejs.js";

class FakeTTY extends EventEmitter implements RawInput {
  isTTY = true;
  isRaw = false;
  setRawMode(mode: boolean): this {
    this.isRaw = mode;
    return this;
  }
  setEncoding(): this {
    return this;
  }
  resume(): this {
    return this;
  }
  pause(): this {
    return this;
  }
  type(text: string): void {
    this.emit("data", text);
  }
}

class FakeProcess extends EventEmitter implements ProcessLike {
  readonly pid = 4242;
  kills: (string | number | undefined)[] = [];
  kill(_pid: number, signal?: string | number): boolean {
    this.kills.push(signal);
    return true;
  }
}

interface TwistLike {
  linear: { x: number; y: number; z: number };
  angular: { x: number; y: number; z: number };
}

function setup(extra: FakeParameter[] = []) {
  const clock = new VirtualClock({ start: 100 });
  const rcl = new FakeRcl(clock, extra);
  const tty = new FakeTTY();
  const proc = new FakeProcess();
  let quits = 0;
  const node = new TeleopNode({ rcl, scheduler: clock, input: tty, proc, onQuit: () => void quits++, print: () => {} });
  const fake: FakeNode = rcl.nodes[0]!;
  node.start();
  const twists = () => [...(fake.published(TELEOP_TOPICS.cmdVel) as TwistLike[])];
  const v = (t: TwistLike) => [t.linear.x, t.linear.y, t.angular.z];
  return { clock, tty, proc, node, fake, twists, v, quits: () => quits };
}

test("every move key publishes the collector's Twist, and a zero hold_s later", async () => {
  const s = setup();
  assert.ok(s.tty.isRaw, "terminal in raw mode");
  for (const [key, signs] of Object.entries(MOVE_KEYS)) {
    const n = s.twists().length;
    s.tty.type(key);
    const after = s.twists();
    assert.equal(after.length, n + 1, `${key}: one Twist at once`);
    assert.deepEqual(
      s.v(after.at(-1)!),
      signs.map((x) => x * 1.15 + 0),
      `${key}: components of 1.15`,
    );
    await s.clock.advanceBy(0.39);
    assert.equal(s.twists().length, n + 1, `${key}: nothing more within the hold`);
    await s.clock.advanceBy(0.02);
    assert.equal(s.twists().length, n + 2, `${key}: the auto-stop`);
    assert.deepEqual(s.v(s.twists().at(-1)!), [0, 0, 0], `${key}: auto-stop is zero`);
  }
  s.node.shutdown();
  assert.ok(!s.tty.isRaw, "terminal restored");
});

test("a new key within the hold restarts it; space stops at once; n / m publish episode start / stop", async () => {
  const s = setup();
  s.tty.type("w");
  await s.clock.advanceBy(0.3);
  s.tty.type("a");
  await s.clock.advanceBy(0.3);
  assert.equal(s.twists().length, 2, "no auto-stop between the two keys");
  await s.clock.advanceBy(0.11);
  assert.equal(s.twists().length, 3, "the auto-stop 0.4 s after the second key");
  s.tty.type("d");
  s.tty.type(" ");
  assert.deepEqual(s.v(s.twists().at(-1)!), [0, 0, 0], "space publishes a zero");
  await s.clock.advanceBy(1);
  assert.equal(s.twists().length, 5, "no auto-stop after space");
  s.tty.type("n");
  s.tty.type("m");
  assert.deepEqual(s.fake.published(TELEOP_TOPICS.episode), [{ data: "start" }, { data: "stop" }]);
  assert.equal(s.fake.publishers.get(TELEOP_TOPICS.episode)?.type, "std_msgs/msg/String");
  assert.equal(s.fake.publishers.get(TELEOP_TOPICS.cmdVel)?.type, "geometry_msgs/msg/Twist");
  s.node.shutdown();
});

test("Ctrl-C publishes a zero, restores the terminal and asks to quit once; shutdown adds a last zero", async () => {
  const s = setup();
  s.tty.type("w");
  s.tty.type(CTRL_C);
  assert.deepEqual(s.v(s.twists().at(-1)!), [0, 0, 0], "zero at Ctrl-C");
  assert.ok(!s.tty.isRaw, "terminal restored by Ctrl-C");
  assert.equal(s.quits(), 1, "quit requested once");
  assert.deepEqual(s.proc.kills, [], "no SIGINT raised: the node owns the exit");
  const n = s.twists().length;
  s.node.shutdown();
  s.node.shutdown();
  assert.equal(s.twists().length, n + 1, "one zero at shutdown");
  await s.clock.advanceBy(1);
  assert.equal(s.twists().length, n + 1, "no auto-stop after shutdown");
});

test("speed and hold_s parameters; a bad one is refused by name", async () => {
  const s = setup([override("speed", 0.5), override("hold_s", 1.0)]);
  s.tty.type("q");
  assert.deepEqual(s.v(s.twists().at(-1)!), [0.5, 0.5, 0]);
  await s.clock.advanceBy(0.9);
  assert.equal(s.twists().length, 1, "held for 1 s");
  await s.clock.advanceBy(0.2);
  assert.equal(s.twists().length, 2, "auto-stop after 1 s");
  s.node.shutdown();
  const clock = new VirtualClock();
  assert.throws(
    () => new TeleopNode({ rcl: new FakeRcl(clock, [override("speed", -1)]), scheduler: clock }),
    (e: unknown) => {
      assert.ok(e instanceof TeleopNodeStartError, `a start error: ${String(e)}`);
      assert.match(e.message, /speed/);
      return true;
    },
  );
});

test("ros2 param set: speed and hold_s apply from the next key; a shorter hold cuts the move in progress short; a bad value is refused and changes nothing", async () => {
  const s = setup();
  s.tty.type("w");
  assert.deepEqual(s.fake.setParameters([override("speed", 0.5)]), [{ successful: true, reason: "" }]);
  assert.deepEqual(s.fake.setParameters([override("hold_s", 0.1)]), [{ successful: true, reason: "" }]);
  await s.clock.advanceBy(0.15);
  assert.deepEqual(
    s.twists().map(s.v),
    [
      [1.15, 0, 0],
      [0, 0, 0],
    ],
    "the move keyed before stopped 0.1 s after its key, not 0.4 s",
  );
  s.tty.type("a");
  assert.deepEqual(s.v(s.twists().at(-1)!), [0, 0.5, 0], "the next key at the new speed");
  await s.clock.advanceBy(0.11);
  assert.deepEqual(s.v(s.twists().at(-1)!), [0, 0, 0], "and the new hold");
  assert.deepEqual(s.fake.setParameters([override("speed", -1)]), [{ successful: false, reason: "speed: expected a number > 0, got -1" }]);
  assert.deepEqual(s.fake.setParameters([override("hold_s", "long")]), [{ successful: false, reason: 'hold_s: expected a number > 0, got "long"' }]);
  assert.equal(s.node.state.speed, 0.5);
  assert.equal(s.node.state.holdS, 0.1);
  s.node.shutdown();
  assert.match(s.fake.setParameters([override("speed", 1)])[0]!.reason, /vla_teleop is shut down/);
});

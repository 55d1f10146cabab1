// One home for the Mobile-VLA conventions (issue 16, B.2): the hold, the speed, the
// direction table, the topics and the episode commands are each defined once and
// every user reads them from there.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CommandHold } from "../src/mobile-vla/command-hold.js";
import { EpisodeCommandError, formatEpisodeCommand, parseEpisodeCommand } from "../src/mobile-vla/episode-command.js";
import { resolveBagTopics } from "../src/mobile-vla/bag-topics.js";
import { DIRECTIONS, TELEOP_HOLD_S, TELEOP_SPEED } from "../src/mobile-vla/teleop.js";
import { BAG_TOPICS, NODE_TOPICS } from "../src/mobile-vla/topics.js";
import { DIRECTION_CLASSES, TELEOP_KEY, directionClass } from "../src/eval/direction.js";
import { MOVE_KEYS, keyAction } from "../src/teleop/keymap.js";
import { TeleopState } from "../src/teleop/teleop.js";
import { RECORDER_TOPICS } from "../src/ros/recorder-node.js";
import { RECORDER_TABLE } from "../src/params/recorder-table.js";
import { TELEOP_TOPICS } from "../src/ros/teleop-node.js";
import type { BagTopic } from "../src/bags/index.js";
import { TINY_DISCRETE_CLASSES } from "../synthetic/tiny-model.js";

test("one hold rule: a key re-issued exactly one hold later at bag times replaces the last, with no zero between", () => {
  // 1.7e9 s is where bag times live: one double step there is 2.4e-7 s.
  const t0 = 1_700_000_000.1;
  const h = new CommandHold<readonly [number, number]>([0, 0], TELEOP_HOLD_S);
  for (let k = 0; k < 50; k++) h.push(t0 + k * TELEOP_HOLD_S, [TELEOP_SPEED, 0]);
  for (let tick = 0; tick < 49 * 8; tick++) {
    const t = t0 + tick * 0.05;
    assert.deepEqual(h.activeAt(t), [TELEOP_SPEED, 0], `tick ${tick} (t0 + ${(tick * 0.05).toFixed(2)} s) fell between two keys`);
  }
  assert.deepEqual(h.activeAt(t0 + 49 * TELEOP_HOLD_S + TELEOP_HOLD_S), [0, 0], "exactly one hold after the last key: stopped");
});

test("one hold rule: the live teleop, the recorder's bounded history and the evaluation agree", () => {
  const teleop = new TeleopState();
  const recorder = new CommandHold<readonly number[]>([0, 0, 0], TELEOP_HOLD_S, { retainS: 5 });
  const evaluation = new CommandHold<readonly number[]>([0, 0, 0], TELEOP_HOLD_S);
  const keys: [number, string][] = [
    [10, "w"],
    [10.3, "a"],
    [11, "d"],
    [11.2, " "],
    [20, "q"],
  ];
  // Time runs forward as on the robot: keys are delivered when their time comes.
  for (let step = 0; step < 220; step++) {
    const t = 9.9 + step * 0.05;
    while (keys.length && keys[0]![0] <= t) {
      const [tk, key] = keys.shift()!;
      for (const out of teleop.onKey(key, tk)) {
        if (out.kind !== "cmd_vel") continue;
        recorder.push(tk, out.twist);
        evaluation.push(tk, out.twist);
      }
    }
    const expected = teleop.commandAt(t);
    assert.deepEqual(recorder.activeAt(t), expected, `recorder at ${t.toFixed(2)} s`);
    assert.deepEqual(evaluation.activeAt(t), expected, `evaluation at ${t.toFixed(2)} s`);
  }
  assert.equal(teleop.holdS, TELEOP_HOLD_S);
  assert.equal(RECORDER_TABLE.defaults.hold_s, TELEOP_HOLD_S, "the recorder's default hold is the teleop's");
});

test("one direction table: the keys, the evaluation's classes and the speed come from it", () => {
  assert.deepEqual(
    [...DIRECTION_CLASSES],
    DIRECTIONS.map((d) => d.name),
    "evaluation classes in the table's order",
  );
  for (const d of DIRECTIONS) {
    assert.equal(TELEOP_KEY[d.name], d.key, `${d.name}'s key`);
    if (d.name === "stop") {
      assert.deepEqual(keyAction(" "), { kind: "stop" }, "space is stop");
      continue;
    }
    const a = keyAction(d.key);
    assert.equal(a.kind, "move", `${d.key} moves`);
    if (a.kind !== "move") continue;
    assert.deepEqual(a.twist, [d.sign[0] * TELEOP_SPEED + 0, d.sign[1] * TELEOP_SPEED + 0, 0], `${d.key} publishes ${d.name} at the teleop speed`);
    assert.equal(directionClass([a.twist[0], a.twist[1]]), d.name, `${d.key}'s command is classified as ${d.name}`);
    assert.deepEqual(MOVE_KEYS[d.key as keyof typeof MOVE_KEYS].slice(0, 2), [...d.sign]);
  }
  for (const c of TINY_DISCRETE_CLASSES) {
    const d = DIRECTIONS.find((x) => x.name === c.name);
    assert.ok(d, `the tiny model's class ${c.name} is a direction of the table`);
    assert.deepEqual(c.action, [...d.sign], `${c.name}'s action is the table's sign`);
  }
});

test("one episode-command parser: start, start <scenario>, stop, discard; anything else named", () => {
  assert.deepEqual(parseEpisodeCommand("start"), { command: "start" });
  assert.deepEqual(parseEpisodeCommand("  START 1box hori_left  "), { command: "start", scenario: "1box_hori_left" }, "words joined by _");
  assert.deepEqual(parseEpisodeCommand("stop"), { command: "stop" });
  assert.deepEqual(parseEpisodeCommand("discard"), { command: "discard" });
  assert.equal(formatEpisodeCommand({ command: "start", scenario: "a_b" }), "start a_b");
  assert.throws(
    () => parseEpisodeCommand("start ../../escape"),
    (e: unknown) => e instanceof EpisodeCommandError && e.refusedStart && /scenario/.test(e.message),
  );
  assert.throws(
    () => parseEpisodeCommand("pause"),
    (e: unknown) => e instanceof EpisodeCommandError && !e.refusedStart && /"pause"/.test(e.message),
  );
});

test("one topic table: the nodes' names and a recording's defaults", () => {
  assert.equal(RECORDER_TOPICS.episode, NODE_TOPICS.episode);
  assert.equal(TELEOP_TOPICS.episode, NODE_TOPICS.episode, "the teleop publishes where the recorder listens");
  assert.equal(TELEOP_TOPICS.cmdVel, RECORDER_TOPICS.cmdVel);
  assert.equal(BAG_TOPICS.episode, `/${NODE_TOPICS.episode}`, "record.launch.xml remaps episode to /episode");
});

test("one topic resolver: ROS 1 type names, optional topics and explicit names follow the same rules for every command", () => {
  const bag = (topics: [string, string][]) => ({
    path: "x.mcap",
    topics: (): BagTopic[] => topics.map(([name, type]) => ({ name, type, count: 1 }) as BagTopic),
  });
  const ros1 = resolveBagTopics(
    bag([
      ["/camera/image_raw", "sensor_msgs/Image"],
      ["/cmd_vel", "geometry_msgs/Twist"],
      ["/instruction", "std_msgs/String"],
    ]),
  );
  assert.equal(ros1.image.name, "/camera/image_raw");
  assert.equal(ros1.instruction?.name, "/instruction", "a ROS 1 style type name is the same type");
  assert.equal(ros1.episode, null, "absent optional topic");
  const single = resolveBagTopics(
    bag([
      ["/cam/compressed", "sensor_msgs/msg/CompressedImage"],
      ["/cmd_vel", "geometry_msgs/msg/TwistStamped"],
    ]),
  );
  assert.equal(single.image.name, "/cam/compressed", "the only image topic");
  assert.throws(
    () =>
      resolveBagTopics(
        bag([
          ["/camera/image_raw", "sensor_msgs/msg/Image"],
          ["/cmd_vel", "geometry_msgs/msg/Twist"],
          ["/estop", "std_msgs/msg/String"],
        ]),
      ),
    /has no topic \/estop of type std_msgs\/msg\/Bool/,
  );
  assert.equal(
    resolveBagTopics(
      bag([
        ["/camera/image_raw", "sensor_msgs/msg/Image"],
        ["/cmd_vel", "geometry_msgs/msg/Twist"],
        ["/estop", "std_msgs/msg/String"],
      ]),
      {},
      ["instruction"],
    ).estop,
    null,
    "a topic the caller does not read is not judged",
  );
  assert.throws(
    () =>
      resolveBagTopics(
        bag([
          ["/camera/image_raw", "sensor_msgs/msg/Image"],
          ["/cmd_vel", "geometry_msgs/msg/Twist"],
        ]),
        { instruction: "/task" },
      ),
    /has no topic \/task/,
  );
});

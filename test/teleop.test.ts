import { test } from "node:test";
import assert from "node:assert/strict";
import { CTRL_C, MOVE_KEYS, keyAction } from "../src/teleop/keymap.js";
import { TeleopState, type TeleopOutput } from "../src/teleop/teleop.js";

test("the Mobile-VLA key map: every move key publishes components of +-1.15", () => {
  const twist = (k: string): number[] => {
    const a = keyAction(k);
    assert.equal(a.kind, "move", k);
    return a.kind === "move" ? a.twist : [];
  };
  assert.deepEqual(twist("w"), [1.15, 0, 0]);
  assert.deepEqual(twist("s"), [-1.15, 0, 0]);
  assert.deepEqual(twist("a"), [0, 1.15, 0], "a is left: +y");
  assert.deepEqual(twist("d"), [0, -1.15, 0]);
  assert.deepEqual(twist("q"), [1.15, 1.15, 0], "forward-left, not normalised");
  assert.deepEqual(twist("e"), [1.15, -1.15, 0]);
  assert.deepEqual(twist("z"), [-1.15, 1.15, 0]);
  assert.deepEqual(twist("c"), [-1.15, -1.15, 0]);
  assert.deepEqual(twist("r"), [0, 0, 1.15]);
  assert.deepEqual(twist("t"), [0, 0, -1.15]);
  assert.deepEqual(twist("W"), [1.15, 0, 0], "keys are case-insensitive like the collector's");
  assert.ok(
    twist("d").every((v) => !Object.is(v, -0)),
    "no negative zero in a Twist",
  );
  assert.equal(Object.keys(MOVE_KEYS).length, 10);
  assert.deepEqual(keyAction(" "), { kind: "stop" });
  assert.deepEqual(keyAction("f"), { kind: "throttle", delta: -10 });
  assert.deepEqual(keyAction("g"), { kind: "throttle", delta: 10 });
  assert.deepEqual(keyAction("n"), { kind: "episode", command: "start" });
  assert.deepEqual(keyAction("m"), { kind: "episode", command: "stop" });
  assert.deepEqual(keyAction(CTRL_C), { kind: "quit" });
  assert.deepEqual(keyAction("\u001b[A"), { kind: "none", key: "\u001b[A" });
  assert.deepEqual(keyAction("w", 0.5), { kind: "move", key: "w", twist: [0.5, 0, 0] });
});

const cmds = (out: TeleopOutput[]): [number, number[], string][] =>
  out.flatMap((o) => (o.kind === "cmd_vel" ? [[o.t, o.twist, o.reason] as [number, number[], string]] : []));

test("a move key holds for 0.4 s, then the teleop publishes a stop by itself, once", () => {
  const tp = new TeleopState();
  assert.deepEqual(cmds(tp.onKey("w", 10)), [[10, [1.15, 0, 0], "key"]]);
  assert.equal(tp.nextDeadline(), 10.4);
  assert.deepEqual(tp.commandAt(10.39), [1.15, 0, 0]);
  assert.deepEqual(tp.commandAt(10.4), [0, 0, 0]);
  assert.deepEqual(tp.poll(10.3), []);
  assert.deepEqual(cmds(tp.poll(10.41)), [[10.41, [0, 0, 0], "auto_stop"]]);
  assert.deepEqual(tp.poll(10.5), [], "the auto-stop is published once");
  assert.equal(tp.nextDeadline(), null);
});

test("a new key within the hold replaces the command and restarts the hold; space stops at once", () => {
  const tp = new TeleopState({ holdS: 0.4 });
  tp.onKey("w", 0);
  assert.deepEqual(cmds(tp.onKey("a", 0.3)), [[0.3, [0, 1.15, 0], "key"]]);
  assert.deepEqual(tp.commandAt(0.5), [0, 1.15, 0]);
  assert.equal(tp.nextDeadline(), 0.7);
  assert.deepEqual(cmds(tp.onKey(" ", 0.5)), [[0.5, [0, 0, 0], "stop"]]);
  assert.deepEqual(tp.commandAt(0.55), [0, 0, 0]);
  assert.deepEqual(tp.poll(1), [], "no auto-stop after an explicit stop");
  // Space when already stopped still publishes a stop.
  assert.deepEqual(cmds(tp.onKey(" ", 2)), [[2, [0, 0, 0], "stop"]]);
});

test("an auto-stop already due when the next key arrives is published first", () => {
  const tp = new TeleopState();
  tp.onKey("w", 0);
  assert.deepEqual(cmds(tp.onKey("d", 1)), [
    [1, [0, 0, 0], "auto_stop"],
    [1, [0, -1.15, 0], "key"],
  ]);
});

test("throttle: f/g step by 10 within 10..100 and never change the published magnitude", () => {
  const tp = new TeleopState();
  assert.equal(tp.throttle, 50);
  assert.deepEqual(tp.onKey("g", 0), [{ kind: "throttle", t: 0, throttle: 60 }]);
  for (let i = 0; i < 10; i++) tp.onKey("g", 0);
  assert.equal(tp.throttle, 100);
  assert.deepEqual(tp.onKey("g", 0), [], "clamped at 100: nothing to publish");
  assert.deepEqual(cmds(tp.onKey("q", 1)), [[1, [1.15, 1.15, 0], "key"]]);
  for (let i = 0; i < 20; i++) tp.onKey("f", 2);
  assert.equal(tp.throttle, 10);
  assert.deepEqual(cmds(tp.onKey("q", 3)), [[3, [1.15, 1.15, 0], "key"]]);
  assert.equal(new TeleopState({ throttle: 500 }).throttle, 100);
});

test("n / m ask for an episode start / end; Ctrl-C stops the robot, then quits; other keys do nothing", () => {
  const tp = new TeleopState({ speed: 0.8 });
  assert.deepEqual(tp.onKey("n", 1), [{ kind: "episode", t: 1, command: "start" }]);
  assert.deepEqual(tp.onKey("m", 2), [{ kind: "episode", t: 2, command: "stop" }]);
  assert.deepEqual(tp.onKey("x", 3), []);
  assert.deepEqual(tp.onKey("\u001b[A", 3), [], "an arrow key is not 'a'");
  tp.onKey("e", 4);
  assert.deepEqual(tp.commandAt(4.1), [0.8, -0.8, 0]);
  assert.deepEqual(tp.onKey(CTRL_C, 4.2), [
    { kind: "cmd_vel", t: 4.2, twist: [0, 0, 0], reason: "quit" },
    { kind: "quit", t: 4.2 },
  ]);
  assert.deepEqual(tp.commandAt(4.3), [0, 0, 0]);
  assert.throws(() => new TeleopState({ speed: 0 }), /speed 0/);
  assert.throws(() => new TeleopState({ holdS: -1 }), /hold time -1/);
});

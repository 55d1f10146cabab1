// limit_mode: direction keeps every command pointing where its target points (the
// Mobile-VLA bases drive by direction only), per_axis keeps the limits as they were.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Safety, type SafetyLimits, type SafetyRequest } from "../src/control/safety.js";
import { clampSpeed, limitAxis, type LimitMode } from "../src/control/limit-mode.js";
import type { Command, StopReason } from "../src/control/command.js";
import { mulberry32 } from "../src/util/prng.js";

const DT = 0.05;
const BASE: Omit<SafetyLimits, "limit_mode"> = { max_linear_x: 1, max_linear_y: 1, max_accel: 2, max_decel: 4, deadband: 0.05, control_rate_hz: 20 };
const limits = (mode: LimitMode, extra: Partial<SafetyLimits> = {}): SafetyLimits => ({ ...BASE, limit_mode: mode, ...extra });

const act = (x: number, y: number): SafetyRequest => ({ kind: "action", action: [x, y], chunk_stamp: 0, step: 0 });
const stop = (reason: StopReason): SafetyRequest => ({ kind: "stop", reason });

/** Smallest angle between two directions (rad). */
function angleBetween(ax: number, ay: number, bx: number, by: number): number {
  const d = Math.abs(Math.atan2(ay, ax) - Math.atan2(by, bx));
  return Math.min(d, 2 * Math.PI - d);
}

const moving = (x: number, y: number): boolean => x !== 0 || y !== 0;

/** How far a command turns away from its target (rad); 0 when either is zero. */
const turn = (c: Command): number =>
  moving(c.target_x, c.target_y) && moving(c.linear_x, c.linear_y) ? angleBetween(c.target_x, c.target_y, c.linear_x, c.linear_y) : 0;

const round3 = (c: Command): [number, number] => [Math.round(c.linear_x * 1000) / 1000, Math.round(c.linear_y * 1000) / 1000];

/** The demo bag's ramp: from rest to (0.239, 0.330), one tick without an action, back to the same target. */
function demoRamp(mode: LimitMode): Command[] {
  const s = new Safety(limits(mode));
  const out: Command[] = [];
  for (let i = 0; i < 4; i++) out.push(s.command(i * DT, act(0.239, 0.33)));
  out.push(s.command(4 * DT, stop("no_action")));
  out.push(s.command(5 * DT, act(0.239, 0.33)));
  return out;
}

test("per_axis reproduces the demo bag's turn: (0.239, 0.330) -> (0.039, 0.130) -> (0.139, 0.230)", () => {
  const cmds = demoRamp("per_axis");
  assert.deepEqual(cmds.slice(3).map(round3), [
    [0.239, 0.33],
    [0.039, 0.13],
    [0.139, 0.23],
  ]);
  assert.ok(turn(cmds[5]!) > 0.08, `per_axis turns the command by ${turn(cmds[5]!)} rad`);
  assert.ok(turn(cmds[0]!) > 0.1, "and already while ramping up from rest (x reaches its target first)");
});

test("direction: the demo ramp keeps one direction, from rest, through the stop tick and back; only the speed ramps", () => {
  const cmds = demoRamp("direction");
  const heading = Math.atan2(0.33, 0.239);
  for (const c of cmds) {
    assert.ok(moving(c.linear_x, c.linear_y), "the ramp never publishes a zero here");
    assert.ok(angleBetween(Math.cos(heading), Math.sin(heading), c.linear_x, c.linear_y) < 1e-9, `(${c.linear_x}, ${c.linear_y}) points elsewhere`);
  }
  const speeds = cmds.map((c) => Math.hypot(c.linear_x, c.linear_y));
  const full = Math.hypot(0.239, 0.33);
  // 2 m/s^2 and 4 m/s^2 at 20 Hz: +0.1 and -0.2 m/s of speed per tick.
  [0.1, 0.2, 0.3, 0.4, 0.2, 0.3].forEach((v, i) => assert.ok(Math.abs(speeds[i]! - Math.min(v, full)) < 1e-12, `tick ${i}: speed ${speeds[i]}`));
  assert.equal(cmds[4]!.target_x, 0, "the stop's target is zero; the braking command keeps the direction it had");
});

test("the max speed clamp: direction scales both axes by one factor, per_axis clamps each", () => {
  for (const [x, y] of [
    [2, 0.5],
    [-3, 1.5],
    [0.4, -4],
    [0, 7],
  ] as const) {
    const d = clampSpeed("direction", { x, y }, 1, 0.8);
    assert.ok(Math.abs(d.x) <= 1 && Math.abs(d.y) <= 0.8, `(${d.x}, ${d.y}) within the bounds`);
    assert.ok(angleBetween(x, y, d.x, d.y) < 1e-12, `(${x}, ${y}) -> (${d.x}, ${d.y}) keeps the direction`);
    assert.ok(Math.abs(d.x) === 1 || Math.abs(d.y) === 0.8, "and one axis is on its bound");
  }
  assert.deepEqual(clampSpeed("direction", { x: 2, y: 0.5 }, 1, 1), { x: 1, y: 0.25 });
  assert.deepEqual(clampSpeed("per_axis", { x: 2, y: 0.5 }, 1, 1), { x: 1, y: 0.5 });
  assert.deepEqual(clampSpeed("direction", { x: 0.3, y: -0.2 }, 1, 1), { x: 0.3, y: -0.2 }, "within the bounds: unchanged");
  const s = new Safety(limits("direction", { max_accel: 0 }));
  const c = s.command(0, act(2, 0.5));
  assert.deepEqual([c.target_x, c.target_y, c.linear_x, c.linear_y], [1, 0.25, 1, 0.25]);
});

test("deadband: direction compares the target's speed, per_axis each axis; neither publishes a moving command weaker than it", () => {
  const d = new Safety(limits("direction", { max_accel: 0 }));
  const small = d.command(0, act(0.04, 0.04));
  assert.deepEqual([small.target_x, small.target_y], [0.04, 0.04], "speed 0.057 is above 0.05: kept, direction and all");
  const p = new Safety(limits("per_axis", { max_accel: 0 }));
  const both = p.command(0, act(0.04, 0.04));
  assert.deepEqual([both.target_x, both.target_y, both.linear_x, both.linear_y], [0, 0, 0, 0], "per axis both are below 0.05");
  const tiny = new Safety(limits("direction", { max_accel: 0 })).command(0, act(0.03, -0.02));
  assert.deepEqual([tiny.target_x, tiny.target_y, tiny.linear_x, tiny.linear_y], [0, 0, 0, 0]);
  for (const mode of ["direction", "per_axis"] as const) {
    // 0.5 m/s^2 at 20 Hz is 0.025 m/s per tick, half the deadband: the ramp starts
    // unseen and the first command published is at the deadband, never below it.
    const s = new Safety(limits(mode, { max_accel: 0.5, max_decel: 0.5 }));
    const up = [0, 1, 2, 3].map((i) => s.command(i * DT, act(0.3, 0)).linear_x);
    assert.deepEqual(
      up.map((v) => Math.round(v * 1000) / 1000),
      [0, 0.05, 0.075, 0.1],
      `${mode}: ramp up`,
    );
    const down = [4, 5, 6, 7].map((i) => s.command(i * DT, stop("no_action")).linear_x);
    assert.deepEqual(
      down.map((v) => Math.round(v * 1000) / 1000),
      [0.075, 0.05, 0, 0],
      `${mode}: ramp down ends in a zero, not a creep`,
    );
  }
});

test("stops: e-stop and shutdown are immediate in direction mode too; other stops brake along the direction the robot had", () => {
  for (const reason of ["estop", "shutdown"] as const) {
    const s = new Safety(limits("direction", { max_accel: 0 }));
    s.command(0, act(0.6, 0.8));
    const c = s.command(DT, stop(reason));
    assert.deepEqual([c.linear_x, c.linear_y, c.reason], [0, 0, reason]);
  }
  for (const reason of ["no_action", "no_instruction", "stale_camera", "invalid_output", "policy_error"] as const) {
    const s = new Safety(limits("direction", { max_accel: 0 }));
    s.command(0, act(0.6, 0.8));
    const c = s.command(DT, stop(reason));
    // Speed 1.0 -> 0.8 at 4 m/s^2, still pointing at (0.6, 0.8).
    assert.ok(Math.abs(c.linear_x - 0.48) < 1e-12 && Math.abs(c.linear_y - 0.64) < 1e-12, `${reason}: (${c.linear_x}, ${c.linear_y})`);
    assert.equal(c.reason, reason);
  }
});

test("direction: a new direction is taken at once at the speed the ramp allows (the base turns at its fixed throttle anyway)", () => {
  const s = new Safety(limits("direction", { max_accel: 0 }));
  s.command(0, act(0.5, 0));
  const turned = s.command(DT, act(0, 0.5));
  assert.deepEqual([turned.linear_x, turned.linear_y], [0, 0.5]);
  const p = new Safety(limits("per_axis", { max_accel: 0 }));
  p.command(0, act(0.5, 0));
  const bent = p.command(DT, act(0, 0.5));
  assert.deepEqual(
    [bent.linear_x, bent.linear_y].map((v) => Math.round(v * 1000) / 1000),
    [0.3, 0.5],
    "per_axis: x is still braking, the command points between the two",
  );
});

test("a max speed lowered while moving holds from the next command, in both modes", () => {
  for (const mode of ["direction", "per_axis"] as const) {
    const s = new Safety(limits(mode, { max_accel: 0 }));
    s.command(0, act(0.6, 0.8));
    s.setLimits({ ...s.limits, max_linear_x: 0.05, deadband: 0.01 });
    const c = s.command(DT, act(0.6, 0.8));
    assert.ok(Math.abs(c.linear_x) <= 0.05, `${mode}: x ${c.linear_x}`);
    if (mode === "direction") assert.ok(turn(c) < 1e-9, "direction: y comes down with x");
  }
  const s = new Safety(limits("direction"));
  assert.throws(() => s.setLimits({ ...s.limits, max_linear_y: 0 }), /max_linear_x and max_linear_y must be > 0/);
  assert.equal(s.limits.max_linear_y, 1, "a refused change keeps the old limits");
});

test("an unlimited rate over no time is no change, not NaN (a late tick's sign change with max_accel inf)", () => {
  // 0.1 m/s takes 0.1 s to stop at 1 m/s^2; a late tick of 0.2 s has a nominal 0.05 s of growth, all spent braking.
  assert.equal(limitAxis(0.1, -1, 0.2, 0.05, Infinity, 1), 0);
  assert.equal(limitAxis(0.3, 0.5, 0, 0, Infinity, 4), 0.3, "no time has passed");
});

/** A random drive: targets held a few ticks, outside the bounds and near zero, stops of every kind, late ticks. */
function randomDrive(mode: LimitMode, seed: number): { cmds: Command[]; L: SafetyLimits } {
  const r = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const L = limits(mode, {
    max_linear_x: 0.3 + r(),
    max_linear_y: 0.3 + r(),
    max_accel: pick([0, 0.5, 2, 5, Infinity]),
    max_decel: pick([0, 1, 4, 10, Infinity]),
    deadband: pick([0, 0.05, 0.12]),
  });
  const s = new Safety(L);
  const cmds: Command[] = [];
  let t = 0;
  let req: SafetyRequest = act(0, 0);
  let hold = 0;
  for (let i = 0; i < 2000; i++) {
    if (hold-- <= 0) {
      hold = Math.floor(r() * 10);
      const u = r();
      if (u < 0.1) req = stop(pick(["no_action", "stale_camera", "estop", "invalid_output", "policy_error", "no_instruction"] as const));
      else if (u < 0.2) req = act((r() - 0.5) * 0.15, (r() - 0.5) * 0.15);
      else if (u < 0.3) req = act(pick([0, 1, -1]) * (0.1 + r()), pick([0, 1, -1]) * (0.1 + r()));
      else req = act((r() - 0.5) * 3, (r() - 0.5) * 3);
    }
    t += r() < 0.05 ? DT * (1 + r() * 5) : DT;
    cmds.push(s.command(t, req));
  }
  return { cmds, L };
}

test("randomized drives: in direction mode every moving command points where its target points (1e-9 rad); both modes keep the bounds and the deadband", () => {
  let compared = 0;
  let perAxisTurned = 0;
  for (let seed = 1; seed <= 40; seed++) {
    for (const mode of ["direction", "per_axis"] as const) {
      const { cmds, L } = randomDrive(mode, seed);
      for (const c of cmds) {
        const v = Math.hypot(c.linear_x, c.linear_y);
        assert.ok(v === 0 || v >= L.deadband, `${mode} seed ${seed}: a command of speed ${v} below the deadband ${L.deadband}`);
        assert.ok(Math.abs(c.linear_x) <= L.max_linear_x && Math.abs(c.linear_y) <= L.max_linear_y, `${mode} seed ${seed}: over a max speed`);
        if (mode === "direction") {
          assert.ok(turn(c) <= 1e-9, `seed ${seed} t ${c.t}: target (${c.target_x}, ${c.target_y}) but command (${c.linear_x}, ${c.linear_y}): ${turn(c)} rad`);
          if (moving(c.target_x, c.target_y) && moving(c.linear_x, c.linear_y)) compared++;
        } else if (turn(c) > 1e-3) perAxisTurned++;
      }
    }
  }
  assert.ok(compared > 20000, `enough moving ticks compared: ${compared}`);
  assert.ok(perAxisTurned > 1000, `per_axis does turn commands on the same drives (${perAxisTurned} ticks), which is why direction is the default`);
});

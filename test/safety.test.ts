import { test } from "node:test";
import assert from "node:assert/strict";
import { Safety, type SafetyLimits } from "../src/control/safety.js";
import { limitAxis } from "../src/control/limit-mode.js";
import { ChunkDecoder, denormalize } from "../src/policy/chunk-decoder.js";
import type { Command } from "../src/control/command.js";
import { parseManifest, type HeadSpec } from "../src/model/manifest.js";

// These tests were written for the per-axis limits (the only ones before limit_mode) and
// keep pinning them; the direction mode's own tests are in test/limit-mode.test.ts.
const LIMITS: SafetyLimits = { max_linear_x: 1, max_linear_y: 1, max_accel: 2, max_decel: 4, deadband: 0.05, control_rate_hz: 20, limit_mode: "per_axis" };
const DT = 0.05;

function close(actual: number, expected: number, tol = 1e-9): void {
  assert.ok(Math.abs(actual - expected) <= tol, `expected ${expected} ± ${tol}, got ${actual}`);
}

const act = (x: number, y = 0) => ({ kind: "action" as const, action: [x, y], chunk_stamp: 0, step: 0 });

test("order: denormalise (the chunk decoder), then clamp to the max speed, then deadband", () => {
  const s = new Safety({ ...LIMITS, max_accel: 0, max_linear_x: 0.6, max_linear_y: 1, deadband: 0.1 });
  // Safety sees what the decoder made of the model's output: here a scale of 2 per axis.
  const act = (x: number, y: number) => ({ kind: "action" as const, action: denormalize({ kind: "scale", scale: [2, 2] }, [x, y]), chunk_stamp: 0, step: 0 });
  // x: 0.5*2 = 1.0 -> clamped to 0.6; y: 0.04*2 = 0.08 -> below the deadband.
  const c = s.command(0, act(0.5, 0.04));
  assert.equal(c.target_x, 0.6);
  assert.equal(c.target_y, 0);
  assert.equal(c.linear_x, 0.6);
  assert.equal(c.linear_y, 0);
  assert.equal(c.reason, "ok");
  const neg = s.command(DT, act(-3, -0.06));
  assert.equal(neg.target_x, -0.6);
  assert.equal(neg.target_y, -0.12, "the deadband compares after denormalisation");
  const small = s.command(2 * DT, act(0.045, 0.3));
  assert.deepEqual([small.target_x, small.target_y], [0, 0.6], "x below the deadband after denormalisation (0.09 < 0.1)");
});

test("acceleration: |v| grows at most max_accel * dt per tick, per axis", () => {
  const s = new Safety(LIMITS);
  const xs: number[] = [];
  for (let i = 0; i < 12; i++) xs.push(s.command(i * DT, act(1, -0.3)).linear_x);
  // 2 m/s^2 * 0.05 s = 0.1 per tick from rest (the first tick counts one period from rest).
  [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.0, 1.0].forEach((v, i) => close(xs[i], v, 1e-9));
  const s2 = new Safety(LIMITS);
  const ys = [0, 1, 2, 3].map((i) => s2.command(i * DT, act(1, -0.3)).linear_y);
  [-0.1, -0.2, -0.3, -0.3].forEach((v, i) => close(ys[i], v));
});

test("deceleration: |v| shrinks at most max_decel * dt per tick", () => {
  const s = new Safety({ ...LIMITS, max_accel: 0 });
  assert.equal(s.command(0, act(1)).linear_x, 1);
  const xs = [1, 2, 3, 4, 5, 6].map((i) => s.command(i * DT, act(0.3)).linear_x);
  [0.8, 0.6, 0.4, 0.3, 0.3, 0.3].forEach((v, i) => close(xs[i], v));
});

test("a sign change brakes at max_decel and uses the rest of the tick to accelerate the other way", () => {
  // 0.1 m/s takes 0.025 s to stop at 4 m/s^2; the other 0.025 s at 2 m/s^2 gives 0.05 the other way.
  close(limitAxis(0.1, -1, DT, DT, 2, 4), -0.05);
  // Not enough tick to stop: still moving the old way.
  close(limitAxis(0.5, -1, DT, DT, 2, 4), 0.3);
  // Unlimited both ways jumps straight to the target.
  assert.equal(limitAxis(0.5, -1, DT, DT, 0, Infinity), -1);
});

test("after a late tick, growth is limited as for one nominal tick; braking uses the real elapsed time", () => {
  const s = new Safety({ ...LIMITS, max_decel: 4 });
  s.command(0, act(0.5));
  const late = s.command(1.0, act(1));
  close(late.linear_x, 0.2, 1e-9);
  const s2 = new Safety({ ...LIMITS, max_accel: 0 });
  s2.command(0, act(1));
  close(s2.command(0.1, { kind: "stop", reason: "no_action" }).linear_x, 0.6);
});

test("e-stop and shutdown are immediate; other stops ramp down at max_decel", () => {
  for (const reason of ["estop", "shutdown"] as const) {
    const s: Safety = new Safety({ ...LIMITS, max_accel: 0 });
    s.command(0, act(1, -1));
    const c: Command = s.command(DT, { kind: "stop", reason });
    assert.deepEqual([c.linear_x, c.linear_y, c.angular_z, c.reason], [0, 0, 0, reason]);
    // Releasing the stop starts again from rest, within the accel limit.
    s.command(2 * DT, act(1, -1));
  }
  for (const reason of ["no_action", "no_instruction", "stale_camera", "invalid_output", "policy_error"] as const) {
    const s: Safety = new Safety({ ...LIMITS, max_accel: 0 });
    s.command(0, act(1, -1));
    const c: Command = s.command(DT, { kind: "stop", reason });
    close(c.linear_x, 0.8);
    close(c.linear_y, -0.8);
    assert.equal(c.reason, reason);
    assert.equal(c.target_x, 0);
    // max_decel 0 means no deceleration limit: every stop is immediate.
    const imm: Safety = new Safety({ ...LIMITS, max_accel: 0, max_decel: 0 });
    imm.command(0, act(1, -1));
    const z: Command = imm.command(DT, { kind: "stop", reason });
    assert.deepEqual([z.linear_x, z.linear_y], [0, 0]);
  }
});

test("after an e-stop the robot accelerates from rest again", () => {
  const s = new Safety({ ...LIMITS });
  for (let i = 0; i < 20; i++) s.command(i * DT, act(1));
  s.command(20 * DT, { kind: "stop", reason: "estop" });
  close(s.command(21 * DT, act(1)).linear_x, 0.1);
});

test("angular z is always 0, and an x-only model drives only x", () => {
  const decoder = new ChunkDecoder({
    ...parseManifest({ action_axes: ["linear_x"], chunk: 3 }),
    head: { kind: "continuous", denormalize: { kind: "scale", scale: [1] } },
  });
  const chunk = decoder.decode(new Float32Array([0.5, 0.5, 0.7]), 1, 1);
  const s = new Safety({ ...LIMITS, max_accel: 0 });
  const c = s.command(0, { kind: "action", action: chunk.actions[2]!, chunk_stamp: chunk.stamp, step: 2 });
  assert.ok(Math.abs(c.linear_x - 0.7) < 1e-6, `${c.linear_x}`);
  assert.deepEqual({ y: c.linear_y, z: c.angular_z, stamp: c.chunk_stamp, step: c.step }, { y: 0, z: 0, stamp: 1, step: 2 });
  assert.throws(() => parseManifest({ action_axes: ["angular_z", "foo"] }), /neither linear_x nor linear_y/);
});

test("axes are found by name, not position", () => {
  const decoder = new ChunkDecoder({
    ...parseManifest({ action_axes: ["linear_y", "linear_x"], chunk: 1 }),
    head: { kind: "continuous", denormalize: { kind: "scale", scale: [1, 1] } },
  });
  const s = new Safety({ ...LIMITS, max_accel: 0 });
  const c = s.command(0, { kind: "action", action: decoder.decode(new Float32Array([0.2, 0.6]), 1, 0).actions[0]!, chunk_stamp: 0, step: 0 });
  close(c.linear_x, 0.6, 1e-7);
  close(c.linear_y, 0.2, 1e-7);
});

test("a non-finite action never moves the robot", () => {
  const s = new Safety({ ...LIMITS, max_accel: 0 });
  s.command(0, act(0.5, 0.5));
  const c = s.command(DT, act(NaN, 0.5));
  assert.equal(c.reason, "invalid_output");
  assert.equal(c.target_y, 0);
  close(c.linear_x, 0.3);
  close(c.linear_y, 0.3);
});

test("zero outputs are +0, so strict equality checks downstream hold", () => {
  const s = new Safety({ ...LIMITS, max_accel: 0 });
  s.command(0, act(-0.1, -0.1));
  const c = s.command(DT, { kind: "stop", reason: "no_action" });
  assert.ok(
    Object.is(c.linear_x, 0) && Object.is(c.linear_y, 0) && Object.is(c.target_x, 0),
    "Object.is(c.linear_x, 0) && Object.is(c.linear_y, 0) && Object.is(c.target_x, 0)",
  );
});

test("discrete head: class ids read the manifest's table, denormalised; NaN logits make the chunk invalid", () => {
  const head: HeadSpec = {
    kind: "discrete",
    classes: [
      { name: "stop", action: [0, 0] },
      { name: "forward", action: [1, 0] },
      { name: "left", action: [0, 1] },
    ],
    denormalize: { kind: "scale", scale: [0.5, 0.25] },
  };
  const decoder = new ChunkDecoder({ ...parseManifest({ chunk: 2 }), head });
  // Logits for two steps of three classes: step 0 says "forward", step 1 "left".
  const c = decoder.decode(new Float32Array([0, 5, 1, 0, 1, 5]), 1, 3);
  assert.deepEqual(c.classIds, [1, 2]);
  assert.deepEqual(c.actions, [
    [0.5, 0],
    [0, 0.25],
  ]);
  assert.equal(c.invalid, false);
  const s = new Safety({ ...LIMITS, max_accel: 0 });
  const cmd = s.command(0, { kind: "action", action: c.actions[1]!, chunk_stamp: 3, step: 1 });
  assert.deepEqual([cmd.linear_x, cmd.linear_y], [0, 0.25]);
  const bad = decoder.decode(new Float32Array([0, 5, 1, NaN, 1, 5]), 1, 3);
  assert.equal(bad.invalid, true);
  assert.ok(bad.actions.flat().every(Number.isFinite), "bad.actions.flat().every(Number.isFinite)");
});

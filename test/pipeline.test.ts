import { test } from "node:test";
import assert from "node:assert/strict";
import { Pipeline, type PipelineLogger, type PipelineParams } from "../src/control/pipeline.js";
import { VirtualClock, WallScheduler, type Outcome, type VirtualLatency } from "../src/control/clock.js";
import { DEFAULT_PARAMS } from "../src/params/table.js";
import type { Command } from "../src/control/command.js";
import type { ChunkPolicy, PolicyCounters } from "../src/policy/types.js";
import type { ActionChunk } from "../src/policy/chunk.js";
import type { StampedImage } from "../src/msgs/image.js";
import { parseManifest, type HeadSpec } from "../src/model/manifest.js";
import { ChunkDecoder } from "../src/policy/chunk-decoder.js";

const STEP = 0.4;
const N = 10;
const EPS = 1e-9;

type Maker = (frame: StampedImage, call: number, instruction: string) => ActionChunk | null;

/** Stands in for the ONNX policy: records what the pipeline asked of it, answers with `make`. */
class FakePolicy implements ChunkPolicy {
  instruction: string | null = null;
  readonly stepS = STEP;
  /** In call order: "setInstruction:<text>", "reset", "step:<stamp>". */
  readonly events: string[] = [];
  /** Clock time of every step() call and the stamp of its frame. */
  readonly steps: { t: number; stamp: number; instruction: string }[] = [];
  inFlight = 0;
  maxInFlight = 0;
  constructor(
    private readonly clock: { now(): number },
    public make: Maker,
  ) {}
  setInstruction(text: string): void {
    this.events.push(`setInstruction:${text}`);
    this.instruction = text;
  }
  async step(frame: StampedImage): Promise<ActionChunk | null> {
    assert.ok(this.instruction !== null, "step() without an instruction");
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    this.events.push(`step:${frame.stamp}`);
    this.steps.push({ t: this.clock.now(), stamp: frame.stamp, instruction: this.instruction });
    const call = this.steps.length - 1;
    try {
      // Resolve on a later turn of the event loop, as a real ONNX run would.
      await new Promise((r) => setImmediate(r));
      return this.make(frame, call, this.instruction);
    } finally {
      this.inFlight--;
    }
  }
  reset(): void {
    this.events.push("reset");
  }
  counters(): PolicyCounters {
    return { frames: this.steps.length, backboneRuns: this.steps.length, headRuns: this.steps.length };
  }
}

const IMAGE = { kind: "raw" as const, width: 1, height: 1, encoding: "bgr8", step: 3, isBigEndian: false, data: new Uint8Array(3) };

function constant(x: number, y = 0): Maker {
  return (frame) => ({ stamp: frame.stamp, stepS: STEP, actions: Array.from({ length: N }, () => [x, y]), invalid: false });
}

function setup(o: { latency?: VirtualLatency; params?: Partial<PipelineParams>; make?: Maker } = {}) {
  const clock = new VirtualClock({ start: 0, latency: o.latency ?? 0.1 });
  const policy = new FakePolicy(clock, o.make ?? constant(0.5));
  const cmds: Command[] = [];
  const logs: { level: string; message: string; meta?: Record<string, unknown> }[] = [];
  const at = (level: string) => (message: string, meta?: Record<string, unknown>) => void logs.push({ level, message, meta });
  const logger: PipelineLogger = { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
  const pipe = new Pipeline({
    policy,
    scheduler: clock,
    logger,
    params: { ...DEFAULT_PARAMS, instruction: "go to the basket", ...o.params },
    sink: (c) => void cmds.push(c),
  });
  /** Camera frames at `hz` (stamps n/hz + offset) between from and to inclusive, each delivered when its time comes. */
  const camera = async (from: number, to: number, hz: number, offset = 0): Promise<void> => {
    const n0 = Math.ceil((from - offset) * hz - EPS);
    const n1 = Math.floor((to - offset) * hz + EPS);
    for (let n = n0; n <= n1; n++) {
      const t = n / hz + offset;
      await clock.advanceTo(t);
      pipe.onFrame({ stamp: t, image: IMAGE });
    }
  };
  const between = (a: number, b: number) => cmds.filter((c) => c.t > a + EPS && c.t <= b + EPS);
  return { clock, policy, cmds, logs, pipe, camera, between };
}

/** Whether going from v0 to v1 in dt respects the accel/decel limits (the robot's view of "no jump"). */
function withinLimits(v0: number, v1: number, dt: number, accel: number, decel: number): boolean {
  const tol = 1e-9;
  if (v0 === 0 || v1 === 0 || Math.sign(v0) === Math.sign(v1)) {
    const d = Math.abs(v1) - Math.abs(v0);
    return d >= 0 ? d <= accel * dt + tol : -d <= decel * dt + tol;
  }
  return Math.abs(v0) / decel + Math.abs(v1) / accel <= dt + tol;
}

test("the robot follows the chunk at the control rate, ramping up within max_accel", async () => {
  const h = setup();
  h.pipe.start();
  await h.camera(0, 3, 10);
  const ok = h.between(0, 3).filter((c) => c.reason === "ok");
  assert.ok(ok.length > 40, `only ${ok.length} ok commands`);
  // One command per 50 ms tick.
  const ticks = h.between(0, 3);
  assert.equal(ticks.length, 60);
  assert.ok(
    ticks.every((c, i) => Math.abs(c.t - (i + 1) * 0.05) < EPS),
    "ticks.every((c, i) => Math.abs(c.t - (i + 1) * 0.05) < EPS)",
  );
  assert.equal(ok.at(-1)!.linear_x, 0.5);
  assert.ok(
    ticks.every((c) => c.angular_z === 0),
    "ticks.every((c) => c.angular_z === 0)",
  );
  for (let i = 1; i < ticks.length; i++)
    assert.ok(ticks[i].linear_x - ticks[i - 1].linear_x <= 2 * 0.05 + EPS, "ticks[i].linear_x - ticks[i - 1].linear_x <= 2 * 0.05 + EPS");
  // Before the first chunk exists there is nothing to do.
  assert.equal(ticks[0].reason, "no_action");
  const d = h.pipe.diagnostics();
  assert.ok(Math.abs(d.camera_rate_hz! - 10) < 1e-6, "Math.abs(d.camera_rate_hz! - 10) < 1e-6");
  assert.ok(Math.abs(d.inference_latency_p50_s! - 0.1) < EPS, "Math.abs(d.inference_latency_p50_s! - 0.1) < EPS");
  assert.equal(d.backbone_runs, h.policy.steps.length);
  assert.equal(d.safety_state, "ok");
  assert.equal(d.last_command, h.cmds.at(-1));
});

test("camera stops -> zero within the watchdog; it moves again only after a fresh frame made a new chunk", async () => {
  const h = setup();
  h.pipe.start();
  await h.camera(0, 2, 10);
  await h.clock.advanceTo(3.0);
  assert.ok(
    h.between(2, 3).every((c) => c.reason === "ok"),
    "within the watchdog the chunk still drives",
  );
  await h.clock.advanceTo(4.0);
  const after = h.between(3, 4);
  assert.ok(
    after.every((c) => c.reason === "stale_camera"),
    after.map((c) => c.reason).join(","),
  );
  // Ramps down at max_decel (4 m/s^2: 0.5 m/s takes 0.125 s, three ticks) and then stays at 0.
  assert.deepEqual(
    after.slice(0, 3).map((c) => +c.linear_x.toFixed(9)),
    [0.3, 0.1, 0],
  );
  assert.ok(
    after.slice(2).every((c) => c.linear_x === 0 && c.linear_y === 0),
    "after.slice(2).every((c) => c.linear_x === 0 && c.linear_y === 0)",
  );
  assert.ok(
    h.logs.some((l) => l.level === "warn" && /camera stale/.test(l.message)),
    'h.logs.some((l) => l.level === "warn" && /camera stale/.test(l.message))',
  );

  const stepsBefore = h.policy.steps.length;
  await h.camera(4.5, 6, 10);
  // The old chunks are gone and the window was reset before the next step.
  const firstStep = h.policy.events.indexOf(`step:${h.policy.steps[stepsBefore].stamp}`);
  assert.equal(h.policy.events[firstStep - 1], "reset");
  const resumed = h.between(4.5, 6);
  const firstOk = resumed.find((c) => c.reason === "ok")!;
  assert.ok(firstOk.chunk_stamp! >= 4.5, `moved on chunk ${firstOk.chunk_stamp} from before the gap`);
  assert.ok(
    resumed.filter((c) => c.t < firstOk.t).every((c) => c.linear_x === 0),
    "resumed.filter((c) => c.t < firstOk.t).every((c) => c.linear_x === 0)",
  );
});

test("with max_decel 0 the watchdog stop is immediate", async () => {
  const h = setup({ params: { max_decel: 0 } });
  h.pipe.start();
  await h.camera(0, 2, 10);
  await h.clock.advanceTo(3.2);
  const first = h.between(3, 3.2)[0];
  assert.deepEqual([first.reason, first.linear_x], ["stale_camera", 0]);
});

test("e-stop is latched and immediate: zero at once and until released, then a ramp from rest", async () => {
  const h = setup();
  h.pipe.start();
  await h.camera(0, 2, 10);
  assert.equal(h.cmds.at(-1)!.linear_x, 0.5);
  await h.clock.advanceTo(2.02);
  h.pipe.setEstop(true);
  const engaged = h.cmds.at(-1)!;
  assert.deepEqual([engaged.t, engaged.reason, engaged.linear_x, engaged.linear_y], [2.02, "estop", 0, 0]);
  h.pipe.setEstop(true);
  assert.equal(h.cmds.at(-1), engaged, "engaging twice sends nothing new");
  await h.camera(2.1, 4, 10);
  const held = h.between(2.02, 4);
  assert.ok(
    held.length >= 39 && held.every((c) => c.reason === "estop" && c.linear_x === 0),
    'held.length >= 39 && held.every((c) => c.reason === "estop" && c.linear_x === 0)',
  );
  assert.ok(h.pipe.diagnostics().queue_chunks > 0, "the policy kept running: chunks are there, unused");
  h.pipe.setEstop(false);
  await h.camera(4.1, 5, 10);
  const released = h.between(4, 5);
  assert.equal(released[0].reason, "ok");
  assert.ok(Math.abs(released[0].linear_x - 0.1) < EPS, `first command after release ${released[0].linear_x}`);
  assert.equal(released.at(-1)!.linear_x, 0.5);
});

test("slow inference (1.5 s): stale steps are skipped, no jump exceeds the accel limits, no concurrent inference", async () => {
  // Steps alternate direction so every step change is a real jump the limits must smooth.
  const row = (stamp: number, k: number) => [k % 2 === 0 ? 0.8 : -0.8, 0.3 + 0.02 * (Math.round(stamp * 10) % 10)];
  const h = setup({
    latency: 1.5,
    // The jump check below is per axis: it pins the per_axis limits (direction mode has its own test after this one).
    params: { limit_mode: "per_axis" },
    make: (f) => ({ stamp: f.stamp, stepS: STEP, actions: Array.from({ length: N }, (_, k) => row(f.stamp, k)), invalid: false }),
  });
  h.pipe.start();
  await h.camera(0, 10, 30);
  const cmds = h.between(0, 10);
  const ok = cmds.filter((c) => c.reason === "ok");
  assert.ok(ok.length > 100, "ok.length > 100");
  for (const c of ok) {
    const age = c.t - c.chunk_stamp!;
    assert.ok(age >= 1.5 - EPS, `chunk ${c.chunk_stamp} used at ${c.t}, before its inference finished`);
    assert.equal(c.step, Math.floor(age / STEP + EPS), `at ${c.t}`);
    assert.ok(c.step! >= 3, "steps 0-2 went stale during the 1.5 s inference");
    const [x, y] = row(c.chunk_stamp!, c.step!);
    assert.ok(
      Math.abs(c.target_x - x) < EPS && Math.abs(c.target_y - y) < EPS,
      `target at ${c.t}: ${c.target_x},${c.target_y} vs ${x},${y} (chunk ${c.chunk_stamp} step ${c.step})`,
    );
  }
  for (let i = 1; i < cmds.length; i++) {
    const dt = cmds[i].t - cmds[i - 1].t;
    assert.ok(withinLimits(cmds[i - 1].linear_x, cmds[i].linear_x, dt, 2, 4), `x jump at ${cmds[i].t}: ${cmds[i - 1].linear_x} -> ${cmds[i].linear_x}`);
    assert.ok(withinLimits(cmds[i - 1].linear_y, cmds[i].linear_y, dt, 2, 4), `y jump at ${cmds[i].t}`);
  }
  const starts = h.policy.steps.map((s) => s.t);
  // Never overlapping, and never idle either: a frame sampled meanwhile waits and starts the moment the previous run ends.
  for (let i = 1; i < starts.length; i++)
    assert.ok(Math.abs(starts[i] - starts[i - 1] - 1.5) < EPS, `step ${i} started ${starts[i] - starts[i - 1]} s after the previous one`);
  assert.equal(h.policy.maxInFlight, 1);
  const d = h.pipe.diagnostics();
  assert.ok(
    Math.abs(d.inference_latency_p50_s! - 1.5) < EPS && Math.abs(d.inference_latency_p99_s! - 1.5) < EPS,
    "Math.abs(d.inference_latency_p50_s! - 1.5) < EPS && Math.abs(d.inference_latency_p99_s! - 1.5) < EPS",
  );
  assert.ok(d.frames_dropped > 0, "d.frames_dropped > 0");
  assert.equal(d.frames_received, 301);
  // A frame sampled while inference runs waits (one slot) and replaces an older waiting one.
  assert.ok(h.policy.steps.length < d.frames_sampled, "h.policy.steps.length < d.frames_sampled");
});

test("slow inference, limit_mode direction (the default): every command points where its target does; the speed ramps within the limits", async () => {
  const row = (stamp: number, k: number) => [k % 2 === 0 ? 0.8 : -0.8, 0.3 + 0.02 * (Math.round(stamp * 10) % 10)];
  const h = setup({
    latency: 1.5,
    make: (f) => ({ stamp: f.stamp, stepS: STEP, actions: Array.from({ length: N }, (_, k) => row(f.stamp, k)), invalid: false }),
  });
  h.pipe.start();
  await h.camera(0, 10, 30);
  const cmds = h.between(0, 10);
  let moving = 0;
  for (let i = 0; i < cmds.length; i++) {
    const c = cmds[i]!;
    const speed = Math.hypot(c.linear_x, c.linear_y);
    if (speed > 0 && (c.target_x !== 0 || c.target_y !== 0)) {
      moving++;
      const d = Math.abs(Math.atan2(c.linear_y, c.linear_x) - Math.atan2(c.target_y, c.target_x));
      assert.ok(Math.min(d, 2 * Math.PI - d) < 1e-9, `at ${c.t}: (${c.linear_x}, ${c.linear_y}) does not point at (${c.target_x}, ${c.target_y})`);
    }
    if (i === 0) continue;
    const prev = cmds[i - 1]!;
    const dt = c.t - prev.t;
    const change = speed - Math.hypot(prev.linear_x, prev.linear_y);
    // A ramp from rest is published from the deadband (0.05) on, never below it.
    assert.ok(change <= 2 * dt + 0.05 + EPS && -change <= 4 * dt + 0.05 + EPS, `speed jump at ${c.t}: ${change}`);
  }
  assert.ok(moving > 100, `moving commands: ${moving}`);
});

test("frames faster than frame_interval_s: one per interval is sampled on arrival, the others are counted as dropped", async () => {
  const h = setup({ latency: 0.05 });
  h.pipe.start();
  await h.camera(0, 4, 30, 0.005);
  await h.clock.advanceTo(4);
  const stamps = h.policy.steps.map((s) => s.stamp);
  // The first frame, then every 12th (0.4 s at 30 Hz), each handed to the policy as it arrives.
  assert.deepEqual(
    h.policy.steps.map((s) => s.t),
    stamps,
  );
  const expected = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((k) => (k * 12) / 30 + 0.005);
  assert.equal(stamps.length, expected.length);
  stamps.forEach((s, i) => assert.ok(Math.abs(s - expected[i]) < EPS, `sample ${i}: ${s} vs ${expected[i]}`));
  const d = h.pipe.diagnostics();
  assert.equal(d.frames_received, 120);
  assert.equal(d.frames_sampled, 10);
  assert.equal(d.frames_dropped, 110);
  assert.ok(Math.abs(d.camera_rate_hz! - 30) < 1e-6, "Math.abs(d.camera_rate_hz! - 30) < 1e-6");
});

test("chunks are timed from their frame's stamp, whatever stamp the policy wrote", async () => {
  const h = setup({ latency: 0.3, make: (f) => ({ ...constant(0.5)(f, 0, "")!, stamp: f.stamp + 0.3 }) });
  h.pipe.start();
  await h.camera(0, 2, 10);
  const ok = h.between(0, 2).filter((c) => c.reason === "ok");
  assert.ok(ok.length > 0, "ok.length > 0");
  const frames = new Set(h.policy.steps.map((s) => s.stamp));
  for (const c of ok)
    assert.ok(frames.has(c.chunk_stamp!) && c.step === Math.floor((c.t - c.chunk_stamp!) / STEP + EPS), `at ${c.t}: chunk ${c.chunk_stamp} step ${c.step}`);
});

test("frame_interval_s overrides the manifest step for sampling", async () => {
  const h = setup({ latency: 0.05, params: { frame_interval_s: 1.0 } });
  h.pipe.start();
  await h.camera(0, 4, 30);
  // Frames 0, 1, 2, 3 and 4 s: one a second, not one every 0.4 s.
  assert.equal(h.policy.steps.length, 5);
  assert.equal(h.pipe.diagnostics().frame_interval_s, 1.0);
});

test("instruction change: the policy is told, old chunks and in-flight results are dropped", async () => {
  const h = setup({ latency: 0.3, make: (f, _c, instr) => constant(instr === "go to the basket" ? 0.5 : -0.5)(f, 0, instr) });
  h.pipe.start();
  await h.camera(0, 2.0, 10);
  // An inference started at 2.0 is running (until 2.3) when the instruction changes.
  assert.equal(h.pipe.diagnostics().inference_busy, true);
  await h.clock.advanceTo(2.1);
  h.pipe.setInstruction("turn around");
  assert.equal(h.policy.events.includes("setInstruction:turn around"), false, "not while step() runs");
  await h.camera(2.1, 5, 10);
  const i = h.policy.events.indexOf("setInstruction:turn around");
  assert.ok(i > 0, "i > 0");
  const nextStep = h.policy.events.findIndex((e, j) => j > i && e.startsWith("step:"));
  assert.ok(nextStep > i, "the next step runs with the new instruction");
  assert.ok(
    h.policy.steps.filter((s) => s.t > 2.1).every((s) => s.instruction === "turn around"),
    'h.policy.steps.filter((s) => s.t > 2.1).every((s) => s.instruction === "turn around")',
  );
  const after = h.between(2.1, 5);
  assert.ok(
    after.every((c) => c.reason !== "ok" || c.target_x === -0.5),
    "a chunk for the old instruction was used",
  );
  assert.equal(after[0].reason, "no_action", "the queue was cleared at once");
  assert.equal(after.at(-1)!.target_x, -0.5);
  assert.equal(h.pipe.diagnostics().chunks_discarded, 1);
  assert.equal(h.pipe.diagnostics().instruction, "turn around");
});

test("no instruction and no default: the robot stays still and the policy is never run", async () => {
  const h = setup({ params: { instruction: "" } });
  h.pipe.start();
  await h.camera(0, 2, 10);
  assert.equal(h.policy.steps.length, 0);
  assert.ok(
    h.between(0, 2).every((c) => c.reason === "no_instruction" && c.linear_x === 0),
    'h.between(0, 2).every((c) => c.reason === "no_instruction" && c.linear_x === 0)',
  );
  h.pipe.setInstruction("go to the basket");
  assert.deepEqual(h.policy.events, ["setInstruction:go to the basket"]);
  await h.camera(2.1, 4, 10);
  assert.equal(h.cmds.at(-1)!.reason, "ok");
  // An empty instruction withdraws it again.
  h.pipe.setInstruction("  ");
  await h.camera(4.1, 4.5, 10);
  assert.equal(h.cmds.at(-1)!.reason, "no_instruction");
});

test("NaN output -> the robot is driven to zero, counted and logged; a valid chunk moves it again", async () => {
  let broken = false;
  const h = setup({
    make: (f) => ({ stamp: f.stamp, stepS: STEP, actions: Array.from({ length: N }, () => (broken ? [NaN, 0.2] : [0.5, 0])), invalid: false }),
  });
  h.pipe.start();
  await h.camera(0, 2, 10);
  assert.equal(h.cmds.at(-1)!.linear_x, 0.5);
  broken = true;
  await h.camera(2.1, 4, 10);
  const bad = h.between(2.5, 4);
  assert.ok(
    bad.every((c) => c.reason === "invalid_output"),
    bad.map((c) => c.reason).join(","),
  );
  assert.ok(
    bad.slice(3).every((c) => c.linear_x === 0 && c.linear_y === 0),
    "bad.slice(3).every((c) => c.linear_x === 0 && c.linear_y === 0)",
  );
  assert.ok(
    bad.every((c) => Number.isFinite(c.linear_x) && Number.isFinite(c.linear_y)),
    "bad.every((c) => Number.isFinite(c.linear_x) && Number.isFinite(c.linear_y))",
  );
  const d = h.pipe.diagnostics();
  assert.ok(d.invalid_outputs >= 4, "d.invalid_outputs >= 4");
  assert.ok(
    h.logs.some((l) => l.level === "warn" && /NaN/.test(l.message)),
    'h.logs.some((l) => l.level === "warn" && /NaN/.test(l.message))',
  );
  broken = false;
  await h.camera(4.1, 6, 10);
  assert.equal(h.cmds.at(-1)!.reason, "ok");
  // A flagged chunk is refused the same way.
  const g = setup({ make: (f) => ({ ...constant(0.5)(f, 0, "")!, invalid: true }) });
  g.pipe.start();
  await g.camera(0, 2, 10);
  assert.ok(
    g.between(0.5, 2).every((c) => c.reason === "invalid_output" && c.linear_x === 0),
    'g.between(0.5, 2).every((c) => c.reason === "invalid_output" && c.linear_x === 0)',
  );
});

test("a policy that throws: counted, logged, the robot stops, the pipeline carries on", async () => {
  let throwing = false;
  const h = setup({
    make: (f) => {
      if (throwing) throw new Error("bad image: 0x0");
      return constant(0.5)(f, 0, "");
    },
  });
  h.pipe.start();
  await h.camera(0, 2, 10);
  throwing = true;
  await h.camera(2.1, 3.5, 10);
  const stopped = h.between(2.6, 3.5);
  assert.ok(
    stopped.every((c) => c.reason === "policy_error"),
    stopped.map((c) => c.reason).join(","),
  );
  assert.equal(stopped.at(-1)!.linear_x, 0);
  assert.ok(h.pipe.diagnostics().inference_errors >= 3, "h.pipe.diagnostics().inference_errors >= 3");
  assert.ok(
    h.logs.some((l) => l.level === "error" && /policy step failed/.test(l.message) && l.meta?.error === "bad image: 0x0"),
    'h.logs.some((l) => l.level === "error" && /policy step failed/.test(l.message) && l.meta?.error === "bad image: 0x0")',
  );
  throwing = false;
  await h.camera(3.6, 5, 10);
  assert.equal(h.cmds.at(-1)!.reason, "ok");
});

test("ensemble vs latest on overlapping chunks through the pipeline (hand-computed)", async () => {
  // Call 0 sees the frame at 0 (chunk of 0.2), call 1 the frame at 0.4 (chunk of 0.8); at t = 1.0 both cover.
  const make: Maker = (f, call) => constant(call === 0 ? 0.2 : call === 1 ? 0.8 : 0)(f, call, "");
  const targetAt = async (aggregation: "latest" | "ensemble") => {
    const h = setup({ make, params: { aggregation, ensemble_k: 0.5 } });
    h.pipe.start();
    await h.camera(0, 0.7, 10);
    await h.clock.advanceTo(1.0);
    assert.deepEqual(
      h.policy.steps.map((s) => s.stamp),
      [0, 0.4],
    );
    const c = h.cmds.find((x) => Math.abs(x.t - 1.0) < EPS)!;
    return c.target_x;
  };
  // (0.2 * 1 + 0.8 * exp(-0.5)) / (1 + exp(-0.5)) = 0.68522 / 1.60653 = 0.42652: the older chunk weighs 1.
  assert.ok(Math.abs((await targetAt("ensemble")) - 0.42652) < 1e-4, 'Math.abs((await targetAt("ensemble")) - 0.42652) < 1e-4');
  assert.equal(await targetAt("latest"), 0.8);
});

test("discrete head: the class table, denormalised, is what the robot gets", async () => {
  const head: Extract<HeadSpec, { kind: "discrete" }> = {
    kind: "discrete",
    classes: [
      { name: "stop", action: [0, 0] },
      { name: "forward", action: [1, 0] },
      { name: "left", action: [0, 1] },
      { name: "back_right", action: [-1, -1] },
    ],
    denormalize: { kind: "minmax", min: [-0.6, -0.4], max: [0.6, 0.4] },
  };
  // Call 0 answers "forward" for every step, call 1 "left", call 2 "back_right"; a class per step is
  // also checked within one chunk. The policy's chunk decoder turns the logits into the table's rows.
  const ids = [
    [1, 2, 3, 3, 3, 3, 3, 3, 3, 3],
    [2, 2, 2, 2, 2, 2, 2, 2, 2, 2],
    [3, 3, 3, 3, 3, 3, 3, 3, 3, 3],
  ];
  const decoder = new ChunkDecoder({ ...parseManifest({ chunk: N, action_step_s: STEP }), head });
  const logits = (classes: number[]) => new Float32Array(classes.flatMap((c) => head.classes.map((_, k) => (k === c ? 1 : 0))));
  const h = setup({
    params: { max_accel: 0, max_decel: 0 },
    make: (f, call) => decoder.decode(logits(ids[Math.min(call, 2)]!), 1, f.stamp),
  });
  h.pipe.start();
  // Frames 5 ms after each tenth of a second: the grid samples frames 0.005, 0.405, 0.805, 1.205.
  await h.camera(0, 0.3, 10, 0.005);
  await h.clock.advanceTo(0.35);
  const seen = (t: number) => h.cmds.find((c) => Math.abs(c.t - t) < EPS)!;
  const fwd = seen(0.35);
  assert.deepEqual([fwd.reason, fwd.chunk_stamp, fwd.step, fwd.linear_x, fwd.linear_y], ["ok", 0.005, 0, 0.6, 0]);
  // The first chunk's own step 1 is "left", before the second chunk arrives at 0.505.
  await h.camera(0.4, 0.4, 10, 0.005);
  await h.clock.advanceTo(0.45);
  const step1 = seen(0.45);
  assert.ok(step1, "a command at 0.45");
  assert.deepEqual([step1.chunk_stamp, step1.step, step1.linear_x, step1.linear_y], [0.005, 1, 0, 0.4]);
  await h.camera(0.5, 1.2, 10, 0.005);
  await h.clock.advanceTo(1.25);
  const br = seen(1.25);
  assert.equal(br.chunk_stamp, 0.805);
  assert.ok(Math.abs(br.linear_x + 0.6) < EPS && Math.abs(br.linear_y + 0.4) < EPS, `${br.linear_x}, ${br.linear_y}`);
});

test("shutdown sends a final zero at once and nothing after it; a late inference result is ignored", async () => {
  const h = setup({ latency: 0.3 });
  h.pipe.start();
  await h.camera(0, 2.0, 10);
  await h.clock.advanceTo(2.05);
  assert.equal(h.cmds.at(-1)!.linear_x, 0.5);
  assert.equal(h.pipe.diagnostics().inference_busy, true);
  h.pipe.stop();
  const last = h.cmds.at(-1)!;
  assert.deepEqual([last.t, last.reason, last.linear_x, last.linear_y, last.angular_z], [2.05, "shutdown", 0, 0, 0]);
  const idle = h.pipe.whenIdle();
  await h.camera(2.1, 4, 10);
  await idle;
  assert.equal(h.cmds.at(-1), last, "no command after shutdown");
  assert.equal(h.pipe.diagnostics().queue_chunks, 0);
  h.pipe.stop();
  assert.equal(h.cmds.at(-1), last, "a second stop sends nothing");
});

test("a sink that throws is logged and does not stop the control loop", async () => {
  const h = setup();
  let calls = 0;
  const pipe = new Pipeline({
    policy: h.policy,
    scheduler: h.clock,
    logger: { debug() {}, info() {}, warn() {}, error: (m: string) => void h.logs.push({ level: "error", message: m }) },
    params: { ...DEFAULT_PARAMS, instruction: "go" },
    sink: () => {
      calls++;
      throw new Error("publisher gone");
    },
  });
  pipe.start();
  await h.clock.advanceTo(1);
  assert.equal(calls, 20);
  assert.ok(
    h.logs.some((l) => /sink threw/.test(l.message)),
    "h.logs.some((l) => /sink threw/.test(l.message))",
  );
});

test("out-of-order or repeated frame stamps are dropped", () => {
  const h = setup();
  h.pipe.start();
  h.pipe.onFrame({ stamp: 1.0, image: IMAGE });
  h.pipe.onFrame({ stamp: 0.9, image: IMAGE });
  h.pipe.onFrame({ stamp: 1.0, image: IMAGE });
  const d = h.pipe.diagnostics();
  assert.deepEqual([d.frames_received, d.frames_dropped], [3, 2]);
});

test("VirtualClock: timers fire in time order, ties in creation order, periodic ticks without drift", async () => {
  const clock = new VirtualClock();
  const seen: string[] = [];
  clock.at(0.3, () => seen.push(`a@${clock.now()}`));
  clock.at(0.1, () => seen.push(`b@${clock.now()}`));
  clock.at(0.3, () => seen.push(`c@${clock.now()}`));
  const ticks: number[] = [];
  const every = clock.every(0.1, () => ticks.push(clock.now()));
  const cancelled = clock.at(0.2, () => seen.push("cancelled"));
  cancelled.cancel();
  await clock.advanceTo(0.35);
  assert.deepEqual(seen, ["b@0.1", "a@0.3", "c@0.3"]);
  assert.equal(clock.now(), 0.35);
  await clock.advanceTo(100);
  assert.equal(ticks.length, 1000);
  assert.equal(ticks[999], 100);
  every.cancel();
  await assert.rejects(clock.advanceTo(99), /only moves forward/);
});

test("VirtualClock: work finishes at start + latency in virtual time, after its promise settled", async () => {
  const clock = new VirtualClock({ latency: (start) => (start < 1 ? 1.5 : 0.25) });
  const done: string[] = [];
  clock.run(
    async () => "x",
    (o) => done.push(`${o.ok}:${o.startedAt}->${o.finishedAt}@${clock.now()}`),
  );
  await clock.advanceTo(1.4);
  assert.equal(done.length, 0);
  await clock.advanceTo(1.5);
  assert.deepEqual(done, ["true:0->1.5@1.5"]);
  clock.run(
    () => Promise.reject(new Error("boom")),
    (o) => done.push(`${o.ok}:${o.finishedAt}`),
  );
  clock.run(
    () => {
      throw new Error("sync boom");
    },
    (o) => done.push(`${o.ok}:${o.ok ? "" : (o.error as Error).message}`),
  );
  await clock.advanceTo(2);
  assert.deepEqual(done.slice(1), ["false:1.75", "false:sync boom"]);
});

test("VirtualClock: measured latency waits for the real work before time moves on", async () => {
  const clock = new VirtualClock({ latency: "measured" });
  let finishedAt = -1;
  clock.run(
    () => new Promise<number>((r) => setTimeout(() => r(1), 20)),
    (o) => void (finishedAt = o.finishedAt),
  );
  await clock.advanceTo(10);
  assert.ok(finishedAt >= 0.015 && finishedAt < 10, `finished at ${finishedAt}`);
});

test("WallScheduler: outcomes carry its clock's times, errors become outcomes, a past time fires at once", async () => {
  let fake = 100;
  const wall = new WallScheduler(() => fake);
  const outcomes: Outcome<string>[] = [];
  const settled = (n: number) =>
    new Promise<void>((resolve) => {
      const poll = () => (outcomes.length >= n ? resolve() : setImmediate(poll));
      poll();
    });
  wall.run(
    async () => {
      fake = 100.25;
      return "ok";
    },
    (o) => void outcomes.push(o),
  );
  wall.run<string>(
    () => {
      throw new Error("sync");
    },
    (o) => void outcomes.push(o),
  );
  await settled(2);
  const good = outcomes.find((o) => o.ok)!;
  assert.deepEqual(good, { ok: true, value: "ok", startedAt: 100, finishedAt: 100.25 });
  const bad = outcomes.find((o) => !o.ok)!;
  assert.equal(bad.ok ? "" : (bad.error as Error).message, "sync");
  const fired = await new Promise<number>((resolve) => void wall.at(50, () => resolve(fake)));
  assert.equal(fired, 100.25);
  const cancelled: string[] = [];
  wall.at(0, () => cancelled.push("fired")).cancel();
  const t = wall.every(0.001, () => cancelled.push("tick"));
  t.cancel();
  await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(cancelled, []);
});

test("update(): limits from the next tick, control_rate_hz restarts the control timer, a value it cannot run changes nothing", async () => {
  const h = setup({ latency: 0.05, make: constant(0.8, 0.6), params: { max_accel: 0, max_decel: 0 } });
  h.pipe.start();
  await h.camera(0, 2, 10);
  assert.ok(Math.abs(h.cmds.at(-1)!.linear_x - 0.8) < EPS, "driving at the target");
  h.pipe.update({ ...DEFAULT_PARAMS, instruction: "ignored here", max_accel: 0, max_decel: 0, max_linear_x: 0.4, control_rate_hz: 5 });
  const n = h.cmds.length;
  await h.camera(2.01, 4, 10);
  const after = h.cmds.slice(n);
  assert.equal(after.length, 10, "5 commands a second from the update on");
  assert.ok(
    after.every((c) => Math.abs(c.linear_x - 0.4) < EPS && Math.abs(c.linear_y - 0.3) < EPS),
    "x bounded at 0.4, y scaled with it (direction mode)",
  );
  assert.equal(h.pipe.diagnostics().instruction, "go to the basket", "the instruction is setInstruction's business");
  assert.throws(() => h.pipe.update({ ...DEFAULT_PARAMS, max_linear_x: 0.2, ensemble_k: -1 }), /ensembleK must be a finite number >= 0/);
  const m = h.cmds.length;
  await h.camera(4.01, 5, 10);
  assert.ok(
    h.cmds.slice(m).every((c) => Math.abs(c.linear_x - 0.4) < EPS),
    "the refused update left the old limits",
  );
  h.pipe.stop();
});

test("the frames sampled depend on the frame stream, not on when the pipeline started (live activation vs replay)", async () => {
  // The same 30 Hz stream from t = 1: one pipeline started at 0 (a replay starts at the
  // bag's start), one 0.13 s later with each frame's receipt a few ms late (a node
  // activated at some moment, frames over the network). A sampling timer would take
  // other frames in each; the grid takes the same ones.
  const run = async (startAt: number, delays: (k: number) => number) => {
    const h = setup({ latency: 0.02 });
    await h.clock.advanceTo(startAt);
    h.pipe.start();
    for (let k = 0; k < 150; k++) {
      const t = 1 + k / 30 + delays(k);
      await h.clock.advanceTo(t);
      h.pipe.onFrame({ stamp: t, image: IMAGE });
    }
    return h.policy.steps.map((s) => Math.floor((s.stamp - 1) * 30 + 0.5));
  };
  const replay = await run(0, () => 0);
  const live = await run(0.13, (k) => 0.002 + 0.004 * Math.abs(Math.sin(k * 1.7)));
  assert.deepEqual(live, replay);
  assert.deepEqual(replay, [0, 12, 24, 36, 48, 60, 72, 84, 96, 108, 120, 132, 144]);
});

test("frames are chosen by the camera's capture times: receipt jitter beyond half a frame period changes nothing", async () => {
  // Receipt up to 25 ms late (more than half of 1/30 s), capture times exact and on a
  // clock 1000 s off the pipeline's: the same frames as an undisturbed stream.
  const run = async (late: (k: number) => number) => {
    const h = setup({ latency: 0.02 });
    h.pipe.start();
    for (let k = 0; k < 150; k++) {
      const t = 1 + k / 30 + late(k);
      await h.clock.advanceTo(t);
      h.pipe.onFrame({ stamp: t, captureStamp: 1001 + k / 30, image: IMAGE });
    }
    return h.policy.steps.map((s) => Math.floor((s.stamp - 1) * 30 + 1e-6));
  };
  const exact = await run(() => 0);
  assert.deepEqual(exact, [0, 12, 24, 36, 48, 60, 72, 84, 96, 108, 120, 132, 144]);
  // The frame before each grid point arrives 25 ms late: by receipt time it would be taken instead.
  assert.deepEqual(await run((k) => (k % 12 === 11 ? 0.025 : 0.001)), exact);
});

test("a camera that stamps every frame alike is sampled by receipt time, one frame per interval", async () => {
  const h = setup({ latency: 0.02 });
  h.pipe.start();
  for (let k = 0; k < 120; k++) {
    const t = k / 30;
    await h.clock.advanceTo(t);
    h.pipe.onFrame({ stamp: t, captureStamp: 42, image: IMAGE });
  }
  // The first frame on capture time, then the grid starts again on receipt stamps at frame 1.
  assert.deepEqual(
    h.policy.steps.map((s) => Math.round(s.stamp * 30)),
    [0, 1, 13, 25, 37, 49, 61, 73, 85, 97, 109],
  );
});

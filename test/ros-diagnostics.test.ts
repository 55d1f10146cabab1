// /diagnostics of vla_policy: what an operator reads there (lifecycle state, camera
// age, inference latency, backbone passes per frame, chunk age, e-stop, stops by
// reason, model name and precision) and when it says WARN or ERROR.
import { test } from "node:test";
import assert from "node:assert/strict";
import { VirtualClock } from "../src/control/clock.js";
import type { PipelineDiagnostics } from "../src/control/pipeline.js";
import { DIAG_LEVEL, policyDiagnostics, type DiagnosticArrayMsg, type PolicyStatus } from "../src/ros/diagnostics.js";
import { PolicyNode, POLICY_TOPICS } from "../src/ros/policy-node.js";
import { FakeRcl, override, type FakeNode } from "./ros-fake-rclnodejs.js";
import { driveCamera, tinyModelForFile } from "./fixtures/ros-policy.js";

const modelDir = tinyModelForFile("ros-diag-", { seed: 11, name: "tiny-t1" });

const lastDiag = (fake: FakeNode) => {
  const d = (fake.published(POLICY_TOPICS.diagnostics) as DiagnosticArrayMsg[]).at(-1)!.status[0]!;
  for (const kv of d.values) assert.equal(typeof kv.value, "string", `${kv.key} is a string`);
  return { level: d.level, message: d.message, v: Object.fromEntries(d.values.map((kv) => [kv.key, kv.value])) };
};

async function driving(latencyS: number) {
  const clock = new VirtualClock({ start: 1000, latency: latencyS });
  const rcl = new FakeRcl(clock, [override("model", modelDir()), override("instruction", "go left")]);
  const node = await PolicyNode.create({ rcl, scheduler: clock, flushMs: 0 });
  const fake = rcl.nodes[0]!;
  const stop = async () => {
    const done = node.shutdown();
    await clock.advanceBy(2);
    await done;
  };
  return { clock, node, fake, stop };
}

test("a driving node reports lifecycle state, model, camera age, latency, passes per frame, chunk age, e-stop and stops by reason", async () => {
  const h = await driving(0.05);
  try {
    await driveCamera(h.fake, h.clock, 3.05);
    const d = lastDiag(h.fake);
    assert.equal(d.level, DIAG_LEVEL.OK);
    assert.equal(d.message, "driving");
    assert.equal(d.v.lifecycle_state, "active");
    assert.equal(d.v.model_name, "tiny-t1", "the manifest's name");
    assert.equal(d.v.model_precision, "fp32");
    assert.equal(d.v.camera_source, "topic");
    assert.ok(Number(d.v.camera_age_s) >= 0 && Number(d.v.camera_age_s) < 0.2, `camera age: ${d.v.camera_age_s}`);
    assert.equal(d.v.inference_latency_p50_s, "0.0500");
    assert.equal(d.v.inference_latency_p99_s, "0.0500");
    assert.equal(d.v.backbone_passes_per_frame, "1", "the feature cache: one backbone pass per sampled frame");
    const age = Number(d.v.chunk_age_s);
    assert.ok(age > 0 && age < 0.8, `the chunk behind the last command is fresh: ${d.v.chunk_age_s}`);
    assert.equal(d.v.estop, "false");
    assert.equal(d.v.stops_estop, "0");

    h.fake.deliver(POLICY_TOPICS.estop, { data: true });
    await driveCamera(h.fake, h.clock, 1.0, 40);
    const held = lastDiag(h.fake);
    assert.deepEqual([held.level, held.message, held.v.estop, held.v.chunk_age_s], [DIAG_LEVEL.WARN, "e-stop engaged", "true", ""], "no chunk behind a stop");
    h.fake.deliver(POLICY_TOPICS.estop, { data: false });
    await driveCamera(h.fake, h.clock, 2.0, 60);
    h.fake.deliver(POLICY_TOPICS.estop, { data: true });
    await driveCamera(h.fake, h.clock, 1.0, 90);
    assert.equal(lastDiag(h.fake).v.stops_estop, "2", "two e-stops, however many ticks each held");
    for (const r of ["no_action", "no_instruction", "stale_camera", "invalid_output", "policy_error", "shutdown"]) {
      assert.ok(`stops_${r}` in lastDiag(h.fake).v, `stops_${r} is reported`);
    }
  } finally {
    await h.stop();
  }
});

test("WARN when inference is slower than frame_interval_s, and when the camera is stale", async () => {
  const slow = await driving(0.6);
  try {
    await driveCamera(slow.fake, slow.clock, 5.05);
    const d = lastDiag(slow.fake);
    assert.equal(d.level, DIAG_LEVEL.WARN);
    assert.match(d.message, /inference p50 0\.60 s is slower than frame_interval_s 0\.4 s: the window holds frames further apart than in training/);
  } finally {
    await slow.stop();
  }
  const stale = await driving(0.05);
  try {
    await driveCamera(stale.fake, stale.clock, 3.0);
    await stale.clock.advanceBy(2.05);
    const d = lastDiag(stale.fake);
    assert.equal(d.level, DIAG_LEVEL.WARN);
    assert.match(d.message, /^camera stale: stopped: newest frame 2\.\d+ s old \(watchdog_timeout_s 1\)/);
    assert.equal(d.v.stops_stale_camera, "1");
  } finally {
    await stale.stop();
  }
});

function status(over: Partial<PolicyStatus>, pipeline: Partial<PipelineDiagnostics> = {}): PolicyStatus {
  const d = {
    t: 10,
    running: true,
    instruction: "go",
    estop: false,
    camera_rate_hz: 30,
    frame_age_s: 0.01,
    frames_received: 1,
    frames_sampled: 1,
    frames_dropped: 0,
    inference_runs: 1,
    inference_busy: false,
    inference_errors: 0,
    invalid_outputs: 0,
    chunks_discarded: 0,
    chunks_expired: 0,
    inference_latency_p50_s: 0.1,
    inference_latency_p99_s: 0.1,
    backbone_runs: 1,
    queue_chunks: 1,
    frame_interval_s: 0.4,
    last_command: null,
    safety_state: "ok",
    ...pipeline,
  } as PipelineDiagnostics;
  return {
    lifecycle: "active",
    startError: null,
    pipeline: d,
    watchdogTimeoutS: 1,
    camera: { source: "topic", service: null },
    model: { name: "m", precision: "int8" },
    stops: { no_action: 0, no_instruction: 0, estop: 0, stale_camera: 0, invalid_output: 0, policy_error: 0, shutdown: 0 },
    chunkAgeS: 0.1,
    backbonePassesPerFrame: 1,
    callbackErrors: 0,
    ...over,
  };
}

test("levels: ERROR for a broken model or a failed configure, several findings joined, OK when not active, STALE when finalized", () => {
  const top = (s: PolicyStatus) => policyDiagnostics(s, "vla_policy", 5).status[0]!;
  assert.deepEqual([top(status({})).level, top(status({})).message], [DIAG_LEVEL.OK, "driving"]);
  const broken = top(status({}, { safety_state: "invalid_output", estop: true }));
  assert.deepEqual([broken.level, broken.message], [DIAG_LEVEL.ERROR, "model output invalid: stopped; e-stop engaged"]);
  assert.deepEqual(
    [top(status({ lifecycle: "inactive", pipeline: null })).level, top(status({ lifecycle: "inactive" })).message],
    [DIAG_LEVEL.OK, "inactive: not driving"],
  );
  const failed = top(status({ lifecycle: "unconfigured", pipeline: null, startError: "invalid parameters (1): model" }));
  assert.deepEqual([failed.level, failed.message], [DIAG_LEVEL.ERROR, "unconfigured: invalid parameters (1): model"]);
  assert.deepEqual(
    [top(status({ lifecycle: "finalized", pipeline: null })).level, top(status({ lifecycle: "finalized" })).message],
    [DIAG_LEVEL.STALE, "finalized"],
  );
  const svc = top(
    status({
      camera: {
        source: "service",
        service: {
          state: "unavailable",
          detail: "image service get_image_service is not available",
          requests: 3,
          responses: 3,
          timeouts: 0,
          skipped: 0,
          unavailable: 2,
          bad_responses: 0,
          last_round_trip_s: 0.01,
        },
      },
    }),
  );
  assert.deepEqual(
    [svc.level, svc.message],
    [DIAG_LEVEL.WARN, "camera stale: image service get_image_service is not available"],
    "a vanished service warns before the watchdog fires",
  );
  const kv = Object.fromEntries(top(status({})).values.map((x) => [x.key, x.value]));
  assert.deepEqual([kv.model_name, kv.model_precision, kv.lifecycle_state], ["m", "int8", "active"]);
});

// image_source: service: vla_policy pulls frames from a camera service (the
// Mobile-VLA robots' camera_interfaces/srv/GetImage on get_image_service), served
// here by a second node on the same in-memory ROS graph, on a virtual clock.
import { test } from "node:test";
import assert from "node:assert/strict";
import { VirtualClock } from "../src/control/clock.js";
import type { DiagnosticArrayMsg } from "../src/ros/diagnostics.js";
import { imageFromResponse } from "../src/ros/image-service-source.js";
import { PolicyNode, POLICY_TOPICS } from "../src/ros/policy-node.js";
import type { RosService, RosServiceResponse } from "../src/ros/rclnodejs-api.js";
import { FakeRcl, override, type FakeNode } from "./ros-fake-rclnodejs.js";
import { imageMsg, isZero, twistsOn, tinyModelForFile } from "./fixtures/ros-policy.js";

const modelDir = tinyModelForFile("ros-image-service-", { seed: 11 });

const GET_IMAGE = "camera_interfaces/srv/GetImage";

/** How the camera node answers: at once, after a delay, or never. */
type Mode = { kind: "answer" } | { kind: "delay"; s: number } | { kind: "hang" };

interface Camera {
  node: FakeNode;
  /** Virtual times at which requests arrived. */
  requests: number[];
  mode: Mode;
  stop(): void;
  serve(): void;
}

function camera(rcl: FakeRcl, clock: VirtualClock): Camera {
  const node = rcl.createNode("camera");
  let handle: RosService | null = null;
  const cam: Camera = {
    node,
    requests: [],
    mode: { kind: "answer" },
    serve() {
      handle = node.createService(GET_IMAGE, "get_image_service", {}, (_req: unknown, res: RosServiceResponse) => {
        const t = clock.now();
        cam.requests.push(t);
        const frame = { image: imageMsg(cam.requests.length, t) };
        const m = cam.mode;
        if (m.kind === "answer") res.send(frame);
        else if (m.kind === "delay") clock.at(t + m.s, () => res.send(frame));
      });
    },
    stop() {
      if (handle) node.destroyService(handle);
      handle = null;
    },
  };
  cam.serve();
  return cam;
}

async function policy(rcl: FakeRcl, clock: VirtualClock): Promise<{ node: PolicyNode; fake: FakeNode }> {
  const node = await PolicyNode.create({ rcl, scheduler: clock, flushMs: 0 });
  return { node, fake: rcl.nodes.find((n) => n.name() === "vla_policy")! };
}

function setup(): { clock: VirtualClock; rcl: FakeRcl } {
  const clock = new VirtualClock({ start: 1000, latency: 0.05 });
  const rcl = new FakeRcl(clock, [override("model", modelDir()), override("image_source", "service"), override("instruction", "go left")]);
  return { clock, rcl };
}

const lastDiag = (fake: FakeNode) => {
  const d = (fake.published(POLICY_TOPICS.diagnostics) as DiagnosticArrayMsg[]).at(-1)!.status[0]!;
  return { level: d.level, message: d.message, v: Object.fromEntries(d.values.map((kv) => [kv.key, kv.value])) };
};

test("frames come from the camera service, once per frame interval, each sampled the moment it arrives", async () => {
  const { clock, rcl } = setup();
  const cam = camera(rcl, clock);
  const { node, fake } = await policy(rcl, clock);
  try {
    assert.equal(fake.subscriptions.has(POLICY_TOPICS.image), false, "no camera topic subscription");
    assert.equal(fake.clients[0]?.type, GET_IMAGE);
    cam.mode = { kind: "delay", s: 0.03 };
    await clock.advanceBy(3.95);
    // One at activation, then one every 0.4 s.
    assert.deepEqual(
      cam.requests.map((t) => Math.round((t - 1000) * 100) / 100),
      [0, 0.4, 0.8, 1.2, 1.6, 2.0, 2.4, 2.8, 3.2, 3.6],
    );
    const d = node.pipeline!.diagnostics();
    assert.equal(d.frames_received, 10, "every answer reaches the pipeline");
    assert.equal(d.frames_sampled, 10, "every answer is sampled");
    // Each chunk's frame went to the policy as it arrived: its stamp is the answer's arrival, 0.03 s after the request.
    const chunks = (fake.published(POLICY_TOPICS.chunk) as { data: string }[]).map((c) => JSON.parse(c.data) as { stamp: number });
    assert.ok(chunks.length >= 9, `chunks: ${chunks.length}`);
    for (const c of chunks) {
      const k = Math.round((c.stamp - 1000.03) / 0.4);
      assert.ok(Math.abs(c.stamp - 1000.03 - k * 0.4) < 1e-6, `chunk from the answer that arrived at ${c.stamp}`);
    }
    assert.ok(
      twistsOn(fake).some((t) => !isZero(t)),
      "the robot drives on pulled frames",
    );
    await clock.advanceBy(1);
    const diag = lastDiag(fake);
    assert.deepEqual([diag.level, diag.v.camera_source, diag.v.image_service_state], [0, "service", "ok"]);
  } finally {
    const done = node.shutdown();
    await clock.advanceBy(1);
    await done;
  }
});

test("a camera that never answers: one request in flight at most, given up after watchdog_timeout_s; the robot stays stopped and the diagnostics say why", async () => {
  const { clock, rcl } = setup();
  const cam = camera(rcl, clock);
  cam.mode = { kind: "hang" };
  const { node, fake } = await policy(rcl, clock);
  try {
    await clock.advanceBy(4.0);
    assert.ok(cam.requests.length >= 3, `requests: ${cam.requests.length}`);
    for (let i = 1; i < cam.requests.length; i++) {
      assert.ok(
        cam.requests[i]! - cam.requests[i - 1]! >= 1.0 - 1e-9,
        `never two in flight: the next request only after the 1 s timeout (${cam.requests.join(", ")})`,
      );
    }
    assert.ok(twistsOn(fake).length > 50 && twistsOn(fake).every(isZero), "no frame: every command is zero");
    const d = lastDiag(fake);
    assert.equal(d.level, 1, "WARN");
    assert.match(d.message, /camera stale: stopped: image service get_image_service did not answer within 1 s/);
    assert.equal(d.v.image_service_state, "timed_out");
    assert.ok(Number(d.v.image_service_timeouts) >= 2);
  } finally {
    const done = node.shutdown();
    await clock.advanceBy(1);
    await done;
  }
});

test("a camera service that goes away: no more requests, the watchdog stops the robot, the diagnostics name the service; it comes back, the robot moves again", async () => {
  const { clock, rcl } = setup();
  const cam = camera(rcl, clock);
  const { node, fake } = await policy(rcl, clock);
  try {
    await clock.advanceBy(3.0);
    assert.ok(!isZero(twistsOn(fake).at(-1)!), "moving on pulled frames");
    cam.stop();
    const asked = cam.requests.length;
    await clock.advanceBy(2.0);
    assert.equal(cam.requests.length, asked, "nothing is sent to a service that is not there");
    const tail = twistsOn(fake).slice(-10);
    assert.ok(tail.every(isZero), "stopped by the watchdog");
    assert.equal(node.pipeline!.diagnostics().safety_state, "stale_camera");
    const d = lastDiag(fake);
    assert.equal(d.level, 1);
    assert.match(d.message, /camera stale: stopped: image service get_image_service is not available/);
    cam.serve();
    await clock.advanceBy(3.0);
    assert.ok(cam.requests.length > asked, "asks again once the service is back");
    assert.ok(!isZero(twistsOn(fake).at(-1)!), "and drives again");
  } finally {
    const done = node.shutdown();
    await clock.advanceBy(1);
    await done;
  }
});

test("an answer that arrives after its request was given up is ignored", async () => {
  const { clock, rcl } = setup();
  const cam = camera(rcl, clock);
  cam.mode = { kind: "delay", s: 1.5 };
  const { node, fake } = await policy(rcl, clock);
  try {
    await clock.advanceBy(4.0);
    assert.ok(cam.requests.length >= 2);
    assert.equal(node.pipeline!.diagnostics().frames_received, 0, "no late frame reaches the pipeline");
    assert.ok(twistsOn(fake).every(isZero));
  } finally {
    const done = node.shutdown();
    await clock.advanceBy(2);
    await done;
  }
});

test("imageFromResponse: a raw Image or a CompressedImage in `image`; anything else is refused", () => {
  assert.equal(imageFromResponse({ image: imageMsg(1, 5) }).image.kind, "raw");
  const { image: jpeg, captureStamp } = imageFromResponse({
    image: { header: { stamp: { sec: 1, nanosec: 0 }, frame_id: "c" }, format: "jpeg", data: new Uint8Array([0xff, 0xd8, 0xff]) },
  });
  assert.equal(captureStamp, 1);
  assert.deepEqual([jpeg.kind, jpeg.kind === "compressed" ? jpeg.format : ""], ["compressed", "jpeg"]);
  assert.throws(() => imageFromResponse({ frame: {} }), /the response has no image field/);
  assert.throws(() => imageFromResponse({ image: { ...imageMsg(1, 5), data: new Uint8Array(3) } }), /3 bytes/);
});

test("frame_interval_s set while pulling: the requests follow the new interval and every answer is sampled", async () => {
  const { clock, rcl } = setup();
  const cam = camera(rcl, clock);
  const { node, fake } = await policy(rcl, clock);
  try {
    await clock.advanceBy(1.0);
    assert.deepEqual(fake.setParameters([override("frame_interval_s", 0.2)]), [{ successful: true, reason: "" }]);
    const from = cam.requests.length;
    await clock.advanceBy(2.0);
    // The requests restarted at 1001.0, one every 0.2 s.
    assert.deepEqual(
      cam.requests.slice(from).map((t) => Math.round((t - 1001) * 100) / 100),
      [0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0],
    );
    const chunks = (fake.published(POLICY_TOPICS.chunk) as { data: string }[]).map((c) => JSON.parse(c.data) as { stamp: number });
    const late = chunks.filter((c) => c.stamp > 1001.1);
    assert.ok(late.length >= 9, `chunks from pulled frames at the new interval: ${late.length}`);
    for (const c of late)
      assert.ok(Math.abs(c.stamp - 1001 - Math.round((c.stamp - 1001) / 0.2) * 0.2) < 1e-6, `each answer sampled as it arrived: ${c.stamp}`);
  } finally {
    const done = node.shutdown();
    await clock.advanceBy(1);
    await done;
  }
});

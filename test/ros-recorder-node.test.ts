// The episode_recorder node on a fake rclnodejs: episode commands, camera frames
// and cmd_vel in, a Mobile-VLA HDF5 episode out, read back with the episode reader.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { openEpisode } from "../src/episodes/episode-reader.js";
import { RecorderNode, RecorderNodeStartError, RECORDER_TOPICS } from "../src/ros/recorder-node.js";
import { QOS_SENSOR_DATA } from "../src/ros/rclnodejs-api.js";
import { VirtualClock } from "../src/control/clock.js";
import { RECORDER_TABLE } from "../src/params/recorder-table.js";
import { rosParamsFromYaml } from "../src/params/ros-file.js";
import { repoPath } from "./fixtures/repo-path.js";
import { FakeRcl, override, type FakeNode, type FakeParameter } from "./ros-fake-rclnodejs.js";

let root: string;

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "ros-recorder-"));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

// 2025-12-03 12:25:10 UTC, a plausible collection time.
const T0 = Date.UTC(2025, 11, 3, 12, 25, 10) / 1000;

interface Harness {
  t: { now: number };
  fake: FakeNode;
  node: RecorderNode;
}

/** An active recorder (autostart); episode events on a clock the test moves by hand. */
async function start(dir: string, extra: FakeParameter[] = []): Promise<Harness> {
  const t = { now: T0 };
  const clock = { now: () => t.now };
  const rcl = new FakeRcl(clock, [override("output_dir", dir), ...extra]);
  // Timers (the bond's heartbeats) on a virtual clock nobody advances: nothing real keeps the test alive.
  const node = await RecorderNode.create({ rcl, now: clock.now, scheduler: new VirtualClock({ start: T0 }) });
  assert.equal(node.managed.stateLabel, "active", "autostart leaves the recorder active");
  return { t, fake: rcl.nodes[0]!, node };
}

const W = 8;
const H = 6;

/** A bgr8 frame whose first pixel's blue byte is `tag`, so frames can be told apart on disk. */
function image(tag: number): Record<string, unknown> {
  const data = new Uint8Array(W * H * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + tag) & 255;
  data[0] = tag;
  return { header: { stamp: { sec: 5, nanosec: 0 }, frame_id: "cam" }, height: H, width: W, encoding: "bgr8", is_bigendian: 0, step: W * 3, data };
}

const twist = (x: number, y: number) => ({ linear: { x, y, z: 0 }, angular: { x: 0, y: 0, z: 0 } });

function at(h: Harness, dt: number, topic: string, msg: unknown): void {
  h.t.now += dt;
  h.fake.deliver(topic, msg);
}

test("start, key presses with frames, stop -> one episode with the collector's layout", async () => {
  const dir = path.join(root, "a");
  const h = await start(dir);
  assert.equal(h.fake.subscriptions.get(RECORDER_TOPICS.image)?.options.qos, QOS_SENSOR_DATA);
  at(h, 0, RECORDER_TOPICS.instruction, { data: "Navigate to the gray basket on the left" });
  at(h, 0, RECORDER_TOPICS.episode, { data: "start 1box_hori_left_core_medium" });
  assert.ok(h.node.recording, "recording after start");
  at(h, 0.03, RECORDER_TOPICS.image, image(10)); // episode_start
  at(h, 0.5, RECORDER_TOPICS.cmdVel, twist(1.15, 0)); // w
  at(h, 0.03, RECORDER_TOPICS.image, image(11)); // start_action
  at(h, 0.03, RECORDER_TOPICS.image, image(12)); // not captured
  at(h, 0.6, RECORDER_TOPICS.cmdVel, twist(0, 1.15)); // a
  at(h, 0.03, RECORDER_TOPICS.image, image(13)); // start_action
  at(h, 0.1, RECORDER_TOPICS.cmdVel, twist(0, 0)); // space while moving -> stop_action 0.35 s later
  at(h, 0.1, RECORDER_TOPICS.image, image(14)); // too early
  at(h, 0.3, RECORDER_TOPICS.image, image(15)); // stop_action
  at(h, 0.5, RECORDER_TOPICS.episode, { data: "stop" });
  assert.ok(!h.node.recording, "stopped");
  await h.node.settled();

  assert.equal(h.node.saved.length, 1, "one episode saved");
  const file = h.node.saved[0]!;
  assert.equal(path.basename(file), "episode_20251203_122510_1box_hori_left_core_medium.h5");
  assert.ok(existsSync(file), `${file} exists`);
  assert.ok(
    h.fake.logs.some((l) => l.level === "info" && l.message.includes(file)),
    "the saved path is logged",
  );
  const ep = openEpisode(file);
  try {
    assert.equal(ep.numFrames, 4);
    assert.deepEqual(ep.eventTypes, ["episode_start", "start_action", "start_action", "stop_action"]);
    const actions = Array.from(ep.actions, (v) => Math.round(v * 100) / 100);
    assert.deepEqual(actions, [0, 0, 0, 1.15, 0, 0, 0, 1.15, 0, 0, 0, 0]);
    assert.equal(ep.width, W);
    assert.equal(ep.height, H);
    assert.equal(ep.channelOrder, "bgr");
    assert.deepEqual(
      [0, 1, 2, 3].map((i) => ep.frame(i).data[0]),
      [10, 11, 13, 15],
    );
    assert.equal(ep.attrs.num_frames, 4);
  } finally {
    ep.close();
  }
  await h.node.shutdown();
  assert.equal(h.node.saved.length, 1, "shutdown when idle saves nothing more");
});

test("shutdown while recording saves the episode with every frame already recorded", async () => {
  const dir = path.join(root, "b");
  const h = await start(dir, [override("capture", "interval"), override("capture_interval_s", 0.5)]);
  at(h, 0, RECORDER_TOPICS.episode, { data: "start" });
  for (let i = 0; i < 6; i++) at(h, 0.25, RECORDER_TOPICS.image, image(20 + i));
  assert.ok(h.node.recording, "still recording");
  await h.node.shutdown();
  assert.equal(h.node.saved.length, 1, "saved at shutdown");
  const ep = openEpisode(h.node.saved[0]!);
  try {
    assert.equal(ep.numFrames, 3, "frames at 0.25, 0.75, 1.25 s");
    assert.deepEqual(
      [0, 1, 2].map((i) => ep.frame(i).data[0]),
      [20, 22, 24],
    );
  } finally {
    ep.close();
  }
  // After shutdown nothing can start a new episode: the node no longer listens.
  assert.deepEqual([...h.fake.subscriptions.keys()], [], "every subscription is gone");
  assert.equal(h.node.managed.stateLabel, "finalized");
  assert.ok(!h.node.recording, "not recording");
});

test("discard and unknown commands leave no file; bad messages are logged, not thrown", async () => {
  const dir = path.join(root, "c");
  const h = await start(dir);
  at(h, 0, RECORDER_TOPICS.episode, { data: "start" });
  at(h, 0.1, RECORDER_TOPICS.image, image(1));
  at(h, 0.1, RECORDER_TOPICS.cmdVel, twist(1.15, 0));
  at(h, 0.1, RECORDER_TOPICS.image, image(2));
  assert.doesNotThrow(() => at(h, 0.1, RECORDER_TOPICS.image, { ...image(3), data: new Uint8Array(4) }));
  assert.doesNotThrow(() => at(h, 0.1, RECORDER_TOPICS.episode, { data: "pause" }));
  assert.ok(
    h.fake.logs.some((l) => l.level === "error" && l.message.includes("image callback failed")),
    "bad image logged",
  );
  assert.ok(
    h.fake.logs.some((l) => l.level === "warn" && l.message.includes("pause")),
    "unknown command logged",
  );
  at(h, 0.1, RECORDER_TOPICS.episode, { data: "discard" });
  await h.node.shutdown();
  assert.equal(h.node.saved.length, 0, "nothing saved");
  const files = existsSync(dir) ? readdirSync(dir) : [];
  assert.deepEqual(files, [], "no file or partial left behind");
});

test("bad parameters -> refused, naming each parameter", async () => {
  const clock = new VirtualClock({ start: T0 });
  const rcl = new FakeRcl(clock, [override("output_dir", ""), override("capture", "sometimes"), override("gzip", 12), override("hold", 0.4)]);
  await assert.rejects(RecorderNode.create({ rcl, scheduler: clock }), (e: unknown) => {
    assert.ok(e instanceof RecorderNodeStartError, `a start error, got ${String(e)}`);
    for (const name of ["output_dir", "capture", "gzip", "hold: unknown parameter"]) assert.match(e.message, new RegExp(name));
    return true;
  });
});

test("lifecycle: autostart false waits unconfigured; deactivate saves the open episode and unsubscribes; cleanup lets a new output_dir apply", async () => {
  const dirA = path.join(root, "lc-a");
  const dirB = path.join(root, "lc-b");
  const t = { now: T0 };
  const rcl = new FakeRcl({ now: () => t.now }, [
    override("output_dir", dirA),
    override("autostart", false),
    override("capture", "interval"),
    override("capture_interval_s", 0.5),
  ]);
  const node = await RecorderNode.create({ rcl, now: () => t.now, scheduler: new VirtualClock({ start: T0 }) });
  const fake = rcl.nodes[0]!;
  const h: Harness = { t, fake, node };
  const set = async (label: string) => ((await fake.call("~/change_state", { transition: { id: 0, label } })) as { success: boolean }).success;
  assert.equal(node.managed.stateLabel, "unconfigured");
  assert.deepEqual([...fake.subscriptions.keys()], [], "nothing subscribed before activation");
  assert.equal(await set("configure"), true);
  assert.deepEqual([...fake.subscriptions.keys()], [], "configured, still not listening");
  assert.equal(await set("activate"), true);
  assert.deepEqual(
    [...fake.subscriptions.keys()].sort(),
    [RECORDER_TOPICS.cmdVel, RECORDER_TOPICS.episode, RECORDER_TOPICS.image, RECORDER_TOPICS.instruction].sort(),
  );
  at(h, 0, RECORDER_TOPICS.episode, { data: "start" });
  for (let i = 0; i < 4; i++) at(h, 0.25, RECORDER_TOPICS.image, image(30 + i));
  assert.ok(node.recording);
  assert.equal(await set("deactivate"), true);
  assert.equal(node.saved.length, 1, "deactivate saved the episode being recorded");
  assert.equal(path.dirname(node.saved[0]!), dirA);
  assert.ok(!node.recording);
  assert.deepEqual([...fake.subscriptions.keys()], [], "deactivate unsubscribes");
  assert.equal(await set("cleanup"), true);
  assert.deepEqual(fake.setParameters([override("output_dir", dirB)]), [{ successful: true, reason: "" }]);
  assert.equal(await set("configure"), true);
  assert.equal(node.params!.output_dir, dirB);
  assert.equal(await set("activate"), true);
  at(h, 1, RECORDER_TOPICS.episode, { data: "start" });
  for (let i = 0; i < 4; i++) at(h, 0.25, RECORDER_TOPICS.image, image(40 + i));
  at(h, 0.1, RECORDER_TOPICS.episode, { data: "stop" });
  await node.settled();
  assert.equal(path.dirname(node.saved[1]!), dirB, "the next episode goes to the new folder");
  const [refused] = fake.setParameters([override("output_dir", dirA)]);
  assert.equal(refused!.successful, false, "refused while active");
  await node.shutdown();
  assert.equal(node.managed.stateLabel, "finalized");
});

test("ros2 param set: scenario names the next episode at once; output_dir is refused while active; bad values are refused with the reason", async () => {
  const dir = path.join(root, "live");
  const h = await start(dir, [override("capture", "interval"), override("capture_interval_s", 0.5)]);
  assert.deepEqual(h.fake.setParameters([override("scenario", "1box_hori_left")]), [{ successful: true, reason: "" }]);
  at(h, 0, RECORDER_TOPICS.episode, { data: "start" });
  for (let i = 0; i < 4; i++) at(h, 0.25, RECORDER_TOPICS.image, image(50 + i));
  at(h, 0.1, RECORDER_TOPICS.episode, { data: "stop" });
  await h.node.settled();
  assert.match(path.basename(h.node.saved[0]!), /_1box_hori_left\.h5$/, "the episode started after the set carries the scenario");
  assert.deepEqual(
    h.fake.setParameters([override("scenario", "../escape")]).map((r) => r.successful),
    [false],
    "a scenario the file name rule refuses",
  );
  assert.match(h.fake.setParameters([override("scenario", "../escape")])[0]!.reason, /^scenario: /);
  const refused = h.fake.setParameters([override("output_dir", path.join(root, "elsewhere"))])[0]!;
  assert.equal(
    refused.reason,
    "episode_recorder reads output_dir at configure and is active: deactivate and clean up (ros2 lifecycle set /episode_recorder deactivate, then cleanup), set it, then configure and activate",
  );
  assert.equal(h.fake.getParameter("scenario").value, "1box_hori_left", "the old value stays");
  await h.node.shutdown();
});

test("while unconfigured a bad value is refused with the episode rules' own reason", async () => {
  const t = { now: T0 };
  const rcl = new FakeRcl({ now: () => t.now }, [override("output_dir", path.join(root, "u")), override("autostart", false)]);
  const node = await RecorderNode.create({ rcl, now: () => t.now, scheduler: new VirtualClock({ start: T0 }) });
  const fake = rcl.nodes[0]!;
  assert.deepEqual(fake.setParameters([override("gzip", 12)]), [{ successful: false, reason: "gzip: gzip level 12 is not an integer in 0..9 (0 = off)" }]);
  assert.deepEqual(fake.setParameters([override("capture", "sometimes")]), [
    { successful: false, reason: 'capture: expected "on_action" or "interval", got "sometimes"' },
  ]);
  assert.deepEqual(fake.setParameters([override("capture_interval_s", 0.5)]), [{ successful: true, reason: "" }]);
  await node.shutdown();
});

test("config/episode_recorder.yaml lists exactly the recorder table's names, with the table's defaults (output_dir left to the user)", async () => {
  const raw = rosParamsFromYaml(readFileSync(repoPath("config", "episode_recorder.yaml"), "utf8"), "episode_recorder");
  assert.deepEqual(Object.keys(raw).sort(), [...RECORDER_TABLE.names].sort());
  assert.deepEqual(RECORDER_TABLE.problems(raw), ['output_dir: expected a folder path (output_dir:=/data/episodes), got ""']);
  assert.deepEqual({ ...raw, output_dir: "" }, { ...RECORDER_TABLE.defaults });
});

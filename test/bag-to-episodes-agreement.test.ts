// The converter must agree with the live recorder (issue 16, A.7): the same episode
// commands, the same camera frames, and no episode stretched by one bad timestamp.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { RosbagMcapWriter, type WriterTopic } from "../src/bags/index.js";
import { bagToEpisodes } from "../src/episodes/bag-to-episodes.js";
import { openEpisode } from "../src/episodes/episode-reader.js";
import { EpisodeError, EpisodeWriter, MAX_FRAME_BYTES } from "../src/episodes/episode-writer.js";
import { decodeImage } from "../src/model/decode-image.js";

const W = 32;
const H = 24;
const T0 = 1_700_000_000n * 1_000_000_000n;
const at = (s: number): bigint => T0 + BigInt(Math.round(s * 1e6)) * 1000n;

function tmp(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

const raw = (k: number) => ({
  header: { stamp: { sec: 0, nanosec: 0 }, frame_id: "camera" },
  height: H,
  width: W,
  encoding: "bgr8",
  is_bigendian: 0,
  step: W * 3,
  data: new Uint8Array(W * H * 3).fill(k),
});
const twist = (x: number) => ({ linear: { x, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0 } });

/** Camera at 10 Hz for `seconds`, a forward key at 0.5 s and 1.5 s, plus the extra messages given. */
async function teleopBag(
  dir: string,
  topics: WriterTopic[],
  extra: { t: bigint; topic: string; msg: unknown }[],
  frame: (k: number) => unknown = raw,
): Promise<void> {
  const events: { t: bigint; topic: string; msg: unknown }[] = [...extra];
  const image = topics.find((t) => t.type.includes("Image"))!.name;
  for (let k = 0; k < 30; k++) events.push({ t: at(k / 10), topic: image, msg: frame(k) });
  events.push({ t: at(0.5), topic: "/cmd_vel", msg: twist(1.15) }, { t: at(1.5), topic: "/cmd_vel", msg: twist(-1.15) });
  events.sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : 0));
  const w = await RosbagMcapWriter.create(dir, topics);
  for (const e of events) await w.write(e.topic, e.t, e.msg);
  await w.close();
}

const RAW_TOPICS: WriterTopic[] = [
  { name: "/camera/image_raw", type: "sensor_msgs/msg/Image" },
  { name: "/cmd_vel", type: "geometry_msgs/msg/Twist" },
  { name: "/episode", type: "std_msgs/msg/String" },
];

test("`start <scenario>` on the episode topic starts an episode named with it, as the live recorder does", async () => {
  const root = tmp("b2e-scenario-");
  const bag = path.join(root, "bag");
  await teleopBag(bag, RAW_TOPICS, [
    { t: at(0.05), topic: "/episode", msg: { data: "start 1box_hori_left_core_medium" } },
    { t: at(2.95), topic: "/episode", msg: { data: "stop" } },
  ]);
  const out = path.join(root, "episodes");
  const s = await bagToEpisodes(bag, out, {});
  assert.deepEqual(s.errors, [], "no errors");
  assert.equal(s.episodes.length, 1, `one episode, not 0 (the start carried a scenario): ${JSON.stringify(s)}`);
  assert.match(path.basename(s.episodes[0]!), /^episode_\d{8}_\d{6}_1box_hori_left_core_medium\.h5$/, "the scenario names the file");
});

test("a start whose scenario would not make a file name is an error naming it, not a silent 0 episodes", async () => {
  const root = tmp("b2e-badscenario-");
  const bag = path.join(root, "bag");
  await teleopBag(bag, RAW_TOPICS, [
    { t: at(0.05), topic: "/episode", msg: { data: "start ../../escape" } },
    { t: at(2.95), topic: "/episode", msg: { data: "stop" } },
  ]);
  const s = await bagToEpisodes(bag, path.join(root, "episodes"), {});
  assert.equal(s.episodes.length, 0);
  assert.equal(s.errors.length, 1, `one error (exit 1): ${JSON.stringify(s)}`);
  assert.match(s.errors[0]!, /\/episode at t=\S+ s: episode command "start \.\.\/\.\.\/escape": scenario/, s.errors[0]);
});

test("a PNG labelled jpeg is stored by bag2episodes, as eval decodes it", async () => {
  const root = tmp("b2e-pngjpeg-");
  const bag = path.join(root, "bag");
  const png = new Uint8Array(
    await sharp(new Uint8Array(W * H * 3).fill(90), { raw: { width: W, height: H, channels: 3 } })
      .png()
      .toBuffer(),
  );
  const compressed = () => ({ header: { stamp: { sec: 0, nanosec: 0 }, frame_id: "camera" }, format: "jpeg", data: png });
  const decoded = await decodeImage({ kind: "compressed", format: "jpeg", data: png }, "bgr");
  assert.equal(decoded.width, W, "eval's decoder reads the PNG labelled jpeg");
  await teleopBag(bag, [{ name: "/camera/image_raw/compressed", type: "sensor_msgs/msg/CompressedImage" }, RAW_TOPICS[1]!], [], compressed);
  const s = await bagToEpisodes(bag, path.join(root, "episodes"), {});
  assert.equal(s.undecodable, 0, `no frame skipped: ${s.warnings.join(" | ")}`);
  assert.equal(s.episodes.length, 1);
  assert.ok(s.framesWritten >= 3, `episode_start and the two key frames stored, got ${s.framesWritten}`);
});

test("a message with an outlier timestamp is left out with a warning naming its topic and time; the episode keeps its real span", async () => {
  const root = tmp("b2e-outlier-");
  const bag = path.join(root, "bag");
  // A /cmd_vel at log time 0 (an unsynced clock) beside a 2023 recording, and one 1e8 s in the future.
  await teleopBag(bag, RAW_TOPICS.slice(0, 2), [
    { t: 0n, topic: "/cmd_vel", msg: twist(0) },
    { t: T0 + 100_000_000n * 1_000_000_000n, topic: "/cmd_vel", msg: twist(0) },
  ]);
  const s = await bagToEpisodes(bag, path.join(root, "episodes"), {});
  assert.equal(s.episodes.length, 1, JSON.stringify(s));
  const warnings = s.warnings.join("\n");
  assert.match(warnings, /\/cmd_vel at 0\.000 s \(1970-01-01T00:00:00\.000Z\)/, warnings);
  assert.match(warnings, /\/cmd_vel at 1800000000\.000 s \(2027-/, warnings);
  const ep = openEpisode(s.episodes[0]!);
  try {
    const duration = ep.attrs.total_duration;
    assert.ok(typeof duration === "number" && duration > 2 && duration < 4, `total_duration is the recording's ~2.9 s, got ${String(duration)}`);
    assert.match(path.basename(s.episodes[0]!), /^episode_2023/, "named by the recording's start, not 1970");
  } finally {
    ep.close();
  }
});

test("a frame too large for an HDF5 chunk is refused naming its size and the bound, and the episode so far stays writable", async () => {
  const dir = tmp("b2e-huge-");
  const w = EpisodeWriter.open(dir, { startTime: new Date(2025, 0, 1) });
  w.append({ width: W, height: H, data: new Uint8Array(W * H * 3) }, [0, 0, 0], "episode_start");
  // The size is refused before the pixels are looked at: no 768 MB buffer needed.
  assert.throws(
    () => w.append({ width: 16000, height: 16000, data: new Uint8Array(3) }, [0, 0, 0], "start_action"),
    (e: unknown) =>
      e instanceof EpisodeError && e.code === "frame" && e.message.includes("16000x16000x3 = 768000000 bytes") && e.message.includes(String(MAX_FRAME_BYTES)),
  );
  w.append({ width: W, height: H, data: new Uint8Array(W * H * 3) }, [1.15, 0, 0], "start_action");
  const file = await w.close();
  const ep = openEpisode(file);
  try {
    assert.equal(ep.numFrames, 2);
  } finally {
    ep.close();
  }
});

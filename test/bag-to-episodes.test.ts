import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { RosbagMcapWriter, BagError, type WriterTopic } from "../src/bags/index.js";
import { bagToEpisodes } from "../src/episodes/bag-to-episodes.js";
import { openEpisode } from "../src/episodes/episode-reader.js";
import { episodeStem } from "../src/episodes/episode-name.js";

const W = 64;
const H = 48;
const T0 = 1_700_000_000;
const S = Math.fround(1.15);
const LEFT = "Navigate to the gray basket on the left";
const RIGHT = "Navigate to the blue box on the right";

/** Camera frame k: channel 0 (B in bgr8) = k, then x- and y-dependent bytes, so both the frame and the byte order can be told. */
function framePixels(k: number): Uint8Array {
  const d = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 3;
      d[i] = k;
      d[i + 1] = (x * 4) & 255;
      d[i + 2] = (100 + y * 3) & 255;
    }
  }
  return d;
}

type Ev =
  | { t: number; kind: "frame"; k: number }
  | { t: number; kind: "cmd"; v: [number, number, number] }
  | { t: number; kind: "text"; topic: string; data: string }
  | { t: number; kind: "garbage"; topic: string };

const ns = (t: number): bigint => BigInt(T0) * 1_000_000_000n + BigInt(Math.round(t * 1000)) * 1_000_000n;

interface BagShape {
  image?: { topic: string; compressed: boolean; corrupt?: number[] };
  stampedCmdVel?: boolean;
}

/** The bgr8 frame as a PNG (lossless, so the stored bytes can still be compared exactly). */
async function png(k: number): Promise<Uint8Array> {
  const bgr = framePixels(k);
  const rgb = new Uint8Array(bgr.length);
  for (let i = 0; i < bgr.length; i += 3) [rgb[i], rgb[i + 1], rgb[i + 2]] = [bgr[i + 2]!, bgr[i + 1]!, bgr[i]!];
  return new Uint8Array(
    await sharp(rgb, { raw: { width: W, height: H, channels: 3 } })
      .png()
      .toBuffer(),
  );
}

async function writeBag(dir: string, topics: WriterTopic[], events: Ev[], shape: BagShape = {}): Promise<void> {
  const w = await RosbagMcapWriter.create(dir, topics);
  const sorted = [...events].sort((a, b) => a.t - b.t);
  const imageTopic = shape.image?.topic ?? "/camera/image_raw";
  for (const e of sorted) {
    const t = ns(e.t);
    const stamp = { sec: Number(t / 1_000_000_000n), nanosec: Number(t % 1_000_000_000n) };
    if (e.kind === "frame" && shape.image?.compressed) {
      const data = shape.image.corrupt?.includes(e.k) ? Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]) : await png(e.k);
      await w.write(imageTopic, t, { header: { stamp, frame_id: "camera" }, format: "png", data });
    } else if (e.kind === "frame") {
      await w.write(imageTopic, t, {
        header: { stamp, frame_id: "camera" },
        height: H,
        width: W,
        encoding: "bgr8",
        is_bigendian: 0,
        step: W * 3,
        data: framePixels(e.k),
      });
    } else if (e.kind === "cmd") {
      const twist = { linear: { x: e.v[0], y: e.v[1], z: 0 }, angular: { x: 0, y: 0, z: e.v[2] } };
      await w.write("/cmd_vel", t, shape.stampedCmdVel ? { header: { stamp, frame_id: "base_link" }, twist } : twist);
    } else if (e.kind === "text") {
      await w.write(e.topic, t, { data: e.data });
    } else {
      // CDR header, then too few bytes for any Twist.
      await w.writeSerialized(e.topic, t, Uint8Array.from([0, 1, 0, 0, 7]));
    }
  }
  await w.close();
}

/** Camera at 10 Hz: frame k at k * 0.1 s. */
const camera = (n: number): Ev[] => Array.from({ length: n }, (_, k) => ({ t: k / 10, kind: "frame" as const, k }));
const cmd = (t: number, x: number, y: number, z = 0): Ev => ({ t, kind: "cmd", v: [x, y, z] });
const text = (t: number, topic: string, data: string): Ev => ({ t, kind: "text", topic, data });

const TOPICS: WriterTopic[] = [
  { name: "/camera/image_raw", type: "sensor_msgs/msg/Image", reliability: "best_effort" },
  { name: "/cmd_vel", type: "geometry_msgs/msg/Twist" },
  { name: "/instruction", type: "std_msgs/msg/String" },
  { name: "/episode", type: "std_msgs/msg/String" },
];

function tmp(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

function h5Files(dir: string): string[] {
  return fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((n) => n.endsWith(".h5") || n.endsWith(".partial"))
        .sort()
    : [];
}

/** Reads an episode back: event types, actions (rows), the camera frame index of each stored frame, and its attributes. */
function readBack(file: string) {
  const ep = openEpisode(file);
  try {
    const actions: number[][] = [];
    for (let i = 0; i < ep.numFrames; i++) actions.push(Array.from(ep.actions.subarray(i * 3, i * 3 + 3)));
    const frames = Array.from({ length: ep.numFrames }, (_, i) => ep.frame(i));
    return { ep, actions, frames, events: ep.eventTypes ?? [], ks: frames.map((f) => f.data[0]) };
  } finally {
    ep.close();
  }
}

test("teleop bag with start/stop/discard -> exactly the two kept episodes, frames per the on_action rules, read back intact", async () => {
  const bag = path.join(tmp("b2e-bag-"), "session");
  const events: Ev[] = [
    ...camera(80),
    text(0.05, "/instruction", LEFT),
    // Episode 1: rest, two key presses, space while the second is still in force, then the teleop's own auto-stop.
    text(0.25, "/episode", "start"),
    cmd(0.52, S, 0),
    cmd(1.02, S, S),
    cmd(1.22, 0, 0),
    cmd(1.92, 0, 0),
    text(2.25, "/episode", "stop"),
    // Between episodes: nothing is recorded, and the command has expired before the next start.
    text(2.5, "/instruction", RIGHT),
    cmd(2.62, -S, 0),
    // Episode 2: thrown away by the operator.
    text(3.25, "/episode", "start"),
    cmd(3.52, 0, -S),
    text(4.05, "/episode", "discard"),
    // Episode 3: a key press, another after the first auto-stopped, then space.
    text(5.25, "/episode", "start"),
    cmd(5.52, 0, S),
    cmd(6.02, -S, -S),
    { t: 6.1, kind: "garbage", topic: "/cmd_vel" },
    cmd(6.32, 0, 0),
    text(6.5, "/instruction", "a later instruction the running episode must not take"),
    text(7.25, "/episode", "stop"),
  ];
  await writeBag(bag, TOPICS, events);

  const out = tmp("b2e-out-");
  const saved: string[] = [];
  const s = await bagToEpisodes(bag, out, { scenario: "1box_hori_left_core_medium", onEpisode: (p) => saved.push(p) });

  assert.deepEqual(s.errors, []);
  const names = [episodeStem(new Date(T0 * 1000), "1box_hori_left_core_medium"), episodeStem(new Date((T0 + 5) * 1000), "1box_hori_left_core_medium")];
  assert.deepEqual(
    h5Files(out),
    names.map((n) => n + ".h5"),
    "only the two kept episodes, no partial left behind",
  );
  assert.deepEqual(
    s.episodes,
    names.map((n) => path.join(out, n + ".h5")),
  );
  assert.deepEqual(saved, s.episodes);
  assert.equal(s.framesWritten, 8);
  assert.equal(s.dropped, 0);
  assert.equal(s.discarded, 1);
  assert.equal(s.undecodable, 1);
  assert.ok(
    s.warnings.some((w) => w.includes("/cmd_vel")),
    `the undecodable command is named in a warning: ${s.warnings.join("; ")}`,
  );

  const e1 = readBack(s.episodes[0]!);
  assert.deepEqual(e1.events, ["episode_start", "start_action", "start_action", "stop_action"]);
  // Frame 0 is the first camera frame at or after start (0.3 s); each key press takes the next frame;
  // space takes the frame 0.35 s later (1.6 s); the auto-stop at 1.92 s takes none.
  assert.deepEqual(e1.ks, [3, 6, 11, 16]);
  assert.deepEqual(e1.actions, [
    [0, 0, 0],
    [S, 0, 0],
    [S, S, 0],
    [0, 0, 0],
  ]);
  assert.equal(e1.ep.instruction, LEFT);
  assert.equal(e1.ep.channelOrder, "bgr");
  assert.equal(e1.ep.attrs.num_frames, 4);
  assert.equal(e1.ep.attrs.episode_name, names[0]);
  assert.ok(Math.abs((e1.ep.attrs.total_duration as number) - 2.0) < 1e-3, `total_duration is stop - start = 2.0 s, got ${String(e1.ep.attrs.total_duration)}`);
  for (const [i, f] of e1.frames.entries()) {
    assert.equal(f.width, W);
    assert.equal(f.height, H);
    assert.deepEqual(f.data, framePixels(e1.ks[i]!), `frame ${i}: the bgr8 bytes exactly as in the bag`);
  }

  const e3 = readBack(s.episodes[1]!);
  assert.deepEqual(e3.events, ["episode_start", "start_action", "start_action", "stop_action"]);
  assert.deepEqual(e3.ks, [53, 56, 61, 67]);
  assert.deepEqual(e3.actions, [
    [0, 0, 0],
    [0, S, 0],
    [-S, -S, 0],
    [0, 0, 0],
  ]);
  assert.equal(e3.ep.instruction, RIGHT, "the latest instruction at the start, not one published during the episode");
  assert.deepEqual(e3.frames[3]!.data, framePixels(67));

  // A second conversion into the same folder must fail loudly and leave the episodes untouched.
  const before = s.episodes.map((p) => fs.readFileSync(p));
  const again = await bagToEpisodes(bag, out, { scenario: "1box_hori_left_core_medium" });
  assert.deepEqual(again.episodes, []);
  assert.equal(again.errors.length, 2, `one error per episode already there: ${again.errors.join("; ")}`);
  for (const [i, e] of again.errors.entries()) {
    assert.ok(e.includes(names[i]!) && e.includes("already exists") && e.includes("already converted"), `error names the file and the likely cause: ${e}`);
  }
  assert.deepEqual(
    h5Files(out),
    names.map((n) => n + ".h5"),
    "no partial files from the refused run",
  );
  s.episodes.forEach((p, i) => assert.deepEqual(fs.readFileSync(p), before[i], `${p} unchanged`));
});

test("a bag without an episode topic is one episode from its first message to its last (interval capture, rgb, fallback instruction)", async () => {
  const bag = path.join(tmp("b2e-whole-"), "whole");
  await writeBag(
    bag,
    TOPICS.filter((t) => t.name === "/camera/image_raw" || t.name === "/cmd_vel"),
    [...camera(20), cmd(0.42, S, 0)],
  );
  const out = path.join(tmp("b2e-whole-out-"), "nested", "episodes");
  const s = await bagToEpisodes(bag, out, { capture: "interval", captureIntervalS: 0.5, channelOrder: "rgb", instruction: "go left", gzip: 4 });

  assert.deepEqual(s.errors, []);
  assert.equal(s.episodes.length, 1);
  assert.equal(path.basename(s.episodes[0]!), episodeStem(new Date(T0 * 1000)) + ".h5");
  const e = readBack(s.episodes[0]!);
  assert.deepEqual(e.events, ["episode_start", "start_action", "stop_action", "stop_action"]);
  assert.deepEqual(e.actions, [
    [0, 0, 0],
    [S, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
  ]);
  assert.equal(e.ep.channelOrder, "rgb");
  assert.equal(e.ep.instruction, "go left");
  assert.ok(Math.abs((e.ep.attrs.total_duration as number) - 1.9) < 1e-3, `the episode spans the whole bag, 1.9 s; got ${String(e.ep.attrs.total_duration)}`);
  // Stored RGB: the bag's B channel (the frame index) is now the third byte of each pixel.
  const ks = e.frames.map((f) => f.data[2]);
  assert.deepEqual(ks, [0, 5, 10, 15]);
  const bgr = framePixels(5);
  const rgb = e.frames[1]!.data;
  for (let i = 0; i < bgr.length; i += 3) {
    if (rgb[i] !== bgr[i + 2] || rgb[i + 1] !== bgr[i + 1] || rgb[i + 2] !== bgr[i]) assert.fail(`pixel ${i / 3}: not the channel swap of the bag's bgr8`);
  }

  // Whole-bag sessions have no operator start to publish the instruction before:
  // the bag's first instruction is the episode's, even logged after the first frame.
  const withText = path.join(tmp("b2e-whole-text-"), "whole");
  await writeBag(
    withText,
    TOPICS.filter((t) => t.name !== "/episode"),
    [...camera(5), text(0.15, "/instruction", LEFT), text(0.3, "/instruction", RIGHT), cmd(0.22, S, 0)],
  );
  const t = await bagToEpisodes(withText, out, { instruction: "go left", scenario: "second" });
  assert.deepEqual(t.errors, []);
  assert.equal(t.episodes.length, 1);
  const e2 = readBack(t.episodes[0]!);
  assert.equal(e2.ep.instruction, LEFT);
  assert.deepEqual(e2.events, ["episode_start", "start_action"]);
});

test("a missing topic fails before anything is written, listing the bag's topics", async () => {
  const bag = path.join(tmp("b2e-nocam-"), "nocam");
  await writeBag(
    bag,
    TOPICS.filter((t) => t.name !== "/camera/image_raw"),
    [cmd(0.1, S, 0), text(0.2, "/instruction", LEFT), text(0.3, "/episode", "start")],
  );
  const out = path.join(tmp("b2e-nocam-out-"), "eps");

  await assert.rejects(bagToEpisodes(bag, out), (e: unknown) => {
    assert.ok(e instanceof BagError, `a BagError, got ${String(e)}`);
    const m = e.message;
    assert.match(m, /has no topic \/camera\/image_raw/);
    assert.match(m, /\/cmd_vel \[geometry_msgs\/msg\/Twist\] 1 msgs/);
    assert.match(m, /\/instruction \[std_msgs\/msg\/String\] 1 msgs/);
    assert.match(m, /\/episode \[std_msgs\/msg\/String\] 1 msgs/);
    return true;
  });
  // A named topic that is not there is an error too, even an optional one.
  const withCam = path.join(tmp("b2e-named-"), "named");
  await writeBag(withCam, TOPICS, [...camera(3), cmd(0.15, S, 0)]);
  await assert.rejects(
    bagToEpisodes(withCam, out, { topics: { episode: "/episodes" } }),
    /has no topic \/episodes of type std_msgs\/msg\/String[\s\S]*\/episode \[std_msgs\/msg\/String\] 0 msgs/,
  );
  await assert.rejects(bagToEpisodes(withCam, out, { topics: { cmdVel: "/teleop" } }), /has no topic \/teleop/);
  // Bad options fail once, before the bag is read, not once per episode.
  await assert.rejects(bagToEpisodes(withCam, out, { gzip: 12 }), /gzip level 12/);
  await assert.rejects(bagToEpisodes(withCam, out, { scenario: "left side" }), /scenario "left side" must be letters/);
  assert.equal(fs.existsSync(out), false, "no output folder for a conversion that never started");
});

test("compressed camera on the bag's only image topic, TwistStamped, a corrupt frame, stray commands, no final stop", async () => {
  const bag = path.join(tmp("b2e-jpeg-"), "png");
  const topics: WriterTopic[] = [
    { name: "/front/image/compressed", type: "sensor_msgs/msg/CompressedImage" },
    { name: "/cmd_vel", type: "geometry_msgs/msg/TwistStamped" },
    { name: "/episode", type: "std_msgs/msg/String" },
  ];
  await writeBag(
    bag,
    topics,
    [
      ...camera(20),
      text(0.05, "/episode", "start"),
      text(0.5, "/episode", "pause"),
      cmd(0.52, S, 0),
      text(0.7, "/episode", " START "),
      cmd(1.02, 0, S, 0.5),
      cmd(1.32, 0, 0),
    ],
    { image: { topic: "/front/image/compressed", compressed: true, corrupt: [6] }, stampedCmdVel: true },
  );
  const out = tmp("b2e-jpeg-out-");
  const s = await bagToEpisodes(bag, out);

  assert.deepEqual(s.errors, []);
  assert.equal(s.episodes.length, 1, "the episode the bag cut off is kept");
  assert.equal(s.undecodable, 1, "the corrupt PNG is counted");
  const warned = (re: RegExp): void =>
    assert.ok(
      s.warnings.some((w) => re.test(w)),
      `a warning matching ${re}: ${s.warnings.join(" | ")}`,
    );
  warned(/"pause".*ignored/);
  warned(/already recording/);
  warned(/ends while an episode is recording/);
  const e = readBack(s.episodes[0]!);
  // The first key press's frame (k 6) is not a PNG: it is skipped and the press takes the next good frame (k 7).
  warned(/camera frame at t=\S+: skipped \(image\.data: the 7 bytes do not start like a png file\)/);
  assert.deepEqual(e.events, ["episode_start", "start_action", "start_action", "stop_action"]);
  assert.deepEqual(e.actions, [
    [0, 0, 0],
    [S, 0, 0],
    [0, S, 0.5],
    [0, 0, 0],
  ]);
  assert.equal(s.framesWritten, 4);
  assert.equal(e.ep.instruction, null);
  for (const [i, k] of [1, 7, 11, 17].entries()) assert.deepEqual(e.frames[i]!.data, framePixels(k), `frame ${i} is camera frame ${k}, decoded back to bgr`);
});

test("two episodes started within one second: the second cannot have the first's name and is reported as such, not as a re-run", async () => {
  const bag = path.join(tmp("b2e-same-"), "same");
  await writeBag(bag, TOPICS, [
    ...camera(10),
    text(0.05, "/episode", "start"),
    cmd(0.12, S, 0),
    text(0.45, "/episode", "stop"),
    text(0.55, "/episode", "start"),
    cmd(0.62, 0, S),
    text(0.95, "/episode", "stop"),
  ]);
  const out = tmp("b2e-same-out-");
  const s = await bagToEpisodes(bag, out);
  assert.equal(s.episodes.length, 1);
  assert.equal(s.errors.length, 1, s.errors.join("; "));
  assert.match(s.errors[0]!, /already exists: another episode of this bag started in the same second/);
  assert.ok(!s.errors[0]!.includes("already converted"), `not blamed on an earlier run: ${s.errors[0]}`);
  assert.ok(
    s.warnings.some((w) => /t=1700000000\.950 s ignored: not recording/.test(w)),
    `the second stop finds nothing recording: ${s.warnings.join(" | ")}`,
  );
});

import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { EpisodeError, EpisodeWriter } from "../src/episodes/episode-writer.js";
import { openEpisode } from "../src/episodes/episode-reader.js";
import { episodeStem, parseEpisodeStem, pythonIsoformat, timePeriod } from "../src/episodes/episode-name.js";
import { readWithH5py, rgb8Message } from "./fixtures/episode-fixtures.js";

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "episode-writer-"));
}

const START = new Date(2025, 11, 3, 12, 25, 10);
const END = new Date(2025, 11, 3, 12, 25, 17, 250);

test("a recorded episode reads in h5py exactly as the Mobile-VLA trainer expects", async () => {
  const dir = tmpDir();
  const w = EpisodeWriter.open(dir, { scenario: "1box_hori_left_core_medium", instruction: "Navigate to the gray basket on the left", startTime: START });
  // Known R,G,B values coming from an rgb8 camera: the file must hold B,G,R.
  await w.appendImage(rgb8Message(6, 4, [10, 20, 30]), [0, 0, 0], "episode_start");
  await w.appendImage(rgb8Message(6, 4, [40, 50, 60]), [1.15, 0, 0], "start_action");
  await w.appendImage(rgb8Message(6, 4, [70, 80, 90]), [1.15, -1.15, 0], "start_action");
  await w.appendImage(rgb8Message(6, 4, [1, 2, 3]), [0, 0, 0], "stop_action");
  const file = await w.close({ endTime: END });

  assert.equal(path.basename(file), "episode_20251203_122510_1box_hori_left_core_medium.h5");
  assert.deepEqual(fs.readdirSync(dir), [path.basename(file)]);

  const py = readWithH5py(file, [
    [0, 0, 0],
    [1, 3, 5],
    [2, 2, 1],
    [3, 0, 0],
  ]);
  assert.deepEqual(py.keys, ["action_event_types", "actions", "images"]);
  assert.deepEqual(py.images.shape, [4, 4, 6, 3]);
  assert.equal(py.images.dtype, "uint8");
  assert.deepEqual(py.images.chunks, [1, 4, 6, 3]);
  assert.deepEqual(py.images.maxshape, [-1, 4, 6, 3]);
  assert.equal(py.images.compression, null);
  assert.deepEqual(py.images.window_shape, [4, 4, 6, 3]);
  assert.deepEqual(py.pixels, [
    [0, 0, 0, [30, 20, 10]],
    [1, 3, 5, [60, 50, 40]],
    [2, 2, 1, [90, 80, 70]],
    [3, 0, 0, [3, 2, 1]],
  ]);
  assert.equal(py.actions.dtype, "float32");
  assert.deepEqual(py.actions.shape, [4, 3]);
  const f32 = Math.fround(1.15);
  assert.deepEqual(py.actions.values, [
    [0, 0, 0],
    [f32, 0, 0],
    [f32, -f32, 0],
    [0, 0, 0],
  ]);
  assert.deepEqual(py.actions_xy.values, [
    [0, 0],
    [f32, 0],
    [f32, -f32],
    [0, 0],
  ]);
  assert.deepEqual(py.action_event_types.values, ["episode_start", "start_action", "start_action", "stop_action"]);
  assert.equal(py.action_event_types.encoding, "utf-8");
  assert.equal(py.action_event_types.vlen, true);
  // h5py hands variable-length strings of a dataset back as bytes, like the collector's files.
  assert.deepEqual(py.action_event_types.raw_python_types, ["bytes"]);

  const a = py.attrs;
  assert.deepEqual(a.episode_name, { value: "episode_20251203_122510_1box_hori_left_core_medium", type: "str" });
  assert.deepEqual(a.total_duration, { value: 7.25, type: "float64" });
  assert.deepEqual(a.num_frames, { value: 4, type: "int64" });
  assert.deepEqual(a.action_chunk_size, { value: 8, type: "int64" });
  assert.deepEqual(a.time_period, { value: "evening", type: "str" });
  assert.deepEqual(a.collection_datetime, { value: "2025-12-03T12:25:17.250000", type: "str" });
  assert.deepEqual(a.obstacle_layout_type, { value: "hori", type: "str" });
  assert.deepEqual(a.collection_hour, { value: 12, type: "int64" });
  assert.deepEqual(a.collection_minute, { value: 25, type: "int64" });
  assert.deepEqual(a.instruction, { value: "Navigate to the gray basket on the left", type: "str" });
  assert.deepEqual(a.image_channel_order, { value: "bgr", type: "str" });
  for (const k of ["episode_name", "time_period", "collection_datetime", "obstacle_layout_type", "instruction", "image_channel_order"]) {
    assert.equal(py.attr_string_cset[k], "utf-8", k);
  }

  // Our own reader agrees with h5py.
  const ep = openEpisode(file);
  try {
    assert.equal(ep.layout, "mobile_vla_2025");
    assert.equal(ep.numFrames, 4);
    assert.equal(ep.channelOrder, "bgr");
    assert.equal(ep.instruction, "Navigate to the gray basket on the left");
    assert.deepEqual(Array.from(ep.frame(2).data.subarray(0, 3)), [90, 80, 70]);
    assert.deepEqual(ep.eventTypes, py.action_event_types.values);
    assert.deepEqual(Array.from(ep.actions), py.actions.values.flat());
  } finally {
    ep.close();
  }
});

test("rgb channel order stores R,G,B and says so; a bgr8 camera is swapped for it", async () => {
  const dir = tmpDir();
  const w = EpisodeWriter.open(dir, { channelOrder: "rgb", startTime: START });
  await w.appendImage(rgb8Message(3, 2, [10, 20, 30]), [0, 0, 0], "episode_start");
  await w.appendImage(rgb8Message(3, 2, [40, 50, 60], "bgr8"), [0, 0, 1.15], "start_action");
  const file = await w.close({ endTime: END });
  assert.equal(path.basename(file), "episode_20251203_122510.h5");
  const py = readWithH5py(file, [
    [0, 1, 2],
    [1, 0, 0],
  ]);
  assert.deepEqual(py.pixels, [
    [0, 1, 2, [10, 20, 30]],
    [1, 0, 0, [40, 50, 60]],
  ]);
  assert.equal(py.attrs.image_channel_order.value, "rgb");
  assert.equal(py.attrs.instruction, undefined);
});

test("gzip compresses the images dataset at the requested level, same pixels", async () => {
  const dir = tmpDir();
  const w = EpisodeWriter.open(dir, { gzip: 6, startTime: START });
  for (let i = 0; i < 3; i++) await w.appendImage(rgb8Message(32, 16, [i, 100, 200]), [1.15, 0, 0], "start_action");
  const file = await w.close({ endTime: END });
  const py = readWithH5py(file);
  assert.equal(py.images.compression, "gzip");
  assert.equal(py.images.compression_opts, 6);
  assert.deepEqual(
    py.pixels.map((p) => p[3]),
    [
      [200, 100, 0],
      [200, 100, 1],
      [200, 100, 2],
    ],
  );
  assert.throws(() => EpisodeWriter.open(dir, { gzip: 11 }), /gzip level 11/);
});

test("frames stream into a .h5.partial; the final name appears only when the file is complete", async () => {
  const dir = tmpDir();
  const w = EpisodeWriter.open(dir, { scenario: "s", startTime: START });
  await w.appendImage(rgb8Message(8, 8, [1, 2, 3]), [0, 0, 0], "episode_start");
  assert.deepEqual(fs.readdirSync(dir), ["episode_20251203_122510_s.h5.partial"]);
  // The frame is already on disk, not held in memory.
  assert.ok(fs.statSync(w.partialPath).size >= 8 * 8 * 3, "the first frame is already in the partial file");
  await w.appendImage(rgb8Message(8, 8, [4, 5, 6]), [1.15, 0, 0], "start_action");
  const file = await w.close({ endTime: END });
  assert.deepEqual(fs.readdirSync(dir), ["episode_20251203_122510_s.h5"]);
  assert.equal(file, path.join(dir, "episode_20251203_122510_s.h5"));
});

test("an existing episode is never overwritten: open fails naming it and the file is untouched", async () => {
  const dir = tmpDir();
  const w = EpisodeWriter.open(dir, { scenario: "left", startTime: START });
  await w.appendImage(rgb8Message(4, 4, [9, 9, 9]), [0, 0, 0], "episode_start");
  const file = await w.close({ endTime: END });
  const before = fs.readFileSync(file);
  assert.throws(
    () => EpisodeWriter.open(dir, { scenario: "left", startTime: START }),
    (e: unknown) => e instanceof EpisodeError && e.code === "exists" && e.file === file && /never overwritten/.test(e.message),
  );
  assert.deepEqual(fs.readFileSync(file), before);
  assert.deepEqual(fs.readdirSync(dir), [path.basename(file)]);
  // A second writer racing for the same name is refused too.
  const a = EpisodeWriter.open(dir, { scenario: "right", startTime: START });
  assert.throws(
    () => EpisodeWriter.open(dir, { scenario: "right", startTime: START }),
    (e: unknown) => e instanceof EpisodeError && e.code === "exists" && e.file === a.partialPath,
  );
  await a.discard();
});

test("a frame of another size is refused with a clear error and the episode so far stays intact", async () => {
  const dir = tmpDir();
  const w = EpisodeWriter.open(dir, { startTime: START });
  await w.appendImage(rgb8Message(8, 6, [1, 1, 1]), [0, 0, 0], "episode_start");
  await w.appendImage(rgb8Message(8, 6, [2, 2, 2]), [1.15, 0, 0], "start_action");
  await assert.rejects(w.appendImage(rgb8Message(10, 6, [3, 3, 3]), [1.15, 0, 0], "start_action"), (e: unknown) => {
    assert.ok(e instanceof EpisodeError, String(e));
    assert.equal(e.code, "frame_size");
    assert.equal(e.file, w.partialPath);
    assert.match(e.message, /frame 2 is 10x6 but this episode's frames are 8x6.*2 frames so far are intact/);
    return true;
  });
  assert.equal(w.numFrames, 2);
  // Still usable: a frame of the right size goes in, and the file closes normally.
  await w.appendImage(rgb8Message(8, 6, [4, 4, 4]), [0, 0, 0], "stop_action");
  const py = readWithH5py(await w.close({ endTime: END }));
  assert.deepEqual(py.images.shape, [3, 6, 8, 3]);
  assert.deepEqual(
    py.pixels.map((p) => p[3]),
    [
      [1, 1, 1],
      [2, 2, 2],
      [4, 4, 4],
    ],
  );
  assert.deepEqual(py.action_event_types.values, ["episode_start", "start_action", "stop_action"]);
  assert.equal(py.attrs.num_frames.value, 3);
});

test("bad actions and event types are refused before anything is written", async () => {
  const dir = tmpDir();
  const w = EpisodeWriter.open(dir, { startTime: START });
  const img = { width: 2, height: 2, data: new Uint8Array(12) };
  assert.throws(() => w.append(img, [Number.NaN, 0, 0], "start_action"), /action \[null,0,0\] is not 3 finite numbers/);
  assert.throws(() => w.append(img, [1, 0], "start_action"), /not 3 finite numbers/);
  assert.throws(() => w.append(img, [0, 0, 0], ""), /event type/);
  assert.throws(() => w.append({ width: 2, height: 2, data: new Uint8Array(11) }, [0, 0, 0], "x"), /11 bytes, expected 2x2x3 = 12/);
  assert.equal(w.numFrames, 0);
  w.append(img, [0, 0, 0], "episode_start");
  assert.equal(w.numFrames, 1);
  await w.discard();
});

test("discard removes the partial file; closing an empty episode writes nothing", async () => {
  const dir = tmpDir();
  const w = EpisodeWriter.open(dir, { startTime: START });
  await w.appendImage(rgb8Message(4, 4, [1, 2, 3]), [0, 0, 0], "episode_start");
  await w.discard();
  assert.deepEqual(fs.readdirSync(dir), []);
  await assert.rejects(w.appendImage(rgb8Message(4, 4, [1, 2, 3]), [0, 0, 0], "x"), (e: unknown) => e instanceof EpisodeError && e.code === "closed");
  const empty = EpisodeWriter.open(dir, { startTime: START });
  await assert.rejects(empty.close(), (e: unknown) => e instanceof EpisodeError && e.code === "empty");
  assert.deepEqual(fs.readdirSync(dir), []);
});

test("names and time attributes follow the collector", () => {
  assert.equal(episodeStem(new Date(2025, 0, 2, 3, 4, 5)), "episode_20250102_030405");
  assert.equal(episodeStem(new Date(2025, 0, 2, 3, 4, 5), "2box_right"), "episode_20250102_030405_2box_right");
  assert.throws(() => episodeStem(new Date(), "a b/c"), /scenario "a b\/c"/);
  assert.deepEqual(parseEpisodeStem("episode_20251203_122510_1box_hori_left_core_medium"), {
    date: "20251203",
    time: "122510",
    scenario: "1box_hori_left_core_medium",
  });
  assert.equal(parseEpisodeStem("recording_1"), null);
  assert.deepEqual([0, 5, 6, 11, 12, 17, 18, 23].map(timePeriod), ["dawn", "dawn", "morning", "morning", "evening", "evening", "night", "night"]);
  assert.throws(() => timePeriod(24), /hour 24/);
  assert.equal(pythonIsoformat(new Date(2025, 11, 3, 7, 8, 9)), "2025-12-03T07:08:09");
  assert.equal(pythonIsoformat(new Date(2025, 11, 3, 7, 8, 9, 5)), "2025-12-03T07:08:09.005000");
});

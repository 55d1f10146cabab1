import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { EpisodeFormatError, openEpisode } from "../src/episodes/episode-reader.js";

// Files made by h5py, the way other tools (the 2025 collector, the 2026 pipeline)
// make them, so the reader is checked against files it did not write itself.
const MAKE = String.raw`
import sys, h5py, numpy as np
d = sys.argv[1]
u8 = lambda n, h, w: (np.arange(n * h * w * 3) % 251).astype(np.uint8).reshape(n, h, w, 3)
s = h5py.string_dtype(encoding='utf-8')

with h5py.File(d + '/collector.h5', 'w') as f:   # as mobile_vla_data_collector.py saves
    f.attrs['episode_name'] = 'episode_20251203_122510_1box_hori_left_core_medium'
    f.attrs['total_duration'] = 12.5
    f.attrs['num_frames'] = 3
    f.attrs['action_chunk_size'] = 8
    f.attrs['obstacle_layout_type'] = 'hori'
    f.attrs['time_period'] = 'evening'
    f.attrs['collection_datetime'] = '2025-12-03T12:25:22.500000'
    f.attrs['collection_hour'] = 12
    f.attrs['collection_minute'] = 25
    f.create_dataset('images', data=u8(3, 4, 5), compression='gzip')
    f.create_dataset('actions', data=np.array([[0,0,0],[1.15,0,0],[0,-1.15,0]], np.float32), compression='gzip')
    f.create_dataset('action_event_types', data=np.array(['episode_start','start_action','start_action'], dtype=s), compression='gzip')

with h5py.File(d + '/v2026.h5', 'w') as f:
    f.create_dataset('observations/images', data=u8(4, 2, 3))
    f.create_dataset('actions', data=np.array([[0.5, -0.5]] * 4, np.float64))
    f.create_dataset('timestamps', data=np.array([10.0, 10.4, 10.8, 11.2]))
    f.create_dataset('language_instruction', data='Navigate to the gray basket on the right', dtype=s)

with h5py.File(d + '/v2026_attr.h5', 'w') as f:
    f.create_dataset('observations/images', data=u8(1, 2, 2))
    f.create_dataset('actions', data=np.zeros((1, 2), np.float32))
    f.attrs['language_instruction'] = 'go left'

def bad(name, **ds):
    with h5py.File(d + '/' + name + '.h5', 'w') as f:
        for k, v in ds.items():
            f.create_dataset(k, data=v)
        if name == 'count_mismatch':
            f.attrs['num_frames'] = 5

bad('no_actions', images=u8(2, 2, 2))
bad('float_images', images=np.zeros((2, 2, 2, 3), np.float32), actions=np.zeros((2, 3), np.float32))
bad('short_actions', images=u8(3, 2, 2), actions=np.zeros((2, 3), np.float32))
bad('two_axes_2025', images=u8(2, 2, 2), actions=np.zeros((2, 2), np.float32))
bad('int_events', images=u8(2, 2, 2), actions=np.zeros((2, 3), np.float32), action_event_types=np.zeros(2, np.int32))
bad('count_mismatch', images=u8(2, 2, 2), actions=np.zeros((2, 3), np.float32))
bad('nothing', other=np.zeros(3))
`;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "episode-reader-"));
execFileSync("/usr/bin/python3", ["-c", MAKE, dir]);
fs.writeFileSync(path.join(dir, "not_hdf5.h5"), "this is not an HDF5 file");

test("a file saved by the collector's h5py code reads as the 2025 layout, BGR, frame by frame", () => {
  const ep = openEpisode(path.join(dir, "collector.h5"));
  try {
    assert.equal(ep.layout, "mobile_vla_2025");
    assert.equal(ep.numFrames, 3);
    assert.equal(ep.height, 4);
    assert.equal(ep.width, 5);
    assert.equal(ep.channelOrder, "bgr");
    assert.equal(ep.instruction, null);
    assert.equal(ep.actionDim, 3);
    assert.deepEqual(Array.from(ep.actions), [0, 0, 0, Math.fround(1.15), 0, 0, 0, -Math.fround(1.15), 0]);
    assert.deepEqual(ep.eventTypes, ["episode_start", "start_action", "start_action"]);
    assert.equal(ep.timestamps, undefined);
    assert.equal(ep.attrs.num_frames, 3);
    assert.equal(ep.attrs.total_duration, 12.5);
    assert.equal(ep.attrs.time_period, "evening");
    const f1 = ep.frame(1);
    assert.equal(f1.channelOrder, "bgr");
    assert.equal(f1.data.length, 4 * 5 * 3);
    // Frame 1 starts at element 1*4*5*3 = 60 of the arange pattern.
    assert.deepEqual(Array.from(f1.data.subarray(0, 4)), [60, 61, 62, 63]);
    assert.throws(() => ep.frame(3), /frame 3 is outside 0\.\.2/);
  } finally {
    ep.close();
  }
});

test("the 2026 layout: observations/images (RGB), N x A actions, timestamps, language_instruction", () => {
  const ep = openEpisode(path.join(dir, "v2026.h5"));
  try {
    assert.equal(ep.layout, "mobile_vla_2026");
    assert.equal(ep.numFrames, 4);
    assert.equal(ep.channelOrder, "rgb");
    assert.equal(ep.actionDim, 2);
    assert.ok(ep.actions instanceof Float32Array, "actions are float32 whatever the stored width");
    assert.deepEqual(Array.from(ep.actions.subarray(0, 2)), [0.5, -0.5]);
    assert.deepEqual(Array.from(ep.timestamps!), [10.0, 10.4, 10.8, 11.2]);
    assert.equal(ep.instruction, "Navigate to the gray basket on the right");
    assert.equal(ep.eventTypes, undefined);
    assert.equal(ep.frame(3).channelOrder, "rgb");
    assert.deepEqual(Array.from(ep.frame(3).data.subarray(0, 2)), [54, 55]);
  } finally {
    ep.close();
  }
  const a = openEpisode(path.join(dir, "v2026_attr.h5"));
  assert.equal(a.instruction, "go left");
  a.close();
});

const BAD: [string, string, RegExp][] = [
  ["no_actions", "actions", /missing/],
  ["float_images", "images", /type float32, expected uint8/],
  ["short_actions", "actions", /shape \[2, 3\], expected \(3, 3\)/],
  ["two_axes_2025", "actions", /shape \[2, 2\], expected \(2, 3\)/],
  ["int_events", "action_event_types", /type int32, expected strings/],
  ["count_mismatch", "attrs.num_frames", /5 but images holds 2 frames/],
  ["nothing", "images", /missing.*keys: other/],
  ["not_hdf5", "file", /cannot open as HDF5/],
];

for (const [name, key, detail] of BAD) {
  test(`${name}: the error names the file and the key ${key}`, () => {
    const file = path.join(dir, `${name}.h5`);
    assert.throws(
      () => openEpisode(file),
      (e: unknown) => {
        assert.ok(e instanceof EpisodeFormatError, String(e));
        assert.equal(e.file, file);
        assert.equal(e.key, key);
        assert.match(e.detail, detail);
        assert.ok(e.message.startsWith(`${file}: ${key}: `), e.message);
        return true;
      },
    );
  });
}

test("a missing file is a clear error naming it", () => {
  const file = path.join(dir, "does_not_exist.h5");
  assert.throws(
    () => openEpisode(file),
    (e: unknown) => e instanceof EpisodeFormatError && e.file === file && /No such file/.test(e.message),
  );
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { ChunkDecoder, denormalize } from "../src/policy/chunk-decoder.js";
import { chunkUsable } from "../src/policy/chunk.js";
import { parseManifest, type Denormalize, type HeadSpec } from "../src/model/manifest.js";

test("denormalise: min/max maps [-1, 1] onto [min, max]; scale multiplies (negative = the robot's inverted x)", () => {
  const mm: Denormalize = { kind: "minmax", min: [-2, 0], max: [2, 1] };
  assert.deepEqual(denormalize(mm, [0.5, -1]), [1, 0]);
  assert.deepEqual(denormalize(mm, [-1, 1]), [-2, 1]);
  assert.deepEqual(denormalize(mm, [0, 0]), [0, 0.5]);
  const sc: Denormalize = { kind: "scale", scale: [-1.15, 1.15] };
  assert.deepEqual(denormalize(sc, [0.5, -1]), [-0.575, -1.15]);
  assert.throws(() => denormalize(sc, [1]), /1 axes/);
});

test("the decoder reads the manifest's window position and gives (linear_x, linear_y) in robot units, stamped with the frame", () => {
  const m = {
    ...parseManifest({ chunk: 2, chunk_position: 0, action_step_s: 0.5 }),
    head: { kind: "continuous" as const, denormalize: { kind: "minmax" as const, min: [-2, 0], max: [2, 1] } },
  };
  // Two window rows x 2 steps x 2 axes; chunk_position 0 picks the first row.
  const out = new Float32Array([0.5, -1, -1, 1, 9, 9, 9, 9]);
  const c = new ChunkDecoder(m).decode(out, 2, 7);
  assert.deepEqual(c, {
    stamp: 7,
    stepS: 0.5,
    actions: [
      [1, 0],
      [-2, 1],
    ],
    invalid: false,
  });
  const last = new ChunkDecoder({ ...m, chunk_position: "last" }).decode(out, 2, 7);
  assert.deepEqual(
    last.actions,
    [
      [18, 5],
      [18, 5],
    ],
    "the newest row: ((9 + 1) / 2) * 4 - 2 and ((9 + 1) / 2) * 1 + 0",
  );
  assert.throws(() => new ChunkDecoder(m).decode(new Float32Array(3), 1, 0), /cannot hold 1 window rows of 2 x 2/);
});

test("a non-finite output, even on an axis the robot does not drive, makes the chunk invalid with zero velocities", () => {
  const head: HeadSpec = { kind: "continuous", denormalize: { kind: "scale", scale: [1, 1, 1] } };
  const m = { ...parseManifest({ chunk: 2, action_axes: ["linear_x", "linear_y", "angular_z"] }), head };
  const decoder = new ChunkDecoder(m);
  assert.equal(decoder.decode(new Float32Array([0.1, 0.2, 0.3, 0.1, 0.2, 0.3]), 1, 0).invalid, false);
  const nan = decoder.decode(new Float32Array([0.1, 0.2, NaN, 0.1, 0.2, 0.3]), 1, 0);
  assert.equal(nan.invalid, true);
  assert.deepEqual(nan.actions, [
    [0, 0],
    [0, 0],
  ]);
  // A finite output whose denormalised velocity overflows is no better.
  const huge = new ChunkDecoder({ ...m, head: { kind: "continuous", denormalize: { kind: "scale", scale: [1e308, 1, 1] } } });
  assert.equal(huge.decode(new Float32Array([10, 0, 0, 0, 0, 0]), 1, 0).invalid, true);
});

test("chunkUsable: flagged, non-finite, ragged or empty chunks may not drive", () => {
  assert.equal(chunkUsable({ actions: [[0.1, 0.2]], invalid: false }), true);
  assert.equal(chunkUsable({ actions: [[0.1, 0.2]], invalid: true }), false);
  assert.equal(chunkUsable({ actions: [[0.1, 0.2], [0.1]], invalid: false }), false);
  assert.equal(chunkUsable({ actions: [[NaN, 0.2]], invalid: false }), false);
  assert.equal(chunkUsable({ actions: [], invalid: false }), false);
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import sharp from "sharp";
import { ImageError } from "../src/msgs/image-error.js";
import type { RawImageMessage } from "../src/msgs/image.js";
import { DEFAULT_IMAGE, type ImageSpec, type Rotation } from "../src/model/manifest.js";
import { Preprocessor } from "../src/model/preprocess.js";

const PAD = 77;

/** Packed RGB pixels into an rgb8/bgr8 message whose rows carry `pad` extra bytes. */
function message(encoding: "rgb8" | "bgr8", width: number, height: number, rgb: Uint8Array, pad = 2): RawImageMessage {
  const step = width * 3 + pad;
  const data = new Uint8Array(step * height).fill(PAD);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const s = (y * width + x) * 3;
      const d = y * step + x * 3;
      const [r, g, b] = [rgb[s]!, rgb[s + 1]!, rgb[s + 2]!];
      if (encoding === "rgb8") data.set([r, g, b], d);
      else data.set([b, g, r], d);
    }
  }
  return { kind: "raw", encoding, width, height, step, isBigEndian: false, data };
}

function spec(over: Partial<ImageSpec>): ImageSpec {
  return { ...DEFAULT_IMAGE, ...over };
}

// Pixels labelled 1..6 in a 3x2 frame (1 2 3 / 4 5 6); G = label + 10, B = label + 20.
const labels = Uint8Array.from([1, 2, 3, 4, 5, 6].flatMap((v) => [v, v + 10, v + 20]));

test("rotation is clockwise and happens before resizing (hand-written layouts)", () => {
  const expected: Record<Rotation, { w: number; h: number; order: number[] }> = {
    0: { w: 3, h: 2, order: [1, 2, 3, 4, 5, 6] },
    90: { w: 2, h: 3, order: [4, 1, 5, 2, 6, 3] },
    180: { w: 3, h: 2, order: [6, 5, 4, 3, 2, 1] },
    270: { w: 2, h: 3, order: [3, 6, 2, 5, 1, 4] },
  };
  for (const rotate of [0, 90, 180, 270] as Rotation[]) {
    const { w, h, order } = expected[rotate];
    // Output size = rotated size, so the resize is the identity and levels pass through.
    for (const backend of ["js", "wasm"] as const) {
      const p = new Preprocessor(spec({ rotate, width: w, height: h, rescale: 1, channel_order: "rgb" }), { backend });
      const out = p.runRaw(message("bgr8", 3, 2, labels));
      assert.deepEqual([...out], [...order, ...order.map((v) => v + 10), ...order.map((v) => v + 20)], `rotate ${rotate} ${backend}`);
    }
  }
});

test("planes come out in the model's channel order whatever the encoding", () => {
  for (const encoding of ["rgb8", "bgr8"] as const) {
    const bgr = new Preprocessor(spec({ width: 3, height: 2, rescale: 1, channel_order: "bgr" })).runRaw(message(encoding, 3, 2, labels));
    assert.deepEqual([...bgr], [21, 22, 23, 24, 25, 26, 11, 12, 13, 14, 15, 16, 1, 2, 3, 4, 5, 6], encoding);
    const rgb = new Preprocessor(spec({ width: 3, height: 2, rescale: 1, channel_order: "rgb" })).runRaw(message(encoding, 3, 2, labels));
    assert.deepEqual([...rgb], [1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15, 16, 21, 22, 23, 24, 25, 26], encoding);
  }
});

test("rescale, then mean and std per model channel", () => {
  const mean: [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
  const std: [number, number, number] = [0.26862954, 0.26130258, 0.27577711];
  const px = Uint8Array.from([0, 128, 255, 37, 200, 90]); // two pixels, R G B each
  const p = new Preprocessor(spec({ width: 2, height: 1, channel_order: "bgr", mean, std }));
  const out = p.runRaw(message("rgb8", 2, 1, px));
  // Model channel 0 is blue here, so it uses mean[0]/std[0].
  const planes = [
    [255, 90],
    [128, 200],
    [0, 37],
  ];
  const expected = planes.flatMap((levels, c) => levels.map((v) => (v / 255 - mean[c]!) / std[c]!));
  assert.equal(out.length, 6);
  expected.forEach((e, i) => assert.ok(Math.abs(out[i]! - e) <= 1e-6 * Math.max(1, Math.abs(e)), `value ${i}: ${out[i]} vs ${e}`));

  const plain = new Preprocessor(spec({ width: 2, height: 1, channel_order: "rgb" })).runRaw(message("rgb8", 2, 1, px));
  [0, 37, 128, 200, 255, 90].forEach((v, i) => assert.ok(Math.abs(plain[i]! - v / 255) < 1e-7, `plain ${i}`));
});

function frame(w: number, h: number, seed: number): Uint8Array {
  const d = new Uint8Array(w * h * 3);
  let s = seed;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
        const ramp = c === 0 ? x : c === 1 ? y : (x + y) >> 1;
        d[(y * w + x) * 3 + c] = (ramp + (s >>> 27)) & 255;
      }
    }
  }
  return d;
}

test("each call returns a new array; earlier results are never overwritten", () => {
  const p = new Preprocessor(DEFAULT_IMAGE);
  const a = p.runRaw(message("bgr8", 64, 48, frame(64, 48, 1)));
  const aCopy = a.slice();
  const b = p.runRaw(message("bgr8", 64, 48, frame(64, 48, 2)));
  assert.notEqual(a, b);
  assert.equal(a.length, p.size);
  assert.deepEqual(p.dims, [1, 3, 224, 224]);
  assert.deepEqual(a, aCopy);
  assert.notDeepEqual(a, b);
});

test("runRaw and run write into a caller's slice of a batch when given one", async () => {
  const p = new Preprocessor(spec({ width: 8, height: 6 }));
  const batch = new Float32Array(p.size * 2).fill(-1);
  const m = message("rgb8", 20, 10, frame(20, 10, 3));
  const got = p.runRaw(m, batch.subarray(p.size));
  assert.equal(got.buffer, batch.buffer);
  assert.ok(batch.subarray(0, p.size).every((v) => v === -1));
  const fresh = p.runRaw(m);
  assert.notEqual(fresh.buffer, batch.buffer);
  assert.deepEqual(batch.subarray(p.size), fresh);
  batch.fill(-1);
  const viaRun = await p.run(m, batch.subarray(0, p.size));
  assert.equal(viaRun.buffer, batch.buffer);
  assert.deepEqual(viaRun, fresh);
  assert.ok(batch.subarray(p.size).every((v) => v === -1));
  assert.throws(() => p.runRaw(m, new Float32Array(p.size - 1)), /needs/);
});

test("js and wasm kernels produce identical tensors for a camera frame", () => {
  const m = message("bgr8", 640, 480, frame(640, 480, 4), 0);
  for (const resize of ["bilinear", "bicubic"] as const) {
    for (const rotate of [0, 90] as Rotation[]) {
      const s = spec({ resize, rotate, mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3] });
      assert.deepEqual(new Preprocessor(s, { backend: "js" }).runRaw(m), new Preprocessor(s, { backend: "wasm" }).runRaw(m), `${resize} ${rotate}`);
    }
  }
});

test("compressed frames go through the same pipeline (png is lossless)", async () => {
  const rgb = frame(40, 30, 5);
  const png = new Uint8Array(
    await sharp(rgb, { raw: { width: 40, height: 30, channels: 3 } })
      .png()
      .toBuffer(),
  );
  for (const channel_order of ["rgb", "bgr"] as const) {
    const p = new Preprocessor(spec({ width: 16, height: 12, rotate: 270, channel_order, resize: "bicubic" }));
    const fromPng = await p.run({ kind: "compressed", format: "bgr8; png compressed bgr8", data: png });
    const m = message("bgr8", 40, 30, rgb);
    assert.deepEqual(fromPng, p.runRaw(m), channel_order);
    assert.deepEqual(await p.run(m), p.runRaw(m), channel_order);
  }
});

test("unusable messages raise ImageError from both entry points", async () => {
  const p = new Preprocessor(DEFAULT_IMAGE);
  const bad: RawImageMessage = { ...message("rgb8", 4, 2, frame(4, 2, 6)), step: 11 };
  assert.throws(
    () => p.runRaw(bad),
    (e: unknown) => e instanceof ImageError && e.field === "step",
  );
  await assert.rejects(p.run(bad), (e: unknown) => e instanceof ImageError && e.field === "step");
  await assert.rejects(
    p.run({ kind: "compressed", format: "jpeg", data: new Uint8Array([1, 2, 3]) }),
    (e: unknown) => e instanceof ImageError && e.field === "data",
  );
});

test("an invalid spec is refused naming its field", () => {
  assert.throws(() => new Preprocessor(spec({ rotate: 45 as Rotation })), /image\.rotate: expected 0, 90, 180 or 270, got 45/);
  assert.throws(() => new Preprocessor(spec({ width: 0 })), /image\.width/);
  assert.throws(() => new Preprocessor(spec({ mean: [0, 0, 0] })), /image\.mean\/image\.std: give both or neither/);
  assert.throws(() => new Preprocessor(spec({ mean: [0, 0, 0], std: [1, 0, 1] })), /image\.std/);
  assert.throws(() => new Preprocessor(spec({ rescale: -1 })), /image\.rescale/);
});

// PIL's ROTATE_90/270 turn counter-clockwise, so a clockwise turn of r is ROTATE_(360 - r).
const PIL_SCRIPT = `
import json, sys
from PIL import Image
for c in json.load(open(sys.argv[1])):
    im = Image.frombytes("RGB", (c["w"], c["h"]), open(c["src"], "rb").read())
    if c["rotate"]:
        im = im.transpose({90: Image.ROTATE_270, 180: Image.ROTATE_180, 270: Image.ROTATE_90}[c["rotate"]])
    f = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}[c["filter"]]
    open(c["dst"], "wb").write(im.resize((c["ow"], c["oh"]), f).tobytes())
`;

test("the whole pipeline matches Pillow: rotate, resize, channel order, rescale", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "preprocess-pil-"));
  try {
    const w = 320;
    const h = 240;
    const rgb = frame(w, h, 7);
    // Training fed the stored BGR array to PIL as if it were RGB, so Pillow gets BGR bytes.
    const bgr = rgb.slice();
    for (let i = 0; i < bgr.length; i += 3) [bgr[i], bgr[i + 2]] = [rgb[i + 2]!, rgb[i]!];
    const src = path.join(dir, "frame.bgr");
    writeFileSync(src, bgr);
    const cases = [
      { rotate: 0, filter: "bilinear", ow: 224, oh: 224 },
      { rotate: 180, filter: "bilinear", ow: 224, oh: 224 },
      { rotate: 90, filter: "bicubic", ow: 64, oh: 100 },
      { rotate: 270, filter: "bicubic", ow: 500, oh: 300 },
    ].map((c, i) => ({ ...c, w, h, src, dst: path.join(dir, `out${i}.raw`) }));
    const jobs = path.join(dir, "jobs.json");
    writeFileSync(jobs, JSON.stringify(cases));
    execFileSync("/usr/bin/python3", ["-c", PIL_SCRIPT, jobs], { stdio: ["ignore", "ignore", "pipe"] });
    const m = message("rgb8", w, h, rgb, 5);
    for (const c of cases) {
      const pil = new Uint8Array(readFileSync(c.dst));
      const p = new Preprocessor(spec({ rotate: c.rotate as Rotation, resize: c.filter as "bilinear", width: c.ow, height: c.oh, channel_order: "bgr" }));
      const out = p.runRaw(m);
      const plane = c.ow * c.oh;
      let worst = 0;
      for (let i = 0; i < plane; i++) {
        for (let ch = 0; ch < 3; ch++) worst = Math.max(worst, Math.abs(out[ch * plane + i]! * 255 - pil[i * 3 + ch]!));
      }
      assert.ok(worst < 1e-3, `rotate ${c.rotate} ${c.filter} -> ${c.ow}x${c.oh}: max |diff| ${worst} levels`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { packView } from "../src/model/decode-image.js";
import type { ResizeFilter, Rotation } from "../src/model/manifest.js";
import { coefficients, packedView, PRECISION_BITS, Resampler, resizeRgb8, rotateView, type StridedImage } from "../src/model/resample.js";

const FILTERS: ResizeFilter[] = ["bilinear", "bicubic"];

function noise(n: number, seed: number): Uint8Array {
  const d = new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    d[i] = s >>> 24;
  }
  return d;
}

/** Smooth ramps with a hard edge: the rounding-sensitive content noise lacks. */
function scene(w: number, h: number): Uint8Array {
  const d = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      d[i] = Math.floor((255 * x) / Math.max(1, w - 1));
      d[i + 1] = Math.floor((255 * y) / Math.max(1, h - 1));
      d[i + 2] = x * 3 < w ? 250 : 5;
    }
  }
  return d;
}

// ---- an independent reference: the filters' mathematical definition in doubles ----

function triangle(x: number): number {
  const a = Math.abs(x);
  return a < 1 ? 1 - a : 0;
}

/** Keys' cubic convolution kernel with a = -0.5. */
function keys(x: number): number {
  const a = -0.5;
  const t = Math.abs(x);
  if (t < 1) return (a + 2) * t ** 3 - (a + 3) * t ** 2 + 1;
  if (t < 2) return a * t ** 3 - 5 * a * t ** 2 + 8 * a * t - 4 * a;
  return 0;
}

/**
 * For each output sample, the normalised weights of every input sample, from the
 * definition: output i is centred at input coordinate (i + 0.5) * in / out, and when
 * shrinking the kernel is stretched by the scale so that it averages.
 */
function axisWeights(inSize: number, outSize: number, filter: ResizeFilter): { j: number; w: number }[][] {
  const kernel = filter === "bilinear" ? triangle : keys;
  const scale = inSize / outSize;
  const stretch = Math.max(scale, 1);
  const all: { j: number; w: number }[][] = [];
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    const taps: { j: number; w: number }[] = [];
    for (let j = 0; j < inSize; j++) {
      const w = kernel((j + 0.5 - center) / stretch);
      if (w !== 0) taps.push({ j, w });
    }
    const sum = taps.reduce((s, t) => s + t.w, 0);
    all.push(taps.map((t) => ({ j: t.j, w: t.w / sum })));
  }
  return all;
}

const to8 = (v: number) => Math.min(255, Math.max(0, Math.round(v)));

/** Horizontal pass, rounded to 8 bits, then vertical pass: packed RGB in, packed RGB out. */
function naiveResize(src: Uint8Array, w: number, h: number, ow: number, oh: number, filter: ResizeFilter): Uint8Array {
  const hw = axisWeights(w, ow, filter);
  const vw = axisWeights(h, oh, filter);
  const mid = new Uint8Array(ow * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < ow; x++) {
      for (let c = 0; c < 3; c++) {
        mid[(y * ow + x) * 3 + c] = to8(hw[x]!.reduce((s, t) => s + t.w * src[(y * w + t.j) * 3 + c]!, 0));
      }
    }
  }
  const out = new Uint8Array(ow * oh * 3);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      for (let c = 0; c < 3; c++) {
        out[(y * ow + x) * 3 + c] = to8(vw[y]!.reduce((s, t) => s + t.w * mid[(t.j * ow + x) * 3 + c]!, 0));
      }
    }
  }
  return out;
}

function maxDiff(a: Uint8Array, b: Uint8Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

// Node >= 16 has WebAssembly SIMD, so both kernels are always tested; "wasm" throws without it.
const backends = [new Resampler("js"), new Resampler("wasm")];

test("auto picks the wasm kernels; js can be forced", () => {
  assert.equal(new Resampler().backend, "wasm");
  assert.equal(new Resampler("js").backend, "js");
});

test("hand-computed: halving two pixels with bilinear averages them, rounding half up", () => {
  // scale 2: both inputs sit 0.25 (stretched) from the centre, weight 0.75 each -> 0.5 each;
  // (10 + 21) / 2 = 15.5 -> 16 (Pillow adds half before truncating).
  const src = Uint8Array.from([10, 100, 0, 21, 201, 255]);
  for (const r of backends) {
    assert.deepEqual([...r.resize(packedView({ width: 2, height: 1, data: src }), 1, 1, "bilinear")], [16, 151, 128], r.backend);
  }
});

test("hand-computed: bicubic halving of 4 pixels has a negative lobe", () => {
  // Output 0 is centred at 1.0; taps at (j + 0.5 - 1) / 2 = -0.25, 0.25, 0.75, 1.25 have Keys
  // weights 0.8671875, 0.8671875, 0.2265625, -0.0703125 (sum 1.890625). For the row
  // 0, 100, 200, 255: (86.71875 + 45.3125 - 17.9296875) / 1.890625 = 60.35 -> 60.
  const row = [0, 100, 200, 255];
  const src = Uint8Array.from(row.flatMap((v) => [v, v, v]));
  for (const r of backends) {
    const out = r.resize(packedView({ width: 4, height: 1, data: src }), 2, 1, "bicubic");
    assert.equal(out[0], 60, r.backend);
    assert.equal(out[1], 60, r.backend);
  }
});

test("down- and up-scaling match the filters' definition within one level", () => {
  const cases: [number, number, number, number][] = [
    [64, 48, 22, 17],
    [37, 23, 10, 9],
    [5, 4, 13, 11],
    [13, 9, 40, 31],
    [30, 10, 12, 25],
    [7, 1, 3, 4],
  ];
  for (const [w, h, ow, oh] of cases) {
    for (const data of [noise(w * h * 3, w * 31 + h), scene(w, h)]) {
      for (const filter of FILTERS) {
        const expected = naiveResize(data, w, h, ow, oh, filter);
        for (const r of backends) {
          const got = r.resize(packedView({ width: w, height: h, data }), ow, oh, filter);
          const d = maxDiff(got, expected);
          assert.ok(d <= 1, `${r.backend} ${filter} ${w}x${h} -> ${ow}x${oh}: max |diff| ${d}`);
        }
      }
    }
  }
});

test("resizing to the same size returns the input unchanged", () => {
  const data = noise(17 * 11 * 3, 5);
  for (const filter of FILTERS) {
    for (const r of backends) assert.deepEqual(r.resize(packedView({ width: 17, height: 11, data }), 17, 11, filter), data, `${r.backend} ${filter}`);
  }
});

test("coefficient tables are cached and each output's weights sum to one in fixed point", () => {
  assert.equal(coefficients(640, 224, "bilinear"), coefficients(640, 224, "bilinear"));
  assert.notEqual(coefficients(640, 224, "bilinear"), coefficients(640, 224, "bicubic"));
  const c = coefficients(640, 224, "bicubic");
  for (let i = 0; i < c.outSize; i++) {
    let sum = 0;
    for (let k = 0; k < c.count[i]!; k++) sum += c.weights[i * c.ksize + k]!;
    assert.ok(Math.abs(sum - (1 << PRECISION_BITS)) <= c.ksize, `output ${i}: ${sum}`);
  }
});

// Pixels labelled 1..6 (G = label + 10, B = label + 20) in a 3x2 frame:  1 2 3 / 4 5 6
const labels = Uint8Array.from([1, 2, 3, 4, 5, 6].flatMap((v) => [v, v + 10, v + 20]));
const layout = (img: { width: number; height: number; data: Uint8Array }) => ({
  width: img.width,
  height: img.height,
  labels: [...img.data].filter((_, i) => i % 3 === 0),
});

test("rotateView turns clockwise with hand-written layouts", () => {
  const v = packedView({ width: 3, height: 2, data: labels });
  assert.deepEqual(layout(packView(rotateView(v, 0))), { width: 3, height: 2, labels: [1, 2, 3, 4, 5, 6] });
  assert.deepEqual(layout(packView(rotateView(v, 90))), { width: 2, height: 3, labels: [4, 1, 5, 2, 6, 3] });
  assert.deepEqual(layout(packView(rotateView(v, 180))), { width: 3, height: 2, labels: [6, 5, 4, 3, 2, 1] });
  assert.deepEqual(layout(packView(rotateView(v, 270))), { width: 2, height: 3, labels: [3, 6, 2, 5, 1, 4] });
  // Channels follow their pixel.
  assert.deepEqual([...packView(rotateView(v, 90)).data.subarray(0, 3)], [4, 14, 24]);
  assert.throws(() => rotateView(v, 45 as Rotation), /45/);
});

test("wasm and js kernels give identical bytes for every view layout", () => {
  const [js, wasm] = backends as [Resampler, Resampler];
  const w = 45;
  const h = 31;
  const views: [string, StridedImage][] = [];
  const rgb = noise(w * h * 3, 1);
  views.push(["packed", packedView({ width: w, height: h, data: rgb })]);
  views.push(["swapped", packedView({ width: w, height: h, data: rgb }, true)]);
  const padded = noise((w * 4 + 3) * h, 2);
  views.push(["bgra padded", { data: padded, width: w, height: h, offset: 0, xStride: 4, yStride: w * 4 + 3, channels: [2, 1, 0] }]);
  const mono16 = noise((w * 2 + 1) * h, 3);
  views.push(["mono16 high byte", { data: mono16, width: w, height: h, offset: 0, xStride: 2, yStride: w * 2 + 1, channels: [1, 1, 1] }]);
  const sizes: [number, number][] = [
    [11, 7],
    [45, 31],
    [90, 13],
    [1, 1],
    [3, 50],
    [128, 96],
  ];
  for (const [name, v] of views) {
    for (const rot of [0, 90, 180, 270] as Rotation[]) {
      const r = rotateView(v, rot);
      for (const [ow, oh] of sizes) {
        for (const filter of FILTERS) {
          const a = js.resize(r, ow, oh, filter);
          const b = wasm.resize(r, ow, oh, filter);
          assert.equal(maxDiff(a, b), 0, `${name} rot${rot} ${filter} -> ${ow}x${oh}`);
        }
      }
    }
  }
});

test("resizePlanar writes each channel's levels through its table, planar", () => {
  const w = 20;
  const h = 10;
  const data = noise(w * h * 3, 9);
  const tables = [0, 1, 2].map((c) => Float32Array.from({ length: 256 }, (_, v) => v * 10 + c)) as unknown as [Float32Array, Float32Array, Float32Array];
  for (const r of backends) {
    const bytes = r.resize(packedView({ width: w, height: h, data }), 7, 5, "bicubic");
    const out = r.resizePlanar(packedView({ width: w, height: h, data }), 7, 5, "bicubic", tables, new Float32Array(3 * 35));
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < 35; i++) assert.equal(out[c * 35 + i], bytes[i * 3 + c]! * 10 + c, `${r.backend} c${c} i${i}`);
    }
  }
});

test("views reaching outside their data and bad sizes are refused", () => {
  const data = new Uint8Array(12);
  const ok: StridedImage = { data, width: 2, height: 2, offset: 0, xStride: 3, yStride: 6, channels: [0, 1, 2] };
  for (const r of backends) {
    assert.throws(() => r.resize({ ...ok, yStride: 7 }, 1, 1, "bilinear"), /outside data of 12 bytes/);
    assert.throws(() => r.resize({ ...ok, channels: [0, 1, 4] }, 1, 1, "bilinear"), /channels/);
    assert.throws(() => r.resize({ ...ok, xStride: 2.5 }, 1, 1, "bilinear"), /xStride must be an integer/);
    assert.throws(() => r.resize(ok, 0, 1, "bilinear"), /output width/);
    assert.throws(() => r.resize(ok, 1, 1, "lanczos" as ResizeFilter), /lanczos/);
  }
});

// ---- real Pillow ----

const PIL_SCRIPT = `
import json, sys
from PIL import Image
for c in json.load(open(sys.argv[1])):
    im = Image.frombytes("RGB", (c["w"], c["h"]), open(c["src"], "rb").read())
    f = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}[c["filter"]]
    open(c["dst"], "wb").write(im.resize((c["ow"], c["oh"]), f).tobytes())
`;

test("matches real Pillow (Image.resize, /usr/bin/python3) bit for bit", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "resample-pil-"));
  try {
    const cases: { w: number; h: number; ow: number; oh: number; filter: ResizeFilter; src: string; dst: string; data: Uint8Array }[] = [];
    const sizes: [number, number, number, number][] = [
      [640, 480, 224, 224],
      [1280, 720, 224, 224],
      [37, 23, 100, 61],
      [300, 200, 300, 77],
      [3, 2, 11, 5],
    ];
    for (const [w, h, ow, oh] of sizes) {
      const data = w * h > 100000 ? scene(w, h).map((v, i) => (v + (i % 7) * 9) & 255) : noise(w * h * 3, w + h);
      const src = path.join(dir, `${w}x${h}.rgb`);
      writeFileSync(src, data);
      for (const filter of FILTERS) cases.push({ w, h, ow, oh, filter, src, dst: path.join(dir, `${w}x${h}-${ow}x${oh}-${filter}.rgb`), data });
    }
    const jobs = path.join(dir, "jobs.json");
    writeFileSync(jobs, JSON.stringify(cases.map(({ data: _data, ...c }) => c)));
    execFileSync("/usr/bin/python3", ["-c", PIL_SCRIPT, jobs], { stdio: ["ignore", "ignore", "pipe"] });
    for (const c of cases) {
      const pil = new Uint8Array(readFileSync(c.dst));
      for (const r of backends) {
        const ours = r.resize(packedView({ width: c.w, height: c.h, data: c.data }), c.ow, c.oh, c.filter);
        assert.equal(maxDiff(ours, pil), 0, `${r.backend} ${c.filter} ${c.w}x${c.h} -> ${c.ow}x${c.oh}`);
      }
    }
    assert.deepEqual(
      resizeRgb8(packedView({ width: 3, height: 2, data: cases.at(-1)!.data }), 11, 5, "bicubic"),
      new Uint8Array(readFileSync(cases.at(-1)!.dst)),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

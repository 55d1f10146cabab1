// Pillow-exact image resizing for 8-bit, 3-channel images.
//
// The models were trained on frames resized by PIL's Image.resize (BILINEAR in the
// December 2025 models, BICUBIC elsewhere), so this reproduces Pillow's
// libImaging/Resample.c bit for bit rather than "some bilinear": a separable
// convolution whose filter is stretched by the scale factor when shrinking (so it
// antialiases), with per-output-pixel normalised coefficients turned into 22-bit
// fixed point, a horizontal pass into an 8-bit clipped intermediate, then a vertical
// pass. Rounding, the tap window and the pass order all change output levels, so
// each follows Pillow.
//
// Input is a StridedImage: a byte array plus strides and per-channel byte offsets.
// That one description covers packed rgb8/bgr8, row padding, rgba/bgra, mono8 (all
// three channels at the same byte), the high byte of mono16, a channel swap and the
// 90/180/270 degree rotations, so the horizontal pass reads the camera message's own
// byte layout and no decoded, swapped or rotated copy of the frame is ever made (the
// WebAssembly kernels in resample-wasm.ts get one plain memcpy of the message bytes).
import type { ResizeFilter, Rotation } from "./manifest.js";
import { createWasmKernels, type WasmKernels } from "./resample-wasm.js";

/** Pillow's fixed-point precision for 8-bit images: 32 - 8 - 2. */
export const PRECISION_BITS = 22;
const HALF = 1 << (PRECISION_BITS - 1);
/** Accumulators shifted down by PRECISION_BITS stay within this (Pillow's clip table range). */
const CLIP_OFFSET = 640;
const CLIP_SIZE = 2 * CLIP_OFFSET;

/**
 * A 3-channel 8-bit image addressed by strides. Pixel (x, y) channel c is
 * `data[offset + x * xStride + y * yStride + channels[c]]`. Strides may be negative.
 */
export interface StridedImage {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly offset: number;
  readonly xStride: number;
  readonly yStride: number;
  /** Byte offsets, relative to a pixel, of output channels 0, 1 and 2. */
  readonly channels: readonly [number, number, number];
}

/** Wraps packed HWC data (3 bytes per pixel, no padding), optionally swapping R and B. */
export function packedView(img: { width: number; height: number; data: Uint8Array }, swap = false): StridedImage {
  return {
    data: img.data,
    width: img.width,
    height: img.height,
    offset: 0,
    xStride: 3,
    yStride: img.width * 3,
    channels: swap ? [2, 1, 0] : [0, 1, 2],
  };
}

/** The view of `src` turned `rotate` degrees clockwise; no pixels move. */
export function rotateView(src: StridedImage, rotate: Rotation): StridedImage {
  const { width: w, height: h, offset, xStride: xs, yStride: ys } = src;
  switch (rotate) {
    case 0:
      return src;
    // Clockwise 90: output (x, y) is input (y, h-1-x), so the top-left comes from the bottom-left.
    case 90:
      return { ...src, width: h, height: w, offset: offset + (h - 1) * ys, xStride: -ys, yStride: xs };
    case 180:
      return { ...src, offset: offset + (w - 1) * xs + (h - 1) * ys, xStride: -xs, yStride: -ys };
    // Clockwise 270: output (x, y) is input (w-1-y, x), so the top-left comes from the top-right.
    case 270:
      return { ...src, width: h, height: w, offset: offset + (w - 1) * xs, xStride: ys, yStride: -xs };
    default:
      throw new RangeError(`rotation: expected 0, 90, 180 or 270 degrees, got ${String(rotate)}`);
  }
}

/** Fixed-point filter taps for one axis: output i reads count[i] inputs from start[i]. */
export interface Coefficients {
  readonly inSize: number;
  readonly outSize: number;
  readonly filter: ResizeFilter;
  readonly start: Int32Array;
  readonly count: Int32Array;
  /** Row-major, `ksize` entries per output, the first count[i] used. */
  readonly weights: Int32Array;
  readonly ksize: number;
  /** Range of inputs any output reads: [first, end). */
  readonly first: number;
  readonly end: number;
}

function bilinear(x: number): number {
  if (x < 0.0) x = -x;
  if (x < 1.0) return 1.0 - x;
  return 0.0;
}

// Keys cubic with a = -0.5, written in Pillow's operation order so the doubles agree.
function bicubic(x: number): number {
  const a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

const FILTERS: Record<ResizeFilter, { fn: (x: number) => number; support: number }> = {
  bilinear: { fn: bilinear, support: 1.0 },
  bicubic: { fn: bicubic, support: 2.0 },
};

function computeCoefficients(inSize: number, outSize: number, filter: ResizeFilter): Coefficients {
  const f = FILTERS[filter];
  if (!f) throw new RangeError(`resize filter: expected "bilinear" or "bicubic", got ${JSON.stringify(filter)}`);
  // Same double arithmetic, in the same order, as Pillow's precompute_coeffs.
  const scale = inSize / outSize;
  const filterscale = scale < 1.0 ? 1.0 : scale;
  const support = f.support * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const ss = 1.0 / filterscale;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  let first = inSize;
  let end = 0;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C's (int) cast truncates toward zero; negatives clamp to 0 right after anyway.
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0.0;
    for (let x = 0; x < xmax; x++) {
      const w = f.fn((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    // Pillow's normalize_coeffs_8bpc: round half away from zero, then truncate.
    const fixed: number[] = [];
    for (let x = 0; x < xmax; x++) {
      const v = ww !== 0.0 ? k[x]! / ww : k[x]!;
      fixed.push(v < 0 ? Math.trunc(-0.5 + v * (1 << PRECISION_BITS)) : Math.trunc(0.5 + v * (1 << PRECISION_BITS)));
    }
    // Zero taps add nothing to the sum, so dropping them at the ends saves MACs and
    // (for unscaled axes) turns the pass into a 1-tap copy without changing a level.
    let lo = 0;
    let hi = xmax;
    while (lo < hi && fixed[lo] === 0) lo++;
    while (hi > lo && fixed[hi - 1] === 0) hi--;
    start[xx] = xmin + lo;
    count[xx] = hi - lo;
    for (let x = lo; x < hi; x++) weights[xx * ksize + x - lo] = fixed[x]!;
    if (hi > lo) {
      first = Math.min(first, xmin + lo);
      end = Math.max(end, xmin + hi);
    }
  }
  if (end <= first) {
    first = 0;
    end = Math.min(1, inSize);
  }
  return { inSize, outSize, filter, start, count, weights, ksize, first, end };
}

const cache = new Map<string, Coefficients>();
const CACHE_LIMIT = 32;

/** Pillow's tap table for resizing one axis from inSize to outSize; cached. */
export function coefficients(inSize: number, outSize: number, filter: ResizeFilter): Coefficients {
  const key = `${filter}:${inSize}:${outSize}`;
  let c = cache.get(key);
  if (!c) {
    // A stream of ever-changing frame sizes must not grow this without bound.
    if (cache.size >= CACHE_LIMIT) cache.clear();
    c = computeCoefficients(inSize, outSize, filter);
    cache.set(key, c);
  }
  return c;
}

/** 256-entry (per channel) mapping from an output level to the value written. */
export type LevelTables = readonly [Float32Array, Float32Array, Float32Array];

/**
 * Per-channel tables indexed by an accumulator shifted down by PRECISION_BITS plus
 * CLIP_OFFSET: clipping to [0, 255] and the level-to-value mapping become one lookup.
 */
function clipTables(levels: LevelTables): [Float32Array, Float32Array, Float32Array] {
  return levels.map((t) => {
    if (t.length !== 256) throw new RangeError(`level table: expected 256 entries, got ${t.length}`);
    const c = new Float32Array(CLIP_SIZE);
    for (let i = 0; i < CLIP_SIZE; i++) {
      const v = i - CLIP_OFFSET;
      c[i] = t[v < 0 ? 0 : v > 255 ? 255 : v]!;
    }
    return c;
  }) as [Float32Array, Float32Array, Float32Array];
}

function checkSize(what: string, n: number): void {
  if (!Number.isInteger(n) || n <= 0) throw new RangeError(`${what}: expected a positive integer, got ${n}`);
}

export type ResampleBackend = "wasm" | "js";

const align16 = (n: number) => (n + 15) & ~15;

/**
 * A Coefficients table as the wasm kernels read it: starts, counts, then weights
 * splatted to 4 lanes (the horizontal kernel gets starts and counts through its
 * per-call tap list instead, as those depend on the view's stride).
 */
function wasmTable(c: Coefficients, startBias: number): Int32Array {
  const n = c.outSize;
  const t = new Int32Array(2 * n + n * c.ksize * 4);
  for (let i = 0; i < n; i++) {
    t[i] = c.start[i]! - startBias;
    t[n + i] = c.count[i]!;
    for (let k = 0; k < c.ksize; k++) t.fill(c.weights[i * c.ksize + k]!, 2 * n + (i * c.ksize + k) * 4, 2 * n + (i * c.ksize + k) * 4 + 4);
  }
  return t;
}
// Horizontal tables index the source directly; vertical ones count rows from the
// first row the horizontal pass produced. A size pair can serve either role.
const wasmTablesH = new WeakMap<Coefficients, Int32Array>();
const wasmTablesV = new WeakMap<Coefficients, Int32Array>();
function wasmTableOf(c: Coefficients, role: "h" | "v"): Int32Array {
  const map = role === "h" ? wasmTablesH : wasmTablesV;
  let t = map.get(c);
  if (!t) {
    t = wasmTable(c, role === "h" ? 0 : c.first);
    map.set(c, t);
  }
  return t;
}

/** Drives the SIMD kernels: lays buffers out in the instance's memory and calls them. */
class WasmResampler {
  private readonly k: WasmKernels;
  private lut: LevelTables | null = null;

  constructor(k: WasmKernels) {
    this.k = k;
  }

  /** Runs both passes; returns where the RGBx output (and the floats) are, or null if memory cannot grow. */
  run(src: StridedImage, outW: number, outH: number, filter: ResizeFilter, levels: LevelTables | null) {
    const hc = coefficients(src.width, outW, filter);
    const vc = coefficients(src.height, outH, filter);
    const ht = wasmTableOf(hc, "h");
    const vt = wasmTableOf(vc, "v");
    const rows = vc.end - vc.first;
    const stride = align16(outW * 4);
    const MASK = 0;
    const LUT = 16;
    const HT = align16(LUT + 3 * 256 * 4);
    const TAPS = align16(HT + ht.byteLength);
    const VT = align16(TAPS + outW * 12);
    const TMP = align16(VT + vt.byteLength);
    const OUT = align16(TMP + rows * stride);
    const DST = align16(OUT + outH * stride);
    const SRC = align16(DST + (levels ? outW * outH * 12 : 0));
    const total = SRC + src.data.length + 16;
    const mem = this.k.memory;
    if (mem.buffer.byteLength < total) {
      try {
        mem.grow(Math.ceil((total - mem.buffer.byteLength) / 65536));
      } catch {
        // Past the 4 GiB a 32-bit wasm memory can hold: the caller uses the JS kernels.
        return null;
      }
    }
    const buf = mem.buffer;
    const bytes = new Uint8Array(buf);
    bytes.set(src.data, SRC);
    new Int32Array(buf, HT, ht.length).set(ht);
    new Int32Array(buf, VT, vt.length).set(vt);
    const [c0, c1, c2] = src.channels;
    bytes.set([c0, 128, 128, 128, c1, 128, 128, 128, c2, 128, 128, 128, 128, 128, 128, 128], MASK);
    if (levels && this.lut !== levels) {
      const lut = new Float32Array(buf, LUT, 768);
      lut.set(levels[0], 0);
      lut.set(levels[1], 256);
      lut.set(levels[2], 512);
      this.lut = levels;
    }
    // Per output column: source byte offset of its first tap, and its weights' address range.
    const taps = new Int32Array(buf, TAPS, outW * 3);
    const W = HT + 8 * outW;
    for (let x = 0; x < outW; x++) {
      taps[3 * x] = hc.start[x]! * src.xStride;
      taps[3 * x + 1] = W + x * hc.ksize * 16;
      taps[3 * x + 2] = W + x * hc.ksize * 16 + hc.count[x]! * 16;
    }
    const base = SRC + src.offset + vc.first * src.yStride;
    const h = Math.abs(src.xStride) <= Math.abs(src.yStride) ? this.k.hrow : this.k.hcol;
    h(base, src.xStride, src.yStride, MASK, rows, outW, TAPS, TMP, stride);
    const m = vc.outSize;
    this.k.vert(TMP, stride, outH, VT, VT + 4 * m, VT + 8 * m, vc.ksize * 16, OUT, stride / 16);
    if (levels) this.k.planar(OUT, stride, outW, outH, LUT, DST);
    return { buf, out: OUT, stride, dst: DST };
  }
}

/**
 * Resizes StridedImages the way Pillow does, keeping its buffers between calls. Uses
 * WebAssembly SIMD kernels where available, else JavaScript ones; both compute the
 * same integers. Not re-entrant (it is synchronous, so one instance per thread is safe).
 */
export class Resampler {
  readonly backend: ResampleBackend;
  private readonly wasm: WasmResampler | null;
  private tmp = new Uint8ClampedArray(0);
  private tablesFor: LevelTables | null = null;
  private tables: [Float32Array, Float32Array, Float32Array] | null = null;

  /** @param backend "wasm" throws if WebAssembly SIMD is unavailable; "auto" (default) falls back to "js". */
  constructor(backend: ResampleBackend | "auto" = "auto") {
    const k = backend === "js" ? null : createWasmKernels();
    if (backend === "wasm" && !k) throw new Error("WebAssembly SIMD is not available in this runtime");
    this.wasm = k ? new WasmResampler(k) : null;
    this.backend = k ? "wasm" : "js";
  }

  /** Resized image as packed HWC bytes in the view's channel order. */
  resize(src: StridedImage, outW: number, outH: number, filter: ResizeFilter, out?: Uint8Array): Uint8Array {
    checkArgs(src, outW, outH);
    const o = out ?? new Uint8Array(outW * outH * 3);
    if (o.length < outW * outH * 3) throw new RangeError(`output: needs ${outW * outH * 3} bytes, got ${o.length}`);
    const r = this.wasm?.run(src, outW, outH, filter, null);
    if (r) {
      const img = new Uint8Array(r.buf, r.out, outH * r.stride);
      let i = 0;
      for (let y = 0; y < outH; y++) {
        let p = y * r.stride;
        for (let x = 0; x < outW; x++, p += 4) {
          o[i++] = img[p]!;
          o[i++] = img[p + 1]!;
          o[i++] = img[p + 2]!;
        }
      }
      return o;
    }
    const { tmp, rowLen, vc } = this.horizontalPass(src, outW, outH, filter);
    verticalPacked(tmp, rowLen, vc, o);
    return o;
  }

  /**
   * Resizes and writes planar (CHW) floats: out[c * outH * outW + y * outW + x] =
   * levels[c][level], where level is the Pillow output of channel c. The last pass
   * writes the floats directly, so no 8-bit output image is built. Without `out`, a
   * new array is returned.
   */
  resizePlanar(src: StridedImage, outW: number, outH: number, filter: ResizeFilter, levels: LevelTables, out?: Float32Array): Float32Array {
    checkArgs(src, outW, outH);
    const size = outW * outH * 3;
    if (out && out.length < size) throw new RangeError(`output: needs ${size} floats, got ${out.length}`);
    for (const t of levels) if (t.length !== 256) throw new RangeError(`level table: expected 256 entries, got ${t.length}`);
    const r = this.wasm?.run(src, outW, outH, filter, levels);
    if (r) {
      // A fresh array is one copy out of wasm memory, without zero-filling it first.
      if (!out) return new Float32Array(r.buf.slice(r.dst, r.dst + size * 4));
      out.set(new Float32Array(r.buf, r.dst, size));
      return out;
    }
    out ??= new Float32Array(size);
    if (this.tablesFor !== levels || !this.tables) {
      this.tables = clipTables(levels);
      this.tablesFor = levels;
    }
    const { tmp, rowLen, vc } = this.horizontalPass(src, outW, outH, filter);
    verticalPlanar(tmp, rowLen, vc, this.tables, out);
    return out;
  }

  private horizontalPass(src: StridedImage, outW: number, outH: number, filter: ResizeFilter) {
    const hc = coefficients(src.width, outW, filter);
    const vc = coefficients(src.height, outH, filter);
    const rows = vc.end - vc.first;
    const rowLen = outW * 3;
    if (this.tmp.length < rows * rowLen) this.tmp = new Uint8ClampedArray(rows * rowLen);
    const tmp = this.tmp;
    // A column-major walk keeps the source reads sequential when the view is rotated
    // by 90/270 (x then runs down the source's rows); the sums are the same either way.
    if (Math.abs(src.xStride) <= Math.abs(src.yStride)) horizontalByRow(src, hc, vc.first, rows, tmp);
    else horizontalByColumn(src, hc, vc.first, rows, tmp);
    return { tmp, rowLen, vc };
  }
}

function checkArgs(src: StridedImage, outW: number, outH: number): void {
  checkSize("output width", outW);
  checkSize("output height", outH);
  checkSize("input width", src.width);
  checkSize("input height", src.height);
  for (const k of ["offset", "xStride", "yStride"] as const) {
    if (!Number.isInteger(src[k])) throw new RangeError(`strided image: ${k} must be an integer, got ${src[k]}`);
  }
  const [c0, c1, c2] = src.channels;
  for (const c of [c0, c1, c2]) {
    if (!Number.isInteger(c) || c < 0 || c > 3) throw new RangeError(`channels: byte offsets must be integers in [0, 3], got ${src.channels.join(", ")}`);
  }
  // Every pixel's bytes must lie inside data: checking the four corners suffices
  // because addresses are affine in x and y.
  const last = Math.max(c0, c1, c2);
  for (const [x, y] of [
    [0, 0],
    [src.width - 1, 0],
    [0, src.height - 1],
    [src.width - 1, src.height - 1],
  ] as const) {
    const p = src.offset + x * src.xStride + y * src.yStride;
    if (p < 0 || p + last >= src.data.length)
      throw new RangeError(`strided image: pixel (${x}, ${y}) at byte ${p} is outside data of ${src.data.length} bytes`);
  }
}

function horizontalByRow(src: StridedImage, hc: Coefficients, yFirst: number, rows: number, tmp: Uint8ClampedArray): void {
  const { data, xStride, yStride } = src;
  const base0 = src.offset + src.channels[0];
  const d1 = src.channels[1] - src.channels[0];
  const d2 = src.channels[2] - src.channels[0];
  const { start, count, weights, ksize } = hc;
  const outW = hc.outSize;
  let o = 0;
  for (let y = 0; y < rows; y++) {
    const rowBase = base0 + (y + yFirst) * yStride;
    for (let xx = 0; xx < outW; xx++) {
      let p = rowBase + start[xx]! * xStride;
      const n = count[xx]!;
      let k = xx * ksize;
      let s0 = HALF;
      let s1 = HALF;
      let s2 = HALF;
      for (let t = 0; t < n; t++) {
        const w = weights[k++]!;
        s0 = (s0 + data[p]! * w) | 0;
        s1 = (s1 + data[p + d1]! * w) | 0;
        s2 = (s2 + data[p + d2]! * w) | 0;
        p += xStride;
      }
      // Uint8ClampedArray clips to [0, 255] on store, as Pillow's clip8 does.
      tmp[o] = s0 >> PRECISION_BITS;
      tmp[o + 1] = s1 >> PRECISION_BITS;
      tmp[o + 2] = s2 >> PRECISION_BITS;
      o += 3;
    }
  }
}

function horizontalByColumn(src: StridedImage, hc: Coefficients, yFirst: number, rows: number, tmp: Uint8ClampedArray): void {
  const { data, xStride, yStride } = src;
  const base0 = src.offset + src.channels[0] + yFirst * yStride;
  const d1 = src.channels[1] - src.channels[0];
  const d2 = src.channels[2] - src.channels[0];
  const { start, count, weights, ksize } = hc;
  const outW = hc.outSize;
  const rowLen = outW * 3;
  for (let xx = 0; xx < outW; xx++) {
    const colBase = base0 + start[xx]! * xStride;
    const n = count[xx]!;
    const k0 = xx * ksize;
    let o = xx * 3;
    for (let y = 0; y < rows; y++) {
      let p = colBase + y * yStride;
      let k = k0;
      let s0 = HALF;
      let s1 = HALF;
      let s2 = HALF;
      for (let t = 0; t < n; t++) {
        const w = weights[k++]!;
        s0 = (s0 + data[p]! * w) | 0;
        s1 = (s1 + data[p + d1]! * w) | 0;
        s2 = (s2 + data[p + d2]! * w) | 0;
        p += xStride;
      }
      tmp[o] = s0 >> PRECISION_BITS;
      tmp[o + 1] = s1 >> PRECISION_BITS;
      tmp[o + 2] = s2 >> PRECISION_BITS;
      o += rowLen;
    }
  }
}

function verticalPacked(tmp: Uint8ClampedArray, rowLen: number, vc: Coefficients, out: Uint8Array): void {
  const { start, count, weights, ksize } = vc;
  const first = vc.first;
  let o = 0;
  for (let yy = 0; yy < vc.outSize; yy++) {
    const n = count[yy]!;
    const k0 = yy * ksize;
    const rowBase = (start[yy]! - first) * rowLen;
    for (let i = 0; i < rowLen; i++) {
      let p = rowBase + i;
      let s = HALF;
      for (let t = 0; t < n; t++) {
        s = (s + tmp[p]! * weights[k0 + t]!) | 0;
        p += rowLen;
      }
      const v = s >> PRECISION_BITS;
      out[o++] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
}

function verticalPlanar(tmp: Uint8ClampedArray, rowLen: number, vc: Coefficients, tables: [Float32Array, Float32Array, Float32Array], out: Float32Array): void {
  const [t0, t1, t2] = tables;
  const { start, count, weights, ksize } = vc;
  const first = vc.first;
  const outW = rowLen / 3;
  const plane = outW * vc.outSize;
  for (let yy = 0; yy < vc.outSize; yy++) {
    const n = count[yy]!;
    const k0 = yy * ksize;
    const rowBase = (start[yy]! - first) * rowLen;
    let o = yy * outW;
    for (let xx = 0; xx < outW; xx++) {
      let p = rowBase + xx * 3;
      let s0 = HALF;
      let s1 = HALF;
      let s2 = HALF;
      for (let t = 0; t < n; t++) {
        const w = weights[k0 + t]!;
        s0 = (s0 + tmp[p]! * w) | 0;
        s1 = (s1 + tmp[p + 1]! * w) | 0;
        s2 = (s2 + tmp[p + 2]! * w) | 0;
        p += rowLen;
      }
      out[o] = t0[(s0 >> PRECISION_BITS) + CLIP_OFFSET]!;
      out[o + plane] = t1[(s1 >> PRECISION_BITS) + CLIP_OFFSET]!;
      out[o + 2 * plane] = t2[(s2 >> PRECISION_BITS) + CLIP_OFFSET]!;
      o++;
    }
  }
}

let shared: Resampler | undefined;

/** One-off Pillow resize of a StridedImage to packed HWC bytes (shares one scratch buffer). */
export function resizeRgb8(src: StridedImage, outW: number, outH: number, filter: ResizeFilter): Uint8Array {
  shared ??= new Resampler();
  return shared.resize(src, outW, outH, filter);
}

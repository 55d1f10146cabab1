// WebAssembly SIMD kernels for the Pillow resampler in resample.ts.
//
// Plain JavaScript ran Pillow's integer convolution at 1-4 ns per multiply-add on the
// 2-core development machine: 6-9 ms for a 640x480 frame, against a 2 ms budget.
// 128-bit SIMD (in Node since v16, no flags) does one tap for all three channels in a
// handful of instructions. The module is assembled here from a few hundred bytes of opcodes, so
// there is no toolchain, binary blob or build step. The arithmetic is the same
// 32-bit integer arithmetic as the JavaScript kernels (which stay as the fallback
// and as a cross-check in the tests): same products, same sums, same clipping.
//
// Layouts inside the module's memory:
// - the intermediate and output images are 4 bytes per pixel (R, G, B, unused), rows
//   padded to 16 bytes, like Pillow's own 4-byte pixels, so the vertical pass works
//   on 16 bytes at a time;
// - weights are stored splatted (4 x int32 per tap) so a tap is one v128.load;
// - a source pixel is read as 4 bytes whatever its size, so the copied message
//   bytes are followed by 16 bytes of slack.

// ---- a minimal assembler ---------------------------------------------------------

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const I32 = 0x7f;
const V128 = 0x7b;

/** Emits one function body; locals are numbered after the parameters. */
class Body {
  readonly b: number[] = [];
  private readonly localTypes: number[] = [];
  constructor(private readonly nParams: number) {}

  local(type: number): number {
    this.localTypes.push(type);
    return this.nParams + this.localTypes.length - 1;
  }
  get(i: number): this {
    this.b.push(0x20, ...uleb(i));
    return this;
  }
  set(i: number): this {
    this.b.push(0x21, ...uleb(i));
    return this;
  }
  tee(i: number): this {
    this.b.push(0x22, ...uleb(i));
    return this;
  }
  i32(n: number): this {
    this.b.push(0x41, ...sleb(n));
    return this;
  }
  add(): this {
    this.b.push(0x6a);
    return this;
  }
  sub(): this {
    this.b.push(0x6b);
    return this;
  }
  mul(): this {
    this.b.push(0x6c);
    return this;
  }
  ltS(): this {
    this.b.push(0x48);
    return this;
  }
  geS(): this {
    this.b.push(0x4e);
    return this;
  }
  ltU(): this {
    this.b.push(0x49);
    return this;
  }
  geU(): this {
    this.b.push(0x4f);
    return this;
  }
  load(): this {
    this.b.push(0x28, 2, 0);
    return this;
  }
  load8u(offset = 0): this {
    this.b.push(0x2d, 0, ...uleb(offset));
    return this;
  }
  store(): this {
    this.b.push(0x36, 2, 0);
    return this;
  }
  f32load(): this {
    this.b.push(0x2a, 2, 0);
    return this;
  }
  f32store(offset = 0): this {
    this.b.push(0x38, 2, ...uleb(offset));
    return this;
  }
  simd(op: number, ...imm: number[]): this {
    this.b.push(0xfd, ...uleb(op), ...imm);
    return this;
  }
  v128load(): this {
    return this.simd(0x00, 0, 0);
  }
  v128store(): this {
    return this.simd(0x0b, 0, 0);
  }
  v128const(lanes32: [number, number, number, number]): this {
    const bytes = new Uint8Array(new Int32Array(lanes32).buffer);
    return this.simd(0x0c, ...bytes);
  }

  /** `v = v + step` */
  inc(v: number, step: number): this {
    return this.get(v).i32(step).add().set(v);
  }

  /** for (i = 0; i < n; i++) body(), skipping the body when n <= 0. */
  for(i: number, n: number, body: () => void): this {
    return this.forStep(i, n, 1, body);
  }

  /** for (i = 0; i < n; i += step) body(). */
  forStep(i: number, n: number, step: number, body: () => void): this {
    this.i32(0).set(i);
    this.b.push(0x02, 0x40); // block
    this.get(i).get(n).geS().b.push(0x0d, 0); // br_if exit
    this.b.push(0x03, 0x40); // loop
    body();
    this.get(i).i32(step).add().tee(i).get(n).ltS().b.push(0x0d, 0); // br_if loop
    this.b.push(0x0b, 0x0b); // end loop, end block
    return this;
  }

  /** Pops c, b, a; pushes c ? a : b. */
  select(): this {
    this.b.push(0x1b);
    return this;
  }

  /** while (p < end) { body(); } for unsigned addresses, tested before the first pass. */
  whileBelow(p: number, end: number, body: () => void): this {
    this.b.push(0x02, 0x40);
    this.get(p).get(end).geU().b.push(0x0d, 0);
    this.b.push(0x03, 0x40);
    body();
    this.get(p).get(end).ltU().b.push(0x0d, 0);
    this.b.push(0x0b, 0x0b);
    return this;
  }

  encode(): number[] {
    const groups: number[] = [];
    for (const t of this.localTypes) groups.push(1, t);
    const body = [...uleb(this.localTypes.length), ...groups, ...this.b, 0x0b];
    return [...uleb(body.length), ...body];
  }
}

// SIMD opcodes used below (WebAssembly SIMD, final numbering).
const SWIZZLE = 0x0e;
const EXTRACT_LANE_I32 = 0x1b;
const LOAD32_ZERO = 0x5c;
const NARROW_I16_TO_U8 = 0x66;
const NARROW_I32_TO_I16 = 0x85;
const EXTEND_LOW_U8 = 0x89;
const EXTEND_HIGH_U8 = 0x8a;
const EXTEND_LOW_U16 = 0xa9;
const EXTEND_HIGH_U16 = 0xaa;
const SHR_S_I32 = 0xac;
const ADD_I32 = 0xae;
const MUL_I32 = 0xb5;

const PRECISION_BITS = 22;
const HALF = 1 << (PRECISION_BITS - 1);

/** Pushes a v128 whose low 4 bytes are clip8(acc >> 22) of acc's 4 lanes; acc is clobbered. */
function clipToBytes(f: Body, acc: number): void {
  f.get(acc).i32(PRECISION_BITS).simd(SHR_S_I32).set(acc);
  // Saturating narrows: i32 -> i16 keeps the value (it is within +-1024), i16 -> u8 clips to [0, 255].
  f.get(acc).get(acc).simd(NARROW_I32_TO_I16);
  f.get(acc).get(acc).simd(NARROW_I32_TO_I16);
  f.simd(NARROW_I16_TO_U8);
}

/** Output rows the horizontal pass computes together. */
const GROUP = 4;

/**
 * GROUP output pixels of the horizontal pass that share their weights (same column,
 * rows y .. y+GROUP-1): taps from p[k] advancing by xStride, weights from wp to wend,
 * results stored as 4 bytes at o[k]. Grouping shares the weight loads and the
 * per-pixel bookkeeping and gives the CPU independent accumulator chains.
 */
function horizontalGroup(f: Body, L: { p: number[]; wp: number; wend: number; xStride: number; mask: number; acc: number[]; w: number; o: number[] }): void {
  for (const a of L.acc) f.v128const([HALF, HALF, HALF, HALF]).set(a);
  f.whileBelow(L.wp, L.wend, () => {
    f.get(L.wp).v128load().set(L.w);
    for (let k = 0; k < GROUP; k++) {
      // One pixel's bytes -> lanes (c0, c1, c2, 0) as int32; the mask also reorders channels.
      f.get(L.acc[k]!).get(L.p[k]!).simd(LOAD32_ZERO, 0, 0).get(L.mask).simd(SWIZZLE).get(L.w).simd(MUL_I32).simd(ADD_I32).set(L.acc[k]!);
      f.get(L.p[k]!).get(L.xStride).add().set(L.p[k]!);
    }
    f.inc(L.wp, 16);
  });
  for (let k = 0; k < GROUP; k++) {
    f.get(L.o[k]!);
    clipToBytes(f, L.acc[k]!);
    f.simd(EXTRACT_LANE_I32, 0).store();
  }
}

// hrow/hcol(src, xStride, yStride, maskPtr, rows, outW, taps, tmp, tmpStride)
// src points at pixel (0, first row); taps holds per output column [start * xStride,
// first weight address, end weight address]. hrow walks row by row, hcol column by
// column (sequential source reads for 90/270 degree views); both take GROUP rows at once.
function horizontal(byColumn: boolean): Body {
  const f = new Body(9);
  const [src, xStride, yStride, maskPtr, rows, outW, taps, tmp, tmpStride] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const y = f.local(I32),
    xx = f.local(I32),
    wp = f.local(I32),
    wend = f.local(I32),
    tp = f.local(I32),
    last = f.local(I32);
  const p = Array.from({ length: GROUP }, () => f.local(I32));
  const o = Array.from({ length: GROUP }, () => f.local(I32));
  const dy = Array.from({ length: GROUP }, () => f.local(I32));
  const dyOut = Array.from({ length: GROUP }, () => f.local(I32));
  const mask = f.local(V128),
    w = f.local(V128);
  const acc = Array.from({ length: GROUP }, () => f.local(V128));
  const L = { p, wp, wend, xStride, mask, acc, w, o };
  f.get(maskPtr).v128load().set(mask);
  // Row k of a group is y + min(k, rows - 1 - y): past the end, the last row is redone.
  const groupDeltas = () => {
    f.get(rows).get(y).i32(1).add().sub().set(last); // rows after y
    for (let k = 1; k < GROUP; k++) {
      f.i32(k).get(last).i32(k).get(last).ltS().select().tee(dy[k]!).get(tmpStride).mul().set(dyOut[k]!);
      f.get(dy[k]!).get(yStride).mul().set(dy[k]!);
    }
  };
  const pixelGroup = () => {
    f.get(taps).get(xx).i32(12).mul().add().set(tp);
    f.get(src).get(y).get(yStride).mul().add().get(tp).load().add().set(p[0]!);
    for (let k = 1; k < GROUP; k++) f.get(p[0]!).get(dy[k]!).add().set(p[k]!);
    f.get(tp).i32(4).add().load().set(wp);
    f.get(tp).i32(8).add().load().set(wend);
    for (let k = 1; k < GROUP; k++) f.get(o[0]!).get(dyOut[k]!).add().set(o[k]!);
    horizontalGroup(f, L);
  };
  if (!byColumn) {
    f.forStep(y, rows, GROUP, () => {
      groupDeltas();
      f.get(tmp).get(y).get(tmpStride).mul().add().set(o[0]!);
      f.for(xx, outW, () => {
        pixelGroup();
        f.inc(o[0]!, 4);
      });
    });
  } else {
    f.for(xx, outW, () => {
      f.forStep(y, rows, GROUP, () => {
        groupDeltas();
        f.get(tmp).get(y).get(tmpStride).mul().add().get(xx).i32(4).mul().add().set(o[0]!);
        pixelGroup();
      });
    });
  }
  return f;
}

// vert(tmp, tmpStride, outH, starts, counts, weights, ksize16, out, chunks)
// starts are row indices into tmp; out rows have the same stride (chunks * 16 = tmpStride).
function vertical(): Body {
  const f = new Body(9);
  const [tmp, tmpStride, outH, starts, counts, weights, ksize16, out, chunks] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const yy = f.local(I32),
    c = f.local(I32),
    q = f.local(I32),
    wp = f.local(I32),
    wend = f.local(I32);
  const w0 = f.local(I32),
    rowp = f.local(I32),
    op = f.local(I32);
  const a0 = f.local(V128),
    a1 = f.local(V128),
    a2 = f.local(V128),
    a3 = f.local(V128);
  const v = f.local(V128),
    w = f.local(V128),
    lo = f.local(V128),
    hi = f.local(V128);
  f.get(out).set(op);
  f.for(yy, outH, () => {
    f.get(weights).get(yy).get(ksize16).mul().add().set(w0);
    f.get(counts).get(yy).i32(4).mul().add().load().i32(16).mul().get(w0).add().set(wend);
    f.get(starts).get(yy).i32(4).mul().add().load().get(tmpStride).mul().get(tmp).add().set(rowp);
    f.for(c, chunks, () => {
      for (const a of [a0, a1, a2, a3]) f.v128const([HALF, HALF, HALF, HALF]).set(a);
      f.get(rowp).get(c).i32(16).mul().add().set(q);
      f.get(w0).set(wp);
      f.whileBelow(wp, wend, () => {
        f.get(q).v128load().set(v);
        f.get(wp).v128load().set(w);
        f.get(v).simd(EXTEND_LOW_U8).set(lo);
        f.get(v).simd(EXTEND_HIGH_U8).set(hi);
        const mac = (a: number, half: number, op: number) => {
          f.get(a).get(half).simd(op).get(w).simd(MUL_I32).simd(ADD_I32).set(a);
        };
        mac(a0, lo, EXTEND_LOW_U16);
        mac(a1, lo, EXTEND_HIGH_U16);
        mac(a2, hi, EXTEND_LOW_U16);
        mac(a3, hi, EXTEND_HIGH_U16);
        f.get(q).get(tmpStride).add().set(q);
        f.inc(wp, 16);
      });
      f.get(op);
      for (const [x, y] of [
        [a0, a1],
        [a2, a3],
      ] as const) {
        f.get(x).i32(PRECISION_BITS).simd(SHR_S_I32).get(y).i32(PRECISION_BITS).simd(SHR_S_I32).simd(NARROW_I32_TO_I16);
      }
      f.simd(NARROW_I16_TO_U8).v128store();
      f.inc(op, 16);
    });
  });
  return f;
}

// planar(img, stride, outW, outH, lut, dst): dst[c][y][x] = lut[c * 256 + img[y][x][c]] as f32.
function planar(): Body {
  const f = new Body(6);
  const [img, stride, outW, outH, lut, dst] = [0, 1, 2, 3, 4, 5];
  const y = f.local(I32),
    x = f.local(I32),
    px = f.local(I32),
    d = f.local(I32),
    plane = f.local(I32);
  f.get(outW).get(outH).mul().i32(4).mul().set(plane);
  f.get(dst).set(d);
  f.for(y, outH, () => {
    f.get(img).get(y).get(stride).mul().add().set(px);
    f.for(x, outW, () => {
      for (let ch = 0; ch < 3; ch++) {
        // address: d + ch * plane
        f.get(d);
        for (let k = 0; k < ch; k++) f.get(plane).add();
        f.get(px)
          .load8u(ch)
          .i32(4)
          .mul()
          .get(lut)
          .add()
          .i32(ch * 1024)
          .add()
          .f32load();
        f.f32store();
      }
      f.inc(px, 4);
      f.inc(d, 4);
    });
  });
  return f;
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function name(s: string): number[] {
  const b = [...new TextEncoder().encode(s)];
  return [...uleb(b.length), ...b];
}

function assemble(): Uint8Array {
  const fns: { name: string; params: number; body: Body }[] = [
    { name: "hrow", params: 9, body: horizontal(false) },
    { name: "hcol", params: 9, body: horizontal(true) },
    { name: "vert", params: 9, body: vertical() },
    { name: "planar", params: 6, body: planar() },
  ];
  const types = fns.map((f) => [0x60, ...vec(Array.from({ length: f.params }, () => [I32])), 0]);
  const bytes = [
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec(types)),
    ...section(3, vec(fns.map((_, i) => uleb(i)))),
    ...section(5, vec([[0x00, 1]])), // memory: 1 page, no maximum
    ...section(7, vec([...fns.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]), [...name("mem"), 0x02, 0]])),
    ...section(10, vec(fns.map((f) => f.body.encode()))),
  ];
  return new Uint8Array(bytes);
}

// The project's type libraries (ES2023 + node) do not describe WebAssembly, so the
// few members used here are typed locally.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

type I = number;
export interface WasmKernels {
  readonly memory: WasmMemory;
  hrow(src: I, xStride: I, yStride: I, maskPtr: I, rows: I, outW: I, taps: I, tmp: I, tmpStride: I): void;
  hcol(src: I, xStride: I, yStride: I, maskPtr: I, rows: I, outW: I, taps: I, tmp: I, tmpStride: I): void;
  vert(tmp: I, tmpStride: I, outH: I, starts: I, counts: I, weights: I, ksize16: I, out: I, chunks: I): void;
  planar(img: I, stride: I, outW: I, outH: I, lut: I, dst: I): void;
}

let compiled: object | null | undefined;

/**
 * A new instance of the kernels with its own memory, or null where WebAssembly SIMD
 * is unavailable (the caller then uses the JavaScript kernels).
 */
export function createWasmKernels(): WasmKernels | null {
  const wa = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (!wa) return null;
  if (compiled === undefined) {
    try {
      compiled = new wa.Module(assemble());
    } catch {
      compiled = null;
    }
  }
  if (compiled === null) return null;
  const e = new wa.Instance(compiled, {}).exports as unknown as WasmKernels & { mem: WasmMemory };
  return { memory: e.mem, hrow: e.hrow, hcol: e.hcol, vert: e.vert, planar: e.planar };
}

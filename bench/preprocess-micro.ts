// Scratch benchmark (not a test): preprocessing of a 640x480 rgb8 frame to 224x224,
// ours vs sharp's resize, speed and distance from the Pillow definition.
// Run: node --import tsx bench/preprocess-micro.ts [iterations]
import sharp from "sharp";
import type { RawImageMessage } from "../src/msgs/image.js";
import { DEFAULT_IMAGE, type ImageSpec, type ResizeFilter } from "../src/model/manifest.js";
import { Preprocessor } from "../src/model/preprocess.js";
import { packedView, resizeRgb8 } from "../src/model/resample.js";

const W = 640;
const H = 480;
const N = Number(process.argv[2] ?? 500);

function frame(): Uint8Array {
  // Smooth gradients plus hash noise: edges and texture, so rounding differences show.
  const d = new Uint8Array(W * H * 3);
  let s = 12345;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      for (let c = 0; c < 3; c++) {
        s = (Math.imul(s, 1103515245) + 12345) >>> 0;
        const noise = (s >>> 24) % 48;
        const base = c === 0 ? x * 0.3 : c === 1 ? y * 0.4 : ((x ^ y) & 32) * 5;
        d[(y * W + x) * 3 + c] = Math.min(255, Math.floor(base + noise));
      }
    }
  }
  return d;
}

function quantiles(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!.toFixed(3);
  return `p50 ${q(0.5)} p99 ${q(0.99)} max ${s[s.length - 1]!.toFixed(3)}`;
}

/** Wall time, and CPU time of this process (what the code costs when the 2 shared cores are busy elsewhere). */
function stats(t: { wall: number[]; cpu: number[] }): string {
  return `wall ms ${quantiles(t.wall)} | cpu ms ${quantiles(t.cpu)}`;
}

function timeSync(f: () => void): { wall: number[]; cpu: number[] } {
  for (let i = 0; i < 100; i++) f();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < N; i++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    f();
    wall.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wall, cpu };
}

async function timeAsync(f: () => Promise<unknown>): Promise<{ wall: number[]; cpu: number[] }> {
  for (let i = 0; i < 50; i++) await f();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < N; i++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await f();
    wall.push(Number(process.hrtime.bigint() - t0) / 1e6);
    // Includes libvips worker threads: sharp's cost to the machine, not just this thread.
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wall, cpu };
}

const data = frame();
const msg: RawImageMessage = { kind: "raw", width: W, height: H, encoding: "rgb8", step: W * 3, isBigEndian: false, data };

const backends = (process.env.BACKENDS ?? "wasm,js").split(",") as ("wasm" | "js")[];
for (const backend of backends) {
  for (const resize of ["bilinear", "bicubic"] as ResizeFilter[]) {
    for (const rotate of [0, 90, 180] as const) {
      const spec: ImageSpec = { ...DEFAULT_IMAGE, resize, rotate };
      const p = new Preprocessor(spec, { backend });
      console.log(`${backend} ${resize} rot${rotate} runRaw (fresh output):      ${stats(timeSync(() => p.runRaw(msg)))}`);
      if (rotate === 0) {
        const out = new Float32Array(p.size);
        console.log(`${backend} ${resize} rot0 runRaw(img, out) (reused output): ${stats(timeSync(() => p.runRaw(msg, out)))}`);
      }
    }
  }
}

const buf = Buffer.from(data.buffer, data.byteOffset, data.length);
for (const [filter, kernel] of [
  ["bilinear", "linear"],
  ["bicubic", "cubic"],
] as const) {
  const viaSharp = () =>
    sharp(buf, { raw: { width: W, height: H, channels: 3 } })
      .resize(224, 224, { fit: "fill", kernel })
      .raw()
      .toBuffer();
  console.log(`sharp ${kernel} resize only: ${stats(await timeAsync(viaSharp))}`);
  const ref = resizeRgb8(packedView({ width: W, height: H, data }), 224, 224, filter);
  const got = await viaSharp();
  let max = 0;
  let sum = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(ref[i]! - got[i]!);
    max = Math.max(max, d);
    sum += d;
  }
  console.log(`sharp ${kernel} vs Pillow ${filter}: max |diff| ${max} levels, mean ${(sum / ref.length).toFixed(3)}`);
}

// Compressed path for reference: sharp decodes the JPEG, then the same resampler.
const jpeg = new Uint8Array(
  await sharp(buf, { raw: { width: W, height: H, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer(),
);
const pj = new Preprocessor(DEFAULT_IMAGE);
console.log(
  `jpeg ${jpeg.length} bytes -> run(): ${stats(await timeAsync(() => pj.run({ kind: "compressed", format: "bgr8; jpeg compressed bgr8", data: jpeg })))}`,
);

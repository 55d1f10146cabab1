// Recorder throughput for `mobile-vla bench`: how many MB/s of raw frames the episode
// writer turns into a finished, fsynced episode file. A 640x480 camera at 30 fps
// is 27.6 MB/s, the figure the uncompressed path has to beat.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { EpisodeWriter } from "../src/episodes/episode-writer.js";

export interface RecorderBenchOptions {
  frames?: number;
  width?: number;
  height?: number;
  gzip?: number | boolean;
  /** Folder for the temporary episode (default the OS temp dir); the file is deleted after. */
  dir?: string;
}

export interface RecorderBenchResult {
  frames: number;
  width: number;
  height: number;
  gzip: number | null;
  seconds: number;
  /** Raw frame bytes written, in MB (1e6 bytes). */
  megabytes: number;
  mbPerSecond: number;
  fileBytes: number;
}

/**
 * Camera-like frames: smooth gradients with sensor-like noise, so gzip does the
 * work it does on real images (pure noise or flat colour would flatter or punish it).
 */
function syntheticFrames(width: number, height: number, count: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let s = 12345;
  const rnd = (): number => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
  for (let k = 0; k < count; k++) {
    const f = new Uint8Array(width * height * 3);
    let o = 0;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const base = ((x + 3 * k) * 200) / width + (y * 40) / height;
        f[o++] = Math.min(255, (base + rnd() * 6) | 0);
        f[o++] = Math.min(255, (base * 0.8 + 30 + rnd() * 6) | 0);
        f[o++] = Math.min(255, (255 - base * 0.6 + rnd() * 6) | 0);
      }
    }
    out.push(f);
  }
  return out;
}

export async function benchRecorder(opts: RecorderBenchOptions = {}): Promise<RecorderBenchResult> {
  const frames = opts.frames ?? 150;
  const width = opts.width ?? 640;
  const height = opts.height ?? 480;
  const gzip = opts.gzip === true ? 4 : opts.gzip ? opts.gzip : null;
  const pool = syntheticFrames(width, height, 4);
  const dir = fs.mkdtempSync(path.join(opts.dir ?? os.tmpdir(), "mobile-vla-bench-"));
  try {
    const t0 = performance.now();
    const w = EpisodeWriter.open(dir, { scenario: "bench", gzip: gzip ?? false, startTime: new Date() });
    for (let i = 0; i < frames; i++) {
      w.append({ width, height, data: pool[i % pool.length] }, [1.15, 0, 0], i === 0 ? "episode_start" : "start_action");
    }
    const file = await w.close();
    const seconds = (performance.now() - t0) / 1000;
    const megabytes = (frames * width * height * 3) / 1e6;
    return { frames, width, height, gzip, seconds, megabytes, mbPerSecond: megabytes / seconds, fileBytes: fs.statSync(file).size };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// Benchmarks of the replay, recorder and episode paths, kept apart from the
// policy figures so each part can grow its own.
import path from "node:path";
import { performance } from "node:perf_hooks";
import { writeSampleBag } from "../synthetic/sample-bag.js";
import { DEFAULT_PARAMS } from "../src/params/table.js";
import { benchRecorder } from "./episode-bench.js";
import { EpisodeWriter } from "../src/episodes/episode-writer.js";
import { makeTinyModel } from "../synthetic/tiny-model.js";
import { VlaModel } from "../src/model/vla-model.js";
import { replayBag } from "../src/replay/bag-replay.js";
import { replayEpisode } from "../src/replay/episode-replay.js";

export interface BenchContext {
  want: (name: string) => boolean;
  tmp: string;
  emit: (record: Record<string, unknown>) => void;
}

const round = (x: number, d = 2) => Number(x.toFixed(d));

/** Eval of a 2-minute 640x480 30 Hz raw bag with the tiny model: target >= 50x real time. */
async function replayBench(ctx: BenchContext, model: VlaModel): Promise<void> {
  const durationS = 120;
  const bag = path.join(ctx.tmp, "bag120");
  const g0 = performance.now();
  const written = await writeSampleBag(bag, { durationS });
  const generateS = (performance.now() - g0) / 1000;
  const t0 = performance.now();
  const run = await replayBag(bag, { model, modelName: "tiny", params: DEFAULT_PARAMS });
  const s = (performance.now() - t0) / 1000;
  ctx.emit({
    bench: "replay_eval",
    bag: "120 s, 640x480 bgr8 @ 30 Hz, uncompressed MCAP",
    messages: written.messageCount,
    ticks: run.ticks.length,
    sampled_frames: run.sampledFrames,
    wall_s: round(s, 3),
    real_time_factor: round(durationS / s, 1),
    target_real_time_factor: 50,
    bag_generation_s: round(generateS, 1),
  });
}

/** Recorder: raw 640x480 frames into a finished, fsynced episode; target >= 28 MB/s. */
async function recorderBench(ctx: BenchContext): Promise<void> {
  for (const gzip of [false, 1] as const) {
    const r = await benchRecorder({ frames: gzip ? 60 : 300, width: 640, height: 480, gzip, dir: ctx.tmp });
    ctx.emit({
      bench: "recorder",
      frame: "640x480 bgr8",
      gzip: r.gzip,
      frames: r.frames,
      mb_per_s: round(r.mbPerSecond, 1),
      target_mb_per_s: gzip ? null : 28,
    });
  }
}

/** Episode evaluation: 18-frame 640x480 episodes through the tiny model. */
async function episodeBench(ctx: BenchContext, model: VlaModel): Promise<void> {
  const dir = path.join(ctx.tmp, "episodes");
  const files: string[] = [];
  for (let e = 0; e < 10; e++) {
    const w = EpisodeWriter.open(dir, { scenario: `bench_left_${e}`, startTime: new Date(Date.UTC(2025, 11, 3, 12, 0, e)) });
    for (let i = 0; i < 18; i++) {
      const data = new Uint8Array(640 * 480 * 3).fill((e * 18 + i) & 255);
      w.append({ width: 640, height: 480, data }, [i ? 1.15 : 0, 0, 0], i ? "start_action" : "episode_start");
    }
    files.push(await w.close());
  }
  const t0 = performance.now();
  let frames = 0;
  for (const f of files) frames += (await replayEpisode(f, { model, modelName: "tiny", params: DEFAULT_PARAMS })).sampledFrames;
  const s = (performance.now() - t0) / 1000;
  ctx.emit({
    bench: "episode_eval",
    episodes: files.length,
    frame: "640x480",
    frames,
    wall_s: round(s, 3),
    frames_per_s: round(frames / s, 1),
    episodes_per_s: round(files.length / s, 2),
  });
}

export async function extraBenches(ctx: BenchContext): Promise<void> {
  if (!ctx.want("replay") && !ctx.want("recorder") && !ctx.want("episodes")) return;
  const tiny = path.join(ctx.tmp, "tiny-extra");
  await makeTinyModel(tiny, { seed: 1 });
  const model = await VlaModel.load(tiny);
  try {
    if (ctx.want("recorder")) await recorderBench(ctx);
    if (ctx.want("episodes")) await episodeBench(ctx, model);
    if (ctx.want("replay")) await replayBench(ctx, model);
  } finally {
    await model.close();
  }
}

// A training episode replayed two ways, from one backbone pass per frame:
// - robot-style: the policy steps through the episode from its first frame, one
//   frame per action step, as the robot would; the chunk answering frame i is
//   compared with recorded actions i .. i+N-1 (the training code's alignment: the
//   action recorded with a frame is its first label), clamped to [-1, 1] as
//   training clamps them;
// - the trainer's own score (trainer-score.ts) over the same frames' features.
// No clock and no safety layer: this measures the model itself.
import path from "node:path";
import { actionsProblem } from "../episodes/episode-check.js";
import { openEpisode, type Episode } from "../episodes/episode-reader.js";
import { InvalidOutputError } from "../model/invalid-output.js";
import type { PolicyParams } from "../params/table.js";
import type { ChunkSample, RunSeries, Tick, Vec2 } from "../eval/types.js";
import type { RawImageMessage } from "../msgs/image.js";
import { ImageError } from "../msgs/image-error.js";
import type { VlaModel } from "../model/vla-model.js";
import { VlaPolicy } from "../policy/vla-policy.js";
import { TimedPolicy } from "./timed-policy.js";
import type { PromptTokens } from "../model/tokenize.js";
import { episodeLabels, trainerScore } from "./trainer-score.js";

/** The trainer's rule: the instruction follows from a word in the episode's file name. */
export const DEFAULT_INSTRUCTION_MAP: Readonly<Record<string, string>> = {
  left: "Navigate to the gray basket on the left",
  right: "Navigate to the gray basket on the right",
};

export interface EpisodeReplayOptions {
  model: VlaModel;
  modelName: string;
  params: Pick<PolicyParams, "window_fill">;
  /** File-name word -> instruction, used when the episode stores no instruction. */
  instructionMap?: Readonly<Record<string, string>>;
  /** Last resort when neither the file nor the map gives one. */
  instruction?: string;
  /**
   * Which recorded action the chunk's first step is compared with, relative to the
   * newest frame. Default 0, as the training code pairs them: the chunk answering
   * frame i is scored against actions i .. i+N-1 (the action recorded with frame i
   * is its first label). 1 scores it against the actions after the frame.
   */
  chunkOffset?: number;
  /** Called once per episode with its instruction and tokens (evaluate warns on token counts). */
  onInstruction?: (instruction: string, tokens: PromptTokens) => void;
}

/** The training code's alignment of a chunk with the recorded actions (see chunkOffset). */
export const DEFAULT_CHUNK_OFFSET = 0;
/** Largest chunk offset (frames): far beyond any chunk, so larger only means a typo. */
export const MAX_CHUNK_OFFSET = 1000;

/** The problem with a chunk offset (`--chunk-offset`), or null: an integer number of frames in [0, MAX_CHUNK_OFFSET]. */
export function chunkOffsetProblem(v: unknown): string | null {
  if (!(typeof v === "number" && Number.isInteger(v) && v >= 0)) return `--chunk-offset: expected an integer number of frames >= 0, got ${String(v)}`;
  return v <= MAX_CHUNK_OFFSET ? null : `--chunk-offset: expected at most ${MAX_CHUNK_OFFSET} frames, got ${v}`;
}

export class EpisodeInstructionError extends Error {
  override name = "EpisodeInstructionError";
}

/** Splits "left=Go left,right=Go right" (the CLI form) into a map. */
export function parseInstructionMap(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0 || !part.slice(eq + 1).trim())
      throw new EpisodeInstructionError(`--instruction-map: expected word=instruction pairs separated by commas, got ${JSON.stringify(part)}`);
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

export function episodeInstruction(ep: Pick<Episode, "path" | "instruction">, map: Readonly<Record<string, string>>, fallback?: string): string {
  if (ep.instruction && ep.instruction.trim()) return ep.instruction;
  const words = path
    .basename(ep.path)
    .replace(/\.h5$/, "")
    .split(/[_\-.]/);
  for (const [word, instruction] of Object.entries(map)) if (words.includes(word)) return instruction;
  if (fallback) return fallback;
  throw new EpisodeInstructionError(
    `${ep.path}: no instruction attribute, no word of --instruction-map (${Object.keys(map).join(", ")}) in the file name, and no --instruction`,
  );
}

export async function replayEpisode(file: string, o: EpisodeReplayOptions): Promise<RunSeries> {
  const ep = openEpisode(file);
  try {
    return await replayOpenEpisode(ep, o);
  } finally {
    ep.close();
  }
}

async function replayOpenEpisode(ep: Episode, o: EpisodeReplayOptions): Promise<RunSeries> {
  const m = o.model.manifest;
  const instruction = episodeInstruction(ep, o.instructionMap ?? DEFAULT_INSTRUCTION_MAP, o.instruction);
  // Frame i's feature as the robot's policy computed it, reused by the trainer score.
  const features: (Float32Array | undefined)[] = new Array<Float32Array | undefined>(ep.numFrames);
  let current = -1;
  const onFeature = (f: Float32Array) => {
    features[current] = f;
  };
  const policy = new TimedPolicy(new VlaPolicy(o.model, { windowFill: o.params.window_fill, onFeature }));
  policy.setInstruction(instruction);
  o.onInstruction?.(instruction, o.model.tokenizer.encode(instruction));
  const offset = o.chunkOffset ?? DEFAULT_CHUNK_OFFSET;
  const offsetProblem = chunkOffsetProblem(offset);
  if (offsetProblem) throw new RangeError(offsetProblem);
  // The same verdict as `episodes check`: NaN/Inf actions are no ground truth.
  const actions = actionsProblem(ep);
  if (actions) throw new Error(`${ep.path}: ${actions}; not usable as ground truth (\`mobile-vla episodes check\` flags it too)`);
  const labels = episodeLabels(ep.actions, ep.actionDim, ep.path);
  const ticks: Tick[] = [];
  const chunks: ChunkSample[] = [];
  for (let i = 0; i < ep.numFrames; i++) {
    const t = i * m.action_step_s;
    let chunk: Awaited<ReturnType<typeof policy.step>>;
    try {
      const f = ep.frame(i);
      const image: RawImageMessage = {
        kind: "raw",
        width: f.width,
        height: f.height,
        encoding: f.channelOrder === "bgr" ? "bgr8" : "rgb8",
        step: f.width * 3,
        isBigEndian: false,
        data: f.data,
      };
      current = i;
      chunk = await policy.step({ stamp: t, image });
    } catch (e) {
      // A frame the preprocessor refuses, or one the model turns into NaN/Inf, is
      // counted (by the TimedPolicy) and skipped; a broken file fails the episode.
      if (!(e instanceof ImageError) && !(e instanceof InvalidOutputError)) throw e;
      continue;
    }
    if (!chunk || chunk.invalid) continue;
    // Already (linear_x, linear_y) in the teleop's units: the policy's chunk decoder did that.
    const pred = chunk.actions.map((row) => [row[0]!, row[1]!]);
    const truth: number[][] = [];
    for (let k = 0; k < pred.length && i + offset + k < ep.numFrames; k++) truth.push(labels[i + offset + k]!);
    if (truth.length) {
      chunks.push({ t, pred, truth: truth.map((v) => [...v]) });
      ticks.push({ t, pred: [pred[0]![0]!, pred[0]![1]!], truth: truth[0] as Vec2 });
    }
  }
  const trainer = await trainerScore(o.model, features, labels);
  const outcome = policy.outcome();
  return {
    model: o.modelName,
    source: ep.path,
    sourceKind: "episode",
    ticks,
    chunks,
    latenciesMs: policy.latenciesMs,
    sampledFrames: policy.counters().frames,
    backboneRuns: policy.counters().backboneRuns,
    decodeErrors: outcome.decodeErrors,
    trainer,
    outcome: { ...outcome, framesReceived: ep.numFrames },
  };
}

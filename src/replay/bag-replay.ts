// A recorded bag through the SAME pipeline the robot runs, on a virtual clock
// driven by bag time: camera and instruction go in, every control tick's command
// comes out, and the teleop command in force at that tick is the ground truth.
import { openBag, BagError, type Bag, type BagTopic } from "../bags/index.js";
import { VirtualClock, type VirtualLatency } from "../control/clock.js";
import { Pipeline } from "../control/pipeline.js";
import type { PolicyParams } from "../params/table.js";
import type { Command } from "../control/command.js";
import type { RunSeries, Tick, ChunkSample, Vec2 } from "../eval/types.js";
import type { ActionChunk } from "../policy/chunk.js";
import { VlaPolicy } from "../policy/vla-policy.js";
import { captureTime } from "../msgs/image.js";
import type { VlaModel } from "../model/vla-model.js";
import { TimedPolicy } from "./timed-policy.js";
import { clampUnit } from "../mobile-vla/action-range.js";
import { resolveBagTopics, type BagTopics } from "../mobile-vla/bag-topics.js";
import { CommandHold } from "../mobile-vla/command-hold.js";
import { TELEOP_HOLD_S } from "../mobile-vla/teleop.js";
import { BAG_TOPICS } from "../mobile-vla/topics.js";
import { checkReplaySpan } from "./replay-span.js";
import { log } from "../util/log.js";

export interface ReplayTopics {
  /** Camera topic (Image or CompressedImage); default /camera/image_raw, else the bag's only image topic. */
  image?: string;
  /** std_msgs/String instructions; default /instruction when the bag has it. */
  instruction?: string;
  /** Teleop Twist / TwistStamped; default /cmd_vel. */
  cmdVel?: string;
  /** std_msgs/Bool e-stop, replayed when present; default /estop. */
  estop?: string;
}

export interface BagReplayOptions {
  model: VlaModel;
  /** Display name of the model in the report. */
  modelName: string;
  params: PolicyParams;
  topics?: ReplayTopics;
  /** Used when the bag has no instruction topic (or before its first message). */
  instruction?: string;
  /** Stamp frames with header.stamp instead of the receive (log) time. */
  headerStamps?: boolean;
  /** Virtual inference latency: 0 (ideal, deterministic; default), seconds, or "measured". */
  latency?: VirtualLatency;
  /** How long one teleop command stays in force (the base's auto-stop). */
  teleopHoldS?: number;
  onProgress?: (fraction: number) => void;
  /** Every command the pipeline publishes, as the robot would receive it. */
  onCommand?: (cmd: Command) => void;
}

/** The topics to replay (one resolver for every command: mobile-vla/bag-topics.ts); eval needs an instruction. */
export function resolveTopics(bag: Bag, wanted: ReplayTopics, haveFallbackInstruction: boolean): BagTopics {
  const topics = resolveBagTopics(bag, wanted, ["instruction", "estop"]);
  if (!topics.instruction && !haveFallbackInstruction) {
    throw new BagError(bag.path, `has no instruction topic ${BAG_TOPICS.instruction} (std_msgs/msg/String); give the instruction with --instruction`);
  }
  return topics;
}

/** Replays one bag with one model. Throws BagError when the bag itself is unreadable. */
export async function replayBag(bagPath: string, o: BagReplayOptions): Promise<RunSeries> {
  const bag = await openBag(bagPath);
  try {
    return await replayOpenBag(bag, o);
  } finally {
    await bag.close();
  }
}

async function replayOpenBag(bag: Bag, o: BagReplayOptions): Promise<RunSeries> {
  const fallback = o.instruction ?? o.params.instruction ?? undefined;
  const topics = resolveTopics(bag, o.topics ?? {}, Boolean(fallback));
  for (const w of bag.warnings) log.warn(w);
  checkReplaySpan(
    bag,
    [topics.image, topics.instruction, topics.cmdVel, topics.estop].filter((t): t is BagTopic => t !== null),
    o.params.control_rate_hz,
  );
  const policy = new TimedPolicy(new VlaPolicy(o.model, { windowFill: o.params.window_fill }));
  const clock = new VirtualClock({ start: bag.startTime, latency: o.latency ?? 0 });
  const commands: Command[] = [];
  const chunks: ActionChunk[] = [];
  const pipeline = new Pipeline({
    policy,
    scheduler: clock,
    params: { ...o.params, instruction: fallback ?? "" },
    sink: (c) => {
      commands.push(c);
      o.onCommand?.(c);
    },
    onChunk: (c) => chunks.push(c),
  });
  const track = new CommandHold<Vec2>([0, 0], o.teleopHoldS ?? TELEOP_HOLD_S);
  let decodeErrors = 0;
  const span = Math.max(bag.endTime - bag.startTime, 1e-9);
  let lastProgress = -1;
  pipeline.start();
  const wanted = [topics.image, topics.instruction, topics.cmdVel, topics.estop].filter((t): t is BagTopic => t !== null).map((t) => t.name);
  // Lazy: only the camera frames the pipeline samples (one per frame_interval_s)
  // have their pixels read, on first access of image.data; the header and image
  // fields of every frame are decoded from its first bytes (so headerStamps and
  // per-frame decode errors work as before).
  for await (const lazy of bag.messages({ topics: wanted, lazy: true })) {
    const m = lazy.load({ deferImageData: true });
    await clock.advanceTo(Math.max(clock.now(), m.logTime));
    if (m.error) {
      decodeErrors++;
      log.warn(`${bag.path}: skipped a message that does not decode: ${m.error.message}`);
      continue;
    }
    const msg = m.message;
    if (m.topic === topics.image.name && (msg.kind === "image" || msg.kind === "compressed_image")) {
      const stamp = o.headerStamps ? msg.header.stamp : m.logTime;
      pipeline.onFrame({ stamp, captureStamp: captureTime(msg.header.stamp), image: msg.image });
    } else if (m.topic === topics.cmdVel.name && msg.kind === "twist") {
      track.push(m.logTime, [msg.linear.x, msg.linear.y]);
    } else if (topics.instruction && m.topic === topics.instruction.name && msg.kind === "string") {
      if (msg.data.trim()) pipeline.setInstruction(msg.data);
    } else if (topics.estop && m.topic === topics.estop.name && msg.kind === "bool") {
      pipeline.setEstop(msg.data);
    }
    if (o.onProgress) {
      const p = Math.floor(((m.logTime - bag.startTime) / span) * 100);
      if (p !== lastProgress) o.onProgress((lastProgress = p) / 100);
    }
  }
  await clock.advanceTo(Math.max(clock.now(), bag.endTime));
  const idle = pipeline.whenIdle();
  pipeline.stop();
  await clock.advanceBy(typeof o.latency === "number" ? o.latency + 1 : 1);
  await idle;
  const diag = pipeline.diagnostics();
  const outcome = policy.outcome();

  // Ticks up to the bag's end; the final shutdown zero is not a control decision.
  const ticks: Tick[] = commands
    .filter((c) => c.reason !== "shutdown" && c.t <= bag.endTime + 1e-9)
    .map((c) => ({ t: c.t - bag.startTime, pred: [c.linear_x, c.linear_y] as Vec2, truth: clampUnit(track.activeAt(c.t)) }));
  const chunkSamples = chunkTruth(chunks, track, bag.startTime, bag.endTime);
  return {
    model: o.modelName,
    source: bag.path,
    sourceKind: "bag",
    ticks,
    chunks: chunkSamples,
    latenciesMs: policy.latenciesMs,
    sampledFrames: diag.frames_sampled,
    backboneRuns: policy.counters().backboneRuns,
    decodeErrors: decodeErrors + outcome.decodeErrors,
    outcome: { ...outcome, framesReceived: diag.frames_received },
  };
}

/** Each chunk step k against the teleop command in force in the middle of its time slot. */
function chunkTruth(chunks: ActionChunk[], track: CommandHold<Vec2>, start: number, end: number): ChunkSample[] {
  const out: ChunkSample[] = [];
  for (const c of chunks) {
    if (c.invalid) continue;
    const pred: number[][] = [];
    const truth: number[][] = [];
    c.actions.forEach((row, k) => {
      const mid = c.stamp + (k + 0.5) * c.stepS;
      if (mid > end) return;
      pred.push([row[0]!, row[1]!]);
      truth.push(clampUnit(track.activeAt(mid)));
    });
    if (pred.length) out.push({ t: c.stamp - start, pred, truth });
  }
  return out;
}

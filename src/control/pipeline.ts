// The policy driven on a clock: camera frames in, one velocity command per control
// tick out. Everything time-related goes through the injected Scheduler, so the
// robot (WallScheduler) and a replay (VirtualClock) run this same code.
//
//   onFrame ──> FrameGrid: one frame per frame_interval_s, by the frames' stamps ──> pending (1 slot) ──> policy.step
//                                                                                   (only while no inference runs)
//   policy.step resolves at start + latency ──> ChunkQueue (stamped with the frame's time)
//   control tick (control_rate_hz) ──> stop conditions / queue.actionAt(now) ──> Safety ──> sink
import type { StampedImage } from "../msgs/image.js";
import { chunkUsable, type ActionChunk } from "../policy/chunk.js";
import type { ChunkPolicy } from "../policy/types.js";
import { errorText } from "../util/errors.js";
import { log as defaultLog } from "../util/log.js";
import { percentile } from "../util/percentile.js";
import { ChunkQueue } from "./chunk-queue.js";
import { FrameGrid } from "./frame-grid.js";
import type { Outcome, Scheduler, Timer } from "./clock.js";
import type { Command, CommandSink, Reason } from "./command.js";
import { frameIntervalS, type PolicyParams } from "../params/table.js";
import { Safety, type SafetyRequest } from "./safety.js";

/** The part of a logger the pipeline uses; the package's winston logger fits. */
export interface PipelineLogger {
  debug(message: string, meta?: Record<string, unknown>): unknown;
  info(message: string, meta?: Record<string, unknown>): unknown;
  warn(message: string, meta?: Record<string, unknown>): unknown;
  error(message: string, meta?: Record<string, unknown>): unknown;
}

export type PipelineParams = Pick<
  PolicyParams,
  | "instruction"
  | "frame_interval_s"
  | "control_rate_hz"
  | "aggregation"
  | "ensemble_k"
  | "limit_mode"
  | "max_linear_x"
  | "max_linear_y"
  | "max_accel"
  | "max_decel"
  | "deadband"
  | "watchdog_timeout_s"
>;

export interface PipelineOptions {
  policy: ChunkPolicy;
  scheduler: Scheduler;
  params: PipelineParams;
  sink: CommandSink;
  /** Every chunk stored for control, in robot units (for a debug topic or a recorder). */
  onChunk?: (chunk: ActionChunk) => void;
  logger?: PipelineLogger;
}

export interface PipelineDiagnostics {
  t: number;
  running: boolean;
  instruction: string | null;
  estop: boolean;
  /** Frames per second over the last received frames' stamps; null before two frames. */
  camera_rate_hz: number | null;
  /** now - newest frame's stamp; null before any frame. */
  frame_age_s: number | null;
  frames_received: number;
  /** Frames handed to the policy's window. */
  frames_sampled: number;
  /** Frames never given to the policy: between two grid points (frame-grid.ts), out of order, too old, before start, or with no instruction to act on. */
  frames_dropped: number;
  inference_runs: number;
  inference_busy: boolean;
  inference_errors: number;
  invalid_outputs: number;
  /** Chunks thrown away on arrival: they answered an old instruction or a view from before a camera gap. */
  chunks_discarded: number;
  /** Chunks whose every step was over by the time inference finished. */
  chunks_expired: number;
  /** Inference latency in clock seconds (virtual seconds in a replay) over recent runs. */
  inference_latency_p50_s: number | null;
  inference_latency_p99_s: number | null;
  backbone_runs: number;
  queue_chunks: number;
  frame_interval_s: number;
  last_command: Command | null;
  /** The last command's reason. */
  safety_state: Reason | null;
}

const RATE_WINDOW = 30;
const LATENCY_WINDOW = 200;

// Repeating faults (a broken model, a bad camera) would otherwise log at frame rate.
const worthLogging = (n: number): boolean => (n & (n - 1)) === 0;

export class Pipeline {
  private readonly policy: ChunkPolicy;
  private readonly scheduler: Scheduler;
  private params: PipelineParams;
  private readonly sink: CommandSink;
  private readonly onChunk?: (chunk: ActionChunk) => void;
  private readonly log: PipelineLogger;
  private readonly queue: ChunkQueue;
  private readonly safety: Safety;
  private interval: number;

  private running = false;
  private controlTimer: Timer | null = null;
  private instruction: string | null;
  private estop = false;
  /** Which frames are sampled: one per interval, chosen by their capture times (else receipt stamps). */
  private readonly grid: FrameGrid;
  /** The clock the grid runs on: the camera's capture times, or receipt stamps when the camera gives none that increase. */
  private gridClock: "capture" | "receipt" | null = null;
  private lastCapture: number | null = null;
  /** Sampled frame waiting for the running inference to finish. */
  private pending: StampedImage | null = null;
  private busy = false;
  /** Bumped whenever results of inferences already running must not be used. */
  private generation = 0;
  private resetPending = false;
  private policyFailed = false;
  private cameraStale = false;
  private lastFrameStamp: number | null = null;
  private readonly frameStamps: number[] = [];
  private readonly latencies: number[] = [];
  private lastCommand: Command | null = null;
  private idleWaiters: (() => void)[] = [];
  private readonly n = {
    framesReceived: 0,
    framesSampled: 0,
    framesDropped: 0,
    inferenceRuns: 0,
    inferenceErrors: 0,
    invalidOutputs: 0,
    chunksDiscarded: 0,
    chunksExpired: 0,
  };

  constructor(opts: PipelineOptions) {
    this.policy = opts.policy;
    this.scheduler = opts.scheduler;
    this.params = opts.params;
    this.sink = opts.sink;
    this.onChunk = opts.onChunk;
    this.log = opts.logger ?? defaultLog;
    this.queue = new ChunkQueue({ aggregation: opts.params.aggregation, ensembleK: opts.params.ensemble_k });
    this.safety = new Safety(opts.params);
    this.interval = this.checkedInterval(opts.params);
    this.grid = new FrameGrid(this.interval);
    this.instruction = opts.params.instruction.trim() === "" ? null : opts.params.instruction;
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Seconds between frames sampled into the policy window (the parameter, or the model's action step). */
  get frameIntervalS(): number {
    return this.interval;
  }

  /**
   * New control parameters on a built pipeline (a live `ros2 param set`), from the
   * next control tick on: the limits, the aggregation and the watchdog. A new
   * control_rate_hz restarts the control timer at that rate; a new frame interval
   * starts the sampling grid again and empties the policy's window, so the window never
   * holds frames taken at two spacings. The instruction is not read here (see
   * setInstruction). Throws, leaving everything as it was, on values it cannot run.
   */
  update(params: PipelineParams): void {
    const interval = this.checkedInterval(params);
    const before = this.safety.limits;
    this.safety.setLimits(params);
    try {
      this.queue.setAggregation(params.aggregation, params.ensemble_k);
    } catch (e) {
      this.safety.setLimits(before);
      throw e;
    }
    const rateChanged = params.control_rate_hz !== this.params.control_rate_hz;
    const intervalChanged = interval !== this.interval;
    this.params = params;
    this.interval = interval;
    if (rateChanged && this.running) {
      this.controlTimer?.cancel();
      this.controlTimer = this.scheduler.every(1 / params.control_rate_hz, () => this.controlTick());
    }
    if (intervalChanged) {
      this.resetPending = true;
      this.grid.reset(interval);
      this.syncPolicy();
    }
  }

  /** Starts the control timer and the sampling (from the next frame); the first command comes one control period later. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.safety.reset();
    this.cameraStale = false;
    this.grid.reset();
    this.syncPolicy();
    this.controlTimer = this.scheduler.every(1 / this.params.control_rate_hz, () => this.controlTick());
  }

  /**
   * Stops the timers and sends the final zero command ("shutdown") at once. An
   * inference still running finishes in the background and is thrown away; await
   * whenIdle() before releasing the policy's resources.
   */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.controlTimer?.cancel();
    this.controlTimer = null;
    this.generation++;
    this.pending = null;
    this.queue.clear();
    this.emit(this.safety.command(this.scheduler.now(), { kind: "stop", reason: "shutdown" }));
  }

  /** Resolves when no inference is running (at once if none is). */
  whenIdle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * A camera frame; its stamp must be on the scheduler's clock. It is sampled on
   * arrival when it is the grid's frame for this interval (frame-grid.ts).
   */
  onFrame(frame: StampedImage): void {
    this.n.framesReceived++;
    if (this.lastFrameStamp !== null && !(frame.stamp > this.lastFrameStamp)) {
      // An older or repeated stamp would move the window and the chunk times backwards.
      this.n.framesDropped++;
      this.log.debug("frame dropped: stamp not newer than the previous frame", { stamp: frame.stamp, previous: this.lastFrameStamp });
      return;
    }
    this.lastFrameStamp = frame.stamp;
    this.frameStamps.push(frame.stamp);
    if (this.frameStamps.length > RATE_WINDOW) this.frameStamps.shift();
    // No instruction: nothing to act on (and the grid starts with the first frame
    // that has one). Too old: a chunk from it would answer a view the watchdog
    // already gave up on.
    const gridStamp = this.gridStamp(frame);
    if (!this.running || this.instruction === null || this.scheduler.now() - frame.stamp > this.params.watchdog_timeout_s || !this.grid.offer(gridStamp)) {
      this.n.framesDropped++;
      return;
    }
    this.sample(frame);
  }

  /**
   * A new instruction (an empty one withdraws it: the robot stops). Chunks
   * already made answer the old one, so they are dropped, and so is the result
   * of an inference still running; the policy rebuilds its window.
   */
  setInstruction(text: string): void {
    const next = text.trim() === "" ? null : text;
    if (next === this.instruction) return;
    this.log.info("instruction changed", { from: this.instruction, to: next });
    this.instruction = next;
    this.queue.clear();
    this.grid.reset();
    this.generation++;
    this.policyFailed = false;
    this.syncPolicy();
  }

  /**
   * Latched e-stop: engaged stops the robot until released. Engaging sends a zero
   * command at once instead of waiting for the next control tick.
   */
  setEstop(engaged: boolean): void {
    if (engaged === this.estop) return;
    this.estop = engaged;
    if (engaged) this.log.warn("e-stop engaged");
    else this.log.info("e-stop released");
    if (engaged && this.running) this.emit(this.safety.command(this.scheduler.now(), { kind: "stop", reason: "estop" }));
  }

  diagnostics(): PipelineDiagnostics {
    const t = this.scheduler.now();
    const fs = this.frameStamps;
    const span = fs.length >= 2 ? fs[fs.length - 1] - fs[0] : 0;
    return {
      t,
      running: this.running,
      instruction: this.instruction,
      estop: this.estop,
      camera_rate_hz: span > 0 ? (fs.length - 1) / span : null,
      frame_age_s: this.lastFrameStamp === null ? null : Math.max(0, t - this.lastFrameStamp),
      frames_received: this.n.framesReceived,
      frames_sampled: this.n.framesSampled,
      frames_dropped: this.n.framesDropped,
      inference_runs: this.n.inferenceRuns,
      inference_busy: this.busy,
      inference_errors: this.n.inferenceErrors,
      invalid_outputs: this.n.invalidOutputs,
      chunks_discarded: this.n.chunksDiscarded,
      chunks_expired: this.n.chunksExpired,
      inference_latency_p50_s: percentile(this.latencies, 50),
      inference_latency_p99_s: percentile(this.latencies, 99),
      backbone_runs: this.policy.counters().backboneRuns,
      queue_chunks: this.queue.size,
      frame_interval_s: this.interval,
      last_command: this.lastCommand,
      safety_state: this.lastCommand?.reason ?? null,
    };
  }

  private checkedInterval(params: PipelineParams): number {
    const interval = frameIntervalS(params, this.policy.stepS);
    if (!(interval > 0)) throw new RangeError(`Pipeline: frame interval must be > 0 s, got ${interval}`);
    return interval;
  }

  private emit(cmd: Command): void {
    this.lastCommand = cmd;
    try {
      this.sink(cmd);
    } catch (e) {
      this.log.error("command sink threw", { error: errorText(e) });
    }
  }

  /**
   * Tells the policy about a reset or a new instruction, but only between two
   * step() calls: the policy is not required to cope with either mid-inference.
   */
  private syncPolicy(): void {
    if (this.busy) return;
    if (this.resetPending) {
      this.policy.reset();
      this.resetPending = false;
    }
    if (this.instruction !== null && this.policy.instruction !== this.instruction) this.policy.setInstruction(this.instruction);
  }

  /**
   * The stamp the grid chooses frames by: the capture time, free of transport
   * jitter, while the camera's capture times increase; otherwise (none, or a camera
   * stamping every frame alike) the receipt stamp. A change of clock starts the grid
   * again, as stamps on two clocks cannot be compared.
   */
  private gridStamp(frame: StampedImage): number {
    const c = frame.captureStamp;
    const clock = c !== undefined && (this.lastCapture === null || c > this.lastCapture) ? "capture" : "receipt";
    this.lastCapture = c ?? null;
    if (clock !== this.gridClock) {
      if (this.gridClock !== null) this.log.debug("frame sampling grid now on the frames' " + (clock === "capture" ? "capture times" : "receipt stamps"));
      this.gridClock = clock;
      this.grid.reset();
    }
    return clock === "capture" ? c! : frame.stamp;
  }

  private sample(frame: StampedImage): void {
    this.n.framesSampled++;
    if (this.busy) {
      if (this.pending) this.n.framesDropped++;
      this.pending = frame;
      return;
    }
    this.startInference(frame);
  }

  private startInference(frame: StampedImage): void {
    this.syncPolicy();
    this.busy = true;
    this.n.inferenceRuns++;
    const gen = this.generation;
    this.scheduler.run(
      () => this.policy.step(frame),
      (o) => this.inferenceDone(o, frame, gen),
    );
  }

  private inferenceDone(o: Outcome<ActionChunk | null>, frame: StampedImage, gen: number): void {
    this.busy = false;
    this.latencies.push(o.finishedAt - o.startedAt);
    if (this.latencies.length > LATENCY_WINDOW) this.latencies.shift();
    if (gen !== this.generation) {
      if (o.ok && o.value) this.n.chunksDiscarded++;
    } else if (!o.ok) {
      this.n.inferenceErrors++;
      // The chunks in the queue came from frames before the one that failed; moving
      // on them while the camera or model is broken would be driving blind.
      this.queue.clear();
      this.policyFailed = true;
      if (worthLogging(this.n.inferenceErrors)) {
        this.log.error("policy step failed; the robot stops until a step succeeds", {
          error: errorText(o.error),
          stamp: frame.stamp,
          count: this.n.inferenceErrors,
        });
      }
    } else {
      this.policyFailed = false;
      if (o.value) this.store(o.value, frame);
    }
    if (this.running && this.pending && this.instruction !== null) {
      const next = this.pending;
      this.pending = null;
      this.startInference(next);
    } else {
      this.syncPolicy();
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private store(decoded: ActionChunk, frame: StampedImage): void {
    // Step times are measured from the frame this pipeline handed to the policy, on
    // this pipeline's clock, whatever stamp the policy wrote (a chunk stamped later than
    // its frame would replay stale steps); and a chunk no policy flagged but that holds
    // NaN is invalid all the same, for the queue and for onChunk's listeners.
    const chunk: ActionChunk = { ...decoded, stamp: frame.stamp, invalid: !chunkUsable(decoded) };
    if (chunk.invalid) {
      this.n.invalidOutputs++;
      if (worthLogging(this.n.invalidOutputs)) {
        this.log.warn("model output has NaN/Inf; the robot stops", { stamp: frame.stamp, count: this.n.invalidOutputs });
      }
    }
    if (!this.queue.push(chunk)) {
      this.n.chunksExpired++;
      this.log.debug("chunk expired before it arrived", { stamp: frame.stamp, now: this.scheduler.now() });
    }
    if (this.onChunk) {
      try {
        this.onChunk(chunk);
      } catch (e) {
        this.log.error("onChunk threw", { error: errorText(e) });
      }
    }
  }

  private controlTick(): void {
    const t = this.scheduler.now();
    this.queue.prune(t);
    const stale = this.lastFrameStamp === null || t - this.lastFrameStamp > this.params.watchdog_timeout_s;
    if (stale && !this.cameraStale && this.lastFrameStamp !== null) {
      // Chunks and the window describe the world before the gap; after it the robot
      // must wait for a chunk made from a fresh frame, over a fresh window.
      this.log.warn("camera stale: stopping", { frame_age_s: t - this.lastFrameStamp, watchdog_timeout_s: this.params.watchdog_timeout_s });
      this.queue.clear();
      this.generation++;
      this.pending = null;
      this.grid.reset();
      this.resetPending = true;
      this.syncPolicy();
    } else if (!stale && this.cameraStale) {
      this.log.info("camera fresh again");
    }
    this.cameraStale = stale;

    let req: SafetyRequest;
    if (this.estop) req = { kind: "stop", reason: "estop" };
    else if (this.instruction === null) req = { kind: "stop", reason: "no_instruction" };
    else if (stale) req = { kind: "stop", reason: "stale_camera" };
    else {
      const a = this.queue.actionAt(t);
      if (a.kind === "action") req = { kind: "action", action: a.action, chunk_stamp: a.stamp, step: a.step };
      else if (a.kind === "invalid") req = { kind: "stop", reason: "invalid_output" };
      else req = { kind: "stop", reason: this.policyFailed ? "policy_error" : "no_action" };
    }
    this.emit(this.safety.command(t, req));
  }
}

// The vla_policy node: camera + instruction + e-stop in, cmd_vel out, through the
// same Pipeline a bag replay uses. Everything ROS-specific stays here; the
// rclnodejs module is passed in (the real one from run.ts, a fake in tests).
//
// A managed (lifecycle) node, as nav2's are (managed-node.ts):
//   created:    parameters declared, lifecycle services, /diagnostics at 1 Hz
//   configure:  parameters read and validated, model loaded and warmed up, the
//               pipeline built, cmd_vel and ~/chunk publishers, the instruction and
//               e-stop subscriptions (so an e-stop sent while inactive is not lost)
//   activate:   camera subscriptions (or the camera service), the control timer,
//               publishing; the policy's window starts empty
//   deactivate: a final zero, then nothing more is published
//   cleanup:    everything configure made is released, the model included, so the
//               next configure reads the parameters (a new model path) again
//   shutdown:   from any state: a zero first (when configured), then as cleanup
// autostart (default true) configures and activates at start (run.ts).
// `ros2 param set` goes through node-params.ts: a live parameter (the limits, rates,
// aggregation, ...) reaches the pipeline from its next control tick, a reload one
// (the model, the camera source, stamped) is refused while configured.
//
//   image (Image, sensor-data QoS) ─┐
//   image/compressed (sensor-data) ─┼─> Pipeline.onFrame (stamp = node clock at receipt)
//   image_service (image_source: service) ─┘
//   instruction (String) ──> Pipeline.setInstruction
//   estop (Bool) ──> Pipeline.setEstop
//   Pipeline sink ──> cmd_vel (Twist, or TwistStamped when stamped:=true)
//   Pipeline onChunk ──> ~/chunk (std_msgs/String, JSON)
//   every 1 s ──> /diagnostics (DiagnosticArray)
//
// Frame stamps are the node clock's time when the message arrives, not its header
// stamp: the camera may run on another machine whose clock is off by more than
// the watchdog timeout, and the pipeline compares stamps with its own clock (the
// watchdog, chunk step times). Receipt time is on that clock by construction; the
// few milliseconds of transport delay only make chunks look slightly older. The
// header stamp goes along as the capture time: which frames are sampled is decided
// by differences between capture times, which no clock offset or transport jitter
// changes, so the robot and a replay of its bag sample the same frames.
import path from "node:path";
import { Pipeline, type PipelineLogger } from "../control/pipeline.js";
import { WallScheduler, type Scheduler, type Timer } from "../control/clock.js";
import type { Command } from "../control/command.js";
import { ParamsError } from "../params/param-table.js";
import { POLICY_TABLE, modelLoadOptions, paramSpec, parseParams, type PolicyParams } from "../params/table.js";
import type { CameraFrame } from "../msgs/image.js";
import { instructionTokenWarning } from "../model/instruction-tokens.js";
import { VlaModel, type LoadOptions } from "../model/vla-model.js";
import type { ActionChunk } from "../policy/chunk.js";
import { VlaPolicy } from "../policy/vla-policy.js";
import { errorText } from "../util/errors.js";
import { CommandStats } from "./command-stats.js";
import { policyDiagnostics, rosLogger, type PolicyStatus } from "./diagnostics.js";
import { ImageServiceSource } from "./image-service-source.js";
import { STATE, type CallbackResult, type StateId } from "./lifecycle.js";
import { ManagedNode, attempt } from "./managed-node.js";
import { boolFromRos, commandToTwist, commandToTwistStamped, cameraFrameFromRos, stringFromRos, timeToSeconds } from "./msg-convert.js";
import { QOS_DEFAULT, QOS_SENSOR_DATA, type Rclnodejs, type RosNode, type RosPublisher, type RosSubscription } from "./rclnodejs-api.js";
import { NodeParams } from "./node-params.js";
import { NODE_TOPICS } from "../mobile-vla/topics.js";

export const POLICY_NODE_NAME = "vla_policy";

export const POLICY_TOPICS = {
  image: NODE_TOPICS.image,
  compressed: NODE_TOPICS.compressedImage,
  instruction: NODE_TOPICS.instruction,
  estop: NODE_TOPICS.estop,
  cmdVel: NODE_TOPICS.cmdVel,
  chunk: "~/chunk",
  diagnostics: "/diagnostics",
} as const;

export const MSG = {
  image: "sensor_msgs/msg/Image",
  compressed: "sensor_msgs/msg/CompressedImage",
  string: "std_msgs/msg/String",
  bool: "std_msgs/msg/Bool",
  twist: "geometry_msgs/msg/Twist",
  twistStamped: "geometry_msgs/msg/TwistStamped",
  diagnostics: "diagnostic_msgs/msg/DiagnosticArray",
} as const;

export interface PolicyNodeOptions {
  rcl: Rclnodejs;
  /** An existing node; default: rcl.createNode("vla_policy"). */
  node?: RosNode;
  /** Time for the pipeline; default: a WallScheduler reading the node's clock. */
  scheduler?: Scheduler;
  /** Milliseconds to keep the process up after the final zero so the middleware sends it (default 250). */
  flushMs?: number;
  /** Milliseconds deactivate / shutdown wait for a running inference before going on (default 5000). */
  idleTimeoutMs?: number;
  /** Model loader (tests may count loads); default VlaModel.load. */
  loadModel?: (dir: string, options: LoadOptions) => Promise<VlaModel>;
  /** Seconds between /diagnostics messages (default 1). */
  diagnosticsPeriodS?: number;
}

/** The node could not start (autostart): bad parameters or a model that does not load. */
export class PolicyNodeStartError extends Error {
  override name = "PolicyNodeStartError";
}

/** What configure builds and cleanup releases. */
interface Configured {
  /** Read at configure; live parameters replace it as they are set. */
  params: PolicyParams;
  model: VlaModel;
  policy: VlaPolicy;
  pipeline: Pipeline;
  cmdPub: RosPublisher;
  chunkPub: RosPublisher;
  /** instruction and estop: kept from configure to cleanup. */
  subscriptions: RosSubscription[];
  /** The camera service client (image_source: service). */
  source: ImageServiceSource | null;
}

export class PolicyNode {
  readonly node: RosNode;
  readonly scheduler: Scheduler;
  readonly managed: ManagedNode;
  private readonly opts: PolicyNodeOptions;
  private readonly log: PipelineLogger;
  private readonly diagPub: RosPublisher;
  private readonly diagTimer: Timer;
  /** The parameter table on this node: declared at creation, read at configure, `ros2 param set` decided. */
  private readonly rosParams: NodeParams;
  private readonly autostartValue: boolean;
  private cfg: Configured | null = null;
  private cameraSubs: RosSubscription[] = [];
  /** cmd_vel and ~/chunk are published only while active (a lifecycle publisher's rule). */
  private publishing = false;
  private stats = new CommandStats();
  private startError: string | null = null;
  private callbackErrors = 0;
  private closing: Promise<void> | null = null;
  /** The last instruction checked against the training token counts, so each is warned about once. */
  private checkedInstruction: string | null = null;

  /** Declares the parameters and offers the lifecycle services; the node is unconfigured. */
  constructor(opts: PolicyNodeOptions) {
    this.opts = opts;
    const node = opts.node ?? opts.rcl.createNode(POLICY_NODE_NAME);
    this.node = node;
    this.log = rosLogger(node.getLogger());
    this.scheduler = opts.scheduler ?? new WallScheduler(() => timeToSeconds(node.now()));
    try {
      this.rosParams = new NodeParams(opts.rcl, node, POLICY_TABLE);
    } catch (e) {
      throw new PolicyNodeStartError(`${POLICY_NODE_NAME}: refusing to start: ${errorText(e)}`, { cause: e });
    }
    const autostart = paramSpec("autostart").parse(this.rosParams.initial.autostart);
    if (!autostart.ok) throw new PolicyNodeStartError(`${POLICY_NODE_NAME}: refusing to start: autostart: expected ${autostart.expected}`);
    this.autostartValue = autostart.value as boolean;
    this.diagPub = node.createPublisher(MSG.diagnostics, POLICY_TOPICS.diagnostics, { qos: QOS_DEFAULT });
    this.managed = new ManagedNode(node, this.scheduler, this.log, {
      onConfigure: () => this.onConfigure(),
      onActivate: () => this.onActivate(),
      onDeactivate: () => this.onDeactivate(),
      onCleanup: () => this.onCleanup(),
      onShutdown: (from) => this.onShutdown(from),
      onError: (from) => this.onError(from),
    });
    this.rosParams.watch({ phase: () => this.managed.paramPhase(), apply: (raw, changed) => this.applyLive(parseParams(raw), changed) });
    this.diagTimer = this.scheduler.every(this.opts.diagnosticsPeriodS ?? 1, () => this.guarded("diagnostics", () => this.publishDiagnostics()));
  }

  /**
   * The node as `ros2 run` starts it: created, then configured and activated when
   * autostart is true. Throws PolicyNodeStartError naming the bad parameters or the
   * model problem (the node is left unconfigured; shut it down).
   */
  static async create(opts: PolicyNodeOptions): Promise<PolicyNode> {
    const n = new PolicyNode(opts);
    if (n.autostart) await n.startup();
    return n;
  }

  /** The autostart parameter, read when the node was created. */
  get autostart(): boolean {
    return this.autostartValue;
  }

  /** configure + activate; throws PolicyNodeStartError with the reason when either fails. */
  async startup(): Promise<void> {
    try {
      await this.managed.startup(() => this.startError ?? "see the log");
    } catch (e) {
      throw new PolicyNodeStartError(errorText(e), { cause: e });
    }
  }

  /** The parameters read at configure; null while unconfigured. */
  get params(): PolicyParams | null {
    return this.cfg?.params ?? null;
  }

  /** The pipeline built at configure; null while unconfigured. */
  get pipeline(): Pipeline | null {
    return this.cfg?.pipeline ?? null;
  }

  get lifecycleState(): string {
    return this.managed.stateLabel;
  }

  /** Callback errors logged so far (a test hook and a diagnostics figure). */
  get errors(): number {
    return this.callbackErrors;
  }

  /**
   * Process exit: shuts down from whatever state the node is in (a zero is
   * published first when configured), waits for the middleware to send it, and
   * releases everything. Idempotent. The caller destroys the node and shuts
   * rclnodejs down.
   */
  shutdown(): Promise<void> {
    this.closing ??= (async () => {
      await this.managed.shutdown();
      this.diagTimer.cancel();
      this.guarded("diagnostics", () => this.publishDiagnostics());
      // rcl_publish hands the message to the middleware synchronously, but DDS sends
      // it from its own threads: exiting at once can lose the robot's last stop.
      const flushMs = this.opts.flushMs ?? 250;
      if (flushMs > 0) await new Promise((r) => setTimeout(r, flushMs));
      this.managed.destroy();
    })();
    return this.closing;
  }

  // ---- lifecycle callbacks -------------------------------------------------

  private onConfigure(): Promise<CallbackResult> {
    return this.recordStart("configure", async () => {
      const params = this.readParams();
      const load = this.opts.loadModel ?? ((dir: string, o: LoadOptions) => VlaModel.load(dir, o));
      let model: VlaModel;
      try {
        model = await load(params.model, modelLoadOptions(params));
      } catch (e) {
        throw new Error(`model ${JSON.stringify(params.model)} did not load: ${errorText(e)}`, { cause: e });
      }
      try {
        this.cfg = this.build(params, model);
      } catch (e) {
        await model.close().catch(() => undefined);
        throw e;
      }
      this.stats = new CommandStats();
      this.log.info("vla_policy configured", {
        model: params.model,
        precision: model.precision,
        provider: params.provider,
        frame_interval_s: this.cfg.pipeline.frameIntervalS,
        control_rate_hz: params.control_rate_hz,
        stamped: params.stamped,
        image_source: params.image_source,
      });
      // The instruction parameter is the first instruction the robot acts on.
      this.warnTokenCount(params.instruction);
    });
  }

  private onActivate(): Promise<CallbackResult> {
    return this.recordStart("activate", () => {
      const c = this.configured();
      // The window held features of a view from before the node was inactive.
      c.policy.reset();
      this.publishing = true;
      c.pipeline.start();
      if (c.source) c.source.start();
      else this.subscribeCamera(c);
      this.log.info("vla_policy active", { image_source: c.params.image_source });
    });
  }

  private async onDeactivate(): Promise<CallbackResult> {
    // Errors here go to on_error, which releases everything: a node half-deactivated must not drive.
    return attempt(this.log, "deactivate", () => this.stopDriving(), { result: "error" });
  }

  private async onCleanup(): Promise<CallbackResult> {
    return attempt(this.log, "cleanup", () => this.release(), { result: "error" });
  }

  private async onShutdown(from: StateId): Promise<CallbackResult> {
    return attempt(this.log, "shutdown", async () => {
      if (from === STATE.ACTIVE) await this.stopDriving();
      else if (this.cfg) this.publishZero();
      await this.release();
    });
  }

  private async onError(from: StateId): Promise<CallbackResult> {
    return attempt(this.log, "error processing", async () => {
      if (this.publishing || from === STATE.ACTIVE) await this.stopDriving();
      else if (this.cfg) this.publishZero();
      await this.release();
    });
  }

  // ---- configure / activate building blocks --------------------------------

  /** The declared parameters' current values (set since declaration included) through the table's parser. */
  private readParams(): PolicyParams {
    const params = parseParams(this.rosParams.raw());
    if (params.model.trim() === "") throw new ParamsError(['model: expected the path of a model folder (e.g. model:=/path/to/models/mobile_vla), got ""']);
    return params;
  }

  /**
   * Live parameters (their table entry says `applies: "live"`) on the configured
   * node, already checked: the pipeline takes them from its next control tick, the
   * camera service its new interval and timeout, the policy its window fill; a new
   * instruction parameter acts as one arriving on the topic.
   */
  private applyLive(next: PolicyParams, changed: readonly string[]): void {
    const c = this.configured();
    if (changed.includes("instruction")) {
      try {
        this.setInstruction(next.instruction);
      } catch (e) {
        // As for a broken instruction message: the robot stops rather than act on the old one.
        c.pipeline.setInstruction("");
        throw e;
      }
    }
    c.pipeline.update(next);
    c.source?.retime(c.pipeline.frameIntervalS, next.watchdog_timeout_s);
    c.policy.windowFill = next.window_fill;
    c.params = next;
    this.log.info(`parameters set: ${changed.map((n) => `${n}=${JSON.stringify(next[n as keyof PolicyParams])}`).join(", ")}`);
  }

  private build(params: PolicyParams, model: VlaModel): Configured {
    const node = this.node;
    const policy = new VlaPolicy(model, { windowFill: params.window_fill });
    const cmdPub = node.createPublisher(params.stamped ? MSG.twistStamped : MSG.twist, POLICY_TOPICS.cmdVel, { qos: QOS_DEFAULT });
    const chunkPub = node.createPublisher(MSG.string, POLICY_TOPICS.chunk, { qos: QOS_DEFAULT });
    const pipeline = new Pipeline({
      policy,
      scheduler: this.scheduler,
      params,
      sink: (cmd) => this.publishCommand(cmd),
      onChunk: (c) => this.publishChunk(c),
      logger: this.log,
    });
    const subscriptions = [
      node.createSubscription(MSG.string, POLICY_TOPICS.instruction, { qos: QOS_DEFAULT }, (msg) =>
        this.guarded(
          "instruction",
          () => this.setInstruction(stringFromRos(msg)),
          () => this.cfg?.pipeline.setInstruction(""),
        ),
      ),
      node.createSubscription(MSG.bool, POLICY_TOPICS.estop, { qos: QOS_DEFAULT }, (msg) =>
        // A broken e-stop message is treated as pressed: when in doubt, stop.
        this.guarded(
          "estop",
          () => this.cfg?.pipeline.setEstop(boolFromRos(msg)),
          () => this.cfg?.pipeline.setEstop(true),
        ),
      ),
    ];
    const source =
      params.image_source === "service"
        ? new ImageServiceSource({
            node,
            scheduler: this.scheduler,
            service: params.image_service,
            type: params.image_service_type,
            intervalS: pipeline.frameIntervalS,
            timeoutS: params.watchdog_timeout_s,
            log: this.log,
            onImage: (frame, stamp) => this.guarded("image_service", () => this.cfg?.pipeline.onFrame({ ...frame, stamp })),
          })
        : null;
    return { params, model, policy, pipeline, cmdPub, chunkPub, subscriptions, source };
  }

  private subscribeCamera(c: Configured): void {
    // Sensor-data QoS (best effort) for cameras: a reliable subscription would not
    // match a best-effort camera publisher at all, and a late frame is worthless anyway.
    this.cameraSubs = [
      this.node.createSubscription(MSG.image, POLICY_TOPICS.image, { qos: QOS_SENSOR_DATA }, (msg) =>
        this.guarded("image", () => this.onImage(c, cameraFrameFromRos(msg, false))),
      ),
      this.node.createSubscription(MSG.compressed, POLICY_TOPICS.compressed, { qos: QOS_SENSOR_DATA }, (msg) =>
        this.guarded("image/compressed", () => this.onImage(c, cameraFrameFromRos(msg, true))),
      ),
    ];
  }

  /**
   * Stops taking frames, stops the pipeline (which publishes the final zero, while
   * publishing is still open), closes publishing and waits, bounded, for a running
   * inference so the model is free for cleanup or the next activation.
   */
  private async stopDriving(): Promise<void> {
    for (const s of this.cameraSubs.splice(0)) this.node.destroySubscription(s);
    const c = this.cfg;
    c?.source?.stop();
    c?.pipeline.stop();
    this.publishing = false;
    if (c) await this.idle(c.pipeline);
  }

  private async idle(pipeline: Pipeline): Promise<void> {
    // An inference still running finishes on the scheduler's clock; bounded so a
    // hung session cannot keep a stopped robot's process in a transition forever.
    const ms = this.opts.idleTimeoutMs ?? 5000;
    let timer: NodeJS.Timeout | undefined;
    const idle = await Promise.race([pipeline.whenIdle().then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)))]);
    clearTimeout(timer);
    if (!idle) this.log.warn("an inference was still running; not waiting for it", { waited_ms: ms });
  }

  /** Releases what configure made, the model last. */
  private async release(): Promise<void> {
    const c = this.cfg;
    if (!c) return;
    this.cfg = null;
    for (const s of c.subscriptions) this.node.destroySubscription(s);
    c.source?.destroy();
    this.node.destroyPublisher(c.cmdPub);
    this.node.destroyPublisher(c.chunkPub);
    await c.model.close().catch((e: unknown) => this.log.warn("model close failed", { error: errorText(e) }));
  }

  private configured(): Configured {
    if (!this.cfg) throw new Error("not configured");
    return this.cfg;
  }

  /** configure / activate: a failure's reason is kept for autostart's error and the diagnostics. */
  private async recordStart(what: string, fn: () => Promise<void> | void): Promise<CallbackResult> {
    const r = await attempt(this.log, what, fn, { onFailure: (m) => (this.startError = m) });
    if (r === "success") this.startError = null;
    // A failed transition returns to its start state with nothing of it left behind.
    else if (what === "configure") await this.release();
    else await this.stopDriving();
    return r;
  }

  // ---- messages ------------------------------------------------------------

  private setInstruction(text: string): void {
    this.cfg?.pipeline.setInstruction(text);
    this.warnTokenCount(text);
  }

  /**
   * Warns once per new instruction whose token count the model never saw in training:
   * for the December 2025 models that count, not the words, is what changes the
   * feature, so the robot may act unlike anything it was trained on.
   */
  private warnTokenCount(text: string): void {
    const instruction = text.trim();
    const model = this.cfg?.model;
    if (!model || instruction === "" || instruction === this.checkedInstruction) return;
    this.checkedInstruction = instruction;
    let warning: string | null;
    try {
      warning = instructionTokenWarning(model.manifest, model.tokenizer.encode(instruction));
    } catch {
      return; // an instruction that does not tokenise is refused, and logged, by the pipeline
    }
    if (warning) this.log.warn(warning);
  }

  private onImage(c: Configured, frame: CameraFrame): void {
    c.pipeline.onFrame({ ...frame, stamp: this.scheduler.now() });
  }

  /**
   * Runs a subscription callback so that nothing it throws escapes into rclnodejs
   * (which would end the process with the robot moving): the error is logged and
   * `onError` puts the pipeline in a state that stops the robot.
   */
  private guarded(what: string, fn: () => void, onError?: () => void): void {
    try {
      fn();
    } catch (e) {
      this.callbackErrors++;
      // Every error for the first few, then powers of two: a broken publisher at 30 Hz must not flood the log.
      const n = this.callbackErrors;
      if (n <= 10 || (n & (n - 1)) === 0) this.log.error(`${what} callback failed`, { error: errorText(e), count: n });
      if (onError) {
        try {
          onError();
        } catch (e2) {
          this.log.error(`${what}: could not stop the robot after an error`, { error: errorText(e2) });
        }
      }
    }
  }

  private publishCommand(cmd: Command): void {
    const c = this.cfg;
    if (!c || !this.publishing) return;
    this.stats.observe(cmd);
    const p = c.params;
    c.cmdPub.publish(p.stamped ? commandToTwistStamped(cmd, cmd.t, p.frame_id) : commandToTwist(cmd));
  }

  /** A zero on cmd_vel outside the pipeline: shutdown of a configured node that is not driving. */
  private publishZero(): void {
    const c = this.configured();
    const t = this.scheduler.now();
    const zero: Command = { t, linear_x: 0, linear_y: 0, angular_z: 0, reason: "shutdown", target_x: 0, target_y: 0, chunk_stamp: null, step: null };
    c.cmdPub.publish(c.params.stamped ? commandToTwistStamped(zero, t, c.params.frame_id) : commandToTwist(zero));
  }

  private publishChunk(chunk: ActionChunk): void {
    const c = this.cfg;
    if (!c || !this.publishing) return;
    // JSON on std_msgs/String: readable with `ros2 topic echo`, and it carries the
    // stamp, step length and validity that a Float32MultiArray layout would have to encode.
    const data = JSON.stringify({ stamp: chunk.stamp, step_s: chunk.stepS, invalid: chunk.invalid, actions: chunk.actions, class_ids: chunk.classIds ?? null });
    c.chunkPub.publish({ data });
  }

  /** What /diagnostics reports now. */
  status(): PolicyStatus {
    const c = this.cfg;
    const counters = c?.policy.counters();
    return {
      lifecycle: this.managed.stateLabel,
      startError: this.startError,
      pipeline: c?.pipeline.diagnostics() ?? null,
      watchdogTimeoutS: c?.params.watchdog_timeout_s ?? null,
      camera: c ? { source: c.params.image_source, service: c.source?.status() ?? null } : null,
      model: c ? { name: c.model.manifest.name !== "unnamed" ? c.model.manifest.name : path.basename(c.params.model), precision: c.model.precision } : null,
      stops: this.stats.stopCounts(),
      chunkAgeS: this.stats.chunkAgeS,
      backbonePassesPerFrame: counters && counters.frames > 0 ? counters.backboneRuns / counters.frames : null,
      callbackErrors: this.callbackErrors,
    };
  }

  private publishDiagnostics(): void {
    this.diagPub.publish(policyDiagnostics(this.status(), this.node.name(), this.scheduler.now()));
  }
}

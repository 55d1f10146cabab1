// The vla_policy node: camera + instruction + e-stop in, cmd_vel out, through the
// same Pipeline a bag replay uses. Everything ROS-specific stays here; the
// rclnodejs module is passed in (the real one from main.ts, a fake in tests).
//
//   image (Image, sensor-data QoS) ─┐
//   image/compressed (sensor-data) ─┴─> Pipeline.onFrame (stamp = node clock at receipt)
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
// few milliseconds of transport delay only make chunks look slightly older.
import { Pipeline } from "../control/pipeline.js";
import { WallScheduler, type Scheduler, type Timer } from "../control/clock.js";
import type { Command } from "../control/command.js";
import { PARAM_NAMES, ParamsError, modelLoadOptions, paramSpec, parseParams, type PolicyParams } from "../params/table.js";
import type { ImageMessage } from "../msgs/image.js";
import { instructionTokenWarning } from "../model/instruction-tokens.js";
import { VlaModel, type LoadOptions } from "../model/vla-model.js";
import type { ActionChunk } from "../policy/chunk.js";
import { VlaPolicy } from "../policy/vla-policy.js";
import { diagnosticArray, rosLogger } from "./diagnostics.js";
import {
  boolFromRos,
  commandToTwist,
  commandToTwistStamped,
  compressedImageFromRos,
  imageFromRos,
  stringFromRos,
  timeToSeconds,
} from "./msg-convert.js";
import { QOS_DEFAULT, QOS_SENSOR_DATA, type Rclnodejs, type RosNode, type RosPublisher } from "./rclnodejs-api.js";
import { declareParams, type ParamDecl } from "./ros-params.js";
import type { PipelineLogger } from "../control/pipeline.js";

export const POLICY_NODE_NAME = "vla_policy";

export const POLICY_TOPICS = {
  image: "image",
  compressed: "image/compressed",
  instruction: "instruction",
  estop: "estop",
  cmdVel: "cmd_vel",
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
  /** Milliseconds shutdown waits for a running inference before releasing the model (default 5000). */
  idleTimeoutMs?: number;
  /** Model loader (tests may count loads); default VlaModel.load. */
  loadModel?: (dir: string, options: LoadOptions) => Promise<VlaModel>;
  /** Seconds between /diagnostics messages (default 1). */
  diagnosticsPeriodS?: number;
}

/** The node refused to start: bad parameters or a model that does not load. */
export class PolicyNodeStartError extends Error {
  override name = "PolicyNodeStartError";
}

/** The PARAMS table as ROS declarations: frame_interval_s's null default is 0.0 (ROS parameters cannot be null). */
export function policyParamDecls(): ParamDecl[] {
  return PARAM_NAMES.map((name) => {
    const spec = paramSpec(name);
    const d = spec.default;
    const value = d === null ? 0 : (d as string | number | boolean);
    return { name, default: value, integer: spec.type === "integer" };
  });
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class PolicyNode {
  readonly node: RosNode;
  readonly params: PolicyParams;
  readonly pipeline: Pipeline;
  readonly scheduler: Scheduler;
  private readonly log: PipelineLogger;
  private readonly cmdPub: RosPublisher;
  private readonly chunkPub: RosPublisher;
  private readonly diagPub: RosPublisher;
  private readonly flushMs: number;
  private readonly idleTimeoutMs: number;
  private readonly diagPeriodS: number;
  private diagTimer: Timer | null = null;
  private closing: Promise<void> | null = null;
  private callbackErrors = 0;
  /** The last instruction checked against the training token counts, so each is warned about once. */
  private checkedInstruction: string | null = null;

  private constructor(
    node: RosNode,
    params: PolicyParams,
    private readonly model: VlaModel,
    opts: PolicyNodeOptions,
  ) {
    this.node = node;
    this.params = params;
    this.log = rosLogger(node.getLogger());
    this.flushMs = opts.flushMs ?? 250;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 5000;
    this.diagPeriodS = opts.diagnosticsPeriodS ?? 1;
    this.scheduler = opts.scheduler ?? new WallScheduler(() => timeToSeconds(node.now()));
    this.cmdPub = node.createPublisher(params.stamped ? MSG.twistStamped : MSG.twist, POLICY_TOPICS.cmdVel, { qos: QOS_DEFAULT });
    this.chunkPub = node.createPublisher(MSG.string, POLICY_TOPICS.chunk, { qos: QOS_DEFAULT });
    this.diagPub = node.createPublisher(MSG.diagnostics, POLICY_TOPICS.diagnostics, { qos: QOS_DEFAULT });
    this.pipeline = new Pipeline({
      policy: new VlaPolicy(model, { windowFill: params.window_fill }),
      scheduler: this.scheduler,
      params,
      sink: (cmd) => this.publishCommand(cmd),
      onChunk: (c) => this.publishChunk(c),
      logger: this.log,
    });

    // Sensor-data QoS (best effort) for cameras: a reliable subscription would not
    // match a best-effort camera publisher at all, and a late frame is worthless anyway.
    node.createSubscription(MSG.image, POLICY_TOPICS.image, { qos: QOS_SENSOR_DATA }, (msg) =>
      this.guarded("image", () => this.onImage(imageFromRos(msg))),
    );
    node.createSubscription(MSG.compressed, POLICY_TOPICS.compressed, { qos: QOS_SENSOR_DATA }, (msg) =>
      this.guarded("image/compressed", () => this.onImage(compressedImageFromRos(msg))),
    );
    node.createSubscription(MSG.string, POLICY_TOPICS.instruction, { qos: QOS_DEFAULT }, (msg) =>
      this.guarded("instruction", () => this.setInstruction(stringFromRos(msg)), () => this.pipeline.setInstruction("")),
    );
    node.createSubscription(MSG.bool, POLICY_TOPICS.estop, { qos: QOS_DEFAULT }, (msg) =>
      // A broken e-stop message is treated as pressed: when in doubt, stop.
      this.guarded("estop", () => this.pipeline.setEstop(boolFromRos(msg)), () => this.pipeline.setEstop(true)),
    );
    // The instruction parameter is the first instruction the robot acts on.
    this.warnTokenCount(params.instruction);
  }

  /**
   * Declares and validates the parameters, loads the model and builds the
   * pipeline (not started). Throws PolicyNodeStartError naming the bad parameters
   * or the model problem.
   */
  static async create(opts: PolicyNodeOptions): Promise<PolicyNode> {
    const node = opts.node ?? opts.rcl.createNode(POLICY_NODE_NAME);
    let params: PolicyParams;
    try {
      params = parseParams(declareParams(opts.rcl, node, policyParamDecls()));
      if (params.model.trim() === "") throw new ParamsError(["model: expected the path of a model folder (e.g. model:=/path/to/models/mobile_vla), got \"\""]);
    } catch (e) {
      throw new PolicyNodeStartError(`${POLICY_NODE_NAME}: refusing to start: ${errorText(e)}`, { cause: e });
    }
    let model: VlaModel;
    try {
      const load = opts.loadModel ?? ((dir: string, o: LoadOptions) => VlaModel.load(dir, o));
      model = await load(params.model, modelLoadOptions(params));
    } catch (e) {
      throw new PolicyNodeStartError(`${POLICY_NODE_NAME}: model ${JSON.stringify(params.model)} did not load: ${errorText(e)}`, { cause: e });
    }
    const n = new PolicyNode(node, params, model, opts);
    n.log.info("vla_policy ready", {
      model: params.model, precision: params.precision, provider: params.provider, frame_interval_s: n.pipeline.frameIntervalS,
      control_rate_hz: params.control_rate_hz, stamped: params.stamped,
    });
    return n;
  }

  /** Starts the control and sampling timers and the diagnostics. */
  start(): void {
    if (this.closing) throw new Error("vla_policy: start after shutdown");
    this.pipeline.start();
    this.diagTimer ??= this.scheduler.every(this.diagPeriodS, () => this.guarded("diagnostics", () => this.publishDiagnostics()));
  }

  /**
   * Stops the pipeline, which publishes the final zero command, waits for a
   * running inference and for the middleware to send the zero, then releases the
   * model. Idempotent. The caller destroys the node and shuts rclnodejs down.
   */
  shutdown(): Promise<void> {
    this.closing ??= (async () => {
      this.diagTimer?.cancel();
      this.diagTimer = null;
      this.pipeline.stop();
      this.guarded("diagnostics", () => this.publishDiagnostics());
      // An inference still running finishes on the scheduler's clock; bounded so a
      // hung session cannot keep a stopped robot's process alive forever.
      let timer: NodeJS.Timeout | undefined;
      const idle = await Promise.race([
        this.pipeline.whenIdle().then(() => true),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(false), this.idleTimeoutMs))),
      ]);
      clearTimeout(timer);
      if (!idle) this.log.warn("an inference was still running at shutdown; not waiting for it", { waited_ms: this.idleTimeoutMs });
      // rcl_publish hands the message to the middleware synchronously, but DDS sends
      // it from its own threads: exiting at once can lose the robot's last stop.
      if (this.flushMs > 0) await new Promise((r) => setTimeout(r, this.flushMs));
      await this.model.close().catch((e: unknown) => this.log.warn("model close failed", { error: errorText(e) }));
    })();
    return this.closing;
  }

  /** Callback errors logged so far (a test hook and a diagnostics figure). */
  get errors(): number {
    return this.callbackErrors;
  }

  private setInstruction(text: string): void {
    this.pipeline.setInstruction(text);
    this.warnTokenCount(text);
  }

  /**
   * Warns once per new instruction whose token count the model never saw in training:
   * for the December 2025 models that count, not the words, is what changes the
   * feature, so the robot may act unlike anything it was trained on.
   */
  private warnTokenCount(text: string): void {
    const instruction = text.trim();
    if (instruction === "" || instruction === this.checkedInstruction) return;
    this.checkedInstruction = instruction;
    let warning: string | null;
    try {
      warning = instructionTokenWarning(this.model.manifest, this.model.tokenizer.encode(instruction));
    } catch {
      return; // an instruction that does not tokenise is refused, and logged, by the pipeline
    }
    if (warning) this.log.warn(warning);
  }

  private onImage(image: ImageMessage): void {
    this.pipeline.onFrame({ stamp: this.scheduler.now(), image });
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
    const p = this.params;
    this.cmdPub.publish(p.stamped ? commandToTwistStamped(cmd, cmd.t, p.frame_id) : commandToTwist(cmd));
  }

  private publishChunk(c: ActionChunk): void {
    // JSON on std_msgs/String: readable with `ros2 topic echo`, and it carries the
    // stamp, step length and validity that a Float32MultiArray layout would have to encode.
    const data = JSON.stringify({ stamp: c.stamp, step_s: c.stepS, invalid: c.invalid, actions: c.actions, class_ids: c.classIds ?? null });
    this.chunkPub.publish({ data });
  }

  private publishDiagnostics(): void {
    const d = this.pipeline.diagnostics();
    const msg = diagnosticArray(d, this.node.name(), this.scheduler.now());
    msg.status[0]?.values.push({ key: "callback_errors", value: String(this.callbackErrors) });
    this.diagPub.publish(msg);
  }
}

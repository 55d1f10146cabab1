// The episode_recorder node: camera frames and cmd_vel in, Mobile-VLA HDF5
// episodes out, through the same EpisodeStateMachine the bag -> episodes
// converter uses. Episodes are started and ended by std_msgs/String on `episode`
// ("start", "start <scenario>", "stop", "discard"), which the teleop's n / m keys
// publish.
//
// A managed (lifecycle) node like vla_policy (managed-node.ts): configure reads and
// validates the parameters and builds the episode state machine; activate
// subscribes; deactivate saves the episode being recorded (never lost) and
// unsubscribes; cleanup drops the state machine, so a new output_dir applies at the
// next configure; shutdown saves from any state. autostart (default true) does
// configure + activate at start. Parameters: params/recorder-table.ts, set while
// running through node-params.ts (scenario live, the rest at configure).
//
// Every event is timed by the node clock at receipt (the camera's header stamp
// may come from another machine's clock, and the commands carry none), so the
// "frame after the command" rule compares times on one clock.
import { writerSinkFactory } from "../episodes/episode-sink.js";
import { EpisodeStateMachine, type EpisodeTransition } from "../episodes/episode-state.js";
import { EpisodeCommandError, parseEpisodeCommand } from "../mobile-vla/episode-command.js";
import { NODE_TOPICS } from "../mobile-vla/topics.js";
import { WallScheduler, type Scheduler } from "../control/clock.js";
import type { PipelineLogger } from "../control/pipeline.js";
import { rosLogger } from "./diagnostics.js";
import type { CallbackResult } from "./lifecycle.js";
import { ManagedNode, attempt } from "./managed-node.js";
import { imageFromRos, stringFromRos, timeToSeconds, twistActionFromRos } from "./msg-convert.js";
import { QOS_DEFAULT, QOS_SENSOR_DATA, type Rclnodejs, type RosNode, type RosSubscription } from "./rclnodejs-api.js";
import { NodeParams } from "./node-params.js";
import { RECORDER_TABLE, parseRecorderParams, type RecorderParams } from "../params/recorder-table.js";
import { errorText } from "../util/errors.js";

export const RECORDER_NODE_NAME = "episode_recorder";

export const RECORDER_TOPICS = {
  image: NODE_TOPICS.image,
  cmdVel: NODE_TOPICS.cmdVel,
  instruction: NODE_TOPICS.instruction,
  episode: NODE_TOPICS.episode,
} as const;

export class RecorderNodeStartError extends Error {
  override name = "RecorderNodeStartError";
}

export interface RecorderNodeOptions {
  rcl: Rclnodejs;
  node?: RosNode;
  /** Timers (the bond's heartbeats); default a WallScheduler on the node's clock. */
  scheduler?: Scheduler;
  /** Clock seconds for episode events; default the scheduler's. */
  now?: () => number;
}

/** What configure builds and cleanup releases. */
interface Configured {
  params: RecorderParams;
  state: EpisodeStateMachine;
}

export class RecorderNode {
  readonly node: RosNode;
  readonly managed: ManagedNode;
  private readonly log: PipelineLogger;
  private readonly now: () => number;
  private readonly autostartValue: boolean;
  /** The parameter table on this node: declared at creation, read at configure, `ros2 param set` decided. */
  private readonly rosParams: NodeParams;
  private cfg: Configured | null = null;
  private subscriptions: RosSubscription[] = [];
  /** Saves and discards still being written; deactivate and shutdown wait for them. */
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Every path saved, in order (for logs and tests). */
  readonly saved: string[] = [];
  private startError: string | null = null;
  private closing: Promise<void> | null = null;

  /** Declares and checks the parameters and offers the lifecycle services; the node is unconfigured. */
  constructor(opts: RecorderNodeOptions) {
    const node = opts.node ?? opts.rcl.createNode(RECORDER_NODE_NAME);
    this.node = node;
    this.log = rosLogger(node.getLogger());
    // Only autostart is read now; the rest is read and checked at configure.
    try {
      this.rosParams = new NodeParams(opts.rcl, node, RECORDER_TABLE);
    } catch (e) {
      throw new RecorderNodeStartError(`${RECORDER_NODE_NAME}: refusing to start: ${errorText(e)}`, { cause: e });
    }
    const autostart = RECORDER_TABLE.spec("autostart").parse(this.rosParams.initial.autostart);
    if (!autostart.ok) throw new RecorderNodeStartError(`${RECORDER_NODE_NAME}: refusing to start: autostart: expected ${autostart.expected}`);
    this.autostartValue = autostart.value as boolean;
    const scheduler = opts.scheduler ?? new WallScheduler(() => timeToSeconds(node.now()));
    this.now = opts.now ?? (() => scheduler.now());
    this.managed = new ManagedNode(node, scheduler, this.log, {
      onConfigure: () => this.onConfigure(),
      onActivate: () => this.onActivate(),
      onDeactivate: () => attempt(this.log, "deactivate", () => this.stopRecording(), { result: "error" }),
      onCleanup: () => attempt(this.log, "cleanup", () => void (this.cfg = null)),
      onShutdown: () => this.onShutdown(),
      onError: () => this.onShutdown(),
    });
    this.rosParams.watch({ phase: () => this.managed.paramPhase(), apply: (raw, changed) => this.applyLive(parseRecorderParams(raw), changed) });
  }

  /** The node as `ros2 run` starts it: created, then configured and activated when autostart is true. */
  static async create(opts: RecorderNodeOptions): Promise<RecorderNode> {
    const n = new RecorderNode(opts);
    if (n.autostart) await n.startup();
    return n;
  }

  get autostart(): boolean {
    return this.autostartValue;
  }

  /** configure + activate; throws RecorderNodeStartError with the reason when either fails. */
  async startup(): Promise<void> {
    try {
      await this.managed.startup(() => this.startError ?? "see the log");
    } catch (e) {
      throw new RecorderNodeStartError(errorText(e), { cause: e });
    }
  }

  /** The parameters read at configure; null while unconfigured. */
  get params(): RecorderParams | null {
    return this.cfg?.params ?? null;
  }

  /** The episode state machine built at configure; null while unconfigured. */
  get state(): EpisodeStateMachine | null {
    return this.cfg?.state ?? null;
  }

  get recording(): boolean {
    return this.cfg?.state.recording ?? false;
  }

  /** Resolves when every save / discard started so far has finished (failures are logged, not thrown). */
  async settled(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  /** Process exit: an episode being recorded is saved, never lost; waits for every write. Idempotent. */
  shutdown(): Promise<void> {
    this.closing ??= (async () => {
      await this.managed.shutdown();
      await this.settled();
      this.managed.destroy();
    })();
    return this.closing;
  }

  /** Live parameters (scenario) on the configured node, already checked: the next episode started uses them. */
  private applyLive(next: RecorderParams, changed: readonly string[]): void {
    const c = this.cfg;
    if (!c) return;
    c.state.setScenario(next.scenario === "" ? null : next.scenario);
    c.params = next;
    this.log.info(`parameters set: ${changed.map((n) => `${n}=${JSON.stringify(next[n as keyof RecorderParams])}`).join(", ")}`);
  }

  private async onConfigure(): Promise<CallbackResult> {
    const r = await attempt(
      this.log,
      "configure",
      () => {
        const p = parseRecorderParams(this.rosParams.raw());
        const sinks = writerSinkFactory(p.output_dir, {
          channelOrder: p.channel_order,
          gzip: p.gzip,
          onError: (e) => this.log.error("episode frame not written", { error: e.message }),
          onSaved: (path) => {
            this.saved.push(path);
            this.log.info("episode saved", { path });
          },
        });
        const state = new EpisodeStateMachine(sinks, {
          capture: p.capture,
          captureIntervalS: p.capture_interval_s,
          holdS: p.hold_s,
          scenario: p.scenario === "" ? null : p.scenario,
          onError: (e) => this.log.error("episode error", { error: e.message }),
        });
        this.cfg = { params: p, state };
        this.log.info("episode_recorder configured", { output_dir: p.output_dir, capture: p.capture });
      },
      { onFailure: (m) => (this.startError = m) },
    );
    if (r === "success") this.startError = null;
    return r;
  }

  private async onActivate(): Promise<CallbackResult> {
    const r = await attempt(
      this.log,
      "activate",
      () => {
        const node = this.node;
        const state = () => this.cfg?.state;
        this.subscriptions = [
          node.createSubscription("sensor_msgs/msg/Image", RECORDER_TOPICS.image, { qos: QOS_SENSOR_DATA }, (msg) =>
            this.guarded("image", () => state()?.onImage(this.now(), imageFromRos(msg))),
          ),
          node.createSubscription("geometry_msgs/msg/Twist", RECORDER_TOPICS.cmdVel, { qos: QOS_DEFAULT }, (msg) =>
            this.guarded("cmd_vel", () => state()?.onCommand(this.now(), twistActionFromRos(msg))),
          ),
          node.createSubscription("std_msgs/msg/String", RECORDER_TOPICS.instruction, { qos: QOS_DEFAULT }, (msg) =>
            this.guarded("instruction", () => {
              const text = stringFromRos(msg).trim();
              state()?.setInstruction(text === "" ? null : text);
            }),
          ),
          node.createSubscription("std_msgs/msg/String", RECORDER_TOPICS.episode, { qos: QOS_DEFAULT }, (msg) =>
            this.guarded("episode", () => this.onEpisodeText(stringFromRos(msg))),
          ),
        ];
        this.log.info("episode_recorder active");
      },
      { onFailure: (m) => (this.startError = m) },
    );
    if (r === "success") this.startError = null;
    else this.unsubscribe();
    return r;
  }

  private async onShutdown(): Promise<CallbackResult> {
    return attempt(this.log, "shutdown", async () => {
      await this.stopRecording();
      this.cfg = null;
    });
  }

  private unsubscribe(): void {
    for (const s of this.subscriptions.splice(0)) this.node.destroySubscription(s);
  }

  /** No more messages; the episode being recorded is saved and every write waited for. */
  private async stopRecording(): Promise<void> {
    this.unsubscribe();
    const state = this.cfg?.state;
    if (state?.recording) {
      this.log.info("leaving active while recording: saving the episode");
      this.handle(state.onEpisodeCommand(this.now(), "stop"));
    }
    await this.settled();
  }

  private onEpisodeText(text: string): void {
    const state = this.cfg?.state;
    if (!state) return;
    let c;
    try {
      c = parseEpisodeCommand(text);
    } catch (e) {
      if (!(e instanceof EpisodeCommandError)) throw e;
      // A refused start loses the episode the operator is about to record: an error.
      if (e.refusedStart) this.log.error("episode not started", { error: e.message });
      else this.log.warn("unknown episode command (expected start, start <scenario>, stop or discard)", { command: text });
      return;
    }
    this.handle(state.onEpisodeCommand(this.now(), c.command, c.scenario ? { scenario: c.scenario } : {}));
  }

  private handle(tr: EpisodeTransition): void {
    switch (tr.kind) {
      case "started":
        this.log.info("episode started", { t: tr.t });
        break;
      case "stopped":
        this.track(tr.result, (path) => this.log.info("episode stopped", { frames: tr.frames, path }));
        break;
      case "too_short":
        this.log.warn("episode too short: discarded", { frames: tr.frames });
        this.track(tr.result);
        break;
      case "discarded":
        this.log.info("episode discarded", { frames: tr.frames });
        this.track(tr.result);
        break;
      case "ignored":
        this.log.warn("episode command ignored", { reason: tr.reason });
        break;
      case "failed":
        this.log.error("episode could not start", { error: tr.error.message });
        break;
    }
  }

  private track<T>(p: Promise<T>, onOk?: (v: T) => void): void {
    // Failures were already reported through the state machine's onError.
    const q = p
      .then(
        (v) => onOk?.(v),
        () => undefined,
      )
      .finally(() => this.inFlight.delete(q));
    this.inFlight.add(q);
  }

  private guarded(what: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.log.error(`${what} callback failed`, { error: errorText(e) });
    }
  }
}

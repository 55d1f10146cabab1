// The episode_recorder node: camera frames and cmd_vel in, Mobile-VLA HDF5
// episodes out, through the same EpisodeStateMachine the bag -> episodes
// converter uses. Episodes are started and ended by std_msgs/String on `episode`
// ("start", "start <scenario>", "stop", "discard"), which the teleop's n / m keys
// publish.
//
// Every event is timed by the node clock at receipt (the camera's header stamp
// may come from another machine's clock, and the commands carry none), so the
// "frame after the command" rule compares times on one clock.
import type { ChannelOrder } from "../model/manifest.js";
import { checkScenario } from "../episodes/episode-name.js";
import { writerSinkFactory } from "../episodes/episode-sink.js";
import {
  EpisodeStateMachine,
  type CapturePolicy,
  type EpisodeCommand,
  type EpisodeTransition,
} from "../episodes/episode-state.js";
import type { PipelineLogger } from "../control/pipeline.js";
import { rosLogger } from "./diagnostics.js";
import { imageFromRos, stringFromRos, timeToSeconds, twistActionFromRos } from "./msg-convert.js";
import { QOS_DEFAULT, QOS_SENSOR_DATA, type Rclnodejs, type RosNode } from "./rclnodejs-api.js";
import { declareParams, type ParamDecl } from "./ros-params.js";

export const RECORDER_NODE_NAME = "episode_recorder";

export const RECORDER_TOPICS = {
  image: "image",
  cmdVel: "cmd_vel",
  instruction: "instruction",
  episode: "episode",
} as const;

export interface RecorderParams {
  output_dir: string;
  capture: CapturePolicy;
  capture_interval_s: number;
  hold_s: number;
  /** Scenario tags for file names ("" = none). */
  scenario: string;
  channel_order: ChannelOrder;
  /** gzip level 0..9 for images (0 = off). */
  gzip: number;
}

export const RECORDER_DEFAULTS: Readonly<RecorderParams> = Object.freeze({
  output_dir: "",
  capture: "on_action",
  capture_interval_s: 1.0,
  hold_s: 0.4,
  scenario: "",
  channel_order: "bgr",
  gzip: 0,
});

export const RECORDER_PARAM_DECLS: readonly ParamDecl[] = [
  { name: "output_dir", default: RECORDER_DEFAULTS.output_dir },
  { name: "capture", default: RECORDER_DEFAULTS.capture },
  { name: "capture_interval_s", default: RECORDER_DEFAULTS.capture_interval_s },
  { name: "hold_s", default: RECORDER_DEFAULTS.hold_s },
  { name: "scenario", default: RECORDER_DEFAULTS.scenario },
  { name: "channel_order", default: RECORDER_DEFAULTS.channel_order },
  { name: "gzip", default: RECORDER_DEFAULTS.gzip, integer: true },
];

export class RecorderNodeStartError extends Error {
  override name = "RecorderNodeStartError";
}

/** Validates the recorder's parameters; throws one error naming every bad one. */
export function parseRecorderParams(raw: Record<string, unknown>): RecorderParams {
  const problems: string[] = [];
  const known = new Set(RECORDER_PARAM_DECLS.map((d) => d.name));
  for (const k of Object.keys(raw)) if (!known.has(k)) problems.push(`${k}: unknown parameter; known: ${[...known].join(", ")}`);
  const get = <T>(name: keyof RecorderParams, ok: (v: unknown) => v is T, expected: string): T => {
    const v = raw[name] ?? RECORDER_DEFAULTS[name];
    if (ok(v)) return v;
    problems.push(`${name}: expected ${expected}, got ${JSON.stringify(v)}`);
    return RECORDER_DEFAULTS[name] as T;
  };
  const isStr = (v: unknown): v is string => typeof v === "string";
  const isPos = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v > 0;
  const p: RecorderParams = {
    output_dir: get("output_dir", (v): v is string => isStr(v) && v.trim() !== "", "a folder path (output_dir:=/data/episodes)"),
    capture: get("capture", (v): v is CapturePolicy => v === "on_action" || v === "interval", 'one of "on_action", "interval"'),
    capture_interval_s: get("capture_interval_s", isPos, "a number of seconds > 0"),
    hold_s: get("hold_s", isPos, "a number of seconds > 0"),
    scenario: get("scenario", isStr, "a string"),
    channel_order: get("channel_order", (v): v is ChannelOrder => v === "bgr" || v === "rgb", 'one of "bgr", "rgb"'),
    gzip: get("gzip", (v): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 9, "an integer 0..9 (0 = off)"),
  };
  if (p.scenario !== "") {
    try {
      checkScenario(p.scenario);
    } catch (e) {
      problems.push(`scenario: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (problems.length) throw new RecorderNodeStartError(`${RECORDER_NODE_NAME}: refusing to start: invalid parameters:\n  - ${problems.join("\n  - ")}`);
  return p;
}

export interface RecorderNodeOptions {
  rcl: Rclnodejs;
  node?: RosNode;
  /** Clock seconds; default the node's clock. */
  now?: () => number;
}

/** `start`, `start <scenario>`, `stop`, `discard`. */
function parseEpisodeCommand(text: string): { command: EpisodeCommand; scenario?: string } | null {
  const [word, ...rest] = text.trim().split(/\s+/);
  if (word === "start") return rest.length ? { command: "start", scenario: checkScenario(rest.join("_")) } : { command: "start" };
  if (word === "stop" || word === "discard") return { command: word };
  return null;
}

export class RecorderNode {
  readonly node: RosNode;
  readonly params: RecorderParams;
  readonly state: EpisodeStateMachine;
  private readonly log: PipelineLogger;
  private readonly now: () => number;
  /** Saves and discards still being written; shutdown waits for them. */
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Every path saved, in order (for logs and tests). */
  readonly saved: string[] = [];
  private closing: Promise<void> | null = null;

  constructor(opts: RecorderNodeOptions) {
    const node = opts.node ?? opts.rcl.createNode(RECORDER_NODE_NAME);
    this.node = node;
    this.log = rosLogger(node.getLogger());
    this.params = parseRecorderParams(declareParams(opts.rcl, node, RECORDER_PARAM_DECLS));
    this.now = opts.now ?? (() => timeToSeconds(node.now()));
    const p = this.params;
    const sinks = writerSinkFactory(p.output_dir, {
      channelOrder: p.channel_order,
      gzip: p.gzip,
      onError: (e) => this.log.error("episode frame not written", { error: e.message }),
      onSaved: (path) => {
        this.saved.push(path);
        this.log.info("episode saved", { path });
      },
    });
    this.state = new EpisodeStateMachine(sinks, {
      capture: p.capture,
      captureIntervalS: p.capture_interval_s,
      holdS: p.hold_s,
      scenario: p.scenario === "" ? null : p.scenario,
      onError: (e) => this.log.error("episode error", { error: e.message }),
    });

    node.createSubscription("sensor_msgs/msg/Image", RECORDER_TOPICS.image, { qos: QOS_SENSOR_DATA }, (msg) =>
      this.guarded("image", () => this.state.onImage(this.now(), imageFromRos(msg))),
    );
    node.createSubscription("geometry_msgs/msg/Twist", RECORDER_TOPICS.cmdVel, { qos: QOS_DEFAULT }, (msg) =>
      this.guarded("cmd_vel", () => this.state.onCommand(this.now(), twistActionFromRos(msg))),
    );
    node.createSubscription("std_msgs/msg/String", RECORDER_TOPICS.instruction, { qos: QOS_DEFAULT }, (msg) =>
      this.guarded("instruction", () => {
        const text = stringFromRos(msg).trim();
        this.state.setInstruction(text === "" ? null : text);
      }),
    );
    node.createSubscription("std_msgs/msg/String", RECORDER_TOPICS.episode, { qos: QOS_DEFAULT }, (msg) =>
      this.guarded("episode", () => this.onEpisodeText(stringFromRos(msg))),
    );
    this.log.info("episode_recorder ready", { output_dir: p.output_dir, capture: p.capture });
  }

  get recording(): boolean {
    return this.state.recording;
  }

  /** Resolves when every save / discard started so far has finished (failures are logged, not thrown). */
  async settled(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  /** Ends an episode being recorded (saved, never lost) and waits for every write. Idempotent. */
  shutdown(): Promise<void> {
    this.closing ??= (async () => {
      if (this.state.recording) {
        this.log.info("shutting down while recording: saving the episode");
        this.handle(this.state.onEpisodeCommand(this.now(), "stop"));
      }
      await this.settled();
    })();
    return this.closing;
  }

  private onEpisodeText(text: string): void {
    if (this.closing) return;
    const c = parseEpisodeCommand(text);
    if (!c) {
      this.log.warn("unknown episode command (expected start, start <scenario>, stop or discard)", { command: text });
      return;
    }
    this.handle(this.state.onEpisodeCommand(this.now(), c.command, c.scenario ? { scenario: c.scenario } : {}));
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
    const q = p.then((v) => onOk?.(v), () => undefined).finally(() => this.inFlight.delete(q));
    this.inFlight.add(q);
  }

  private guarded(what: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.log.error(`${what} callback failed`, { error: e instanceof Error ? e.message : String(e) });
    }
  }
}

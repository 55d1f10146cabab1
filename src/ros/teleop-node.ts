// The vla_teleop node: the collector's keyboard map on a raw terminal, publishing
// cmd_vel (Twist) per key, the automatic zero hold_s later, and episode
// start / stop on n / m for the episode_recorder. The terminal is given back on
// every way out (quit key, Ctrl-C, signals, crashes: RawTerminal's handlers).
import { WallScheduler, type Scheduler, type Timer } from "../control/clock.js";
import type { PipelineLogger } from "../control/pipeline.js";
import { RawTerminal, type ProcessLike, type RawInput } from "../teleop/raw-terminal.js";
import { formatEpisodeCommand } from "../mobile-vla/episode-command.js";
import { NODE_TOPICS } from "../mobile-vla/topics.js";
import { TeleopState, type TeleopOutput } from "../teleop/teleop.js";
import { rosLogger } from "./diagnostics.js";
import { timeToSeconds, twistMsg } from "./msg-convert.js";
import { QOS_DEFAULT, type Rclnodejs, type RosNode, type RosPublisher } from "./rclnodejs-api.js";
import { TELEOP_TABLE } from "../params/teleop-table.js";
import { NodeParams } from "./node-params.js";
import { errorText } from "../util/errors.js";

export const TELEOP_NODE_NAME = "vla_teleop";

export const TELEOP_TOPICS = { cmdVel: NODE_TOPICS.cmdVel, episode: NODE_TOPICS.episode } as const;

export const TELEOP_HELP = [
  "vla_teleop: w/s +x/-x, a/d +y/-y, q/e/z/c diagonals, r/t rotate, space stop,",
  "            n start episode, m end episode, f/g throttle -/+, Ctrl-C quit",
].join("\n");

export class TeleopNodeStartError extends Error {
  override name = "TeleopNodeStartError";
}

export interface TeleopNodeOptions {
  rcl: Rclnodejs;
  node?: RosNode;
  scheduler?: Scheduler;
  /** Keyboard input (default process.stdin) and process (default process), for tests. */
  input?: RawInput;
  proc?: ProcessLike;
  /** Called once when the user quits (q is a move key; Ctrl-C quits). main.ts shuts down here. */
  onQuit?: () => void;
  /** Where the key help goes (default stderr, which ros2 run shows). */
  print?: (text: string) => void;
}

export class TeleopNode {
  readonly node: RosNode;
  readonly state: TeleopState;
  private readonly scheduler: Scheduler;
  private readonly log: PipelineLogger;
  private readonly cmdPub: RosPublisher;
  private readonly episodePub: RosPublisher;
  private readonly opts: TeleopNodeOptions;
  private terminal: RawTerminal | null = null;
  private autoStop: Timer | null = null;
  private quitCalled = false;
  private closed = false;

  constructor(opts: TeleopNodeOptions) {
    this.opts = opts;
    const node = opts.node ?? opts.rcl.createNode(TELEOP_NODE_NAME);
    this.node = node;
    this.log = rosLogger(node.getLogger());
    let rosParams: NodeParams;
    try {
      rosParams = new NodeParams(opts.rcl, node, TELEOP_TABLE);
      const p = TELEOP_TABLE.parse(rosParams.raw());
      this.state = new TeleopState({ speed: p.speed, holdS: p.hold_s });
    } catch (e) {
      throw new TeleopNodeStartError(`${TELEOP_NODE_NAME}: refusing to start: ${errorText(e)}`, { cause: e });
    }
    this.scheduler = opts.scheduler ?? new WallScheduler(() => timeToSeconds(node.now()));
    // No lifecycle: the node runs from creation, and both its parameters apply from the next key.
    rosParams.watch({
      phase: () => (this.closed ? { kind: "busy", label: "shut down" } : { kind: "configured", label: "running" }),
      apply: (raw, changed) => {
        const p = TELEOP_TABLE.parse(raw);
        this.state.configure({ speed: p.speed, holdS: p.hold_s }, this.scheduler.now());
        this.armAutoStop();
        this.log.info(`parameters set: ${changed.map((n) => `${n}=${JSON.stringify(raw[n])}`).join(", ")}`);
      },
    });
    this.cmdPub = node.createPublisher("geometry_msgs/msg/Twist", TELEOP_TOPICS.cmdVel, { qos: QOS_DEFAULT });
    this.episodePub = node.createPublisher("std_msgs/msg/String", TELEOP_TOPICS.episode, { qos: QOS_DEFAULT });
  }

  /** Takes the keyboard (raw mode) and prints the key map. */
  start(): void {
    if (this.terminal || this.closed) return;
    (this.opts.print ?? ((s: string) => process.stderr.write(s + "\n")))(TELEOP_HELP);
    this.terminal = RawTerminal.enter({
      onKey: (k) => this.onKey(k),
      input: this.opts.input,
      proc: this.opts.proc,
      // Ctrl-C: the quit key already published a zero; the app decides how to exit.
      onInterrupt: () => this.quit(),
    });
  }

  get terminalActive(): boolean {
    return this.terminal?.active ?? false;
  }

  /** One key, at the node clock's time (RawTerminal calls this; tests may too). */
  onKey(key: string): void {
    if (this.closed) return;
    try {
      this.emit(this.state.onKey(key, this.scheduler.now()));
      this.armAutoStop();
    } catch (e) {
      this.log.error("key handling failed", { key, error: errorText(e) });
    }
  }

  /** Publishes a zero, gives the terminal back. Idempotent. The caller destroys the node. */
  shutdown(): void {
    if (this.closed) return;
    this.closed = true;
    this.autoStop?.cancel();
    this.autoStop = null;
    try {
      // Always a last zero: the robot may be inside a key's hold time.
      this.cmdPub.publish(twistMsg(0, 0, 0));
    } finally {
      this.terminal?.restore();
    }
  }

  private quit(): void {
    if (this.quitCalled) return;
    this.quitCalled = true;
    this.opts.onQuit?.();
  }

  private emit(outs: TeleopOutput[]): void {
    for (const o of outs) {
      switch (o.kind) {
        case "cmd_vel":
          this.cmdPub.publish(twistMsg(o.twist[0], o.twist[1], o.twist[2]));
          break;
        case "episode":
          this.episodePub.publish({ data: formatEpisodeCommand({ command: o.command }) });
          this.log.info(`episode ${o.command}`);
          break;
        case "throttle":
          // The collector's throttle went to its motor driver, not into cmd_vel (see teleop.ts).
          this.log.info("throttle", { throttle: o.throttle });
          break;
        case "quit":
          this.quit();
          break;
      }
    }
  }

  private armAutoStop(): void {
    this.autoStop?.cancel();
    this.autoStop = null;
    const deadline = this.state.nextDeadline();
    if (deadline === null) return;
    this.autoStop = this.scheduler.at(deadline, () => {
      this.autoStop = null;
      if (this.closed) return;
      this.emit(this.state.poll(this.scheduler.now()));
      this.armAutoStop();
    });
  }
}

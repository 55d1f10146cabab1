// When to take a frame and what to store with it: the logic shared by the ROS
// episode recorder and the bag -> episodes converter. Pure: it is driven by
// timestamped events (camera frames, velocity commands, episode commands) on one
// clock, and hands finished frames to an EpisodeSink, so the same decisions come
// out live and on a recording, and tests can drive it with a fake sink.
//
// Capture policies:
// - "on_action" (how the Mobile-VLA data was collected, one frame per teleop key):
//   frame 0 is `episode_start`, the first camera frame at or after the start
//   command, stored with the command active then (zero: the robot is at rest);
//   every non-zero command is one key press -> a `start_action` frame, the first
//   camera frame at or after the command (+ move_capture_delay_s), stored with that
//   command; a zero command while a move is still active (space within the hold
//   time, except its last AUTO_STOP_MARGIN_S, where a zero is taken for the
//   teleop's own auto-stop arriving early) -> a `stop_action` frame with a zero action, taken stop_capture_delay_s
//   later (default 0.35 s, as the collector: it published stop 5 times 0.05 s apart
//   and waited 0.1 s before grabbing the image, so the frame shows the robot at
//   rest). A zero command when nothing is active (the teleop's own auto-stop after
//   the hold time, repeated stops) takes no frame, as in the collector.
//   A frame still waiting for its camera frame when the next command comes is
//   taken from the newest camera frame if that one is newer than its command and
//   not already stored, else dropped (counted in stats.dropped): frames never
//   reuse an image and always keep the command order.
// - "interval": episode_start as above, then one frame every capture_interval_s
//   with the command active at that frame's time; event type start_action while a
//   command is active, stop_action otherwise.
//
// "Active command at t": the last command at or before t if it is younger than the
// hold time (the teleop's auto-stop, TELEOP_HOLD_S), else zero (CommandHold).
import type { ImageMessage } from "../msgs/image.js";
import { imageProblem } from "../model/decode-image.js";
import { CommandHold, SAME_INSTANT_S } from "../mobile-vla/command-hold.js";
import type { EpisodeCommand } from "../mobile-vla/episode-command.js";
import { AUTO_STOP_MARGIN_S, TELEOP_HOLD_S } from "../mobile-vla/teleop.js";
import { captureOptionProblems } from "./episode-options.js";
import { EpisodeError, frameSizeProblem, type Action3 } from "./episode-writer.js";

export type EpisodeEventType = "episode_start" | "start_action" | "stop_action";
export type CapturePolicy = "on_action" | "interval";
export type { EpisodeCommand };

export const ZERO_ACTION: Action3 = [0, 0, 0];

const ZERO_EPS = 1e-9;

export function isZeroAction(a: Action3): boolean {
  return Math.abs(a[0]) <= ZERO_EPS && Math.abs(a[1]) <= ZERO_EPS && Math.abs(a[2]) <= ZERO_EPS;
}

export interface CapturedFrame {
  /** Camera frame time. */
  t: number;
  image: ImageMessage;
  action: Action3;
  eventType: EpisodeEventType;
}

export interface EpisodeStartInfo {
  t: number;
  startTime: Date;
  scenario: string | null;
  instruction: string | null;
}

/** Where frames go: the HDF5 writer (episode-sink.ts) or a test double. */
export interface EpisodeSink {
  append(frame: CapturedFrame): void;
  /** Finishes the episode; resolves to where it was stored. */
  close(endTime: Date): Promise<string>;
  discard(): Promise<void>;
}

export interface EpisodeSinkFactory {
  /** May throw (e.g. the file already exists): the episode then does not start. */
  open(start: EpisodeStartInfo): EpisodeSink;
}

export interface EpisodeStateOptions {
  capture?: CapturePolicy;
  /** interval policy: seconds between frames (default 1). */
  captureIntervalS?: number;
  /** Auto-stop hold of the teleop's commands (default TELEOP_HOLD_S). */
  holdS?: number;
  /** on_action: wait this long after a move command before taking its frame (default 0). */
  moveCaptureDelayS?: number;
  /** on_action: wait this long after a stop before taking its frame (default 0.35 s). */
  stopCaptureDelayS?: number;
  /** Episodes with fewer frames are discarded at stop (default 2: the collector kept none of 1 frame). */
  minFrames?: number;
  scenario?: string | null;
  instruction?: string | null;
  /** Clock seconds -> wall time for names and attributes (default: seconds since the Unix epoch, as ROS time). */
  toDate?: (t: number) => Date;
  /** A sink that throws on append (the episode goes on) or a failed save/discard is reported here. */
  onError?: (e: Error) => void;
}

export type EpisodeTransition =
  | { kind: "started"; t: number; startTime: Date }
  | { kind: "stopped"; t: number; frames: number; result: Promise<string> }
  | { kind: "too_short"; t: number; frames: number; result: Promise<void> }
  | { kind: "discarded"; t: number; frames: number; result: Promise<void> }
  | { kind: "ignored"; t: number; reason: string }
  | { kind: "failed"; t: number; error: Error };

export interface EpisodeStats {
  frames: number;
  /** Camera frames that could not be used (bad fields, not a jpeg/png); their capture went to the next good frame. */
  skipped: number;
  /** Frames asked for but never taken (see the header). */
  dropped: number;
}

interface ActionRequest {
  cmdT: number;
  notBefore: number;
  action: Action3;
  eventType: "start_action" | "stop_action";
}

export class EpisodeStateMachine {
  readonly capture: CapturePolicy;
  private readonly intervalS: number;
  private readonly moveDelayS: number;
  private readonly stopDelayS: number;
  private readonly minFrames: number;
  private readonly toDate: (t: number) => Date;
  private readonly onError: (e: Error) => void;
  private readonly hold: CommandHold<Action3>;
  private scenario: string | null;
  private instruction: string | null;

  private sink: EpisodeSink | null = null;
  private startT = 0;
  private startPending = false;
  private actionPending: ActionRequest | null = null;
  private nextIntervalT = 0;
  private lastImage: { t: number; image: ImageMessage; used: boolean } | null = null;
  private stats: EpisodeStats = { frames: 0, dropped: 0, skipped: 0 };

  constructor(
    private readonly sinks: EpisodeSinkFactory,
    opts: EpisodeStateOptions = {},
  ) {
    const problems = captureOptionProblems(opts);
    if (problems.length) throw new RangeError(`episode capture: ${problems.join("; ")}`);
    this.capture = opts.capture ?? "on_action";
    this.intervalS = opts.captureIntervalS ?? 1;
    this.moveDelayS = opts.moveCaptureDelayS ?? 0;
    this.stopDelayS = opts.stopCaptureDelayS ?? 0.35;
    this.minFrames = opts.minFrames ?? 2;
    const holdS = opts.holdS ?? TELEOP_HOLD_S;
    // A few seconds of commands, so camera frames that arrive late still find theirs.
    this.hold = new CommandHold<Action3>(ZERO_ACTION, holdS, { retainS: Math.max(5, 4 * holdS) });
    this.toDate = opts.toDate ?? ((t) => new Date(t * 1000));
    this.onError = opts.onError ?? (() => {});
    this.scenario = opts.scenario ?? null;
    this.instruction = opts.instruction ?? null;
  }

  get recording(): boolean {
    return this.sink !== null;
  }

  /** Frames handed to the sink and frames lost in the current (or last) episode. */
  get episodeStats(): EpisodeStats {
    return { ...this.stats };
  }

  /** The command active at t under the hold time. */
  activeCommandAt(t: number): Action3 {
    return this.hold.activeAt(t);
  }

  /** Used by the next start. */
  setScenario(scenario: string | null): void {
    this.scenario = scenario;
  }

  /** Used by the next start (an episode keeps the instruction it started with). */
  setInstruction(instruction: string | null): void {
    this.instruction = instruction;
  }

  onCommand(t: number, cmd: Action3): void {
    // A move that would still be in force a margin later: a zero now is the stop key,
    // not the teleop's own auto-stop arriving a little early (AUTO_STOP_MARGIN_S).
    const stoppable = this.hold.activeAt(t + Math.min(AUTO_STOP_MARGIN_S, this.hold.holdS / 4));
    this.hold.push(t, cmd);
    if (!this.sink || this.capture !== "on_action") return;
    if (!isZeroAction(cmd)) {
      this.request({ cmdT: t, notBefore: t + this.moveDelayS, action: [cmd[0], cmd[1], cmd[2]], eventType: "start_action" });
    } else if (!isZeroAction(stoppable)) {
      this.request({ cmdT: t, notBefore: t + this.stopDelayS, action: ZERO_ACTION, eventType: "stop_action" });
    }
  }

  onImage(t: number, image: ImageMessage): void {
    if (!this.sink) return;
    // A broken frame must not use up a key press's capture: the next good frame takes it.
    // A raw frame's size is known before decoding: one too large to store is skipped here too.
    const problem = imageProblem(image)?.message ?? (image.kind === "raw" ? frameSizeProblem(image.width, image.height) : null);
    if (problem) {
      this.stats.skipped++;
      this.onError(
        new EpisodeError("frame", `camera frame at t=${t.toFixed(3)}`, `skipped (${problem}); the capture it was due for goes to the next good frame`),
      );
      return;
    }
    this.lastImage = { t, image, used: false };
    if (this.startPending) {
      if (t < this.startT) return;
      this.startPending = false;
      this.take(t, this.hold.activeAt(t), "episode_start");
      this.nextIntervalT = t + this.intervalS;
      return;
    }
    if (this.capture === "interval") {
      if (t < this.nextIntervalT - SAME_INSTANT_S) return;
      // The first capture time after t in one step: a camera gap must not cost one
      // loop turn per missed interval.
      this.nextIntervalT += (Math.floor((t + SAME_INSTANT_S - this.nextIntervalT) / this.intervalS) + 1) * this.intervalS;
      const a = this.hold.activeAt(t);
      this.take(t, a, isZeroAction(a) ? "stop_action" : "start_action");
      return;
    }
    const req = this.actionPending;
    if (req && t >= req.notBefore) {
      this.actionPending = null;
      this.take(t, req.action, req.eventType);
    }
  }

  onEpisodeCommand(t: number, command: EpisodeCommand, info: { scenario?: string | null; instruction?: string | null } = {}): EpisodeTransition {
    switch (command) {
      case "start": {
        if (this.sink) return { kind: "ignored", t, reason: "already recording an episode (stop or discard it first)" };
        const startTime = this.toDate(t);
        let sink: EpisodeSink;
        try {
          sink = this.sinks.open({
            t,
            startTime,
            scenario: info.scenario !== undefined ? info.scenario : this.scenario,
            instruction: info.instruction !== undefined ? info.instruction : this.instruction,
          });
        } catch (e) {
          return { kind: "failed", t, error: e instanceof Error ? e : new Error(String(e)) };
        }
        this.sink = sink;
        this.startT = t;
        this.startPending = true;
        this.actionPending = null;
        this.lastImage = null;
        this.stats = { frames: 0, dropped: 0, skipped: 0 };
        return { kind: "started", t, startTime };
      }
      case "stop": {
        const sink = this.sink;
        if (!sink) return { kind: "ignored", t, reason: "not recording" };
        this.settlePending();
        this.sink = null;
        const frames = this.stats.frames;
        if (frames < this.minFrames) return { kind: "too_short", t, frames, result: this.reported(sink.discard()) };
        return { kind: "stopped", t, frames, result: this.reported(sink.close(this.toDate(t))) };
      }
      case "discard": {
        const sink = this.sink;
        if (!sink) return { kind: "ignored", t, reason: "not recording" };
        this.sink = null;
        this.startPending = false;
        this.actionPending = null;
        return { kind: "discarded", t, frames: this.stats.frames, result: this.reported(sink.discard()) };
      }
      default:
        return { kind: "ignored", t, reason: `unknown episode command ${JSON.stringify(command)} (expected start, stop or discard)` };
    }
  }

  /**
   * A failed save is always reported through onError, so a caller that does not
   * await the result neither misses it nor crashes on an unhandled rejection; a
   * caller that awaits still gets the rejection.
   */
  private reported<T>(p: Promise<T>): Promise<T> {
    p.catch((e: unknown) => this.onError(e instanceof Error ? e : new Error(String(e))));
    return p;
  }

  private request(req: ActionRequest): void {
    this.settlePending();
    this.actionPending = req;
  }

  /** Takes a waiting action frame from the newest unused camera frame if it is newer than the command, else drops it. */
  private settlePending(): void {
    if (this.startPending) {
      // No camera frame since start: nothing can be taken in order. An action
      // request made now waits behind episode_start.
      if (this.actionPending) this.stats.dropped++;
      this.actionPending = null;
      return;
    }
    const req = this.actionPending;
    if (!req) return;
    this.actionPending = null;
    const img = this.lastImage;
    if (img && !img.used && img.t >= req.cmdT) this.take(img.t, req.action, req.eventType);
    else this.stats.dropped++;
  }

  private take(t: number, action: Action3, eventType: EpisodeEventType): void {
    const img = this.lastImage!;
    img.used = true;
    this.stats.frames++;
    try {
      this.sink!.append({ t, image: img.image, action: [action[0], action[1], action[2]], eventType });
    } catch (e) {
      this.onError(e instanceof Error ? e : new Error(String(e)));
    }
  }
}

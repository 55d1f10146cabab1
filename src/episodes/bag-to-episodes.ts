// A recorded teleop bag -> Mobile-VLA training episodes, through the SAME
// EpisodeStateMachine the ROS recorder runs live: bag log time is its clock, so
// a session recorded with `ros2 bag record` and converted later gives the frames,
// actions and event types the recorder would have written on the robot.
//
// Episodes are delimited by the episode topic (std_msgs/String "start" / "stop" /
// "discard") when the bag has messages on it (or it is named explicitly); a bag
// without one is a single episode from its first message to its last (the
// episode is whatever the operator recorded). A bag that ends mid-episode keeps
// that episode, stopped at its last message.
//
// Output safety comes from the writer: a finished episode is published under its
// final name only when complete, and an existing episode file is never replaced.
// Converting a bag twice into one folder therefore fails for every episode whose
// file is already there (reported in `errors`), instead of duplicating or
// overwriting training data.
import { openBag, type Bag, type BagTopic } from "../bags/index.js";
import type { ChannelOrder } from "../model/manifest.js";
import { resolveBagTopics, type WantedTopics } from "../mobile-vla/bag-topics.js";
import { EpisodeCommandError, parseEpisodeCommand } from "../mobile-vla/episode-command.js";
import {
  EpisodeStateMachine,
  type EpisodeStateOptions,
  type CapturedFrame,
  type EpisodeSink,
  type EpisodeSinkFactory,
  type EpisodeStartInfo,
  type EpisodeTransition,
} from "./episode-state.js";
import { bagToEpisodesOptionProblems } from "./episode-options.js";
import { EpisodeError, EpisodeWriter } from "./episode-writer.js";

/** The topics to convert (camera, commands, instruction, episode commands); see resolveBagTopics. */
export type BagToEpisodesTopics = Pick<WantedTopics, "image" | "cmdVel" | "instruction" | "episode">;

/** The capture settings are the state machine's own: a bag converts exactly as the live recorder records. */
type CaptureOptions = Pick<
  EpisodeStateOptions,
  "capture" | "captureIntervalS" | "holdS" | "moveCaptureDelayS" | "stopCaptureDelayS" | "minFrames" | "scenario"
>;

export interface BagToEpisodesOptions extends CaptureOptions {
  topics?: BagToEpisodesTopics;
  /**
   * Instruction attribute for episodes that start before (or without) any
   * instruction message. A whole-bag episode takes the bag's first instruction
   * wherever it lies, and this only when the bag has none.
   */
  instruction?: string | null;
  /** Channel order of the stored frames (default bgr, as the reference data). */
  channelOrder?: ChannelOrder;
  /** gzip level 1..9 for `images` (true = 4); default off. */
  gzip?: number | boolean;
  obstacleLayoutType?: string;
  /** Told the path of each episode as soon as it is saved. */
  onEpisode?: (path: string) => void;
}

export interface BagToEpisodesSummary {
  /** Saved episode files, in bag order. */
  episodes: string[];
  /** Frames stored in the saved episodes. */
  framesWritten: number;
  /** Frames the capture policy asked for but no camera frame could serve (episode-state.ts). */
  dropped: number;
  /** Messages skipped because they (or their image) do not decode. */
  undecodable: number;
  /** Episodes discarded by command or as too short. */
  discarded: number;
  /**
   * What an operator must act on: episodes that could not be started or saved
   * (e.g. the file already exists), frames refused by the writer. Empty on success.
   */
  errors: string[];
  /** Informational: undecodable messages, ignored episode commands, an episode cut by the end of the bag. */
  warnings: string[];
}

/** Warnings (and errors) kept in the summary; the rest are only counted, so a badly damaged bag cannot fill memory. */
const MAX_MESSAGES = 50;

/**
 * Like the recorder's writer sink, but the converter waits for each frame to be
 * written before reading on: a bag is read far faster than frames are decoded
 * and written, and the live sink's answer to that (drop frames past a queue
 * bound) would silently thin an offline conversion.
 */
class AwaitedSink implements EpisodeSink {
  private chain: Promise<void> = Promise.resolve();

  constructor(
    readonly writer: EpisodeWriter,
    private readonly report: (e: unknown) => void,
  ) {}

  append(frame: CapturedFrame): void {
    this.chain = this.chain
      .then(async () => {
        if (this.writer.error) return;
        await this.writer.appendImage(frame.image, frame.action, frame.eventType);
      })
      .catch((e: unknown) => this.report(e));
  }

  idle(): Promise<void> {
    return this.chain;
  }

  async close(endTime: Date): Promise<string> {
    await this.chain;
    return this.writer.close({ endTime });
  }

  async discard(): Promise<void> {
    await this.chain;
    await this.writer.discard();
  }
}

/**
 * Converts one bag (rosbag2 directory, .mcap or .db3) into episode files in outDir.
 * Throws BagError when the bag cannot be opened or lacks a needed topic; problems
 * with single episodes or messages are reported in the summary instead, so one
 * bad episode does not cost the others.
 */
export async function bagToEpisodes(bagPath: string, outDir: string, options: BagToEpisodesOptions = {}): Promise<BagToEpisodesSummary> {
  const summary: BagToEpisodesSummary = { episodes: [], framesWritten: 0, dropped: 0, undecodable: 0, discarded: 0, errors: [], warnings: [] };
  const left = { warnings: 0, errors: 0 };
  const note = (list: "warnings" | "errors", text: string): void => {
    if (summary[list].length < MAX_MESSAGES) summary[list].push(text);
    else left[list]++;
  };
  const warn = (text: string): void => note("warnings", text);
  // The same failure can arrive twice (the frame that killed the writer, then its
  // close; a failed save through both the awaited result and onError): report it once.
  const seen = new WeakSet<object>();
  const report = (e: unknown): void => {
    if (typeof e === "object" && e !== null) {
      if (seen.has(e)) return;
      seen.add(e);
    }
    const err = e instanceof Error ? e : new Error(String(e));
    if (err instanceof EpisodeError && err.code === "frame") {
      // The camera message itself is bad (e.g. a corrupt JPEG): a skipped message, like a CDR failure.
      summary.undecodable++;
      warn(err.message);
      return;
    }
    if (err instanceof EpisodeError && err.code === "exists") {
      // Names have one-second resolution, as the collector's: the clash may be with this run's own episode.
      const ownName = summary.episodes.includes(err.file);
      note(
        "errors",
        ownName
          ? `${err.file}: already exists: another episode of this bag started in the same second and took the name (names have one-second resolution); this episode was not converted.`
          : `${err.message}. Was this bag already converted into ${outDir}? Convert into an empty folder.`,
      );
      return;
    }
    note("errors", err.message);
  };

  let current = null as AwaitedSink | null;
  const sinks: EpisodeSinkFactory = {
    open(start: EpisodeStartInfo): EpisodeSink {
      const writer = EpisodeWriter.open(outDir, {
        scenario: start.scenario,
        instruction: start.instruction,
        startTime: start.startTime,
        channelOrder: options.channelOrder,
        gzip: options.gzip,
        obstacleLayoutType: options.obstacleLayoutType,
      });
      current = new AwaitedSink(writer, report);
      return current;
    },
  };
  // Option errors (bad capture policy, scenario, gzip level) surface before the bag is opened.
  const problems = bagToEpisodesOptionProblems(options);
  if (problems.length) throw new RangeError(`bag2episodes: ${problems.join("; ")}`);
  const sm = new EpisodeStateMachine(sinks, {
    capture: options.capture,
    captureIntervalS: options.captureIntervalS,
    holdS: options.holdS,
    moveCaptureDelayS: options.moveCaptureDelayS,
    stopCaptureDelayS: options.stopCaptureDelayS,
    minFrames: options.minFrames,
    scenario: options.scenario ?? null,
    instruction: options.instruction ?? null,
    onError: report,
  });

  const finish = async (tr: EpisodeTransition): Promise<void> => {
    const sink = current;
    switch (tr.kind) {
      case "started":
        // Frames and drops are per episode in the state machine; collect them at the end of each.
        return;
      case "stopped": {
        const stats = sm.episodeStats;
        summary.dropped += stats.dropped;
        current = null;
        try {
          const p = await tr.result;
          summary.episodes.push(p);
          summary.framesWritten += sink?.writer.numFrames ?? 0;
          options.onEpisode?.(p);
        } catch (e) {
          report(e);
        }
        return;
      }
      case "too_short":
      case "discarded": {
        summary.dropped += sm.episodeStats.dropped;
        current = null;
        summary.discarded++;
        if (tr.kind === "too_short") warn(`episode ending at t=${tr.t.toFixed(3)} s discarded: ${tr.frames} frame(s) is below the minimum`);
        try {
          await tr.result;
        } catch (e) {
          report(e);
        }
        return;
      }
      case "ignored":
        warn(`episode command at t=${tr.t.toFixed(3)} s ignored: ${tr.reason}`);
        return;
      case "failed":
        report(tr.error);
        return;
    }
  };

  const bag = await openBag(bagPath);
  try {
    // What the reader found odd (messages with outlier timestamps left out of the
    // recording, ...): an episode's span and name come from what is left, so say why.
    for (const w of bag.warnings) warn(w);
    const topics = resolveBagTopics(bag, options.topics ?? {}, ["instruction", "episode"]);
    // A defaulted episode topic that the recorder subscribed to but nobody
    // published on delimits nothing: the operator recorded one session.
    const wholeBag = topics.episode === null || (options.topics?.episode === undefined && topics.episode.count === 0);
    if (wholeBag && topics.episode !== null) warn(`${topics.episode.name} has no messages: the whole bag is one episode`);
    if (wholeBag) topics.episode = null;
    const names = [topics.image, topics.cmdVel, topics.instruction, topics.episode].filter((t): t is BagTopic => t !== null).map((t) => t.name);
    if (wholeBag && topics.instruction !== null) {
      // No operator start to publish the instruction before: the recorder of a
      // whole-bag session (latched topic, a script) may well log it just after
      // the first camera frame, so the session's first instruction is its own.
      const first = await firstInstruction(bag, topics.instruction.name);
      if (first !== null) sm.setInstruction(first);
    }
    let lastT: number | null = null;
    for await (const m of bag.messages({ topics: names })) {
      const t = m.logTime;
      if (wholeBag && lastT === null) await finish(sm.onEpisodeCommand(t, "start"));
      lastT = t;
      if (m.error) {
        summary.undecodable++;
        warn(m.error.message);
        continue;
      }
      const msg = m.message;
      if (m.topic === topics.image.name) {
        if (msg.kind === "image" || msg.kind === "compressed_image") sm.onImage(t, msg.image);
      } else if (m.topic === topics.cmdVel.name) {
        if (msg.kind === "twist") sm.onCommand(t, [msg.linear.x, msg.linear.y, msg.angular.z]);
      } else if (topics.instruction && m.topic === topics.instruction.name) {
        if (msg.kind === "string" && msg.data.trim() !== "") sm.setInstruction(msg.data);
      } else if (topics.episode && m.topic === topics.episode.name && msg.kind === "string") {
        let c;
        try {
          c = parseEpisodeCommand(msg.data);
        } catch (e) {
          if (!(e instanceof EpisodeCommandError)) throw e;
          // The live recorder refuses the same text. A refused start loses the
          // episode that followed it: an error, not a warning.
          note(e.refusedStart ? "errors" : "warnings", `${topics.episode.name} at t=${t.toFixed(3)} s: ${e.message}; ignored`);
          continue;
        }
        await finish(sm.onEpisodeCommand(t, c.command, c.scenario ? { scenario: c.scenario } : {}));
      }
      if (current) await current.idle();
    }
    if (sm.recording && lastT !== null) {
      // Without a stop the recording still holds what the operator did; keep it, but say so.
      if (!wholeBag) warn(`the bag ends while an episode is recording; it was stopped at the bag's last message (t=${lastT.toFixed(3)} s)`);
      await finish(sm.onEpisodeCommand(lastT, "stop"));
    }
  } finally {
    await bag.close();
  }
  if (left.warnings > 0) summary.warnings.push(`... and ${left.warnings} more warning(s)`);
  if (left.errors > 0) summary.errors.push(`... and ${left.errors} more error(s)`);
  return summary;
}

async function firstInstruction(bag: Bag, topic: string): Promise<string | null> {
  for await (const m of bag.messages({ topics: [topic] })) {
    if (m.message?.kind === "string" && m.message.data.trim() !== "") return m.message.data;
  }
  return null;
}

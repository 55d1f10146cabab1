// `mobile-vla bag2episodes` (a recorded teleop bag -> training episodes) and
// `mobile-vla episodes check` (is a folder of episodes safe to train on?).
//
// The episode code is imported when a command runs: it compiles h5wasm's
// WebAssembly at load (seconds of CPU), which every other command would pay too.
import path from "node:path";
import type { Argv } from "yargs";
import type { BagToEpisodesOptions, BagToEpisodesSummary } from "../episodes/bag-to-episodes.js";
import { bagToEpisodesOptionProblems, type BagToEpisodesOptionNames } from "../episodes/episode-options.js";
import { TELEOP_HOLD_S } from "../mobile-vla/teleop.js";
import { BAG_TOPICS } from "../mobile-vla/topics.js";
import { emptyOptionProblems, instructionProblem, problemsCheck } from "./usage.js";

const FLAGS: Readonly<BagToEpisodesOptionNames> = {
  capture: "--capture",
  captureIntervalS: "--capture-interval-s",
  holdS: "--hold-s",
  moveCaptureDelayS: "--move-capture-delay-s",
  stopCaptureDelayS: "--stop-capture-delay-s",
  minFrames: "--min-frames",
  scenario: "--scenario",
  channelOrder: "--channel-order",
  gzip: "--gzip",
  flushEvery: "--flush-every",
};

type Bag2EpisodesArgv = Record<string, unknown> & {
  capture: "on_action" | "interval";
  "capture-interval-s": number;
  "hold-s": number;
  "move-capture-delay-s": number;
  "stop-capture-delay-s": number;
  "min-frames": number;
  scenario?: string;
  instruction?: string;
  "channel-order": "bgr" | "rgb";
  gzip: number;
};

/** The converter's options from the command line (without topics). */
function converterOptions(argv: Bag2EpisodesArgv): BagToEpisodesOptions {
  return {
    capture: argv.capture,
    captureIntervalS: argv["capture-interval-s"],
    holdS: argv["hold-s"],
    moveCaptureDelayS: argv["move-capture-delay-s"],
    stopCaptureDelayS: argv["stop-capture-delay-s"],
    minFrames: argv["min-frames"],
    scenario: argv.scenario ?? null,
    instruction: argv.instruction ?? null,
    channelOrder: argv["channel-order"],
    gzip: argv.gzip,
  };
}

/** Every bad option of `bag2episodes`, by the converter's own rules, each naming the flag. */
export function bag2episodesProblems(argv: Bag2EpisodesArgv): string[] {
  const problems = bagToEpisodesOptionProblems(converterOptions(argv), FLAGS);
  const instruction = instructionProblem("--instruction", argv.instruction);
  if (instruction) problems.push(instruction);
  problems.push(...emptyOptionProblems(argv, ["bag", "out", "image-topic", "cmd-vel-topic", "instruction-topic", "episode-topic"]));
  return problems;
}

export function formatBagToEpisodesSummary(s: BagToEpisodesSummary, outDir: string): string {
  const lines: string[] = [];
  for (const e of s.episodes) lines.push(`wrote ${e}`);
  lines.push(
    `${s.episodes.length} episode(s), ${s.framesWritten} frame(s) in ${outDir}; ${s.dropped} frame(s) dropped, ` +
      `${s.discarded} episode(s) discarded, ${s.undecodable} undecodable message(s) skipped`,
  );
  for (const w of s.warnings) lines.push(`warning: ${w}`);
  for (const e of s.errors) lines.push(`ERROR: ${e}`);
  return lines.join("\n");
}

export function episodesCommand(y: Argv): Argv {
  return y
    .command(
      "bag2episodes",
      "convert a recorded teleop bag into Mobile-VLA HDF5 training episodes, with the same capture rules as the live recorder. " +
        "Episodes are delimited by the episode topic (std_msgs/String start/stop/discard) or, without one, the whole bag is one episode. " +
        "Existing episode files are never overwritten: converting the same bag twice into one folder fails (exit 1); use an empty --out folder",
      (a) =>
        a
          .option("bag", { type: "string", demandOption: true, describe: "rosbag2 directory, .mcap or .db3" })
          .option("out", { type: "string", demandOption: true, describe: "episode folder (created; existing episodes are never replaced)" })
          .option("capture", {
            choices: ["on_action", "interval"] as const,
            default: "on_action" as const,
            describe: "on_action: one frame per teleop key press (the Mobile-VLA collector); interval: one frame every --capture-interval-s",
          })
          .option("capture-interval-s", { type: "number", default: 1, describe: "interval capture: seconds between frames" })
          .option("hold-s", { type: "number", default: TELEOP_HOLD_S, describe: "how long one teleop command stays in force (the base's auto-stop)" })
          .option("move-capture-delay-s", { type: "number", default: 0, describe: "on_action: wait this long after a move command before taking its frame" })
          .option("stop-capture-delay-s", { type: "number", default: 0.35, describe: "on_action: wait this long after a stop before taking its frame" })
          .option("min-frames", { type: "number", default: 2, describe: "episodes with fewer frames are discarded" })
          .option("scenario", {
            type: "string",
            describe: 'scenario tags for the file names, e.g. "1box_hori_left_core_medium" (the trainer reads left/right from them)',
          })
          .option("instruction", { type: "string", describe: "instruction attribute for episodes recorded before (or without) any instruction message" })
          .option("channel-order", {
            choices: ["bgr", "rgb"] as const,
            default: "bgr" as const,
            describe: "channel order of the stored frames (bgr: as the reference data and the trained models)",
          })
          .option("gzip", { type: "number", default: 4, describe: "gzip level 1..9 for the images (0 = off; the reference episodes are gzip-compressed)" })
          .option("image-topic", {
            type: "string",
            describe: `camera topic, Image or CompressedImage (default ${BAG_TOPICS.image}, else the bag's only image topic)`,
          })
          .option("cmd-vel-topic", { type: "string", describe: `teleop commands, Twist or TwistStamped (default ${BAG_TOPICS.cmdVel})` })
          .option("instruction-topic", { type: "string", describe: `std_msgs/String instructions (default ${BAG_TOPICS.instruction} when present)` })
          .option("episode-topic", {
            type: "string",
            describe: `std_msgs/String start [scenario] / stop / discard (default ${BAG_TOPICS.episode} when present)`,
          })
          .check(problemsCheck((argv) => bag2episodesProblems(argv as unknown as Bag2EpisodesArgv))),
      async (argv) => {
        const { bagToEpisodes } = await import("../episodes/bag-to-episodes.js");
        const summary = await bagToEpisodes(argv.bag, argv.out, {
          ...converterOptions(argv),
          topics: { image: argv["image-topic"], cmdVel: argv["cmd-vel-topic"], instruction: argv["instruction-topic"], episode: argv["episode-topic"] },
        });
        process.stdout.write(formatBagToEpisodesSummary(summary, path.resolve(argv.out)) + "\n");
        if (summary.errors.length > 0) process.exitCode = 1;
      },
    )
    .command("episodes", "training episode tools", (e) =>
      e
        .command(
          "check <dir>",
          "list every episode in a folder with what the trainer will see; flag partial, unreadable and off-layout files (exit 1 when any)",
          (a) =>
            a
              .positional("dir", { type: "string", demandOption: true, describe: "episode folder" })
              .option("deep", { type: "boolean", default: false, describe: "also read every frame (slow)" }),
          async (argv) => {
            const { checkEpisodes, formatCheckReport } = await import("../episodes/episode-check.js");
            const report = checkEpisodes(argv.dir, { deep: argv.deep });
            process.stdout.write(formatCheckReport(report) + "\n");
            if (!report.ok) process.exitCode = 1;
          },
        )
        .demandCommand(1, "name an episodes subcommand: check"),
    );
}

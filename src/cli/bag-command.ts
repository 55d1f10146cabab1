// `mobile-vla bag info` and `mobile-vla sample-bag`.
import type { Argv } from "yargs";
import { bagInfo, formatBagInfo } from "../bags/index.js";
import { writeSampleBag, DEFAULT_INSTRUCTION } from "../../synthetic/sample-bag.js";
import { namedWriteError, refuseNonEmptyTarget } from "../util/safe-write.js";
import { instructionProblem, numberProblems, problemsCheck, type NumberBound } from "./usage.js";

/**
 * Bounds of a generated bag, refused before anything is rendered: an hour at 120 Hz
 * and 4096x4096 is already far beyond a test or a demo, and beyond them frames run
 * out of memory ("Invalid typed array length") or the disk fills.
 */
export const SAMPLE_BAG_BOUNDS: Readonly<Record<"duration" | "width" | "height" | "rate" | "seed", NumberBound>> = {
  duration: { above: 0, max: 3600 },
  width: { min: 16, max: 4096, integer: true },
  height: { min: 16, max: 4096, integer: true },
  rate: { above: 0, max: 120 },
  seed: { min: 0, max: 2 ** 32 - 1, integer: true },
};

/** Every bad option of `sample-bag`, each naming the option and the bound. */
export function sampleBagProblems(argv: Record<string, unknown>): string[] {
  const p = numberProblems(argv, SAMPLE_BAG_BOUNDS);
  const instruction = instructionProblem("--instruction", argv.instruction);
  if (instruction) p.push(instruction);
  return p;
}

export function bagCommand(y: Argv): Argv {
  return y
    .command("bag", "rosbag2 tools", (b) =>
      b
        .command(
          "info <path>",
          "topics, types, counts and duration of a bag (directory, .mcap or .db3)",
          (a) => a.positional("path", { type: "string", demandOption: true }),
          async (argv) => {
            process.stdout.write(formatBagInfo(await bagInfo(argv.path)) + "\n");
          },
        )
        .demandCommand(1, "name a bag subcommand: info"),
    )
    .command(
      "sample-bag <out>",
      "write a deterministic synthetic MCAP bag (camera, instruction, teleop cmd_vel) as `ros2 bag record -s mcap` does",
      (a) =>
        a
          .positional("out", { type: "string", demandOption: true, describe: "bag directory to create" })
          .option("duration", { type: "number", default: 120, describe: "seconds" })
          .option("width", { type: "number", default: 640 })
          .option("height", { type: "number", default: 480 })
          .option("rate", { type: "number", default: 30, describe: "camera Hz" })
          .option("encoding", { choices: ["bgr8", "rgb8"] as const, default: "bgr8" as const })
          .option("images", { choices: ["raw", "compressed", "both"] as const, default: "raw" as const })
          .option("instruction", { type: "string", default: DEFAULT_INSTRUCTION })
          .option("seed", { type: "number", default: 1 })
          .check(problemsCheck((argv) => sampleBagProblems(argv as Record<string, unknown>))),
      async (argv) => {
        // An existing bag's metadata.yaml and data files would be written over.
        await refuseNonEmptyTarget(argv.out, "a sample bag");
        const r = await writeSampleBag(argv.out, {
          durationS: argv.duration,
          width: argv.width,
          height: argv.height,
          rateHz: argv.rate,
          encoding: argv.encoding,
          images: argv.images,
          instruction: argv.instruction,
          seed: argv.seed,
        }).catch((e: unknown) => {
          // The writer's ENOSPC names no file; the bag folder at least.
          throw namedWriteError(argv.out, e, "writing the sample bag failed");
        });
        process.stdout.write(`wrote ${argv.out}: ${r.messageCount} messages in ${r.files.length} file(s)\n`);
      },
    );
}

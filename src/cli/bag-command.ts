// `mobile-vla bag info` and `mobile-vla sample-bag`.
import type { Argv } from "yargs";
import { bagInfo, formatBagInfo, writeSampleBag, DEFAULT_INSTRUCTION } from "../bags/index.js";

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
          .option("seed", { type: "number", default: 1 }),
      async (argv) => {
        const r = await writeSampleBag(argv.out, {
          durationS: argv.duration, width: argv.width, height: argv.height, rateHz: argv.rate,
          encoding: argv.encoding, images: argv.images, instruction: argv.instruction, seed: argv.seed,
        });
        process.stdout.write(`wrote ${argv.out}: ${r.messageCount} messages in ${r.files.length} file(s)\n`);
      },
    );
}

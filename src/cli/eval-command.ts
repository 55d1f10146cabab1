// `mobile-vla eval`: models over recorded bags and training episodes, one report.
import type { Argv } from "yargs";
import { parseParams, pickParams } from "../params/table.js";
import type { VirtualLatency } from "../control/clock.js";
import { formatTable } from "../eval/table.js";
import { episodeFiles, evaluate, type EvalSource } from "../replay/evaluate.js";
import { DEFAULT_CHUNK_OFFSET, chunkOffsetProblem, parseInstructionMap } from "../replay/episode-replay.js";
import { formatTrainerLoss } from "../eval/trainer-loss.js";
import { TELEOP_HOLD_S } from "../mobile-vla/teleop.js";
import { progressReporter } from "./progress.js";
import {
  UsageError,
  emptyOptionProblems,
  instructionProblem,
  numberProblems,
  paramsProblems,
  policyOptions,
  problemsCheck,
  type NumberBound,
} from "./usage.js";

/**
 * Longest virtual inference latency (s): a replay runs the clock that far past the
 * bag's end, tick by tick, and no model that slow could drive a robot.
 */
export const MAX_LATENCY_S = 10;

export function parseLatency(text: string): VirtualLatency {
  if (text === "measured") return "measured";
  const n = text.trim() === "" ? NaN : Number(text);
  if (!(Number.isFinite(n) && n >= 0 && n <= MAX_LATENCY_S)) {
    throw new UsageError(`--latency: expected a number of seconds in [0, ${MAX_LATENCY_S}] or "measured", got ${JSON.stringify(text)}`);
  }
  return n;
}

/** The problem with a --latency value, or null. */
export function latencyProblem(text: unknown): string | null {
  try {
    parseLatency(String(text));
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

const EVAL_NUMBERS: Readonly<Record<string, NumberBound>> = {
  // The base's auto-stop is a fraction of a second; a minute covers any other base.
  "teleop-hold-s": { above: 0, max: 60 },
  seed: { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true },
};

/** Every bad option of `eval`, each naming the option and the bound. */
export function evalProblems(argv: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if ((argv.bag as string[]).length === 0 && (argv.episodes as string[]).length === 0) problems.push("give at least one --bag or --episodes");
  const models = argv.model as string[];
  problems.push(...paramsProblems({ ...argv, model: models[0] }));
  problems.push(...numberProblems(argv, EVAL_NUMBERS));
  const chunkOffset = chunkOffsetProblem(argv["chunk-offset"]);
  if (chunkOffset) problems.push(chunkOffset);
  const latency = latencyProblem(argv.latency);
  if (latency) problems.push(latency);
  const instruction = instructionProblem("--instruction", argv.instruction);
  if (instruction) problems.push(instruction);
  if (typeof argv["instruction-map"] === "string") {
    try {
      parseInstructionMap(argv["instruction-map"]);
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  problems.push(...emptyOptionProblems(argv, ["model", "bag", "episodes", "out", "image-topic", "instruction-topic", "cmd-vel-topic", "estop-topic"]));
  return problems;
}

export function evalCommand(y: Argv): Argv {
  return y.command(
    "eval",
    "run one or more models over bags and/or HDF5 episodes; print a comparison table and write report.json/html/png",
    (a) =>
      a
        .option("model", { type: "string", array: true, demandOption: true, describe: "model folder (repeat to compare; the first is A)" })
        .option("bag", { type: "string", array: true, default: [] as string[], describe: "rosbag2 directory, .mcap or .db3 (repeatable)" })
        .option("episodes", { type: "string", array: true, default: [] as string[], describe: "folder of Mobile-VLA .h5 episodes, or one file (repeatable)" })
        .option("out", { type: "string", default: "out/eval", describe: "report folder" })
        .option("instruction", { type: "string", describe: "instruction when a bag has no instruction topic, or an episode none of its own" })
        .option("instruction-map", {
          type: "string",
          describe: 'episodes: file-name word -> instruction, e.g. left="Navigate to the gray basket on the left",right=...',
        })
        .option("image-topic", { type: "string", describe: "camera topic (default /camera/image_raw, else the bag's only image topic)" })
        .option("instruction-topic", { type: "string", describe: "std_msgs/String instruction topic (default /instruction)" })
        .option("cmd-vel-topic", { type: "string", describe: "teleop ground truth, Twist or TwistStamped (default /cmd_vel)" })
        .option("estop-topic", { type: "string", describe: "std_msgs/Bool e-stop topic replayed when present (default /estop)" })
        .option("header-stamps", { type: "boolean", default: false, describe: "stamp frames with header.stamp instead of the receive time" })
        .option("latency", { type: "string", default: "0", describe: 'virtual inference latency in seconds, or "measured" (real time of each inference)' })
        .option("teleop-hold-s", { type: "number", default: TELEOP_HOLD_S, describe: "how long one teleop command stays in force (the base's auto-stop)" })
        .option("chunk-offset", {
          type: "number",
          default: DEFAULT_CHUNK_OFFSET,
          describe:
            "episodes, robot-style metrics: recorded action compared with the chunk's first step, relative to the newest frame (0: the action recorded with it, as training pairs them)",
        })
        .option("seed", { type: "number", default: 1, describe: "bootstrap seed" })
        // Policy parameters reach parseParams untyped; keeping them out of yargs' inferred type keeps the options above typed.
        .options(policyOptions())
        .check(problemsCheck((argv) => evalProblems(argv as Record<string, unknown>))),
    async (argv) => {
      const params = parseParams(pickParams({ ...argv, model: argv.model[0] }));
      const sources: EvalSource[] = argv.bag.map((p) => ({ kind: "bag" as const, path: p }));
      for (const e of argv.episodes) for (const f of await episodeFiles(e)) sources.push({ kind: "episode", path: f });
      const progress = progressReporter(process.stderr, argv.model.length * sources.length);
      const result = await evaluate({
        models: argv.model,
        sources,
        params,
        outDir: argv.out,
        topics: { image: argv["image-topic"], instruction: argv["instruction-topic"], cmdVel: argv["cmd-vel-topic"], estop: argv["estop-topic"] },
        instruction: argv.instruction,
        instructionMap: argv["instruction-map"] ? parseInstructionMap(argv["instruction-map"]) : undefined,
        headerStamps: argv["header-stamps"],
        latency: parseLatency(argv.latency),
        teleopHoldS: argv["teleop-hold-s"],
        chunkOffset: argv["chunk-offset"],
        seed: argv.seed,
        progress,
      });
      process.stdout.write(formatTable(result.report.comparison) + "\n");
      const trainer = formatTrainerLoss(result.report.trainer_loss);
      if (trainer) process.stdout.write(trainer + "\n");
      process.stdout.write(`report: ${result.files.html}\n        ${result.files.json}\n        ${result.files.png}\n`);
      if (result.failed.length) {
        process.stderr.write(`${result.failed.length} run(s) failed:\n${result.failed.map((r) => `  ${r.model} on ${r.source}: ${r.error}`).join("\n")}\n`);
        process.exitCode = 1;
      }
    },
  );
}

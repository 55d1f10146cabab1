// `mobile-vla replay`: what the robot would have published on a recorded bag,
// one line per control tick (or every n-th), with the safety layer's reason.
import type { Argv } from "yargs";
import { modelLoadOptions, parseParams, pickParams } from "../params/table.js";
import { VlaModel } from "../model/vla-model.js";
import { noResultReason } from "../eval/run-verdict.js";
import { replayBag } from "../replay/bag-replay.js";
import { latencyProblem, parseLatency } from "./eval-command.js";
import { emptyOptionProblems, instructionProblem, numberProblems, paramsProblems, policyOptions, problemsCheck } from "./usage.js";

/** Every bad option of `replay`, each naming the option and the bound. */
export function replayProblems(argv: Record<string, unknown>): string[] {
  return [
    ...paramsProblems(argv),
    ...numberProblems(argv, { every: { min: 1, integer: true } }),
    latencyProblem(argv.latency),
    instructionProblem("--instruction", argv.instruction),
    ...emptyOptionProblems(argv, ["model", "bag", "image-topic", "cmd-vel-topic"]),
  ].filter((p): p is string => p !== null);
}

export function replayCommand(y: Argv): Argv {
  return y.command(
    "replay",
    "run the policy pipeline over a bag on a virtual clock and print every command it would publish",
    (a) =>
      a
        .option("model", { type: "string", demandOption: true, describe: "model folder" })
        .option("bag", { type: "string", demandOption: true, describe: "rosbag2 directory, .mcap or .db3" })
        .option("every", { type: "number", default: 1, describe: "print every n-th control tick" })
        .option("instruction", { type: "string", describe: "instruction when the bag has no instruction topic" })
        .option("image-topic", { type: "string" })
        .option("cmd-vel-topic", { type: "string" })
        .option("latency", { type: "string", default: "0", describe: 'virtual inference latency in seconds, or "measured"' })
        .options(policyOptions())
        .check(problemsCheck((argv) => replayProblems(argv as Record<string, unknown>))),
    async (argv) => {
      const params = parseParams(pickParams({ ...argv }));
      const model = await VlaModel.load(argv.model, modelLoadOptions(params));
      let n = 0;
      let start: number | null = null;
      process.stdout.write("t_s\tlinear_x\tlinear_y\treason\n");
      try {
        const run = await replayBag(argv.bag, {
          model,
          modelName: argv.model,
          params,
          instruction: argv.instruction,
          latency: parseLatency(argv.latency),
          topics: { image: argv["image-topic"], cmdVel: argv["cmd-vel-topic"] },
          onCommand: (c) => {
            start ??= c.t;
            if (n++ % argv.every !== 0 && c.reason !== "shutdown") return;
            process.stdout.write(`${(c.t - start).toFixed(2)}\t${c.linear_x.toFixed(3)}\t${c.linear_y.toFixed(3)}\t${c.reason}\n`);
          },
        });
        const o = run.outcome;
        const invalid = o ? `, ${o.invalidOutputs} invalid model outputs` : "";
        process.stderr.write(
          `${run.ticks.length} ticks, ${run.sampledFrames} frames sampled, ${run.backboneRuns} backbone passes, ${run.decodeErrors} decode errors${invalid}\n`,
        );
        // Commands that are all stops because nothing ever reached the model are no replay of the model.
        const noResult = noResultReason(run, { watchdogTimeoutS: params.watchdog_timeout_s });
        if (noResult) {
          process.stderr.write(`mobile-vla replay: ${argv.bag}: ${noResult}\n`);
          process.exitCode = 1;
        }
      } finally {
        await model.close();
      }
    },
  );
}

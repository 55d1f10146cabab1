// `mobile-vla demo` (npm run demo): the main job on a fresh machine, with no
// robot and no downloaded weights: tiny models, generated frames, the real code path.
import type { Argv } from "yargs";
import { SAMPLE_BAG_BOUNDS } from "./bag-command.js";
import { runDemo } from "./demo.js";
import { numberProblems, problemsCheck } from "./usage.js";

export function demoCommand(y: Argv): Argv {
  return y.command(
    "demo",
    "generate tiny models and a sample bag if absent, evaluate two models, print the table and where the report is",
    (a) =>
      a
        .option("models-dir", { type: "string", default: "models", describe: "where the tiny model folders go" })
        .option("out", { type: "string", default: "out/demo", describe: "bag and report folder" })
        .option("duration", { type: "number", default: 30, describe: "seconds of generated sample bag" })
        // Checked before the models are built: nothing of the demo runs with a bad value.
        .check(
          problemsCheck((argv) => [
            ...numberProblems(argv, { duration: SAMPLE_BAG_BOUNDS.duration }),
            ...(["models-dir", "out"] as const).flatMap((k) => (String(argv[k]).trim() === "" ? [`--${k}: expected a folder, got ""`] : [])),
          ]),
        ),
    async (argv) => {
      await runDemo({ modelsDir: argv["models-dir"], outDir: argv.out, durationS: argv.duration });
    },
  );
}

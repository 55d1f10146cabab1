// `mobile-vla model ...`: make a tiny test model, inspect a model folder, verify one
// against its exporter's golden vectors.
import type { Argv } from "yargs";
import { exportArgs, runExporter } from "./export-command.js";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { probeInstruction, probeLines } from "../model/instruction-probe.js";
import { instructionTokenWarning } from "../model/instruction-tokens.js";
import { PRECISIONS, backbonePrecisions, type Precision } from "../model/manifest.js";
import { Preprocessor } from "../model/preprocess.js";
import { makeTinyModel } from "../../synthetic/tiny-model.js";
import { GRAPH_OPTIMIZATIONS, PROVIDERS, graphInputs, graphOutputs, type GraphOptimization, type Provider, type TensorInfo } from "../model/runtime.js";
import { verifyModel } from "../model/verify.js";
import { formatVerifyReport } from "../model/verify-report.js";
import { VlaModel } from "../model/vla-model.js";
import { namedWriteError, refuseNonEmptyTarget } from "../util/safe-write.js";
import { numberProblems, paramsProblems, problemsCheck } from "./usage.js";
import { errorText } from "../util/errors.js";

/** The file an exporter writes with its int8 accuracy figures; free-form JSON, shown by inspect. */
const QUANTIZATION_FILE = "quantization.json";

export interface ModelVerifyOptions {
  dir: string;
  precision?: Precision;
  provider?: Provider;
  /** Intra-op threads; 0 lets onnxruntime choose. */
  threads?: number;
  graphOptimization?: GraphOptimization;
}

export interface CommandOutput {
  stdout(text: string): void;
  stderr(text: string): void;
}

const PROCESS_OUTPUT: CommandOutput = { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) };

/**
 * `mobile-vla model verify`, callable from code: prints the report and returns the exit
 * code (0 every stage within tolerance, 1 a stage beyond it or a run that could not
 * happen: no golden.json, a malformed one, a folder that does not load; 2 bad options).
 */
export async function modelVerify(o: ModelVerifyOptions, out: CommandOutput = PROCESS_OUTPUT): Promise<number> {
  const usage: string[] = [];
  if (o.precision !== undefined && !PRECISIONS.includes(o.precision))
    usage.push(`--precision: expected one of ${PRECISIONS.join(", ")}, got ${JSON.stringify(o.precision)}`);
  if (o.provider !== undefined && !PROVIDERS.includes(o.provider))
    usage.push(`--provider: expected one of ${PROVIDERS.join(", ")}, got ${JSON.stringify(o.provider)}`);
  if (o.threads !== undefined) usage.push(...paramsProblems({ threads: o.threads }));
  if (usage.length) {
    out.stderr(`mobile-vla model verify: ${usage.join("; ")}\n`);
    return 2;
  }
  try {
    const runtime = {
      ...(o.provider ? { provider: o.provider } : {}),
      ...(o.threads !== undefined ? { threads: o.threads } : {}),
      ...(o.graphOptimization ? { graphOptimization: o.graphOptimization } : {}),
    };
    const report = await verifyModel(o.dir, { precision: o.precision ?? "fp32", runtime });
    out.stdout(formatVerifyReport(report));
    return report.pass ? 0 : 1;
  } catch (e) {
    out.stderr(`mobile-vla model verify: ${errorText(e)}\n`);
    return 1;
  }
}

/** A synthetic 640x480 bgr8 scene (gradient + a box), for the inspect probe when no real frame is at hand. */
function probeFrame(): { kind: "raw"; width: number; height: number; encoding: string; step: number; isBigEndian: boolean; data: Uint8Array } {
  const width = 640;
  const height = 480;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      const box = x > 200 && x < 320 && y > 260 && y < 380;
      data[o] = box ? 40 : (x * 255) / width;
      data[o + 1] = box ? 40 : (y * 255) / height;
      data[o + 2] = box ? 200 : 128;
    }
  return { kind: "raw", width, height, encoding: "bgr8", step: width * 3, isBigEndian: false, data };
}

/** yargs check: a bad --threads is a usage error (exit 2), not a failed run; the parameter table's rule and bound. */
/** The onnxruntime options every command that opens a model folder takes. */
const RUNTIME_OPTIONS = {
  provider: { choices: PROVIDERS, default: "cpu" as Provider },
  threads: { type: "number", default: 0, describe: "intra-op threads (0 = onnxruntime default)" },
  "graph-optimization": { choices: GRAPH_OPTIMIZATIONS, default: "all" as GraphOptimization },
} as const;

const threadsCheck = problemsCheck((argv: { threads: number }) => paramsProblems({ threads: argv.threads }));

const fmt = (t: TensorInfo) => `  ${t.name}: ${t.type} [${t.shape.join(", ")}]`;

export function modelCommand(y: Argv): Argv {
  return y.command("model", "model folder tools", (m) =>
    m
      .command(
        "make-tiny <dir>",
        "write a small deterministic model folder with the real model's contract (tests, demo, benchmarks)",
        (a) =>
          a
            .positional("dir", { type: "string", demandOption: true, describe: "output folder" })
            .option("head", { choices: ["continuous", "discrete"] as const, default: "continuous" as const })
            .option("seed", { type: "number", default: 1, describe: "weight seed (a different seed = a different model)" })
            .option("external-data", { type: "boolean", default: false, describe: "store backbone weights as ONNX external data (backbone.onnx.data)" })
            .option("int8", {
              type: "boolean",
              default: false,
              describe: "also write an int8 backbone variant (backbone.int8.onnx; int8-rounded weights stored as float32)",
            })
            .check(problemsCheck((argv) => numberProblems(argv, { seed: { min: 0, max: 2 ** 32 - 1, integer: true } }))),
        async (argv) => {
          // A model folder is never written over: an existing model's files would be replaced.
          await refuseNonEmptyTarget(argv.dir, "a model");
          const manifest = await makeTinyModel(argv.dir, { head: argv.head, seed: argv.seed, externalData: argv["external-data"], int8: argv.int8 }).catch(
            (e: unknown) => {
              throw namedWriteError(argv.dir, e, "writing the model failed");
            },
          );
          process.stdout.write(
            `wrote ${argv.dir}: ${manifest.name} (W=${manifest.window}, N=${manifest.chunk}, D=${manifest.feature_dim}, ${manifest.head.kind} head)\n`,
          );
        },
      )
      .command(
        "inspect <dir>",
        "print the manifest, both graphs' inputs/outputs, the provider and one timed inference",
        (a) =>
          a
            .positional("dir", { type: "string", demandOption: true })
            .options(RUNTIME_OPTIONS)
            .option("precision", {
              choices: PRECISIONS,
              default: "fp32" as Precision,
              describe: "backbone graph to open: fp32 (backbone.file) or int8 (backbone.variants.int8)",
            })
            .check(threadsCheck),
        async (argv) => {
          const t0 = performance.now();
          const model = await VlaModel.load(argv.dir, {
            precision: argv.precision,
            runtime: { provider: argv.provider, threads: argv.threads, graphOptimization: argv["graph-optimization"] },
            warmup: false,
          });
          const loadMs = performance.now() - t0;
          const m = model.manifest;
          const out: string[] = [];
          out.push(`model folder: ${argv.dir}`, `manifest:`, JSON.stringify(m, null, 2));
          out.push(`precision: ${model.precision} (${model.backboneFile}); the folder has: ${backbonePrecisions(m).join(", ")}`);
          const quantization = await readFile(path.join(argv.dir, QUANTIZATION_FILE), "utf8").catch(() => null);
          if (quantization !== null) out.push(`${QUANTIZATION_FILE} (the exporter's int8 accuracy report):`, quantization.trimEnd());
          out.push(
            `backbone (${model.backboneFile}) inputs:`,
            ...graphInputs(model.backbone).map(fmt),
            `backbone outputs:`,
            ...graphOutputs(model.backbone).map(fmt),
          );
          out.push(`head (${m.head_graph.file}) inputs:`, ...graphInputs(model.head).map(fmt), `head outputs:`, ...graphOutputs(model.head).map(fmt));
          out.push(`head window axis: ${model.headWindowDynamic ? "dynamic (window_fill grow is exact)" : `fixed at ${m.window}`}`);
          out.push(
            `provider: ${model.runtime.provider}, threads: ${model.runtime.threads || "default"}, graph optimisation: ${model.runtime.graphOptimization}, load: ${loadMs.toFixed(0)} ms`,
          );
          const tokens = model.tokenizer.encode("go to the basket");
          out.push(`prompt "${model.tokenizer.prompt("go to the basket")}" -> ${tokens.length} tokens: ${tokens.tokens.join(" ")}`);
          const tokenWarning = instructionTokenWarning(m, tokens);
          if (tokenWarning) out.push(`warning: ${tokenWarning}`);
          const pixels = new Float32Array(3 * m.image.width * m.image.height).fill(0.5);
          const times: Record<string, number[]> = { backbone: [], head: [] };
          let feature: Float32Array = new Float32Array(m.feature_dim);
          for (let i = 0; i < 3; i++) {
            let t = performance.now();
            feature = await model.runBackbone(pixels, tokens);
            times.backbone!.push(performance.now() - t);
            const feats = new Float32Array(m.window * m.feature_dim);
            for (let w = 0; w < m.window; w++) feats.set(feature, w * m.feature_dim);
            t = performance.now();
            await model.runHead(feats, m.window);
            times.head!.push(performance.now() - t);
          }
          out.push(
            `inference (first run includes warm-up): backbone ${times.backbone!.map((x) => x.toFixed(1)).join(" / ")} ms, head over W=${m.window}: ${times.head!.map((x) => x.toFixed(1)).join(" / ")} ms`,
          );
          const probe = await probeInstruction(model, new Preprocessor(m.image).runRaw(probeFrame()));
          out.push(...probeLines(probe, m.training?.prompt_tokens ?? []));
          process.stdout.write(out.join("\n") + "\n");
          await model.close();
        },
      )
      .command(
        "verify <dir>",
        "run the exporter's golden.json through the TypeScript path stage by stage (tokenizer, preprocessing, backbone, head, end to end); exit 1 beyond tolerance",
        (a) =>
          a
            .positional("dir", { type: "string", demandOption: true })
            .options(RUNTIME_OPTIONS)
            .option("precision", {
              choices: PRECISIONS,
              default: "fp32" as Precision,
              describe: "backbone graph to verify: fp32 (golden.json's tolerance) or int8 (feature cosine >= 0.99, chunk error <= 0.05 vs fp32)",
            })
            .check(threadsCheck),
        async (argv) => {
          process.exitCode = await modelVerify({
            dir: argv.dir,
            precision: argv.precision,
            provider: argv.provider,
            threads: argv.threads,
            graphOptimization: argv["graph-optimization"],
          });
        },
      )
      .command(
        "export",
        "a trained Mobile-VLA checkpoint -> a verified model folder (Python exporter in export/; `model export --help` lists its options)",
        (a) => a.strict(false).help(false).version(false),
        async () => {
          process.exitCode = await runExporter(exportArgs(process.argv));
        },
      )
      .demandCommand(1, "name a model subcommand: make-tiny, inspect, verify, export"),
  );
}

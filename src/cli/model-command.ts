// `mobile-vla model ...`: make a tiny test model, inspect a model folder.
import type { Argv } from "yargs";
import { performance } from "node:perf_hooks";
import { makeTinyModel } from "../model/tiny-model.js";
import { GRAPH_OPTIMIZATIONS, PROVIDERS, graphInputs, graphOutputs, type GraphOptimization, type Provider, type TensorInfo } from "../model/runtime.js";
import { VlaModel } from "../model/vla-model.js";

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
            .option("external-data", { type: "boolean", default: false, describe: "store backbone weights as ONNX external data (backbone.onnx.data)" }),
        async (argv) => {
          const manifest = await makeTinyModel(argv.dir, { head: argv.head, seed: argv.seed, externalData: argv["external-data"] });
          process.stdout.write(`wrote ${argv.dir}: ${manifest.name} (W=${manifest.window}, N=${manifest.chunk}, D=${manifest.feature_dim}, ${manifest.head.kind} head)\n`);
        },
      )
      .command(
        "inspect <dir>",
        "print the manifest, both graphs' inputs/outputs, the provider and one timed inference",
        (a) =>
          a
            .positional("dir", { type: "string", demandOption: true })
            .option("provider", { choices: PROVIDERS, default: "cpu" as Provider })
            .option("threads", { type: "number", default: 0, describe: "intra-op threads (0 = onnxruntime default)" })
            .option("graph-optimization", { choices: GRAPH_OPTIMIZATIONS, default: "all" as GraphOptimization }),
        async (argv) => {
          const t0 = performance.now();
          const model = await VlaModel.load(argv.dir, { runtime: { provider: argv.provider, threads: argv.threads, graphOptimization: argv["graph-optimization"] }, warmup: false });
          const loadMs = performance.now() - t0;
          const m = model.manifest;
          const out: string[] = [];
          out.push(`model folder: ${argv.dir}`, `manifest:`, JSON.stringify(m, null, 2));
          out.push(`backbone (${m.backbone.file}) inputs:`, ...graphInputs(model.backbone).map(fmt), `backbone outputs:`, ...graphOutputs(model.backbone).map(fmt));
          out.push(`head (${m.head_graph.file}) inputs:`, ...graphInputs(model.head).map(fmt), `head outputs:`, ...graphOutputs(model.head).map(fmt));
          out.push(`head window axis: ${model.headWindowDynamic ? "dynamic (window_fill grow is exact)" : `fixed at ${m.window}`}`);
          out.push(`provider: ${model.runtime.provider}, threads: ${model.runtime.threads || "default"}, graph optimisation: ${model.runtime.graphOptimization}, load: ${loadMs.toFixed(0)} ms`);
          const tokens = model.tokenizer.encode("go to the basket");
          out.push(`prompt "${model.tokenizer.prompt("go to the basket")}" -> ${tokens.length} tokens: ${tokens.tokens.join(" ")}`);
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
          out.push(`inference (first run includes warm-up): backbone ${times.backbone!.map((x) => x.toFixed(1)).join(" / ")} ms, head over W=${m.window}: ${times.head!.map((x) => x.toFixed(1)).join(" / ")} ms`);
          process.stdout.write(out.join("\n") + "\n");
          await model.close();
        },
      )
      .demandCommand(1, "name a model subcommand: make-tiny, inspect"),
  );
}

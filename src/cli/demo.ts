// The demo's steps, kept apart from yargs so a test can run them: two tiny
// models and a sample bag (made once, then reused), both models evaluated
// through the same pipeline the robot runs, the table printed.
import { existsSync } from "node:fs";
import path from "node:path";
import { makeTinyModel } from "../../synthetic/tiny-model.js";
import { writeSampleBag } from "../../synthetic/sample-bag.js";
import { DEFAULT_PARAMS } from "../params/table.js";
import { formatTable } from "../eval/table.js";
import { evaluate, type EvaluateResult } from "../replay/evaluate.js";
import { log } from "../util/log.js";
import { namedWriteError } from "../util/safe-write.js";

export interface DemoOptions {
  modelsDir: string;
  outDir: string;
  durationS: number;
  /** Where the table and report paths go (stdout by default). */
  write?: (text: string) => void;
}

/** Makes a tiny model folder unless one is already there. */
export async function ensureTinyModel(dir: string, seed: number): Promise<void> {
  if (existsSync(path.join(dir, "manifest.json"))) return;
  log.info(`making tiny model ${dir} (seed ${seed})`);
  await makeTinyModel(dir, { seed, name: path.basename(dir) }).catch((e: unknown) => {
    throw namedWriteError(dir, e, "writing the tiny model failed");
  });
}

export async function runDemo(o: DemoOptions): Promise<EvaluateResult> {
  const write = o.write ?? ((t: string) => process.stdout.write(t));
  const models = [path.join(o.modelsDir, "tiny-a"), path.join(o.modelsDir, "tiny-b")];
  await ensureTinyModel(models[0]!, 1);
  await ensureTinyModel(models[1]!, 2);
  const bag = path.join(o.outDir, `sample-bag-${o.durationS}s`);
  if (!existsSync(path.join(bag, "metadata.yaml"))) {
    log.info(`writing sample bag ${bag} (${o.durationS} s, 640x480 bgr8 at 30 Hz)`);
    await writeSampleBag(bag, { durationS: o.durationS }).catch((e: unknown) => {
      throw namedWriteError(bag, e, "writing the sample bag failed");
    });
  }
  const result = await evaluate({
    models,
    sources: [{ kind: "bag", path: bag }],
    params: DEFAULT_PARAMS,
    outDir: path.join(o.outDir, "report"),
  });
  const first = result.report.runs[0];
  if (first) {
    // A glimpse of what the robot would have been told, next to what the teleoperator did.
    write(`${first.model}'s cmd_vel on the bag, once a second (linear_x, linear_y) vs teleop:\n`);
    const fmt = (v: readonly number[]) => `(${v.map((x) => x.toFixed(2).padStart(5)).join(", ")})`;
    for (const p of first.series.filter((_, i) => i % 20 === 0).slice(0, 12))
      write(`  t=${p.t.toFixed(1).padStart(5)} s  ${fmt(p.pred)}  teleop ${fmt(p.truth)}\n`);
    write("\n");
  }
  write(formatTable(result.report.comparison) + "\n");
  write(`report: ${result.files.html}\n        ${result.files.json}\n        ${result.files.png}\n`);
  return result;
}

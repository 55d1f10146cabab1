// Every model over every source (bags and HDF5 episodes), then one report. A
// source that fails is reported with its error and the others still run.
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { modelLoadOptions, type PolicyParams } from "../params/table.js";
import type { VirtualLatency } from "../control/clock.js";
import type { EvalReport, RunSeries } from "../eval/types.js";
import { buildReport } from "../eval/report-html.js";
import { noResultReason } from "../eval/run-verdict.js";
import { writeReportFiles } from "../eval/report-png.js";
import { VlaModel } from "../model/vla-model.js";
import type { PromptTokens } from "../model/tokenize.js";
import { instructionTokenWarning } from "../model/instruction-tokens.js";
import { replayBag, type ReplayTopics } from "./bag-replay.js";
import { replayEpisode } from "./episode-replay.js";
import { EPISODE_SUFFIX, PARTIAL_SUFFIX } from "../episodes/episode-name.js";
import { log } from "../util/log.js";

export interface EvalSource {
  kind: "bag" | "episode";
  path: string;
}

export interface EvaluateOptions {
  models: string[];
  sources: EvalSource[];
  params: PolicyParams;
  outDir: string;
  topics?: ReplayTopics;
  instruction?: string;
  instructionMap?: Record<string, string>;
  headerStamps?: boolean;
  latency?: VirtualLatency;
  teleopHoldS?: number;
  chunkOffset?: number;
  seed?: number;
  /** Called as each run progresses (0..1) and when it ends. */
  progress?: (model: string, source: string, fraction: number, done: boolean) => void;
}

export interface EvaluateResult {
  report: EvalReport;
  files: { json: string; html: string; png: string };
  failed: RunSeries[];
}

/**
 * Expands an --episodes folder into its episode files, sorted by name. Incomplete
 * episodes (`.h5.partial`, which `episodes check` flags) are never evaluated: named
 * directly they are refused, in a folder they are left out with a warning.
 */
export async function episodeFiles(dirOrFile: string): Promise<string[]> {
  const s = await stat(dirOrFile).catch(() => null);
  if (!s) throw new Error(`--episodes ${dirOrFile}: no such file or folder`);
  if (s.isFile()) {
    if (dirOrFile.endsWith(PARTIAL_SUFFIX))
      throw new Error(`--episodes ${dirOrFile}: an episode that never finished (recorder crashed or failed); not usable, as \`episodes check\` says`);
    return [dirOrFile];
  }
  const all = await readdir(dirOrFile);
  const partial = all.filter((n) => n.endsWith(PARTIAL_SUFFIX));
  if (partial.length)
    log.warn(
      `--episodes ${dirOrFile}: ${partial.length} unfinished episode(s) left out (${partial.slice(0, 3).join(", ")}${partial.length > 3 ? ", ..." : ""}); see mobile-vla episodes check`,
    );
  const names = all.filter((n) => n.endsWith(EPISODE_SUFFIX)).sort();
  if (names.length === 0) throw new Error(`--episodes ${dirOrFile}: no *${EPISODE_SUFFIX} episode files in this folder`);
  return names.map((n) => path.join(dirOrFile, n));
}

/** Display names for model folders: the folder name, made unique when two share it. */
export function modelNames(dirs: string[]): string[] {
  const base = dirs.map((d) => path.basename(path.resolve(d)));
  return base.map((b, i) => (base.filter((x) => x === b).length > 1 ? `${b}#${i + 1}` : b));
}

export async function evaluate(o: EvaluateOptions): Promise<EvaluateResult> {
  if (o.models.length === 0) throw new Error("--model: give at least one model folder");
  if (o.sources.length === 0) throw new Error("give at least one --bag or --episodes source");
  const names = modelNames(o.models);
  const runs: RunSeries[] = [];
  for (let mi = 0; mi < o.models.length; mi++) {
    const name = names[mi]!;
    const model = await VlaModel.load(o.models[mi]!, modelLoadOptions(o.params));
    const seenInstructions = new Set<string>();
    const onInstruction = (instruction: string, tokens: PromptTokens) => {
      // Once per instruction and model: 250 episodes share two instructions.
      if (seenInstructions.has(instruction)) return;
      seenInstructions.add(instruction);
      const warning = instructionTokenWarning(model.manifest, tokens);
      if (warning) log.warn(`${name}: ${warning}`);
    };
    try {
      for (const src of o.sources) {
        const onProgress = (f: number) => o.progress?.(name, src.path, f, false);
        let run: RunSeries;
        try {
          run =
            src.kind === "bag"
              ? await replayBag(src.path, {
                  model,
                  modelName: name,
                  params: o.params,
                  topics: o.topics,
                  instruction: o.instruction,
                  headerStamps: o.headerStamps,
                  latency: o.latency,
                  teleopHoldS: o.teleopHoldS,
                  onProgress,
                })
              : await replayEpisode(src.path, {
                  model,
                  modelName: name,
                  params: o.params,
                  instruction: o.instruction,
                  instructionMap: o.instructionMap,
                  chunkOffset: o.chunkOffset,
                  onInstruction,
                });
        } catch (e) {
          const message = (e as Error).message;
          log.error(`${name} on ${src.path}: ${message}`);
          run = {
            model: name,
            source: src.path,
            sourceKind: src.kind,
            ticks: [],
            chunks: [],
            latenciesMs: [],
            sampledFrames: 0,
            backboneRuns: 0,
            decodeErrors: 0,
            error: message,
          };
        }
        // A run without a single action is a failed source, never a table of zeros.
        const noResult = noResultReason(run, { watchdogTimeoutS: o.params.watchdog_timeout_s });
        if (noResult) {
          log.error(`${name} on ${src.path}: ${noResult}`);
          run = { ...run, error: noResult };
        }
        runs.push(run);
        o.progress?.(name, src.path, 1, true);
      }
    } finally {
      await model.close();
    }
  }
  const report = buildReport(runs, { models: names, bootstrap: { seed: o.seed ?? 1 } });
  const files = await writeReportFiles(o.outDir, report);
  return { report, files, failed: runs.filter((r) => r.error !== undefined) };
}

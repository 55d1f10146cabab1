// `model verify`: runs each stage of the exporter's golden.json through the TypeScript
// path and measures how far it lands from what the training code's own forward computed.
// Each stage is isolated where it can be (the backbone is fed the golden pixels and ids,
// the head the golden features) and also run end to end from the raw frame, so a failure
// says WHICH step differs: tokenizer, preprocessing, backbone graph, head graph.
import path from "node:path";
import { probeInstruction, type InstructionProbe } from "./instruction-probe.js";
import type { RawImageMessage } from "../msgs/image.js";
import { GOLDEN_FILE, GoldenError, loadGolden, type Golden, type GoldenInstruction } from "./golden.js";
import { MANIFEST_FILE, headOutputWidth, type Manifest, type Precision } from "./manifest.js";
import { Preprocessor } from "./preprocess.js";
import type { RuntimeOptions } from "./runtime.js";
import type { PromptTokens } from "./tokenize.js";
import { VlaModel } from "./vla-model.js";

/**
 * int8 is compared with the fp32 PyTorch values, so it cannot meet fp32 tolerances;
 * these are the bounds an int8 backbone must stay within to drive like the fp32 one.
 */
export const INT8_MIN_COSINE = 0.99;
export const INT8_MAX_CHUNK_ERROR = 0.05;

export interface VerifyOptions {
  precision?: Precision;
  runtime?: Partial<RuntimeOptions>;
  /** Run the instruction probe after the stages (default true). */
  probe?: boolean;
}

export interface StageResult {
  stage: string;
  /** What was compared, e.g. "9 features". */
  compared: string;
  /** The measured figure as printed: a max abs error, a cosine, a count of mismatches. */
  measured: string;
  tolerance: string;
  pass: boolean;
  /** Where and how it differs, for a failed stage. */
  details: string[];
}

export interface VerifyReport {
  dir: string;
  precision: Precision;
  backboneFile: string;
  provider: string;
  generator: string;
  stages: StageResult[];
  pass: boolean;
  probe: InstructionProbe | null;
  trainedCounts: number[];
}

/** Max |a - b|; NaN when `ours` has a non-finite value (so it can never pass). */
export function maxAbsError(ours: ArrayLike<number>, golden: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < ours.length; i++) {
    const x = Math.abs(ours[i]! - golden[i]!);
    if (!Number.isFinite(x)) return NaN;
    if (x > d) d = x;
  }
  return d;
}

/** Cosine similarity; NaN for a non-finite or all-zero vector. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  const c = ab / Math.sqrt(aa * bb);
  return Number.isFinite(c) ? c : NaN;
}

const fmt = (x: number): string => (Number.isNaN(x) ? "non-finite" : x === 0 ? "0" : x < 1e-3 || x >= 1e4 ? x.toExponential(2) : x.toPrecision(3));
/** Tolerances as written: 1e-6, 0.05. */
const fmtTol = (x: number): string => (x < 1e-3 ? x.toExponential() : String(x));

/** Accumulates max abs errors (and cosines) over many comparisons, remembering the worst. */
export class ErrorStat {
  max = 0;
  minCos = 1;
  count = 0;
  nonFinite: string[] = [];
  worst = "";

  add(label: string, ours: ArrayLike<number>, golden: ArrayLike<number>, withCosine = false): void {
    this.count++;
    const e = maxAbsError(ours, golden);
    if (Number.isNaN(e)) {
      this.nonFinite.push(label);
      return;
    }
    if (e > this.max) {
      this.max = e;
      this.worst = label;
    }
    if (withCosine) {
      const c = cosine(ours, golden);
      this.minCos = Math.min(this.minCos, Number.isNaN(c) ? -1 : c); // an all-zero feature is as wrong as an opposite one
    }
  }

  /** A max-abs stage row. */
  row(stage: string, compared: string, tolerance: number): StageResult {
    const pass = this.nonFinite.length === 0 && this.max <= tolerance;
    return {
      stage,
      compared,
      tolerance: `<= ${fmtTol(tolerance)}`,
      pass,
      measured: this.nonFinite.length ? "non-finite" : fmt(this.max),
      details: this.failDetails(pass, `max abs error ${fmt(this.max)} > ${fmtTol(tolerance)}`),
    };
  }

  /** An int8 feature row: cosine against the fp32 golden features. */
  cosineRow(stage: string, compared: string): StageResult {
    const pass = this.nonFinite.length === 0 && this.minCos >= INT8_MIN_COSINE;
    return {
      stage,
      compared,
      tolerance: `cosine >= ${INT8_MIN_COSINE}`,
      pass,
      measured: this.nonFinite.length ? "non-finite" : `cosine ${this.minCos.toFixed(5)} (max abs ${fmt(this.max)})`,
      details: this.failDetails(pass, `min feature cosine ${this.minCos.toFixed(5)} < ${INT8_MIN_COSINE}`),
    };
  }

  private failDetails(pass: boolean, what: string): string[] {
    if (pass) return [];
    if (this.nonFinite.length) return [`non-finite values (NaN/Inf) in our output: ${this.nonFinite.join(", ")}`];
    return [`${what}; worst: ${this.worst}`];
  }
}

function rawFrame(f: Golden["frames"][number]): RawImageMessage {
  return { kind: "raw", width: f.width, height: f.height, encoding: f.encoding, step: f.width * 3, isBigEndian: false, data: f.data };
}

function goldenTokens(g: GoldenInstruction): PromptTokens {
  return {
    instruction: g.text,
    ids: BigInt64Array.from(g.ids, (v) => BigInt(v)),
    mask: BigInt64Array.from(g.mask, (v) => BigInt(v)),
    length: g.mask.reduce((a, b) => a + b, 0),
    tokens: [],
  };
}

const sameArray = (a: ArrayLike<number | bigint>, b: ArrayLike<number | bigint>) => {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
};

/** golden.json describes another model than this manifest: named field by field, both values. */
function checkFits(g: Golden, m: Manifest, file: string): void {
  const problems: string[] = [];
  const C = headOutputWidth(m);
  g.pixels.forEach((p, i) => {
    const want = [1, 3, m.image.height, m.image.width];
    if (!sameArray(p.shape, want))
      problems.push(`pixels[${i}].shape: golden.json says [${p.shape.join(", ")}] but ${MANIFEST_FILE} image says [${want.join(", ")}]`);
  });
  g.features.forEach((f, i) => {
    if (f.data.length !== m.feature_dim)
      problems.push(`features[${i}].data: golden.json has ${f.data.length} values but ${MANIFEST_FILE} feature_dim says ${m.feature_dim}`);
    if (!g.pixels.some((p) => p.frame === f.frame)) problems.push(`features[${i}]: frame ${f.frame} has no golden pixels to feed the backbone`);
  });
  g.windows.forEach((w, i) => {
    if (w.frames.length !== m.window)
      problems.push(`windows[${i}].frames: golden.json has ${w.frames.length} frames but ${MANIFEST_FILE} window says ${m.window}`);
    w.frames.forEach((fr) => {
      if (!g.features.some((f) => f.frame === fr && f.instruction === w.instruction))
        problems.push(`windows[${i}]: no golden feature for frame ${fr} with instruction ${w.instruction}`);
    });
    w.outputs.forEach((o, k) => {
      const want = o.w * m.chunk * C;
      if (o.data.length !== want)
        problems.push(
          `windows[${i}].outputs[${k}].data: golden.json has ${o.data.length} values but ${MANIFEST_FILE} says [1, ${o.w}, ${m.chunk}, ${C}] = ${want}`,
        );
    });
    const missing = Array.from({ length: Math.min(m.window, w.frames.length) }, (_, k) => k + 1).filter((n) => !w.outputs.some((o) => o.w === n));
    if (missing.length) problems.push(`windows[${i}].outputs: no output for w = ${missing.join(", ")} (every window length 1..${m.window} is checked)`);
  });
  if (problems.length) throw new GoldenError(file, problems);
}

/**
 * Verifies a model folder against its golden.json. Throws GoldenError (no golden.json, a
 * malformed one, or one for another model) and the loader's errors; otherwise returns
 * every stage's result, passed or not.
 */
export async function verifyModel(dir: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const golden = await loadGolden(dir);
  const precision = options.precision ?? "fp32";
  const model = await VlaModel.load(dir, { precision, ...(options.runtime ? { runtime: options.runtime } : {}), warmup: false });
  try {
    const m = model.manifest;
    checkFits(golden, m, path.join(dir, GOLDEN_FILE));
    const int8 = precision !== "fp32";
    const stages: StageResult[] = [];
    const tol = golden.tolerance;

    // Tokenizer: ids and mask must be exact; a different id is a different prompt.
    const ourTokens = golden.instructions.map((g) => model.tokenizer.encode(g.text));
    const tokDetails: string[] = [];
    let tokBad = 0;
    golden.instructions.forEach((g, i) => {
      const ours = ourTokens[i]!;
      const ids = Array.from(ours.ids, Number);
      const mask = Array.from(ours.mask, Number);
      const lines: string[] = [];
      const prompt = model.tokenizer.prompt(g.text);
      if (prompt !== g.prompt) lines.push(`    prompt: golden ${JSON.stringify(g.prompt)}, ours ${JSON.stringify(prompt)}`);
      for (const [what, theirs, mine] of [
        ["ids", g.ids, ids],
        ["mask", g.mask, mask],
      ] as const) {
        if (sameArray(theirs, mine)) continue;
        let at = 0;
        while (at < Math.min(theirs.length, mine.length) && theirs[at] === mine[at]) at++;
        const differs =
          at < Math.min(theirs.length, mine.length) ? `golden ${theirs[at]}, ours ${mine[at]}` : `golden has ${theirs.length} values, ours ${mine.length}`;
        lines.push(
          `    ${what}: first difference at position ${at}: ${differs}`,
          `      golden ${what}: [${theirs.join(", ")}]`,
          `      our ${what}:    [${mine.join(", ")}]`,
        );
      }
      if (lines.length) {
        tokBad++;
        tokDetails.push(`instruction ${i} ${JSON.stringify(g.text)}:`, ...lines);
      }
    });
    const nI = golden.instructions.length;
    stages.push({
      stage: "tokenizer (ids, mask)",
      compared: `${nI} instruction${nI === 1 ? "" : "s"}`,
      measured: `${tokBad} of ${nI} differ`,
      tolerance: "exact",
      pass: tokBad === 0,
      details: tokDetails,
    });

    // Preprocessing from the raw frame, with the manifest's image spec.
    const pre = new Preprocessor(m.image);
    const ourPixels = golden.frames.map((f) => pre.runRaw(rawFrame(f)));
    const px = new ErrorStat();
    for (const p of golden.pixels) px.add(`frame ${p.frame} (${golden.frames[p.frame]!.name})`, ourPixels[p.frame]!, p.data);
    stages.push(px.row("preprocess (raw frame -> pixels)", `${golden.pixels.length} frame${golden.pixels.length === 1 ? "" : "s"}`, tol.pixels));

    // Backbone from the golden pixels and ids: the graph alone.
    const goldenPixels = new Map(golden.pixels.map((p) => [p.frame, p.data]));
    const isolated = new ErrorStat();
    const isolatedFeatures: Float32Array[] = [];
    for (const f of golden.features) {
      const feature = await model.runBackbone(goldenPixels.get(f.frame)!, goldenTokens(golden.instructions[f.instruction]!));
      isolatedFeatures.push(feature);
      isolated.add(`frame ${f.frame}, instruction ${f.instruction}`, feature, f.data, int8);
    }
    const nF = golden.features.length;
    const featuresText = `${nF} feature${nF === 1 ? "" : "s"}`;
    stages.push(
      int8 ? isolated.cosineRow("backbone (golden pixels + ids)", featuresText) : isolated.row("backbone (golden pixels + ids)", featuresText, tol.feature),
    );

    // Backbone end to end: our pixels and our ids. Where both are bit-identical to the
    // golden inputs the graph's answer is the one just computed, so it is not run again
    // (a real backbone takes seconds a frame).
    const e2e = new ErrorStat();
    const e2eFeatures = new Map<string, Float32Array>();
    for (const [k, f] of golden.features.entries()) {
      const ours = ourTokens[f.instruction]!;
      const g = golden.instructions[f.instruction]!;
      const sameInputs =
        sameArray(ourPixels[f.frame]!, goldenPixels.get(f.frame)!) &&
        sameArray(Array.from(ours.ids, Number), g.ids) &&
        sameArray(Array.from(ours.mask, Number), g.mask);
      const feature = sameInputs ? isolatedFeatures[k]! : await model.runBackbone(ourPixels[f.frame]!, ours);
      e2eFeatures.set(`${f.frame}:${f.instruction}`, feature);
      e2e.add(`frame ${f.frame}, instruction ${f.instruction}`, feature, f.data, int8);
    }
    stages.push(
      int8
        ? e2e.cosineRow("backbone (end to end from the raw frame)", featuresText)
        : e2e.row("backbone (end to end from the raw frame)", featuresText, tol.feature),
    );

    // Head over golden features for every window length: the head graph alone (always fp32).
    const D = m.feature_dim;
    const goldenFeature = new Map(golden.features.map((f) => [`${f.frame}:${f.instruction}`, f.data]));
    const runWindows = async (features: Map<string, Float32Array>, stat: ErrorStat) => {
      for (const [i, w] of golden.windows.entries()) {
        const input = new Float32Array(w.frames.length * D);
        w.frames.forEach((fr, k) => input.set(features.get(`${fr}:${w.instruction}`)!, k * D));
        for (const o of w.outputs) {
          const out = await model.runHead(input.subarray(0, o.w * D), o.w);
          stat.add(`window ${i}, w = ${o.w}`, out, o.data);
        }
      }
    };
    const head = new ErrorStat();
    await runWindows(goldenFeature, head);
    const nW = golden.windows.length;
    const windowsText = `${nW} window${nW === 1 ? "" : "s"} x w = 1..${m.window}`;
    stages.push(head.row("head (golden features)", windowsText, tol.chunk));

    // The whole path: raw frames -> our preprocessing, tokenizer, backbone -> head.
    const chunk = new ErrorStat();
    await runWindows(e2eFeatures, chunk);
    stages.push(chunk.row("chunk (end to end from the raw frames)", windowsText, int8 ? INT8_MAX_CHUNK_ERROR : tol.chunk));

    const probe = options.probe === false || ourPixels.length === 0 ? null : await probeInstruction(model, ourPixels[0]!);
    return {
      dir,
      precision,
      backboneFile: model.backboneFile,
      provider: model.runtime.provider,
      generator: golden.generator,
      stages,
      pass: stages.every((s) => s.pass),
      probe,
      trainedCounts: m.training?.prompt_tokens ?? [],
    };
  } finally {
    await model.close();
  }
}

// Makes visible whether a model hears the instruction. The December 2025 Kosmos-2 models
// overwrite the prompt's text with image embeddings, so only the prompt's token COUNT
// reaches the feature (REFERENCE.md): "go left" and "go right" drive the same way. The
// probe runs the backbone on one frame for a base instruction, for other words with the
// same token count, and for a different count, and says in plain words what changed.
import { countList } from "./instruction-tokens.js";
import type { Manifest } from "./manifest.js";
import type { PromptTokenizer, PromptTokens } from "./tokenize.js";

/** What the probe needs of a loaded model (a VlaModel is one). */
export interface ProbeModel {
  manifest: Pick<Manifest, "training">;
  tokenizer: Pick<PromptTokenizer, "encode">;
  runBackbone(pixels: Float32Array, tokens: PromptTokens): Promise<Float32Array>;
}

export const DEFAULT_PROBE_INSTRUCTION = "Navigate to the gray basket on the left";

/** Word swaps tried for a same-count variant, most telling first (left/right is what a robot user cares about). */
const SWAPS: [string, string][] = [
  ["left", "right"],
  ["right", "left"],
];
/** Single-word replacements tried next, at every word position. */
const WORDS = ["right", "left", "box", "door", "chair", "table", "red", "blue", "green", "forward", "back", "target", "location", "basket", "gray", "cup"];
/** Endings tried for a different-count variant. */
const LONGER = [" slowly", " now", " and then stop", " without hitting anything"];

/** A relative threshold: a feature difference below this is float noise, not a change. */
export const PROBE_RELATIVE_THRESHOLD = 1e-6;

export interface ProbeVariant {
  text: string;
  tokens: number;
  /** Max |feature - base feature|. */
  difference: number;
}

export interface InstructionProbe {
  base: { text: string; tokens: number };
  /** Other words, same token count; null when no candidate had the same count. */
  sameCount: ProbeVariant | null;
  /** Null when no candidate had another count. */
  otherCount: ProbeVariant | null;
  /** Differences above this count as a change: PROBE_RELATIVE_THRESHOLD * max(1, max |base feature|). */
  threshold: number;
  /** null when not measured. */
  wordsMatter: boolean | null;
  lengthMatters: boolean | null;
  verdict: string;
}

const isLeftRight = (a: string, b: string) => /\bleft\b/i.test(a) !== /\bleft\b/i.test(b) && /\bright\b/i.test(a) !== /\bright\b/i.test(b);

/** Same-count candidates in the order they are tried. */
function sameCountCandidates(base: string): string[] {
  const out: string[] = [];
  for (const [a, b] of SWAPS) {
    const re = new RegExp(`\\b${a}\\b`, "gi");
    if (re.test(base)) out.push(base.replace(re, (m) => (m[0] === m[0]!.toUpperCase() ? b[0]!.toUpperCase() + b.slice(1) : b)));
  }
  const words = base.split(" ");
  words.forEach((w, i) => {
    for (const r of WORDS) {
      if (r.toLowerCase() === w.toLowerCase()) continue;
      out.push([...words.slice(0, i), r, ...words.slice(i + 1)].join(" "));
    }
  });
  return out.filter((c) => c !== base);
}

function otherCountCandidates(base: string): string[] {
  const words = base.split(" ");
  return [...LONGER.map((e) => base + e), ...(words.length > 1 ? [words.slice(1).join(" ")] : [])];
}

const sameIds = (a: PromptTokens, b: PromptTokens) => a.ids.length === b.ids.length && a.ids.every((v, i) => v === b.ids[i]);

function tryEncode(model: ProbeModel, text: string): PromptTokens | null {
  try {
    return model.tokenizer.encode(text);
  } catch {
    return null; // too long for the model: not a usable candidate
  }
}

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    const x = Math.abs(a[i]! - b[i]!);
    if (!(x <= d)) d = x; // NaN wins, so a broken feature is never read as "no change"
  }
  return d;
}

/** A difference for people: 0 as "0.0", small ones in exponent form. */
export function fmtDifference(x: number): string {
  if (x === 0) return "0.0";
  if (!Number.isFinite(x)) return String(x);
  return x < 1e-3 ? x.toExponential(1) : x.toPrecision(2);
}

/**
 * Runs the probe on one preprocessed frame. `base` defaults to the first training
 * instruction the manifest records, else DEFAULT_PROBE_INSTRUCTION.
 */
export async function probeInstruction(model: ProbeModel, pixels: Float32Array, base?: string): Promise<InstructionProbe> {
  const baseText = base ?? model.manifest.training?.instructions[0] ?? DEFAULT_PROBE_INSTRUCTION;
  const baseTokens = model.tokenizer.encode(baseText);
  const baseFeature = await model.runBackbone(pixels, baseTokens);
  let scale = 0;
  for (const v of baseFeature) scale = Math.max(scale, Math.abs(v));
  const threshold = PROBE_RELATIVE_THRESHOLD * Math.max(1, scale);

  const find = (candidates: string[], ok: (t: PromptTokens) => boolean): { text: string; tokens: PromptTokens } | null => {
    for (const text of candidates) {
      const t = tryEncode(model, text);
      if (t && ok(t)) return { text, tokens: t };
    }
    return null;
  };
  const measure = async (v: { text: string; tokens: PromptTokens } | null): Promise<ProbeVariant | null> =>
    v && { text: v.text, tokens: v.tokens.length, difference: maxAbsDifference(baseFeature, await model.runBackbone(pixels, v.tokens)) };

  const n = baseTokens.length;
  const sameCount = await measure(find(sameCountCandidates(baseText), (t) => t.length === n && !sameIds(t, baseTokens)));
  const otherCount = await measure(find(otherCountCandidates(baseText), (t) => t.length !== n));
  const matters = (v: ProbeVariant | null) => (v === null ? null : !(v.difference <= threshold));
  const wordsMatter = matters(sameCount);
  const lengthMatters = matters(otherCount);
  return {
    base: { text: baseText, tokens: n },
    sameCount,
    otherCount,
    threshold,
    wordsMatter,
    lengthMatters,
    verdict: verdict(baseText, n, sameCount, otherCount, wordsMatter, lengthMatters),
  };
}

function verdict(base: string, n: number, same: ProbeVariant | null, other: ProbeVariant | null, words: boolean | null, length: boolean | null): string {
  const d = (v: ProbeVariant) => `difference ${fmtDifference(v.difference)}`;
  if (same === null) {
    return (
      `No instruction with other words but the same token count (${n}) as "${base}" was found, so whether the words matter was not measured` +
      (other ? `; its length (token count) changes the feature by ${fmtDifference(other.difference)}.` : ".")
    );
  }
  if (words) {
    return (
      `The instruction's words DO change this model's feature ("${base}" vs "${same.text}", both ${n} tokens: ${d(same)})` +
      (other ? `; its length changes it too (${d(other)}).` : ".")
    );
  }
  if (other && length === false) {
    return `Neither the instruction's words (${d(same)}) nor its length (${d(other)}) change this model's feature: it does not hear the instruction at all.`;
  }
  const cannotHear = isLeftRight(base, same.text) ? "'left' vs 'right'" : `"${base}" from "${same.text}"`;
  return (
    `The instruction's words do NOT change this model's feature (${d(same)}); ` +
    (other ? `only its length (token count) does (${d(other)}). ` : "(its length could not be varied). ") +
    `This model cannot hear ${cannotHear}: it will act the same for any instruction of ${n} tokens.`
  );
}

/** The probe as printed by `model verify` and `model inspect`. */
export function probeLines(p: InstructionProbe, trainedCounts: readonly number[] = []): string[] {
  const row = (label: string, v: ProbeVariant) => `  ${label} "${v.text}" (${v.tokens} tokens): max |feature difference| ${fmtDifference(v.difference)}`;
  const lines = [
    `instruction probe (backbone on one frame; prompt token counts include the template and special tokens):`,
    `  base        "${p.base.text}" (${p.base.tokens} tokens)`,
  ];
  lines.push(p.sameCount ? row("same count ", p.sameCount) : `  same count  none found among the candidates`);
  lines.push(p.otherCount ? row("other count", p.otherCount) : `  other count none found among the candidates`);
  if (trainedCounts.length) lines.push(`  trained on prompts of ${countList(trainedCounts)} tokens (manifest training.prompt_tokens)`);
  lines.push(`  ${p.verdict}`);
  return lines;
}

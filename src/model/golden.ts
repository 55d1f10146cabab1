// golden.json (format mobile-vla-golden, version 1): what the training code's own forward
// computed, stage by stage, for a few frames and instructions, written by the exporter so
// `model verify` can check the TypeScript path against PyTorch on this very folder. Float
// arrays are base64 of little-endian float32; frames are base64 of raw bytes.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { show } from "../util/schema.js";
import { FieldReader, isPositiveInt, type Json } from "./field-reader.js";

export const GOLDEN_FILE = "golden.json";
export const GOLDEN_FORMAT = "mobile-vla-golden";
export const GOLDEN_VERSION = 1;

/** Raw encodings a golden frame may have: three bytes a pixel, as the camera sends them. */
export const GOLDEN_ENCODINGS = ["bgr8", "rgb8"] as const;
export type GoldenEncoding = (typeof GOLDEN_ENCODINGS)[number];

export interface GoldenTolerance {
  /** Max abs error of preprocessed pixels. */
  pixels: number;
  /** Max abs error of a backbone feature. */
  feature: number;
  /** Max abs error of a head output (actions or logits). */
  chunk: number;
}

export interface GoldenFrame {
  name: string;
  width: number;
  height: number;
  encoding: GoldenEncoding;
  data: Uint8Array;
}

export interface GoldenInstruction {
  text: string;
  /** The template applied, as the exporter's tokenizer saw it. */
  prompt: string;
  /** Exactly what the backbone graph is fed. */
  ids: number[];
  mask: number[];
}

export interface GoldenPixels {
  frame: number;
  shape: number[];
  data: Float32Array;
}

export interface GoldenFeature {
  frame: number;
  instruction: number;
  data: Float32Array;
}

export interface GoldenWindow {
  instruction: number;
  /** Frame indices, oldest first. */
  frames: number[];
  /** The head over the first w features, data 1*w*N*C values. */
  outputs: { w: number; data: Float32Array }[];
}

export interface Golden {
  generator: string;
  tolerance: GoldenTolerance;
  frames: GoldenFrame[];
  instructions: GoldenInstruction[];
  pixels: GoldenPixels[];
  features: GoldenFeature[];
  windows: GoldenWindow[];
}

export class GoldenError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(problems.length === 1 ? `${file}: ${problems[0]}` : `${file}: ${problems.length} problems:\n  - ${problems.join("\n  - ")}`);
    this.name = "GoldenError";
  }
}

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/** Strict base64 (Buffer.from silently skips bad characters, which would hide a damaged file). */
function base64Bytes(r: FieldReader, o: Json, key: string): Uint8Array | undefined {
  const v = (o as Record<string, Json>)[key];
  if (typeof v !== "string") {
    r.fail(key, `expected a base64 string, got ${show(v)}`);
    return undefined;
  }
  if (v.length % 4 !== 0 || !BASE64_RE.test(v)) {
    r.fail(key, "not valid base64");
    return undefined;
  }
  return new Uint8Array(Buffer.from(v, "base64"));
}

/** Base64 of little-endian float32 -> values, whatever the host's byte order. */
export function decodeFloat32(bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/** The inverse of decodeFloat32, as the exporter writes float arrays. */
export function encodeFloat32Base64(values: ArrayLike<number>): string {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return Buffer.from(bytes).toString("base64");
}

function floats(r: FieldReader, o: Json, key: string, expectedLength: number | null): Float32Array | undefined {
  const bytes = base64Bytes(r, o, key);
  if (!bytes) return undefined;
  if (bytes.length % 4 !== 0) {
    r.fail(key, `${bytes.length} bytes is not a whole number of float32 values`);
    return undefined;
  }
  const data = decodeFloat32(bytes);
  if (expectedLength !== null && data.length !== expectedLength) {
    r.fail(key, `expected ${expectedLength} float32 values, got ${data.length}`);
    return undefined;
  }
  if (data.length === 0) {
    r.fail(key, "expected at least one float32 value, got none");
    return undefined;
  }
  const bad = data.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) {
    r.fail(key, `value ${bad} is ${data[bad]}; golden values must be finite`);
    return undefined;
  }
  return data;
}

/** Each element of a required list, with a reader named `key[i]`. */
function each(r: FieldReader, o: Json, key: string, fn: (item: Record<string, Json>, ir: FieldReader, i: number) => void): void {
  const list = r.arr(o, key, true);
  if (!list) return;
  if (list.length === 0) r.fail(key, "expected at least one entry, got none");
  list.forEach((item, i) => {
    const ir = r.child(`${key}[${i}]`);
    if (item === null || typeof item !== "object" || Array.isArray(item)) {
      r.fail(`${key}[${i}]`, `expected an object, got ${show(item)}`);
      return;
    }
    fn(item as Record<string, Json>, ir, i);
  });
}

/**
 * Validates a parsed golden.json. Throws one GoldenError listing every problem, each
 * naming its field (e.g. `features[3].data: expected 2048 float32 values, got 2047`).
 * Checks only the file's own consistency; whether it fits a model is `model verify`'s job.
 */
export function parseGolden(json: Json, file = GOLDEN_FILE): Golden {
  if (json === null || typeof json !== "object" || Array.isArray(json)) throw new GoldenError(file, ["expected a JSON object at the top level"]);
  const problems: string[] = [];
  const r = new FieldReader(problems, "");
  const format = (json as Record<string, Json>).format;
  if (format !== GOLDEN_FORMAT) problems.push(`format: expected ${JSON.stringify(GOLDEN_FORMAT)}, got ${show(format)}`);
  const version = (json as Record<string, Json>).version;
  if (version !== GOLDEN_VERSION) problems.push(`version: expected ${GOLDEN_VERSION}, got ${show(version)}`);
  const generator = r.has(json, "generator") ? r.str(json, "generator", "") : "unknown";

  const tolO = r.obj(json, "tolerance");
  if (!tolO && !r.has(json, "tolerance")) problems.push("tolerance: missing (expected {pixels, feature, chunk})");
  const tr = r.child("tolerance");
  const positive = (n: number) => n > 0;
  const tolerance: GoldenTolerance = {
    pixels: tolO ? tr.reqNum(tolO, "pixels", positive, "a positive number") : NaN,
    feature: tolO ? tr.reqNum(tolO, "feature", positive, "a positive number") : NaN,
    chunk: tolO ? tr.reqNum(tolO, "chunk", positive, "a positive number") : NaN,
  };

  const frames: GoldenFrame[] = [];
  each(r, json, "frames", (f, fr) => {
    const name = fr.reqStr(f, "name");
    const width = fr.reqNum(f, "width", isPositiveInt, "a positive integer");
    const height = fr.reqNum(f, "height", isPositiveInt, "a positive integer");
    const encoding = fr.oneOf(f, "encoding", "bgr8" as GoldenEncoding, GOLDEN_ENCODINGS);
    const data = base64Bytes(fr, f, "data");
    if (data && Number.isFinite(width) && Number.isFinite(height) && data.length !== width * height * 3) {
      fr.fail("data", `expected ${width}x${height}x3 = ${width * height * 3} bytes of ${encoding}, got ${data.length}`);
    }
    frames.push({ name, width, height, encoding, data: data ?? new Uint8Array(0) });
  });

  const instructions: GoldenInstruction[] = [];
  each(r, json, "instructions", (o, ir) => {
    const text = ir.reqStr(o, "text");
    const prompt = ir.reqStr(o, "prompt");
    const need = (key: string) => {
      if (!ir.has(o, key)) ir.fail(key, "missing (expected a list of integers)");
    };
    need("ids");
    need("mask");
    const ids = ir.ints(o, "ids", (n) => n >= 0, "a non-negative integer", 1) ?? [];
    const mask = ir.ints(o, "mask", (n) => n === 0 || n === 1, "0 or 1", 1) ?? [];
    if (ids.length && mask.length && ids.length !== mask.length) ir.fail("mask", `expected ${ids.length} values (one per id), got ${mask.length}`);
    instructions.push({ text, prompt, ids, mask });
  });

  const index = (ir: FieldReader, o: Json, key: string, count: number, what: string): number =>
    ir.reqNum(o, key, (n) => Number.isInteger(n) && n >= 0 && n < count, `an index into ${what} (0..${count - 1})`);

  const pixels: GoldenPixels[] = [];
  each(r, json, "pixels", (o, pr) => {
    const frame = index(pr, o, "frame", frames.length, "frames");
    if (!pr.has(o, "shape")) pr.fail("shape", "missing (expected [1, 3, height, width])");
    const shape = pr.ints(o, "shape", isPositiveInt, "a positive integer", 4);
    if (shape && (shape.length !== 4 || shape[0] !== 1 || shape[1] !== 3)) pr.fail("shape", `expected [1, 3, height, width], got ${JSON.stringify(shape)}`);
    const data = floats(pr, o, "data", shape ? shape.reduce((a, b) => a * b, 1) : null);
    if (data && shape) pixels.push({ frame, shape, data });
  });

  const features: GoldenFeature[] = [];
  each(r, json, "features", (o, fr) => {
    const frame = index(fr, o, "frame", frames.length, "frames");
    const instruction = index(fr, o, "instruction", instructions.length, "instructions");
    const data = floats(fr, o, "data", features[0]?.data.length ?? null);
    if (data) features.push({ frame, instruction, data });
  });

  const windows: GoldenWindow[] = [];
  each(r, json, "windows", (o, wr) => {
    const instruction = index(wr, o, "instruction", instructions.length, "instructions");
    if (!wr.has(o, "frames")) wr.fail("frames", "missing (expected a list of frame indices, oldest first)");
    const wFrames = wr.ints(o, "frames", (n) => n >= 0 && n < frames.length, `an index into frames (0..${frames.length - 1})`, 1) ?? [];
    // Window lengths are bounded by the list as written, even when one of its indices is bad.
    const listed = Array.isArray(o.frames) ? o.frames.length : wFrames.length;
    const outputs: GoldenWindow["outputs"] = [];
    each(wr, o, "outputs", (out, orr) => {
      const w = orr.reqNum(out, "w", (n) => Number.isInteger(n) && n >= 1 && n <= Math.max(1, listed), `a window length in 1..${Math.max(1, listed)}`);
      const data = floats(orr, out, "data", null);
      if (data && Number.isFinite(w) && data.length % w !== 0) orr.fail("data", `${data.length} values is not w = ${w} rows of the same size`);
      else if (data) outputs.push({ w, data });
    });
    windows.push({ instruction, frames: wFrames, outputs });
  });

  if (problems.length) throw new GoldenError(file, problems);
  return { generator, tolerance, frames, instructions, pixels, features, windows };
}

/**
 * Reads and validates `<dir>/golden.json`. A folder without one is an error: there is
 * nothing to verify against.
 */
export async function loadGolden(dir: string): Promise<Golden> {
  const file = path.join(dir, GOLDEN_FILE);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT")
      throw new GoldenError(dir, [
        "no golden.json: verification needs the exporter's golden vectors (write the folder with the exporter, which computes them with the training code's own forward)",
      ]);
    throw new GoldenError(file, [`cannot read (${code ?? String(e)})`]);
  }
  let json: Json;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new GoldenError(file, [`not valid JSON: ${(e as Error).message}`]);
  }
  return parseGolden(json, file);
}

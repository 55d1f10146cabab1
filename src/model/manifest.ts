// The model folder's manifest: everything that differs between Mobile-VLA model
// versions lives here, so no other module hard-codes a version. Defaults are the
// December 2025 models (BGR, bilinear 224x224, [0, 1] pixels, no mean/std, W=8, N=10).
import { access, readFile } from "node:fs/promises";
import path from "node:path";
import { FieldReader, isPositiveInt, type Json } from "./field-reader.js";

export const MANIFEST_FILE = "manifest.json";
export const MANIFEST_FORMAT_VERSION = 1;

export type ChannelOrder = "rgb" | "bgr";
export type Rotation = 0 | 90 | 180 | 270;
export type ResizeFilter = "bilinear" | "bicubic";

export interface ImageSpec {
  /** Channel order the backbone expects in its pixel tensor. */
  channel_order: ChannelOrder;
  /** Clockwise rotation applied to the incoming frame before resizing. */
  rotate: Rotation;
  width: number;
  height: number;
  /** PIL-style resampling filter (antialiased when downscaling), as training used. */
  resize: ResizeFilter;
  /** Multiplier from uint8 to the model's range (1/255 for [0, 1]). */
  rescale: number;
  /** Per-channel mean/std in the model's channel order, or null for none. */
  mean: [number, number, number] | null;
  std: [number, number, number] | null;
}

export type Padding = { kind: "none" } | { kind: "fixed"; length: number; pad_id: number };

export interface TokenizerSpec {
  file: string;
  /** Prompt template; `{instruction}` is replaced by the instruction text. */
  template: string;
  /** Whether the tokenizer's post-processor adds its special tokens (e.g. <s> ... </s>). */
  add_special_tokens: boolean;
  padding: Padding;
  /** Longest id sequence accepted after templating (before padding). */
  max_length: number;
}

/** Backbone precisions a folder may carry. fp32 is always `backbone.file`; others are `backbone.variants`. */
export const PRECISIONS = ["fp32", "int8"] as const;
export type Precision = (typeof PRECISIONS)[number];

export interface BackboneGraphSpec {
  file: string;
  inputs: { pixel_values: string; input_ids: string; attention_mask: string | null };
  output: string;
  /**
   * The same backbone at other precisions (same inputs and output), precision -> file.
   * Never holds fp32: that is `file` (see backboneFileFor).
   */
  variants: Partial<Record<Precision, string>>;
}

/** What the model was trained with, so the package can warn about inputs it never saw. */
export interface TrainingInfo {
  /** The instructions used in training; [] when unknown. */
  instructions: string[];
  /**
   * Token counts of the training prompts (template applied, special tokens added),
   * sorted, unique; [] when unknown. For the Kosmos-2 Mobile-VLA models the count,
   * not the words, is what reaches the feature (REFERENCE.md).
   */
  prompt_tokens: number[];
}

/** Written by the exporter; informational except checkpoint_sha256, which the graphs' metadata must match. */
export interface ExportInfo {
  exporter_version?: string;
  checkpoint?: string;
  checkpoint_sha256?: string;
  config?: string;
  attn_implementation?: string;
  torch_version?: string;
  transformers_version?: string;
}

const EXPORT_FIELDS = ["exporter_version", "checkpoint", "checkpoint_sha256", "config", "attn_implementation", "torch_version", "transformers_version"] as const;

export interface HeadGraphSpec {
  file: string;
  input: string;
  output: string;
}

/** Training normalised each axis to [-1, 1] between min and max; this maps back. */
export type Denormalize =
  | { kind: "minmax"; min: number[]; max: number[] }
  | { kind: "scale"; scale: number[] };

export interface DiscreteClass {
  name: string;
  /** Velocity per action axis, in the same units as a continuous head's output. */
  action: number[];
}

export type HeadSpec =
  | { kind: "continuous"; denormalize: Denormalize }
  | { kind: "discrete"; classes: DiscreteClass[]; denormalize: Denormalize };

export interface Manifest {
  format_version: number;
  name: string;
  description: string;
  /** W: frames in the head's window. */
  window: number;
  /** N: steps in one predicted chunk. */
  chunk: number;
  /** D: backbone feature size. */
  feature_dim: number;
  action_axes: string[];
  /** Window position whose chunk is used; "last" answers the newest frame. */
  chunk_position: "last" | number;
  /** Seconds of motion one chunk step stands for. */
  action_step_s: number;
  head: HeadSpec;
  image: ImageSpec;
  tokenizer: TokenizerSpec;
  backbone: BackboneGraphSpec;
  head_graph: HeadGraphSpec;
  /** Absent in folders made before the exporter recorded it. */
  training?: TrainingInfo;
  export?: ExportInfo;
}

export const DEFAULT_IMAGE: ImageSpec = {
  channel_order: "bgr",
  rotate: 0,
  width: 224,
  height: 224,
  resize: "bilinear",
  rescale: 1 / 255,
  mean: null,
  std: null,
};

export const DEFAULT_TOKENIZER: TokenizerSpec = {
  file: "tokenizer.json",
  template: "<grounding>An image of a robot {instruction}",
  add_special_tokens: true,
  padding: { kind: "none" },
  max_length: 256,
};

export const DEFAULT_BACKBONE: BackboneGraphSpec = {
  file: "backbone.onnx",
  inputs: { pixel_values: "pixel_values", input_ids: "input_ids", attention_mask: "attention_mask" },
  output: "feature",
  variants: {},
};

export const DEFAULT_HEAD_GRAPH: HeadGraphSpec = { file: "head.onnx", input: "features", output: "actions" };

export class ManifestError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: ${problems.length} problem(s):\n  - ${problems.join("\n  - ")}`);
    this.name = "ManifestError";
  }
}

/** Number of values one chunk step carries out of the head: A for continuous, K for discrete. */
export function headOutputWidth(m: Pick<Manifest, "head" | "action_axes">): number {
  return m.head.kind === "continuous" ? m.action_axes.length : m.head.classes.length;
}

/** The backbone file for a precision, relative to the folder; undefined when the folder has none. */
export function backboneFileFor(m: Manifest, precision: Precision): string | undefined {
  return precision === "fp32" ? m.backbone.file : m.backbone.variants[precision];
}

/** The precisions a folder can run, fp32 first. */
export function backbonePrecisions(m: Manifest): Precision[] {
  return PRECISIONS.filter((p) => backboneFileFor(m, p) !== undefined);
}

/** Index into the window of the chunk to use, for a window holding `filled` frames. */
export function chunkIndex(m: Pick<Manifest, "chunk_position">, filled: number): number {
  if (m.chunk_position === "last") return filled - 1;
  return Math.min(m.chunk_position, filled - 1);
}


function parseDenormalize(r: FieldReader, o: Record<string, Json> | undefined, axes: number): Denormalize {
  const identity: Denormalize = { kind: "minmax", min: Array(axes).fill(-1), max: Array(axes).fill(1) };
  if (!o) return identity;
  const kind = r.oneOf(o, "kind", "minmax", ["minmax", "scale"] as const);
  if (kind === "scale") {
    return { kind, scale: r.numbers(o, "scale", Array(axes).fill(1), axes, false)! };
  }
  const min = r.numbers(o, "min", identity.min, axes, false)!;
  const max = r.numbers(o, "max", identity.max, axes, false)!;
  min.forEach((lo, i) => {
    if (!(max[i]! > lo)) r.child("max").num({ [i]: max[i] }, String(i), 0, () => false, `a value greater than min[${i}] = ${lo}`);
  });
  return { kind, min, max };
}

/**
 * Validates a parsed manifest.json, filling defaults for missing optional fields.
 * Throws one ManifestError listing every problem found, each naming its field.
 */
export function parseManifest(json: Json, file = MANIFEST_FILE): Manifest {
  const problems: string[] = [];
  const r = new FieldReader(problems, "");
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new ManifestError(file, ["expected a JSON object at the top level"]);
  }
  const format_version = r.num(json, "format_version", MANIFEST_FORMAT_VERSION, (n) => n === MANIFEST_FORMAT_VERSION, `${MANIFEST_FORMAT_VERSION}`);
  const name = r.str(json, "name", "unnamed");
  const description = (json as Record<string, Json>).description === undefined ? "" : r.str(json, "description", "");
  const window = r.num(json, "window", 8, isPositiveInt, "a positive integer");
  const chunk = r.num(json, "chunk", 10, isPositiveInt, "a positive integer");
  const feature_dim = r.num(json, "feature_dim", 2048, isPositiveInt, "a positive integer");
  let action_axes = ["linear_x", "linear_y"];
  const axesRaw = (json as Record<string, Json>).action_axes;
  if (axesRaw !== undefined) {
    if (!Array.isArray(axesRaw) || axesRaw.length === 0 || !axesRaw.every((a) => typeof a === "string" && a.length > 0)) {
      problems.push(`action_axes: expected a non-empty list of axis names, got ${JSON.stringify(axesRaw)}`);
    } else if (!axesRaw.includes("linear_x") && !axesRaw.includes("linear_y")) {
      problems.push(`action_axes: ${JSON.stringify(axesRaw)} has neither linear_x nor linear_y; nothing to drive`);
    } else action_axes = axesRaw as string[];
  }
  const cpRaw = (json as Record<string, Json>).chunk_position;
  let chunk_position: "last" | number = "last";
  if (cpRaw !== undefined && cpRaw !== "last") {
    chunk_position = r.num(json, "chunk_position", 0, (n) => Number.isInteger(n) && n >= 0 && n < window, `"last" or an integer in [0, ${window - 1}]`);
  }
  const action_step_s = r.num(json, "action_step_s", 0.4, (n) => n > 0, "a positive number of seconds");

  const headO = r.obj(json, "head") ?? {};
  const hr = r.child("head");
  const kind = hr.oneOf(headO, "kind", "continuous", ["continuous", "discrete"] as const);
  let head: HeadSpec;
  const denormalize = parseDenormalize(hr.child("denormalize"), hr.obj(headO, "denormalize"), action_axes.length);
  if (kind === "discrete") {
    const classesRaw = headO.classes;
    const classes: DiscreteClass[] = [];
    if (!Array.isArray(classesRaw) || classesRaw.length < 2) {
      problems.push(`head.classes: a discrete head needs a list of at least 2 classes {name, action: [${action_axes.join(", ")}]}, got ${JSON.stringify(classesRaw)}`);
    } else {
      classesRaw.forEach((c, i) => {
        const cr = hr.child(`classes[${i}]`);
        const cname = cr.str(c, "name", `class${i}`);
        const action = cr.numbers(c, "action", Array(action_axes.length).fill(0), action_axes.length, false)!;
        classes.push({ name: cname, action });
      });
    }
    head = { kind, classes, denormalize };
  } else {
    head = { kind, denormalize };
  }

  const imgO = r.obj(json, "image") ?? {};
  const ir = r.child("image");
  const image: ImageSpec = {
    channel_order: ir.oneOf(imgO, "channel_order", DEFAULT_IMAGE.channel_order, ["rgb", "bgr"] as const),
    rotate: ir.oneOf(imgO, "rotate", DEFAULT_IMAGE.rotate, [0, 90, 180, 270] as const),
    width: ir.num(imgO, "width", DEFAULT_IMAGE.width, (n) => isPositiveInt(n) && n <= 8192, "an integer in [1, 8192]"),
    height: ir.num(imgO, "height", DEFAULT_IMAGE.height, (n) => isPositiveInt(n) && n <= 8192, "an integer in [1, 8192]"),
    resize: ir.oneOf(imgO, "resize", DEFAULT_IMAGE.resize, ["bilinear", "bicubic"] as const),
    rescale: ir.num(imgO, "rescale", DEFAULT_IMAGE.rescale, (n) => n > 0, "a positive number"),
    mean: ir.numbers(imgO, "mean", DEFAULT_IMAGE.mean, 3, true) as ImageSpec["mean"],
    std: ir.numbers(imgO, "std", DEFAULT_IMAGE.std, 3, true) as ImageSpec["std"],
  };
  if ((image.mean === null) !== (image.std === null)) problems.push("image.mean/image.std: give both or neither");
  if (image.std && image.std.some((s) => s <= 0)) problems.push(`image.std: expected positive values, got ${JSON.stringify(image.std)}`);

  const tokO = r.obj(json, "tokenizer") ?? {};
  const tr = r.child("tokenizer");
  const template = tr.str(tokO, "template", DEFAULT_TOKENIZER.template);
  if (!template.includes("{instruction}")) problems.push(`tokenizer.template: must contain "{instruction}", got ${JSON.stringify(template)}`);
  const max_length = tr.num(tokO, "max_length", DEFAULT_TOKENIZER.max_length, isPositiveInt, "a positive integer");
  let padding: Padding = DEFAULT_TOKENIZER.padding;
  const padO = tr.obj(tokO, "padding");
  if (padO) {
    const pr = tr.child("padding");
    const pkind = pr.oneOf(padO, "kind", "none", ["none", "fixed"] as const);
    if (pkind === "fixed") {
      const length = pr.num(padO, "length", 0, isPositiveInt, "a positive integer");
      if (length > 0 && length < 2) problems.push("tokenizer.padding.length: too short for any prompt");
      padding = { kind: "fixed", length, pad_id: pr.num(padO, "pad_id", 1, (n) => Number.isInteger(n) && n >= 0, "a non-negative integer") };
      if (length > max_length) problems.push(`tokenizer.padding.length: ${length} exceeds tokenizer.max_length ${max_length}`);
    }
  }
  const tokenizer: TokenizerSpec = {
    file: tr.str(tokO, "file", DEFAULT_TOKENIZER.file),
    template,
    add_special_tokens: tr.bool(tokO, "add_special_tokens", DEFAULT_TOKENIZER.add_special_tokens),
    padding,
    max_length,
  };

  const bbO = r.obj(json, "backbone") ?? {};
  const br = r.child("backbone");
  const bbIn = br.obj(bbO, "inputs") ?? {};
  const bir = br.child("inputs");
  const maskRaw = bbIn.attention_mask;
  const backbone: BackboneGraphSpec = {
    file: br.str(bbO, "file", DEFAULT_BACKBONE.file),
    inputs: {
      pixel_values: bir.str(bbIn, "pixel_values", DEFAULT_BACKBONE.inputs.pixel_values),
      input_ids: bir.str(bbIn, "input_ids", DEFAULT_BACKBONE.inputs.input_ids),
      attention_mask: maskRaw === null ? null : bir.str(bbIn, "attention_mask", DEFAULT_BACKBONE.inputs.attention_mask!),
    },
    output: br.str(bbO, "output", DEFAULT_BACKBONE.output),
    variants: {},
  };
  const varO = br.obj(bbO, "variants");
  if (varO) {
    const vr = br.child("variants");
    for (const key of Object.keys(varO)) {
      if (!(PRECISIONS as readonly string[]).includes(key)) {
        vr.fail(key, `unknown precision; expected one of ${PRECISIONS.map((p) => JSON.stringify(p)).join(", ")}`);
        continue;
      }
      const file = vr.str(varO, key, "");
      if (!file) continue;
      if (key === "fp32") {
        // fp32 IS backbone.file; a second name for it could only disagree.
        if (file !== backbone.file) vr.fail(key, `fp32 is always backbone.file (${JSON.stringify(backbone.file)}), got ${JSON.stringify(file)}; name the fp32 graph in backbone.file`);
        continue;
      }
      backbone.variants[key as Precision] = file;
    }
  }
  const hgO = r.obj(json, "head_graph") ?? {};
  const hgr = r.child("head_graph");
  const head_graph: HeadGraphSpec = {
    file: hgr.str(hgO, "file", DEFAULT_HEAD_GRAPH.file),
    input: hgr.str(hgO, "input", DEFAULT_HEAD_GRAPH.input),
    output: hgr.str(hgO, "output", kind === "discrete" ? "logits" : DEFAULT_HEAD_GRAPH.output),
  };

  const training = parseTraining(r.child("training"), r.obj(json, "training"));
  const exportInfo = parseExport(r.child("export"), r.obj(json, "export"));

  if (problems.length) throw new ManifestError(file, problems);
  return {
    format_version, name, description, window, chunk, feature_dim, action_axes, chunk_position,
    action_step_s, head, image, tokenizer, backbone, head_graph,
    // Only when given, so a folder without them parses to exactly what it was written from.
    ...(training ? { training } : {}),
    ...(exportInfo ? { export: exportInfo } : {}),
  };
}

function parseTraining(r: FieldReader, o: Record<string, Json> | undefined): TrainingInfo | undefined {
  if (!o) return undefined;
  const instructions = r.strings(o, "instructions", false) ?? [];
  const counts = r.ints(o, "prompt_tokens", isPositiveInt, "a positive integer") ?? [];
  // A set of counts: order and repeats carry nothing, so they are normalised rather than refused.
  const prompt_tokens = [...new Set(counts)].sort((a, b) => a - b);
  return { instructions, prompt_tokens };
}

function parseExport(r: FieldReader, o: Record<string, Json> | undefined): ExportInfo | undefined {
  if (!o) return undefined;
  const out: ExportInfo = {};
  // Informational: unknown keys are ignored so a newer exporter's folder still loads.
  // checkpoint_sha256 is not held to 64 hex digits: a synthetic export (no checkpoint)
  // writes a label there, and all that matters is that the graphs' metadata agrees with it.
  for (const key of EXPORT_FIELDS) {
    if (!r.has(o, key)) continue;
    const v = r.str(o, key, "");
    if (v) out[key] = v;
  }
  return out;
}

/** Reads and validates `<dir>/manifest.json`; missing graph or tokenizer files are reported together. */
export async function loadManifest(dir: string): Promise<Manifest> {
  const file = path.join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new ManifestError(file, [`cannot read the manifest (${(e as NodeJS.ErrnoException).code ?? String(e)}); a model folder needs manifest.json, ${DEFAULT_BACKBONE.file}, ${DEFAULT_HEAD_GRAPH.file} and ${DEFAULT_TOKENIZER.file}`]);
  }
  let json: Json;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ManifestError(file, [`not valid JSON: ${(e as Error).message}`]);
  }
  const manifest = parseManifest(json, file);
  const missing: string[] = [];
  const files: [string, string][] = [
    ["backbone.file", manifest.backbone.file],
    ...Object.entries(manifest.backbone.variants).map(([p, f]): [string, string] => [`backbone.variants.${p}`, f]),
    ["head_graph.file", manifest.head_graph.file],
    ["tokenizer.file", manifest.tokenizer.file],
  ];
  for (const [field, rel] of files) {
    try {
      await access(path.join(dir, rel));
    } catch {
      missing.push(`${field}: file ${path.join(dir, rel)} does not exist`);
    }
  }
  if (missing.length) throw new ManifestError(file, missing);
  return manifest;
}

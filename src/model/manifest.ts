// The model folder's manifest: everything that differs between Mobile-VLA model
// versions lives here, so no other module hard-codes a version. Defaults are the
// December 2025 models (BGR, bilinear 224x224, [0, 1] pixels, no mean/std, W=8, N=10).
//
// The schema below IS the contract: field shapes, defaults and bounds are declared
// once, and every problem in a file is reported at once, each naming its field
// (`image.mean: expected 3 finite numbers or null, got [0.5,0.5]`). The bounds keep an
// absurd value from reaching an allocation or a timer: a window of 1e9 frames, an
// action step of 1e308 s.
import { access, readFile } from "node:fs/promises";
import path from "node:path";
import * as z from "zod";
import { expected, int, nonEmptyString, num, problemsOf, show } from "../util/schema.js";

export const MANIFEST_FILE = "manifest.json";
export const MANIFEST_FORMAT_VERSION = 1;

/** Backbone precisions a folder may carry. fp32 is always `backbone.file`; others are `backbone.variants`. */
export const PRECISIONS = ["fp32", "int8"] as const;
export type Precision = (typeof PRECISIONS)[number];

/** The bounds the schema holds numbers to, named in its errors. */
export const MANIFEST_BOUNDS = {
  /** W frames in the head's window; the real models use 8. */
  window: 256,
  /** N steps per chunk; the real models use 10. */
  chunk: 1024,
  featureDim: 65536,
  /** Seconds one chunk step stands for (0.4 for the real models): also the default frame sampling interval. */
  actionStepS: [0.01, 10] as const,
  imageSide: 8192,
  /** Token ids per prompt; the padded id tensor is allocated at this size. */
  maxLength: 65536,
};

const object = <S extends z.ZodRawShape>(shape: S) => z.object(shape, expected("an object"));
const finiteNumbers = (what: string) =>
  z.custom<number[]>((v) => Array.isArray(v) && v.every((x) => typeof x === "number" && Number.isFinite(x)), expected(what));
const triple = z.custom<[number, number, number]>(
  (v) => Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === "number" && Number.isFinite(x)),
  expected("3 finite numbers or null"),
);

const IMAGE = object({
  /** Channel order the backbone expects in its pixel tensor. */
  channel_order: z.enum(["rgb", "bgr"], expected(`one of "rgb", "bgr"`)).default("bgr"),
  /** Clockwise rotation applied to the incoming frame before resizing. */
  rotate: z.literal([0, 90, 180, 270], expected("0, 90, 180 or 270")).default(0),
  width: int(1, MANIFEST_BOUNDS.imageSide).default(224),
  height: int(1, MANIFEST_BOUNDS.imageSide).default(224),
  /** PIL-style resampling filter (antialiased when downscaling), as training used. */
  resize: z.enum(["bilinear", "bicubic"], expected(`one of "bilinear", "bicubic"`)).default("bilinear"),
  /** Multiplier from uint8 to the model's range (1/255 for [0, 1]). */
  rescale: num("a positive number", (n) => n > 0).default(1 / 255),
  /** Per-channel mean/std in the model's channel order, or null for none. */
  mean: triple.nullable().default(null),
  std: triple.nullable().default(null),
}).superRefine((img, ctx) => {
  if (Array.isArray(img.std) && img.std.some((s) => !(s > 0)))
    ctx.addIssue({ code: "custom", path: ["std"], message: `expected positive values, got ${show(img.std)}` });
});

const PADDING = object({
  kind: z.enum(["none", "fixed"], expected(`one of "none", "fixed"`)).default("none"),
  /** Ids after padding; at least 2, as any prompt has a start and an end token. */
  length: int(2, MANIFEST_BOUNDS.maxLength).optional(),
  pad_id: int(0, 2 ** 31 - 1, "a non-negative integer").default(1),
})
  .superRefine((p, ctx) => {
    if (p.kind === "fixed" && p.length === undefined) ctx.addIssue({ code: "custom", path: ["length"], message: "missing: fixed padding needs a length" });
  })
  .transform((p): Padding => (p.kind === "fixed" ? { kind: "fixed", length: p.length!, pad_id: p.pad_id } : { kind: "none" }));

export type Padding = { kind: "none" } | { kind: "fixed"; length: number; pad_id: number };

const TOKENIZER = object({
  file: nonEmptyString.default("tokenizer.json"),
  /** Prompt template; `{instruction}` is replaced by the instruction text. */
  template: nonEmptyString
    .refine((t) => t.includes("{instruction}"), { error: (i) => `must contain "{instruction}", got ${show(i.input)}` })
    .default("<grounding>An image of a robot {instruction}"),
  /** Whether the tokenizer's post-processor adds its special tokens (e.g. <s> ... </s>). */
  add_special_tokens: z.boolean(expected("true or false")).default(true),
  padding: PADDING.default({ kind: "none" }),
  /** Longest id sequence accepted after templating (before padding). */
  max_length: int(1, MANIFEST_BOUNDS.maxLength).default(256),
}).superRefine(
  (t, ctx) => {
    if (t.padding?.kind === "fixed" && typeof t.padding.length === "number" && typeof t.max_length === "number" && t.padding.length > t.max_length) {
      ctx.addIssue({ code: "custom", path: ["padding", "length"], message: `${t.padding.length} exceeds tokenizer.max_length ${t.max_length}` });
    }
  },
  { when: () => true },
);

const BACKBONE = object({
  file: nonEmptyString.default("backbone.onnx"),
  inputs: object({
    pixel_values: nonEmptyString.default("pixel_values"),
    input_ids: nonEmptyString.default("input_ids"),
    /** null: the graph takes no mask. */
    attention_mask: nonEmptyString.nullable().default("attention_mask"),
  }).prefault({}),
  output: nonEmptyString.default("feature"),
  /**
   * The same backbone at other precisions (same inputs and output), precision -> file.
   * Never holds fp32 in the parsed manifest: that is `file` (see backboneFileFor).
   */
  variants: object({ fp32: nonEmptyString.optional(), int8: nonEmptyString.optional() })
    .catchall(z.unknown())
    .superRefine(
      (v, ctx) => {
        if (!v || typeof v !== "object" || Array.isArray(v)) return;
        for (const key of Object.keys(v)) {
          if (!(PRECISIONS as readonly string[]).includes(key)) {
            ctx.addIssue({ code: "custom", path: [key], message: `unknown precision; expected one of ${PRECISIONS.map((p) => JSON.stringify(p)).join(", ")}` });
          }
        }
      },
      { when: () => true },
    )
    .default({}),
}).superRefine(
  (b, ctx) => {
    const fp32 = (b.variants as Record<string, unknown> | undefined)?.fp32;
    const file = typeof b.file === "string" && b.file ? b.file : "backbone.onnx";
    // fp32 IS backbone.file; a second name for it could only disagree.
    if (typeof fp32 === "string" && fp32 && fp32 !== file) {
      ctx.addIssue({
        code: "custom",
        path: ["variants", "fp32"],
        message: `fp32 is always backbone.file (${JSON.stringify(file)}), got ${JSON.stringify(fp32)}; name the fp32 graph in backbone.file`,
      });
    }
  },
  { when: () => true },
);

export type ImageSpec = z.output<typeof IMAGE>;
export type ChannelOrder = ImageSpec["channel_order"];
export type Rotation = ImageSpec["rotate"];
export type ResizeFilter = ImageSpec["resize"];
export type TokenizerSpec = z.output<typeof TOKENIZER>;

export interface BackboneGraphSpec {
  file: string;
  inputs: { pixel_values: string; input_ids: string; attention_mask: string | null };
  output: string;
  /** Precision -> file for the other precisions; never holds fp32 (that is `file`). */
  variants: Partial<Record<Precision, string>>;
}

/** Training normalised each axis to [-1, 1] between min and max; this maps back (policy/chunk-decoder.ts). */
export type Denormalize = { kind: "minmax"; min: number[]; max: number[] } | { kind: "scale"; scale: number[] };

export interface DiscreteClass {
  name: string;
  /** Value per action axis, in the same (normalised) units as a continuous head's output. */
  action: number[];
}

export type HeadSpec = { kind: "continuous"; denormalize: Denormalize } | { kind: "discrete"; classes: DiscreteClass[]; denormalize: Denormalize };

const DENORMALIZE = object({
  kind: z.enum(["minmax", "scale"], expected(`one of "minmax", "scale"`)).default("minmax"),
  min: finiteNumbers("a list of finite numbers").optional(),
  max: finiteNumbers("a list of finite numbers").optional(),
  scale: finiteNumbers("a list of finite numbers").optional(),
});

const HEAD = object({
  kind: z.enum(["continuous", "discrete"], expected(`one of "continuous", "discrete"`)).default("continuous"),
  /** A discrete head's class table: class k's action per axis. */
  classes: z
    .array(object({ name: nonEmptyString.optional(), action: finiteNumbers("a list of finite numbers") }), expected("a list of classes {name, action}"))
    .optional(),
  /** Absent: identity (min -1, max 1 on every axis). */
  denormalize: DENORMALIZE.optional(),
});

const HEAD_GRAPH = object({
  file: nonEmptyString.default("head.onnx"),
  input: nonEmptyString.default("features"),
  /** Default "actions", or "logits" for a discrete head. */
  output: nonEmptyString.optional(),
});

const TRAINING = object({
  /** The instructions used in training; [] when unknown. */
  instructions: z.array(nonEmptyString, expected("a list of strings")).default([]),
  /**
   * Token counts of the training prompts (template applied, special tokens added); a set,
   * so order and repeats are normalised rather than refused. For the Kosmos-2
   * Mobile-VLA models the count, not the words, is what reaches the feature (REFERENCE.md).
   */
  prompt_tokens: z
    .array(int(1, Number.MAX_SAFE_INTEGER, "a positive integer"), expected("a list of positive integers"))
    .default([])
    .transform((counts) => [...new Set(counts)].sort((a, b) => a - b)),
});

/**
 * Written by the exporter; informational except checkpoint_sha256, which the graphs'
 * metadata must match. Unknown keys are ignored so a newer exporter's folder still loads;
 * checkpoint_sha256 is not held to 64 hex digits: a synthetic export (no checkpoint)
 * writes a label there, and all that matters is that the graphs' metadata agrees with it.
 */
const EXPORT = object({
  exporter_version: nonEmptyString.optional(),
  checkpoint: nonEmptyString.optional(),
  checkpoint_sha256: nonEmptyString.optional(),
  config: nonEmptyString.optional(),
  attn_implementation: nonEmptyString.optional(),
  torch_version: nonEmptyString.optional(),
  transformers_version: nonEmptyString.optional(),
});

const [STEP_MIN, STEP_MAX] = MANIFEST_BOUNDS.actionStepS;

const MANIFEST = object({
  format_version: z.literal(MANIFEST_FORMAT_VERSION, expected(String(MANIFEST_FORMAT_VERSION))).default(MANIFEST_FORMAT_VERSION),
  name: nonEmptyString.default("unnamed"),
  description: nonEmptyString.default(""),
  /** W: frames in the head's window. */
  window: int(1, MANIFEST_BOUNDS.window).default(8),
  /** N: steps in one predicted chunk. */
  chunk: int(1, MANIFEST_BOUNDS.chunk).default(10),
  /** D: backbone feature size. */
  feature_dim: int(1, MANIFEST_BOUNDS.featureDim).default(2048),
  /** The head's action axes, by name; the robot drives linear_x and linear_y, so one of them must be there. */
  action_axes: z
    .custom<string[]>(
      (v) => Array.isArray(v) && v.length > 0 && v.every((a) => typeof a === "string" && a.length > 0),
      expected("a non-empty list of axis names"),
    )
    .refine((a) => a.includes("linear_x") || a.includes("linear_y"), { error: (i) => `${show(i.input)} has neither linear_x nor linear_y; nothing to drive` })
    .default(["linear_x", "linear_y"]),
  /** Window position whose chunk is used; "last" answers the newest frame. */
  chunk_position: z
    .custom<"last" | number>((v) => v === "last" || (typeof v === "number" && Number.isInteger(v) && v >= 0), expected(`"last" or an integer >= 0`))
    .default("last"),
  /** Seconds of motion one chunk step stands for. */
  action_step_s: num(`a number of seconds in [${STEP_MIN}, ${STEP_MAX}]`, (n) => n >= STEP_MIN && n <= STEP_MAX).default(0.4),
  head: HEAD.prefault({}),
  image: IMAGE.prefault({}),
  tokenizer: TOKENIZER.prefault({}),
  backbone: BACKBONE.prefault({}),
  head_graph: HEAD_GRAPH.prefault({}),
  /** Absent in folders made before the exporter recorded it. */
  training: TRAINING.optional(),
  export: EXPORT.optional(),
}).superRefine(relations, { when: () => true });

/** Rules between fields. Runs even when some fields are bad, so it checks its inputs' types itself. */
function relations(m: Record<string, unknown>, ctx: z.RefinementCtx): void {
  const issue = (p: PropertyKey[], message: string) => ctx.addIssue({ code: "custom", path: p, message });
  const axes = Array.isArray(m.action_axes) ? (m.action_axes as unknown[]) : null;
  const A = axes?.length ?? 0;
  const window = Number.isInteger(m.window) ? (m.window as number) : null;
  if (typeof m.chunk_position === "number" && window !== null && m.chunk_position >= window) {
    issue(["chunk_position"], `expected "last" or an integer in [0, ${window - 1}], got ${show(m.chunk_position)}`);
  }
  const img = m.image as Partial<ImageSpec> | undefined;
  if (img && typeof img === "object" && (img.mean === null) !== (img.std === null) && img.mean !== undefined && img.std !== undefined) {
    issue([], "image.mean/image.std: give both or neither");
  }
  const head = m.head as z.input<typeof HEAD> | undefined;
  if (!head || typeof head !== "object" || !axes) return;
  const d = head.denormalize;
  if (d && typeof d === "object") {
    const lists = d.kind === "scale" ? (["scale"] as const) : (["min", "max"] as const);
    for (const k of lists) {
      const v = d[k];
      if (Array.isArray(v) && v.length !== A) issue(["head", "denormalize", k], `expected ${A} finite numbers (one per action axis), got ${show(v)}`);
    }
    if (d.kind !== "scale" && Array.isArray(d.min) && Array.isArray(d.max)) {
      d.min.forEach((lo, i) => {
        const hi = d.max![i];
        if (typeof hi === "number" && !(hi > lo)) issue(["head", "denormalize", "max", i], `expected a value greater than min[${i}] = ${lo}, got ${hi}`);
      });
    }
  }
  if (head.kind === "discrete") {
    if (!Array.isArray(head.classes) || head.classes.length < 2) {
      issue(["head", "classes"], `a discrete head needs a list of at least 2 classes {name, action: [${axes.join(", ")}]}, got ${show(head.classes)}`);
    } else {
      head.classes.forEach((c, i) => {
        const action = (c as { action?: unknown } | null)?.action;
        if (Array.isArray(action) && action.length !== A) issue(["head", "classes", i, "action"], `expected ${A} finite numbers, got ${show(action)}`);
      });
    }
  }
}

type Parsed = z.output<typeof MANIFEST>;

/** Fills the defaults that depend on other fields, into the shape the rest of the package reads. */
function complete(p: Parsed) {
  const A = p.action_axes.length;
  const d = p.head.denormalize;
  const denormalize: Denormalize =
    d?.kind === "scale"
      ? { kind: "scale", scale: d.scale ?? new Array<number>(A).fill(1) }
      : { kind: "minmax", min: d?.min ?? new Array<number>(A).fill(-1), max: d?.max ?? new Array<number>(A).fill(1) };
  const head: HeadSpec =
    p.head.kind === "discrete"
      ? { kind: "discrete", classes: p.head.classes!.map((c, i) => ({ name: c.name ?? `class${i}`, action: c.action })), denormalize }
      : { kind: "continuous", denormalize };
  const { fp32: _fp32IsFile, ...variants } = p.backbone.variants as Record<string, string | undefined>;
  const backbone: BackboneGraphSpec = { ...p.backbone, variants: Object.fromEntries(Object.entries(variants).filter(([, f]) => f)) };
  const head_graph = { file: p.head_graph.file, input: p.head_graph.input, output: p.head_graph.output ?? (head.kind === "discrete" ? "logits" : "actions") };
  const { training, export: exportInfo, ...rest } = p;
  return {
    ...rest,
    head,
    backbone,
    head_graph,
    // Only when given, so a folder without them parses to exactly what it was written from.
    ...(training ? { training } : {}),
    ...(exportInfo ? { export: exportInfo } : {}),
  };
}

export type Manifest = ReturnType<typeof complete>;

/** What an empty manifest.json means: the December 2025 models. */
const DEFAULTS: Manifest = complete(MANIFEST.parse({}));
export const DEFAULT_IMAGE: ImageSpec = DEFAULTS.image;
export const DEFAULT_TOKENIZER: TokenizerSpec = DEFAULTS.tokenizer;
export const DEFAULT_BACKBONE: BackboneGraphSpec = DEFAULTS.backbone;

export class ManifestError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: ${problems.length} problem(s):\n  - ${problems.join("\n  - ")}`);
    this.name = "ManifestError";
  }
}

/**
 * Validates a parsed manifest.json, filling defaults for missing optional fields.
 * Throws one ManifestError listing every problem found, each naming its field.
 */
export function parseManifest(json: unknown, file = MANIFEST_FILE): Manifest {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new ManifestError(file, ["expected a JSON object at the top level"]);
  }
  const r = MANIFEST.safeParse(json);
  if (!r.success) throw new ManifestError(file, problemsOf(r.error));
  return complete(r.data);
}

/**
 * An image spec checked by the manifest's own rules (the preprocessor's constructor
 * takes one from code, not from a file). Throws ManifestError naming `image.<field>`.
 */
export function checkImageSpec(spec: ImageSpec): ImageSpec {
  return parseManifest({ image: spec }, "image spec").image;
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

/** Reads and validates `<dir>/manifest.json`; missing graph or tokenizer files are reported together. */
export async function loadManifest(dir: string): Promise<Manifest> {
  const file = path.join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new ManifestError(file, [
      `cannot read the manifest (${(e as NodeJS.ErrnoException).code ?? String(e)}); a model folder needs manifest.json, ${DEFAULTS.backbone.file}, ${DEFAULTS.head_graph.file} and ${DEFAULTS.tokenizer.file}`,
    ]);
  }
  let json: unknown;
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

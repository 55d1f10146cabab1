// Generates a small, deterministic model folder with exactly the real Mobile-VLA model's
// contract (manifest, backbone.onnx, head.onnx, tokenizer.json) so tests, the demo and the
// benchmarks run the real code paths without the 1.7 B-parameter Kosmos-2 export. The
// weights are random, not trained: the actions mean nothing, but they depend on the image,
// the prompt and the window the same way the real model's do, and the head is a real
// causal 4-layer LSTM.
import { DIRECTIONS } from "../src/mobile-vla/teleop.js";
import { mulberry32 } from "../src/util/prng.js";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { attr, GraphBuilder } from "./onnx-builder.js";
import {
  DEFAULT_BACKBONE,
  DEFAULT_IMAGE,
  DEFAULT_TOKENIZER,
  MANIFEST_FILE,
  MANIFEST_FORMAT_VERSION,
  type DiscreteClass,
  type Manifest,
  type Precision,
} from "../src/model/manifest.js";
import { manifestMetadata } from "../src/model/graph-metadata.js";
import { buildTinyTokenizer, TINY_TOKENIZER_CONFIG_FILE, TINY_TOKENIZER_FILE } from "./tiny-tokenizer.js";

export type TinyHeadKind = "continuous" | "discrete";

export interface TinyModelOptions {
  head?: TinyHeadKind;
  /** PRNG seed (an unsigned 32-bit integer); another seed gives another model for A/B runs. */
  seed?: number;
  name?: string;
  /** W, frames in the head's window. */
  window?: number;
  /** N, steps per chunk. */
  chunk?: number;
  /** Store the backbone's weights as ONNX external data (backbone.onnx.data), as real > 2 GB backbones are. */
  externalData?: boolean;
  /**
   * Also write an int8 backbone (backbone.int8.onnx, listed in backbone.variants): the same
   * graph with each dense weight matrix rounded to 255 symmetric levels per tensor, as a
   * dynamic int8 quantiser rounds it. The weights stay float32 in the file (fake
   * quantisation): it exercises the precision path and int8 tolerances, not int8 kernels.
   */
  int8?: boolean;
}

export const TINY_INT8_BACKBONE_FILE = "backbone.int8.onnx";

export const TINY_IMAGE_SIZE = 32;
export const TINY_FEATURE_DIM = 64;
export const TINY_LSTM_HIDDEN = 32;
export const TINY_LSTM_LAYERS = 4;
const TEXT_DIM = 32;
const IMAGE_HIDDEN = 64;
/** Average-pooling factor before the image projection: keeps the weights at 768 x 64 floats. */
const POOL = 2;
const MLP = [64, 32] as const;
const ACTION_AXES = ["linear_x", "linear_y"];
// Weight gains, relative to PyTorch's default bound 1/sqrt(fan_in), tuned by measuring
// outputs on synthetic scenes: at the defaults (all 1) the LSTM state hardly moves and the
// head's chunk is nearly a constant set by its biases; with these, features spread with a
// std of about 0.3 and actions with about 0.3, reaching +-0.7 without saturating, and most
// of an action's variation comes from the window's features rather than from the biases.
const FUSE_GAIN = 3;
const LSTM_INPUT_GAIN = 10;
const MLP_GAIN = 2;
const OUT_GAIN = 4;
const BIAS_GAIN = 0.25;

/**
 * The 8 teleop directions plus stop (names and signs from the one direction table, in
 * this model's own class order), in the continuous head's units (+x forward, +y left).
 * Diagonals are [±1, ±1], not unit vectors: the teleop keys q/e/z/c publish 1.15 on both
 * axes and training clamps each axis to [-1, 1], so (1, 1) is what a diagonal looked like
 * in the data a continuous head learned from.
 */
export const TINY_DISCRETE_CLASSES: readonly DiscreteClass[] = (
  ["stop", "forward", "back", "left", "right", "forward_left", "forward_right", "back_left", "back_right"] as const
).map((name) => ({ name, action: [...DIRECTIONS.find((d) => d.name === name)!.sign] }));

/** FNV-1a, to give every weight tensor its own stream from (seed, name). */
function hash32(text: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

// mulberry32 (src/util/prng.ts) is integer-only, so the float32 weights are the same bits everywhere.
const uniformStream = mulberry32;

class Weights {
  constructor(
    private readonly seed: number,
    /** Round weight matrices to int8 levels (the int8 backbone variant). */
    private readonly int8 = false,
  ) {}

  /** Uniform in [-scale, scale); each name draws from its own stream so adding a tensor shifts no other. */
  uniform(name: string, count: number, scale: number): Float32Array {
    const next = uniformStream(hash32(name, this.seed));
    return Float32Array.from({ length: count }, () => (2 * next() - 1) * scale);
  }

  /** A weight matrix: uniform, then rounded to int8 levels when this is the int8 variant (biases stay float, as quantisers leave them). */
  matrix(name: string, count: number, scale: number): Float32Array {
    const w = this.uniform(name, count, scale);
    if (!this.int8) return w;
    let max = 0;
    for (const v of w) max = Math.max(max, Math.abs(v));
    const step = max / 127 || 1;
    return w.map((v) => Math.round(v / step) * step);
  }
}

function checkPositiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name}: expected a positive integer, got ${v}`);
  return v;
}

/** Dense layer x @ W + b over the last axis; W uniform with PyTorch's default bound times `gain`. */
function dense(g: GraphBuilder, w: Weights, name: string, x: string, inDim: number, outDim: number, gain: number, biasGain = gain): string {
  const W = g.initializer(`${name}.weight`, w.matrix(`${name}.weight`, inDim * outDim, gain / Math.sqrt(inDim)), [inDim, outDim]);
  const b = g.initializer(`${name}.bias`, w.uniform(`${name}.bias`, outDim, biasGain / Math.sqrt(inDim)), [outDim]);
  return g.op("Add", [g.op("MatMul", [x, W]), b]);
}

function scalarF(g: GraphBuilder, prefix: string, v: number): string {
  return g.constant(prefix, Float32Array.of(v), []);
}

/**
 * pixel_values [1,3,H,W], input_ids [1,seq], attention_mask [1,seq] -> feature [1,D].
 * Image: centred, 2x2-average-pooled, flattened and randomly projected, so position and
 * colour of what is in the frame both move the feature. Text: token embedding plus a
 * learned position embedding, averaged over the positions the mask keeps, so ids, mask
 * values and mask positions all matter (as they do for the real backbone's attention).
 */
function backboneGraph(w: Weights, vocabSize: number, maxPositions: number): GraphBuilder {
  const g = new GraphBuilder("tiny_backbone");
  const names = DEFAULT_BACKBONE.inputs;
  const S = TINY_IMAGE_SIZE;
  const pixels = g.input(names.pixel_values, "float32", [1, 3, S, S]);
  const ids = g.input(names.input_ids, "int64", [1, "seq"]);
  const mask = g.input(names.attention_mask!, "int64", [1, "seq"]);

  const centred = g.op("Sub", [pixels, scalarF(g, "half", 0.5)]);
  const pooled = g.op("AveragePool", [centred], { kernel_shape: attr.ints([POOL, POOL]), strides: attr.ints([POOL, POOL]) });
  const flat = g.op("Flatten", [pooled], { axis: attr.int(1) });
  const pooledSize = 3 * (S / POOL) * (S / POOL);
  // Centred pooled pixels have a spread of roughly 0.3, hence the gain of 3 to bring the
  // projection's tanh into its responsive range rather than hugging 0.
  const image = g.op("Tanh", [dense(g, w, "vision.proj", flat, pooledSize, IMAGE_HIDDEN, 3)]);

  const embed = g.initializer("text.embed", w.uniform("text.embed", vocabSize * TEXT_DIM, 1), [vocabSize, TEXT_DIM]);
  const posTable = g.initializer("text.position", w.uniform("text.position", maxPositions * TEXT_DIM, 0.5), [maxPositions, TEXT_DIM]);
  const tokens = g.op("Gather", [embed, ids], { axis: attr.int(0) });
  const seqLen = g.op("Shape", [ids], { start: attr.int(1), end: attr.int(2) });
  const positions = g.op("Slice", [posTable, g.int64s("zero", [0]), seqLen, g.int64s("axis0", [0])]);
  const placed = g.op("Add", [tokens, positions]);
  const maskF = g.op("Cast", [mask], { to: attr.int(1) /* FLOAT */ });
  const mask3 = g.op("Unsqueeze", [maskF, g.int64s("axis2", [2])]);
  const seqAxis = g.int64s("axis1", [1]);
  const summed = g.op("ReduceSum", [g.op("Mul", [placed, mask3]), seqAxis], { keepdims: attr.int(0) });
  const kept = g.op("ReduceSum", [maskF, seqAxis], { keepdims: attr.int(1) });
  // An all-zero mask would divide by zero; the real model would attend to nothing either, so any finite answer will do.
  const text = g.op("Div", [summed, g.op("Max", [kept, scalarF(g, "one", 1)])]);

  const joint = g.op("Concat", [image, text], { axis: attr.int(1) });
  g.op("Tanh", [dense(g, w, "fuse", joint, IMAGE_HIDDEN + TEXT_DIM, TINY_FEATURE_DIM, FUSE_GAIN)], {}, DEFAULT_BACKBONE.output);
  g.output(DEFAULT_BACKBONE.output, "float32", [1, TINY_FEATURE_DIM]);
  return g;
}

/**
 * features [1,window,D] -> actions [1,window,N,2] (tanh) or logits [1,window,N,K]:
 * the MobileVLALSTMDecoder shape at small sizes. ONNX LSTM is one seq-first layer per
 * node, hence the transposes around the stack and a Squeeze of the direction axis.
 */
function headGraph(w: Weights, kind: TinyHeadKind, chunk: number, inputName: string, outputName: string): GraphBuilder {
  const g = new GraphBuilder(`tiny_head_${kind}`);
  const H = TINY_LSTM_HIDDEN;
  const features = g.input(inputName, "float32", [1, "window", TINY_FEATURE_DIM]);
  let x = g.op("Transpose", [features], { perm: attr.ints([1, 0, 2]) });
  const directionAxis = g.int64s("axis1", [1]);
  for (let layer = 0; layer < TINY_LSTM_LAYERS; layer++) {
    const inDim = layer === 0 ? TINY_FEATURE_DIM : H;
    // PyTorch's LSTM bound 1/sqrt(H) on the recurrent weights and biases; the input
    // weights get LSTM_INPUT_GAIN times that so the window's features drive the state.
    const p = `lstm.${layer}`;
    const bound = 1 / Math.sqrt(H);
    const W = g.initializer(`${p}.W`, w.uniform(`${p}.W`, 4 * H * inDim, LSTM_INPUT_GAIN * bound), [1, 4 * H, inDim]);
    const R = g.initializer(`${p}.R`, w.uniform(`${p}.R`, 4 * H * H, bound), [1, 4 * H, H]);
    const B = g.initializer(`${p}.B`, w.uniform(`${p}.B`, 8 * H, bound), [1, 8 * H]);
    const [y] = g.node("LSTM", [x, W, R, B], 1, { hidden_size: attr.int(H) });
    x = g.op("Squeeze", [y!, directionAxis]);
  }
  let h = g.op("Transpose", [x], { perm: attr.ints([1, 0, 2]) });
  let dim = H;
  MLP.forEach((width, i) => {
    h = g.op("Relu", [dense(g, w, `mlp.${i}`, h, dim, width, MLP_GAIN, BIAS_GAIN)]);
    dim = width;
  });
  const width = kind === "continuous" ? ACTION_AXES.length : TINY_DISCRETE_CLASSES.length;
  // Logits three times wider than the tanh's input, so a softmax over them is peaked enough
  // for a confidence or argmax to mean something, as a trained classifier's would be.
  const gain = kind === "continuous" ? OUT_GAIN : 3 * OUT_GAIN;
  const out = dense(g, w, `mlp.${MLP.length}`, h, dim, chunk * width, gain, BIAS_GAIN);
  const shaped = kind === "continuous" ? g.op("Tanh", [out]) : out;
  g.op("Reshape", [shaped, g.int64s("shape", [1, -1, chunk, width])], {}, outputName);
  g.output(outputName, "float32", [1, "window", chunk, width]);
  return g;
}

export interface TinyModelFolder {
  manifest: Manifest;
  /** File name -> bytes, everything `makeTinyModel` writes. */
  files: Map<string, Uint8Array>;
}

const PRODUCER = "mobile_vla_ros tiny-model";

/** Builds the folder in memory; the same options give the same bytes. */
export function buildTinyModel(options: TinyModelOptions = {}): TinyModelFolder {
  const kind = options.head ?? "continuous";
  if (kind !== "continuous" && kind !== "discrete") throw new RangeError(`head: expected "continuous" or "discrete", got ${String(kind)}`);
  const seed = options.seed ?? 1;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`seed: expected an unsigned 32-bit integer, got ${seed}`);
  const window = checkPositiveInt("window", options.window ?? 8);
  const chunk = checkPositiveInt("chunk", options.chunk ?? 10);
  const name = options.name ?? `tiny-${kind}-s${seed}`;
  if (name.length === 0) throw new RangeError("name: expected a non-empty string");

  const tok = buildTinyTokenizer();
  const headOutput = kind === "continuous" ? "actions" : "logits";
  const manifest: Manifest = {
    format_version: MANIFEST_FORMAT_VERSION,
    name,
    description:
      `Tiny deterministic ${kind} test model (seed ${seed}), random weights, same contract as the ` +
      `December 2025 Mobile-VLA models at small sizes: ${TINY_IMAGE_SIZE}x${TINY_IMAGE_SIZE} BGR frames, ` +
      `D=${TINY_FEATURE_DIM}, ${TINY_LSTM_LAYERS}-layer LSTM head (hidden ${TINY_LSTM_HIDDEN}). Not a trained policy.`,
    window,
    chunk,
    feature_dim: TINY_FEATURE_DIM,
    action_axes: [...ACTION_AXES],
    chunk_position: "last",
    action_step_s: 0.4,
    head:
      kind === "continuous"
        ? { kind, denormalize: { kind: "minmax", min: [-1, -1], max: [1, 1] } }
        : {
            kind,
            classes: TINY_DISCRETE_CLASSES.map((c) => ({ name: c.name, action: [...c.action] })),
            denormalize: { kind: "minmax", min: [-1, -1], max: [1, 1] },
          },
    image: { ...DEFAULT_IMAGE, width: TINY_IMAGE_SIZE, height: TINY_IMAGE_SIZE },
    tokenizer: { ...DEFAULT_TOKENIZER, file: TINY_TOKENIZER_FILE, padding: { kind: "none" } },
    backbone: { ...DEFAULT_BACKBONE, inputs: { ...DEFAULT_BACKBONE.inputs }, variants: options.int8 ? { int8: TINY_INT8_BACKBONE_FILE } : {} },
    head_graph: { file: "head.onnx", input: "features", output: headOutput },
  };

  const weights = new Weights(seed);
  // The contract's keys (checked against the manifest at load) plus what identifies a tiny model.
  const own = { "mobile_vla.model": name, "mobile_vla.seed": String(seed) };
  const backboneMeta = (precision: Precision) => ({ ...own, ...manifestMetadata(manifest, { role: "backbone", precision }) });
  const backbone = backboneGraph(weights, tok.vocabSize, manifest.tokenizer.max_length);
  const head = headGraph(weights, kind, chunk, manifest.head_graph.input, headOutput);
  const json = (v: unknown) => new TextEncoder().encode(`${JSON.stringify(v, null, 2)}\n`);
  const backboneOptions = { producerName: PRODUCER, docString: "tiny Mobile-VLA backbone: frame + prompt -> feature", metadata: backboneMeta("fp32") };
  const externalFile = `${manifest.backbone.file}.data`;
  const external = options.externalData ? backbone.toModelWithExternalData(externalFile, 1024, backboneOptions) : null;
  const files = new Map<string, Uint8Array>([
    [MANIFEST_FILE, json(manifest)],
    [manifest.backbone.file, external ? external.model : backbone.toModel(backboneOptions)],
    [
      manifest.head_graph.file,
      head.toModel({
        producerName: PRODUCER,
        docString: `tiny Mobile-VLA ${kind} LSTM head: window of features -> chunk`,
        metadata: { ...own, ...manifestMetadata(manifest, { role: "head" }) },
      }),
    ],
    [manifest.tokenizer.file, json(tok.tokenizer)],
    [TINY_TOKENIZER_CONFIG_FILE, json(tok.config)],
  ]);
  if (external) files.set(externalFile, external.data);
  if (options.int8) {
    const int8 = backboneGraph(new Weights(seed, true), tok.vocabSize, manifest.tokenizer.max_length);
    files.set(
      TINY_INT8_BACKBONE_FILE,
      int8.toModel({ ...backboneOptions, docString: "tiny Mobile-VLA backbone, int8-rounded weights", metadata: backboneMeta("int8") }),
    );
  }
  return { manifest, files };
}

/**
 * Writes a tiny model folder (manifest.json, backbone.onnx, head.onnx, tokenizer.json,
 * tokenizer_config.json) into `dir`, creating it if needed, and returns its manifest.
 */
export async function makeTinyModel(dir: string, options: TinyModelOptions = {}): Promise<Manifest> {
  const { manifest, files } = buildTinyModel(options);
  await mkdir(dir, { recursive: true });
  for (const [file, bytes] of files) await writeFile(path.join(dir, file), bytes);
  return manifest;
}

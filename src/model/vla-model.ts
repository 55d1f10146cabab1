// A loaded model folder: manifest + both ONNX sessions + tokenizer, checked
// against each other before anything moves. Running the graphs lives here so the
// policy only deals in features and chunks.
import path from "node:path";
import { performance } from "node:perf_hooks";
import { checkGraphMetadata } from "./graph-metadata.js";
import { InvalidOutputError, firstNonFinite } from "./invalid-output.js";
import { MANIFEST_FILE, ManifestError, backboneFileFor, backbonePrecisions, headOutputWidth, loadManifest, type Manifest, type Precision } from "./manifest.js";
import {
  DEFAULT_RUNTIME,
  float32Tensor,
  graphInputs,
  graphOutputs,
  int64Tensor,
  openSession,
  type Feeds,
  type RuntimeOptions,
  type Session,
  type TensorInfo,
} from "./runtime.js";
import { PromptTokenizer, type PromptTokens } from "./tokenize.js";

export interface LoadOptions {
  runtime?: Partial<RuntimeOptions>;
  /** Which backbone graph to open: fp32 (backbone.file, the default) or a backbone.variants entry. */
  precision?: Precision;
  /** One inference at load so the first real frame doesn't pay for allocation and kernel selection. */
  warmup?: boolean;
}

export class VlaModel {
  /** True when the head accepts any window length 1..W (needed for window_fill "grow"). */
  readonly headWindowDynamic: boolean;
  /** Wall time spent awaiting session.run, so callers can report the overhead outside it. */
  readonly timing = { sessionMs: 0, backboneMs: 0, headMs: 0 };

  private constructor(
    readonly dir: string,
    readonly manifest: Manifest,
    readonly backbone: Session,
    readonly head: Session,
    readonly tokenizer: PromptTokenizer,
    readonly runtime: RuntimeOptions,
    /** The precision of the backbone graph that was opened. */
    readonly precision: Precision,
    /** That graph's file, relative to `dir`. */
    readonly backboneFile: string,
    headWindowDim: number | string,
  ) {
    this.headWindowDynamic = typeof headWindowDim !== "number";
  }

  static async load(dir: string, options: LoadOptions = {}): Promise<VlaModel> {
    const runtime: RuntimeOptions = { ...DEFAULT_RUNTIME, ...options.runtime };
    const manifest = await loadManifest(dir);
    const precision = options.precision ?? "fp32";
    const backboneRel = backboneFileFor(manifest, precision);
    if (backboneRel === undefined) {
      throw new ManifestError(path.join(dir, MANIFEST_FILE), [
        `backbone.variants.${precision}: precision ${precision} was asked for but the model folder ${dir} has no ${precision} backbone ` +
          `(it has: ${backbonePrecisions(manifest).join(", ")}); export one or choose another precision`,
      ]);
    }
    // Before the sessions: a disagreement is a clearer message than anything a run would show.
    await checkGraphMetadata(dir, manifest, [
      { file: backboneRel, graph: { role: "backbone", precision } },
      { file: manifest.head_graph.file, graph: { role: "head" } },
    ]);
    const backboneFile = path.join(dir, backboneRel);
    const headFile = path.join(dir, manifest.head_graph.file);
    const [backbone, head, tokenizer] = await Promise.all([
      openSession(backboneFile, runtime),
      openSession(headFile, runtime),
      PromptTokenizer.load(dir, manifest.tokenizer),
    ]);
    const headWindowDim = checkGraphs(manifest, backboneFile, backbone, headFile, head);
    const model = new VlaModel(dir, manifest, backbone, head, tokenizer, runtime, precision, backboneRel, headWindowDim);
    if (options.warmup ?? true) await model.warmup();
    return model;
  }

  /** Backbone: one preprocessed frame (CHW float32) + prompt tokens -> one feature of D values. */
  async runBackbone(pixels: Float32Array, tokens: PromptTokens): Promise<Float32Array> {
    const m = this.manifest;
    const names = m.backbone.inputs;
    const L = tokens.ids.length;
    const feeds: Feeds = {
      [names.pixel_values]: float32Tensor(pixels, [1, 3, m.image.height, m.image.width]),
      [names.input_ids]: int64Tensor(tokens.ids, [1, L]),
    };
    if (names.attention_mask) feeds[names.attention_mask] = int64Tensor(tokens.mask, [1, L]);
    const t0 = performance.now();
    const out = await this.backbone.run(feeds);
    const ms = performance.now() - t0;
    this.timing.backboneMs += ms;
    this.timing.sessionMs += ms;
    const t = out[m.backbone.output];
    if (!t || t.type !== "float32" || t.size !== m.feature_dim) {
      throw new ManifestError(path.join(this.dir, this.backboneFile), [
        `output ${m.backbone.output}: expected ${m.feature_dim} float32 values, got ${t ? `${t.size} ${t.type}` : "nothing"}`,
      ]);
    }
    // Copy: onnxruntime may reuse its output buffer, and this feature lives on in the window.
    const feature = new Float32Array(t.data as Float32Array);
    const bad = firstNonFinite(feature);
    if (bad >= 0) throw new InvalidOutputError(path.join(this.dir, this.backboneFile), `feature value ${bad} of ${feature.length} is ${feature[bad]}`);
    return feature;
  }

  /** Head: w features (w*D, oldest first) -> w*N*C outputs (C = axes, or K classes). */
  async runHead(features: Float32Array, w: number): Promise<Float32Array> {
    const m = this.manifest;
    const t0 = performance.now();
    const out = await this.head.run({ [m.head_graph.input]: float32Tensor(features, [1, w, m.feature_dim]) });
    const ms = performance.now() - t0;
    this.timing.headMs += ms;
    this.timing.sessionMs += ms;
    const t = out[m.head_graph.output];
    const expected = w * m.chunk * headOutputWidth(m);
    if (!t || t.type !== "float32" || t.size !== expected) {
      throw new ManifestError(path.join(this.dir, m.head_graph.file), [
        `output ${m.head_graph.output}: expected [1, ${w}, ${m.chunk}, ${headOutputWidth(m)}] float32, got ${t ? `${t.dims.join("x")} ${t.type}` : "nothing"}`,
      ]);
    }
    return t.data as Float32Array;
  }

  async warmup(): Promise<void> {
    const m = this.manifest;
    const pixels = new Float32Array(3 * m.image.width * m.image.height);
    const feature = await this.runBackbone(pixels, this.tokenizer.encode("warm up"));
    const w = m.window;
    const feats = new Float32Array(w * m.feature_dim);
    for (let i = 0; i < w; i++) feats.set(feature, i * m.feature_dim);
    await this.runHead(feats, w);
  }

  async close(): Promise<void> {
    await Promise.all([this.backbone.release(), this.head.release()]);
  }
}

/** Checks both graphs' names, dtypes and shapes against the manifest; returns the head's window dim. */
function checkGraphs(m: Manifest, backboneFile: string, backbone: Session, headFile: string, head: Session): number | string {
  const bp: string[] = [];
  const bIn = graphInputs(backbone);
  const bOut = graphOutputs(backbone);
  const expectInput = (field: string, name: string, type: string, dims: (number | null)[]) =>
    checkTensor(bp, `backbone.inputs.${field}`, name, bIn, type, dims);
  expectInput("pixel_values", m.backbone.inputs.pixel_values, "float32", [1, 3, m.image.height, m.image.width]);
  const L = m.tokenizer.padding.kind === "fixed" ? m.tokenizer.padding.length : null;
  expectInput("input_ids", m.backbone.inputs.input_ids, "int64", [1, L]);
  if (m.backbone.inputs.attention_mask) expectInput("attention_mask", m.backbone.inputs.attention_mask, "int64", [1, L]);
  const fed = new Set([m.backbone.inputs.pixel_values, m.backbone.inputs.input_ids, m.backbone.inputs.attention_mask]);
  for (const i of bIn)
    if (!fed.has(i.name))
      bp.push(`graph input ${i.name} (${i.type} [${i.shape.join(", ")}]) is not named in manifest.backbone.inputs, so it would never be fed`);
  const feat = bOut.find((o) => o.name === m.backbone.output);
  if (!feat) bp.push(`backbone.output: the graph has no output ${JSON.stringify(m.backbone.output)} (it has: ${bOut.map((o) => o.name).join(", ")})`);
  else {
    if (feat.type !== "float32") bp.push(`backbone.output ${feat.name}: expected float32, got ${feat.type}`);
    const last = feat.shape[feat.shape.length - 1];
    if (typeof last === "number" && last !== m.feature_dim) bp.push(`feature_dim: manifest says ${m.feature_dim} but output ${feat.name} has last dim ${last}`);
  }
  if (bp.length) throw new ManifestError(backboneFile, bp);

  const hp: string[] = [];
  const hIn = graphInputs(head);
  const hOut = graphOutputs(head);
  checkTensor(hp, "head_graph.input", m.head_graph.input, hIn, "float32", [1, null, m.feature_dim]);
  const inp = hIn.find((i) => i.name === m.head_graph.input);
  const windowDim = inp?.shape[1] ?? "window";
  if (typeof windowDim === "number" && windowDim !== m.window)
    hp.push(`window: manifest says ${m.window} but input ${m.head_graph.input} has a fixed window dim ${windowDim}`);
  for (const i of hIn) if (i.name !== m.head_graph.input) hp.push(`graph input ${i.name} is not the manifest's head_graph.input, so it would never be fed`);
  const C = headOutputWidth(m);
  const what = m.head.kind === "continuous" ? `${C} action axes` : `${C} classes`;
  const out = hOut.find((o) => o.name === m.head_graph.output);
  if (!out) hp.push(`head_graph.output: the graph has no output ${JSON.stringify(m.head_graph.output)} (it has: ${hOut.map((o) => o.name).join(", ")})`);
  else {
    if (out.type !== "float32") hp.push(`head_graph.output ${out.name}: expected float32, got ${out.type}`);
    if (out.shape.length !== 0 && out.shape.length !== 4)
      hp.push(`head_graph.output ${out.name}: expected rank 4 [1, window, chunk, ${what}], got [${out.shape.join(", ")}]`);
    const [, , n, c] = out.shape;
    if (typeof n === "number" && n !== m.chunk) hp.push(`chunk: manifest says ${m.chunk} but output ${out.name} has ${n} steps`);
    if (typeof c === "number" && c !== C) hp.push(`head: manifest declares ${what} but output ${out.name} has last dim ${c}`);
  }
  if (hp.length) throw new ManifestError(headFile, hp);
  return windowDim;
}

function checkTensor(problems: string[], field: string, name: string, infos: TensorInfo[], type: string, dims: (number | null)[]): void {
  const t = infos.find((i) => i.name === name);
  if (!t) {
    problems.push(`${field}: the graph has no input ${JSON.stringify(name)} (it has: ${infos.map((i) => i.name).join(", ")})`);
    return;
  }
  if (t.type !== type) problems.push(`${field} ${name}: expected ${type}, got ${t.type}`);
  if (t.shape.length === 0) return; // rank unknown in the graph: checked at run time
  if (t.shape.length !== dims.length) {
    problems.push(`${field} ${name}: expected rank ${dims.length} [${dims.map((d) => d ?? "?").join(", ")}], got [${t.shape.join(", ")}]`);
    return;
  }
  dims.forEach((d, i) => {
    const g = t.shape[i];
    if (d !== null && typeof g === "number" && g !== d) problems.push(`${field} ${name}: dim ${i} expected ${d}, got ${g}`);
  });
}

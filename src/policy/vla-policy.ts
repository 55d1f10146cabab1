// frame + instruction -> action chunk. Each sampled frame goes through the
// backbone once; its feature waits in the window and only the (small) head runs
// over the window each step. The reference Mobile-VLA node re-ran all W frames
// through the backbone at every step; `cacheFeatures: false` reproduces that for
// benchmarks and for proving the cache changes nothing.
import type { Manifest } from "../model/manifest.js";
import type { StampedImage } from "../msgs/image.js";
import { Preprocessor } from "../model/preprocess.js";
import type { PromptTokens } from "../model/tokenize.js";
import type { VlaModel } from "../model/vla-model.js";
import type { ActionChunk } from "./chunk.js";
import { ChunkDecoder } from "./chunk-decoder.js";
import { FeatureWindow, type WindowFill } from "./feature-window.js";
import type { ChunkPolicy, PolicyCounters } from "./types.js";

export interface VlaPolicyOptions {
  windowFill?: WindowFill;
  /** false = the reference behaviour: every frame in the window re-runs the backbone each step. */
  cacheFeatures?: boolean;
  /**
   * Called with each stepped frame's feature (the newest one, once per step), so an
   * offline scorer can reuse exactly the robot's features instead of running the
   * backbone a second time.
   */
  onFeature?: (feature: Float32Array, stamp: number) => void;
}

export class PolicyError extends Error {
  override name = "PolicyError";
}

export class VlaPolicy implements ChunkPolicy {
  /** Read at each step, so a live window_fill change applies to the next one. */
  windowFill: WindowFill;
  readonly cacheFeatures: boolean;
  private readonly manifest: Manifest;
  private readonly decoder: ChunkDecoder;
  private readonly preprocessor: Preprocessor;
  private readonly window: FeatureWindow;
  /** Reference mode keeps pixels instead of features. */
  private readonly pixelWindow: Float32Array[] = [];
  private tokens: PromptTokens | null = null;
  private currentInstruction: string | null = null;
  /** Bumped on every invalidation so a step that was in flight can't leak an old feature in. */
  private generation = 0;
  private readonly stats: PolicyCounters = { frames: 0, backboneRuns: 0, headRuns: 0 };
  /** Pixel tensor reused across steps: a fresh 600 KB array per frame costs more in GC than the resize. */
  private readonly pixelBuffer: Float32Array;
  private pixelBufferInUse = false;
  private readonly onFeature: ((feature: Float32Array, stamp: number) => void) | undefined;

  constructor(
    readonly model: VlaModel,
    options: VlaPolicyOptions = {},
  ) {
    this.manifest = model.manifest;
    this.windowFill = options.windowFill ?? "grow";
    this.cacheFeatures = options.cacheFeatures ?? true;
    this.onFeature = options.onFeature;
    this.decoder = new ChunkDecoder(this.manifest);
    this.preprocessor = new Preprocessor(this.manifest.image);
    this.window = new FeatureWindow(this.manifest.window, this.manifest.feature_dim);
    this.pixelBuffer = new Float32Array(this.preprocessor.size);
  }

  get instruction(): string | null {
    return this.currentInstruction;
  }

  get stepS(): number {
    return this.decoder.stepS;
  }

  setInstruction(text: string): void {
    const trimmed = text.trim();
    if (!trimmed) throw new PolicyError("instruction: expected a non-empty text");
    if (trimmed === this.currentInstruction) return;
    // Tokenise now so a bad instruction is refused when it arrives, not at the next frame.
    this.tokens = this.model.tokenizer.encode(trimmed);
    this.currentInstruction = trimmed;
    this.reset();
  }

  reset(): void {
    this.generation++;
    this.window.clear();
    this.pixelWindow.length = 0;
  }

  counters(): PolicyCounters {
    return { ...this.stats };
  }

  async step(frame: StampedImage): Promise<ActionChunk | null> {
    const tokens = this.tokens;
    if (!tokens) throw new PolicyError("instruction: no instruction has been set; the policy cannot run without one");
    const generation = this.generation;
    if (this.cacheFeatures) {
      // The buffer is free once the backbone has read it; a caller overlapping steps gets its own.
      const reuse = !this.pixelBufferInUse;
      if (reuse) this.pixelBufferInUse = true;
      let feature: Float32Array;
      try {
        const pixels = await this.preprocessor.run(frame.image, reuse ? this.pixelBuffer : undefined);
        this.stats.frames++;
        feature = await this.model.runBackbone(pixels, tokens);
      } finally {
        if (reuse) this.pixelBufferInUse = false;
      }
      this.stats.backboneRuns++;
      if (generation !== this.generation) return null;
      this.window.push(feature);
      this.onFeature?.(feature, frame.stamp);
    } else {
      const pixels = await this.preprocessor.run(frame.image);
      this.stats.frames++;
      this.pixelWindow.push(pixels);
      if (this.pixelWindow.length > this.manifest.window) this.pixelWindow.shift();
      this.window.clear();
      let newest: Float32Array | null = null;
      for (const p of this.pixelWindow) {
        const feature = await this.model.runBackbone(p, tokens);
        this.stats.backboneRuns++;
        if (generation !== this.generation) return null;
        this.window.push(feature);
        newest = feature;
      }
      if (newest) this.onFeature?.(newest, frame.stamp);
    }
    const input = this.window.assemble(this.windowFill, this.model.headWindowDynamic);
    if (!input) return null;
    const out = await this.model.runHead(input.data, input.rows);
    this.stats.headRuns++;
    if (generation !== this.generation) return null;
    return this.decoder.decode(out, input.rows, frame.stamp);
  }
}

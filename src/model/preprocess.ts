// Camera message -> the backbone's pixel tensor, exactly as training built it:
// rotate (clockwise, before resizing), Pillow resize, value = level * rescale, then
// (value - mean[c]) / std[c], planar in the model's channel order.
//
// The raw path is synchronous and never materialises a decoded, rotated or
// channel-swapped copy of the frame: the resampler reads the message bytes through a
// strided view and its last pass writes the floats through per-channel lookup tables
// (a level has only 256 possible values, so the normalisation is one table read).
import { decodeCompressedRgb, rawImageView } from "./decode-image.js";
import type { ImageMessage, RawImageMessage } from "../msgs/image.js";
import { checkImageSpec, type ImageSpec } from "./manifest.js";
import { packedView, Resampler, rotateView, type LevelTables, type ResampleBackend, type StridedImage } from "./resample.js";

/**
 * Level -> value tables for each model channel. Computed in double and rounded to
 * float32 once; training's float32 arithmetic can differ by at most an ulp.
 */
export function levelTables(spec: Pick<ImageSpec, "rescale" | "mean" | "std">): LevelTables {
  const tables = [0, 1, 2].map((c) => {
    const t = new Float32Array(256);
    const mean = spec.mean ? spec.mean[c]! : 0;
    const std = spec.std ? spec.std[c]! : 1;
    for (let v = 0; v < 256; v++) t[v] = (v * spec.rescale - mean) / std;
    return t;
  });
  return tables as unknown as LevelTables;
}

export class Preprocessor {
  readonly spec: ImageSpec;
  /** Floats in one output tensor: 3 * height * width. */
  readonly size: number;
  private readonly tables: LevelTables;
  private readonly resampler: Resampler;

  /** @param options.backend resampler kernels; "auto" (default) prefers WebAssembly SIMD. */
  constructor(spec: ImageSpec, options: { backend?: ResampleBackend | "auto" } = {}) {
    // The manifest's own rules: a spec built in code is held to what a file would be.
    this.spec = checkImageSpec(spec);
    this.resampler = new Resampler(options.backend ?? "auto");
    this.size = 3 * spec.width * spec.height;
    this.tables = levelTables(this.spec);
  }

  /** Which resampler kernels this instance runs. */
  get backend(): ResampleBackend {
    return this.resampler.backend;
  }

  /** The tensor shape of one output: [1, 3, height, width]. */
  get dims(): [1, 3, number, number] {
    return [1, 3, this.spec.height, this.spec.width];
  }

  /**
   * Any camera message to NCHW floats (length `size`): a fresh array, or `out` when
   * given. Raw messages are processed without an async hop; compressed ones are
   * decoded by sharp first. Throws (rejects with) ImageError for an unusable message.
   */
  async run(img: ImageMessage, out?: Float32Array): Promise<Float32Array> {
    if (img.kind === "raw") return this.runRaw(img, out);
    const rgb = await decodeCompressedRgb(img);
    return this.fromView(packedView(rgb, this.spec.channel_order === "bgr"), out);
  }

  /**
   * A raw message to NCHW floats, synchronously. Without `out` each call returns a new
   * array, so a tensor handed to onnxruntime or kept in a window is never overwritten
   * by the next frame. With `out` (at least `size` floats, e.g. a slice of a batch
   * tensor) nothing is allocated: a fresh 600 KB array per frame costs ~0.2 ms plus
   * the scavenges V8 runs under that external-memory pressure (a few ms at p99 in a
   * tight loop), so a caller that knows when its tensor is free (after the
   * session.run that reads it has resolved) should pass its own.
   */
  runRaw(img: RawImageMessage, out?: Float32Array): Float32Array {
    return this.fromView(rawImageView(img, this.spec.channel_order), out);
  }

  private fromView(view: StridedImage, out?: Float32Array): Float32Array {
    const { width, height, resize, rotate } = this.spec;
    return this.resampler.resizePlanar(rotateView(view, rotate), width, height, resize, this.tables, out);
  }
}

// Writes one Mobile-VLA training episode (HDF5), in exactly the layout the existing
// 250 episodes have, so a recorded file drops into the training set unchanged:
//
//   images              uint8 (N, H, W, 3), frames in `image_channel_order` (bgr default)
//   actions             float32 (N, 3)  [linear_x, linear_y, angular_z]
//   action_event_types  variable-length UTF-8 strings (N)  (h5py.string_dtype('utf-8'))
//   attrs  episode_name, total_duration, num_frames, action_chunk_size, time_period,
//          collection_datetime, obstacle_layout_type, collection_hour, collection_minute
//          (types as h5py writes them: str, float64, int64), plus instruction (when
//          known) and image_channel_order, which the trainer ignores.
//
// Never lose or corrupt an episode:
// - the file is written as `<name>.h5.partial`; only after HDF5 has closed it and the
//   bytes are fsynced is it hard-linked to `<name>.h5` (link() refuses to replace an
//   existing file, unlike rename()) and the partial name removed. A crash at any
//   point leaves either a `.h5.partial` or a complete `.h5`, never a half file
//   with the final name.
// - an existing `<name>.h5` is never overwritten: open() fails, naming it, before a
//   single frame is recorded (bag -> episodes run twice into one folder must not
//   silently duplicate or replace episodes; a live operator just starts again a
//   second later, which changes the name).
// - frames stream to disk as they come (one frame per HDF5 chunk, the dataset grows
//   by one frame per append), so memory stays bounded however long the episode.
//   Only the event-type strings wait in memory until close(): h5wasm cannot write a
//   slice of a variable-length string dataset. That is ~15 bytes a frame.
// - a frame whose size differs from the episode's first is refused with an
//   EpisodeError("frame_size") and nothing is written: the episode so far stays
//   intact and can still be closed. Resizing would feed the trainer frames the
//   camera never produced; a camera that changes resolution mid-episode is a setup
//   error the operator must see.
// - any HDF5 or file-system failure (disk full, I/O error) becomes an
//   EpisodeError("write") naming the file; the writer is then dead (append and
//   close throw that error), the HDF5 handle is released, and the `.h5.partial` is
//   left for inspection (`episodes check` lists it). Other episodes are separate
//   files and are never touched.
import fs from "node:fs";
import path from "node:path";
import type { ChannelOrder } from "../model/manifest.js";
import type { ImageMessage } from "../msgs/image.js";
import { decodeImage, type PackedImage } from "../model/decode-image.js";
import { guarded, h5wasm, type Dataset, type H5File } from "./h5.js";
import { EPISODE_SUFFIX, PARTIAL_SUFFIX, episodeStem, pythonIsoformat, timePeriod } from "./episode-name.js";
import { writerOptionProblems } from "./episode-options.js";

export type EpisodeErrorCode = "exists" | "frame_size" | "frame" | "write" | "empty" | "closed";

export class EpisodeError extends Error {
  constructor(
    readonly code: EpisodeErrorCode,
    readonly file: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${detail}`, options);
    this.name = "EpisodeError";
  }
}

/** [linear_x, linear_y, angular_z] */
export type Action3 = readonly [number, number, number];

export interface EpisodeWriterOptions {
  /** Scenario tags for the file name, e.g. "1box_hori_left_core_medium". */
  scenario?: string | null;
  /** Stored as the `instruction` attribute when given (the reference files have none). */
  instruction?: string | null;
  /** Channel order of the stored frames; default "bgr", what the reference collector stored. */
  channelOrder?: ChannelOrder;
  /** gzip level 1..9 for `images` (true = 4, h5py's default); default off. */
  gzip?: number | boolean;
  /** Names the file; default now. */
  startTime?: Date;
  /** The collector always wrote "hori". */
  obstacleLayoutType?: string;
  /** action_chunk_size attribute; the collector wrote 8. */
  actionChunkSize?: number;
  /**
   * Flush HDF5 after every this many frames (default 1). A flush is what makes a
   * write error (disk full) surface at the frame that caused it rather than at close.
   */
  flushEvery?: number;
}

export interface EpisodeCloseOptions {
  /** End of the episode: total_duration and the collection_* attributes. Default now. */
  endTime?: Date;
}

type State = "open" | "failed" | "closed" | "discarded";

const GZIP_DEFAULT_LEVEL = 4;

/**
 * Largest frame (bytes) the writer accepts: one frame is one HDF5 chunk, and
 * HDF5 runs inside h5wasm's 2 GiB WebAssembly memory, where a gzip-compressed
 * chunk needs about three copies of itself (a 16000x16000 frame, 768 MB, runs out).
 * 256 MiB is 9459x9459 pixels, far above any camera (4K is 24 MB).
 */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;

/** Why a frame of this size cannot be stored, or null (the one size rule, for the writer and the capture). */
export function frameSizeProblem(width: number, height: number): string | null {
  const bytes = width * height * 3;
  return bytes > MAX_FRAME_BYTES
    ? `${width}x${height}x3 = ${bytes} bytes is more than the ${MAX_FRAME_BYTES} bytes (256 MiB) one HDF5 chunk may hold here`
    : null;
}

function gzipLevel(g: number | boolean | undefined): number | null {
  if (g === undefined || g === false || g === 0) return null;
  return g === true ? GZIP_DEFAULT_LEVEL : g;
}

function errnoCode(e: unknown): string | undefined {
  return typeof e === "object" && e !== null && "code" in e ? String((e as { code: unknown }).code) : undefined;
}

function fsyncPath(p: string, flags: string): void {
  const fd = fs.openSync(p, flags);
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export class EpisodeWriter {
  readonly dir: string;
  /** Stem, also the episode_name attribute. */
  readonly name: string;
  /** Final path, `<dir>/<name>.h5`; exists only after close() resolves. */
  readonly path: string;
  readonly partialPath: string;
  readonly channelOrder: ChannelOrder;
  readonly startTime: Date;

  private readonly file: H5File;
  private readonly gzip: number | null;
  private readonly instruction: string | null;
  private readonly obstacleLayoutType: string;
  private readonly actionChunkSize: number;
  private readonly flushEvery: number;
  private images: Dataset | null = null;
  private actions: Dataset | null = null;
  private size: { width: number; height: number } | null = null;
  private readonly eventTypes: string[] = [];
  private state: State = "open";
  private failure: EpisodeError | null = null;

  private constructor(dir: string, name: string, file: H5File, opts: EpisodeWriterOptions, startTime: Date) {
    this.dir = dir;
    this.name = name;
    this.path = path.join(dir, name + EPISODE_SUFFIX);
    this.partialPath = path.join(dir, name + PARTIAL_SUFFIX);
    this.file = file;
    this.startTime = startTime;
    this.channelOrder = opts.channelOrder ?? "bgr";
    this.gzip = gzipLevel(opts.gzip);
    this.instruction = opts.instruction ? opts.instruction : null;
    this.obstacleLayoutType = opts.obstacleLayoutType ?? "hori";
    this.actionChunkSize = opts.actionChunkSize ?? 8;
    this.flushEvery = opts.flushEvery ?? 1;
  }

  /**
   * Creates `<dir>/<name>.h5.partial` (dir is created if missing). Throws
   * EpisodeError("exists") when `<name>.h5` or `<name>.h5.partial` is already there.
   */
  static open(dir: string, opts: EpisodeWriterOptions = {}): EpisodeWriter {
    const problems = writerOptionProblems(opts);
    if (problems.length) throw new RangeError(`episode writer: ${problems.join("; ")}`);
    const startTime = opts.startTime ?? new Date();
    const name = episodeStem(startTime, opts.scenario);
    const absDir = path.resolve(dir);
    const finalPath = path.join(absDir, name + EPISODE_SUFFIX);
    const partialPath = path.join(absDir, name + PARTIAL_SUFFIX);
    try {
      fs.mkdirSync(absDir, { recursive: true });
    } catch (e) {
      throw new EpisodeError("write", absDir, `cannot create the episode folder: ${(e as Error).message}`, { cause: e });
    }
    if (fs.existsSync(finalPath)) {
      throw new EpisodeError(
        "exists",
        finalPath,
        "already exists; episodes are never overwritten (start again a second later, or use another scenario name / output folder)",
      );
    }
    // Claiming the partial name with O_EXCL first makes two writers racing for one
    // name fail here instead of both writing into one file.
    try {
      fs.closeSync(fs.openSync(partialPath, "wx"));
    } catch (e) {
      if (errnoCode(e) === "EEXIST") {
        throw new EpisodeError(
          "exists",
          partialPath,
          "already exists: another recorder is writing this episode, or one crashed and left it (inspect or delete it)",
        );
      }
      throw new EpisodeError("write", partialPath, `cannot create: ${(e as Error).message}`, { cause: e });
    }
    let file: H5File;
    try {
      // "w" truncates the empty placeholder we just claimed.
      file = guarded(() => new h5wasm.File(partialPath, "w"));
    } catch (e) {
      fs.rmSync(partialPath, { force: true });
      throw new EpisodeError("write", partialPath, `cannot create HDF5 file: ${(e as Error).message}`, { cause: e });
    }
    return new EpisodeWriter(absDir, name, file, opts, startTime);
  }

  get numFrames(): number {
    return this.eventTypes.length;
  }

  /** Width and height fixed by the first frame; null before it. */
  get frameSize(): { width: number; height: number } | null {
    return this.size ? { ...this.size } : null;
  }

  /** The write error that killed this writer, if any. */
  get error(): EpisodeError | null {
    return this.failure;
  }

  private checkWritable(): void {
    if (this.failure) throw this.failure;
    if (this.state !== "open") throw new EpisodeError("closed", this.partialPath, `writer is ${this.state}`);
  }

  private fail(what: string, e: unknown): EpisodeError {
    this.failure = new EpisodeError(
      "write",
      this.partialPath,
      `${what} failed: ${(e as Error).message ?? String(e)}; the episode is lost, the partial file is kept for inspection`,
      { cause: e },
    );
    this.state = "failed";
    this.releaseHandle();
    return this.failure;
  }

  private releaseHandle(): void {
    // After a failed write HDF5's first close can itself fail while flushing the
    // cached chunk; the second call then releases the handle.
    for (let i = 0; i < 2; i++) {
      try {
        guarded(() => this.file.close());
        return;
      } catch {
        /* retried once, then given up: the file is already marked failed */
      }
    }
  }

  private createDatasets(width: number, height: number): void {
    const shape = [0, height, width, 3];
    const images: Parameters<H5File["create_dataset"]>[0] = {
      name: "images",
      data: new Uint8Array(0),
      shape,
      dtype: "<B",
      maxshape: [null, height, width, 3],
      // One frame per chunk: appends and per-frame reads touch exactly one chunk,
      // and a frame (0.9 MB at 640x480, 2.8 MB at 720p) is a good HDF5 chunk size.
      chunks: [1, height, width, 3],
    };
    if (this.gzip !== null) {
      images.compression = "gzip";
      images.compression_opts = this.gzip;
    }
    this.images = guarded(() => this.file.create_dataset(images));
    this.actions = guarded(() =>
      this.file.create_dataset({
        name: "actions",
        data: new Float32Array(0),
        shape: [0, 3],
        dtype: "<f",
        maxshape: [null, 3],
        chunks: [64, 3],
      }),
    );
  }

  /**
   * Appends one frame (packed HWC, 3 channels, already in this.channelOrder), the
   * command active for it and its event type. Synchronous: when it returns the
   * frame is in the file (flushed every `flushEvery` frames).
   */
  append(frame: PackedImage, action: ArrayLike<number>, eventType: string): void {
    this.checkWritable();
    const { width, height, data } = frame;
    if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
      throw new EpisodeError("frame", this.partialPath, `frame ${this.numFrames}: size ${width}x${height} is not positive integers`);
    }
    const tooLarge = frameSizeProblem(width, height);
    if (tooLarge)
      throw new EpisodeError("frame", this.partialPath, `frame ${this.numFrames}: ${tooLarge}; frame refused, the ${this.numFrames} frames so far are intact`);
    if (data.length !== width * height * 3) {
      throw new EpisodeError("frame", this.partialPath, `frame ${this.numFrames}: ${data.length} bytes, expected ${width}x${height}x3 = ${width * height * 3}`);
    }
    if (this.size && (this.size.width !== width || this.size.height !== height)) {
      throw new EpisodeError(
        "frame_size",
        this.partialPath,
        `frame ${this.numFrames} is ${width}x${height} but this episode's frames are ${this.size.width}x${this.size.height}; frame refused, the ${this.numFrames} frames so far are intact`,
      );
    }
    if (action.length !== 3 || !Array.from(action).every(Number.isFinite)) {
      throw new EpisodeError(
        "frame",
        this.partialPath,
        `frame ${this.numFrames}: action ${JSON.stringify(Array.from(action))} is not 3 finite numbers [linear_x, linear_y, angular_z]`,
      );
    }
    if (typeof eventType !== "string" || eventType.length === 0) {
      throw new EpisodeError("frame", this.partialPath, `frame ${this.numFrames}: event type must be a non-empty string`);
    }
    const n = this.numFrames;
    try {
      if (!this.size) {
        this.createDatasets(width, height);
        this.size = { width, height };
      }
      const images = this.images!;
      const actions = this.actions!;
      guarded(() => {
        images.resize([n + 1, height, width, 3]);
        images.write_slice([[n, n + 1]], data);
        actions.resize([n + 1, 3]);
        actions.write_slice([[n, n + 1]], Float32Array.from(action));
        if ((n + 1) % this.flushEvery === 0) this.file.flush();
      });
    } catch (e) {
      throw this.fail(`writing frame ${n}`, e);
    }
    this.eventTypes.push(eventType);
  }

  /** Decodes a camera message into this episode's channel order and appends it. */
  async appendImage(img: ImageMessage, action: ArrayLike<number>, eventType: string): Promise<void> {
    this.checkWritable();
    let frame: PackedImage;
    try {
      frame = await decodeImage(img, this.channelOrder);
    } catch (e) {
      throw new EpisodeError("frame", this.partialPath, `frame ${this.numFrames}: ${(e as Error).message}`, { cause: e });
    }
    this.append(frame, action, eventType);
  }

  /**
   * Writes the event types and attributes, closes, fsyncs, then publishes the file
   * under its final name. Resolves to the final path. An episode with no frame
   * cannot be written (no image size): it is discarded and EpisodeError("empty") thrown.
   */
  async close(opts: EpisodeCloseOptions = {}): Promise<string> {
    this.checkWritable();
    if (this.numFrames === 0) {
      await this.discard();
      throw new EpisodeError("empty", this.partialPath, "no frames were recorded; nothing written");
    }
    const end = opts.endTime ?? new Date();
    try {
      guarded(() => {
        this.file.create_dataset({ name: "action_event_types", data: this.eventTypes.slice(), dtype: "S" });
        this.writeAttributes(end);
        this.file.flush();
      });
    } catch (e) {
      throw this.fail("writing event types and attributes", e);
    }
    try {
      const status = guarded(() => this.file.close());
      if (status < 0) throw new Error(`H5Fclose returned ${status}`);
    } catch (e) {
      throw this.fail("closing the HDF5 file", e);
    }
    this.state = "closed";
    try {
      fsyncPath(this.partialPath, "r+");
    } catch (e) {
      this.state = "failed";
      this.failure = new EpisodeError("write", this.partialPath, `fsync failed: ${(e as Error).message}; the episode is kept only as this partial file`, {
        cause: e,
      });
      throw this.failure;
    }
    try {
      fs.linkSync(this.partialPath, this.path);
    } catch (e) {
      const why = errnoCode(e) === "EEXIST" ? "appeared while recording; it was not overwritten" : `cannot be created: ${(e as Error).message}`;
      this.failure = new EpisodeError(
        errnoCode(e) === "EEXIST" ? "exists" : "write",
        this.path,
        `${why}. The complete episode is kept as ${this.partialPath}`,
        { cause: e },
      );
      this.state = "failed";
      throw this.failure;
    }
    fs.rmSync(this.partialPath, { force: true });
    try {
      fsyncPath(this.dir, "r");
    } catch {
      // Directory fsync is not supported everywhere; the file itself is already durable.
    }
    return this.path;
  }

  private writeAttributes(end: Date): void {
    const f = this.file;
    const durationS = Math.max(0, (end.getTime() - this.startTime.getTime()) / 1000);
    // Order and types as the collector's h5py code writes them: str -> variable-length
    // UTF-8, Python int -> int64, float -> float64. The name carries the START time
    // but time_period and collection_* the END (the collector classified at save time).
    f.create_attribute("episode_name", this.name, null, "S");
    f.create_attribute("total_duration", durationS, null, "<d");
    f.create_attribute("num_frames", this.numFrames, null, "<q");
    f.create_attribute("action_chunk_size", this.actionChunkSize, null, "<q");
    f.create_attribute("obstacle_layout_type", this.obstacleLayoutType, null, "S");
    f.create_attribute("time_period", timePeriod(end.getHours()), null, "S");
    f.create_attribute("collection_datetime", pythonIsoformat(end), null, "S");
    f.create_attribute("collection_hour", end.getHours(), null, "<q");
    f.create_attribute("collection_minute", end.getMinutes(), null, "<q");
    if (this.instruction !== null) f.create_attribute("instruction", this.instruction, null, "S");
    f.create_attribute("image_channel_order", this.channelOrder, null, "S");
  }

  /**
   * Abandons the episode: closes the handle and deletes the partial file. Idempotent.
   * After a write failure the partial file stays, as the failure's message promised:
   * it is what is left to inspect (`episodes check` lists it).
   */
  async discard(): Promise<void> {
    if (this.state === "closed" || this.state === "discarded") return;
    const failed = this.state === "failed";
    if (this.state === "open") this.releaseHandle();
    this.state = "discarded";
    if (!failed) fs.rmSync(this.partialPath, { force: true });
  }
}

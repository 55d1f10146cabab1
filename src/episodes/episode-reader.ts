// Reads a training episode in either Mobile-VLA layout, frame by frame:
//
//   mobile_vla_2025  images (N,H,W,3) uint8 (BGR unless attrs.image_channel_order says
//                    otherwise), actions (N,3), action_event_types (N) strings, attrs
//   mobile_vla_2026  observations/images (N,H,W,3) uint8 RGB, actions (N,A),
//                    timestamps (N), language_instruction
//
// Only the small arrays (actions, event types, timestamps) are loaded; frame(i)
// reads one frame from disk, so memory does not grow with the episode.
// Anything that does not fit throws EpisodeFormatError naming the file and the key.
import path from "node:path";
import type { ChannelOrder } from "../model/manifest.js";
import type { PackedImage } from "../model/decode-image.js";
import { H5T_FLOAT, H5T_INTEGER, H5T_STRING, guarded, h5wasm, isDataset, type Dataset, type H5File } from "./h5.js";

export type EpisodeLayout = "mobile_vla_2025" | "mobile_vla_2026";

export type AttrValue = string | number | boolean | AttrValue[];

/** One stored frame, HWC uint8, in the order it is stored (stated in channelOrder). */
export interface EpisodeFrame extends PackedImage {
  channelOrder: ChannelOrder;
}

export interface Episode {
  readonly path: string;
  readonly layout: EpisodeLayout;
  readonly numFrames: number;
  readonly height: number;
  readonly width: number;
  readonly channelOrder: ChannelOrder;
  readonly instruction: string | null;
  readonly attrs: Readonly<Record<string, AttrValue>>;
  /** Row-major (numFrames x actionDim). */
  readonly actions: Float32Array;
  readonly actionDim: number;
  readonly eventTypes?: string[];
  readonly timestamps?: Float64Array;
  frame(i: number): EpisodeFrame;
  close(): void;
}

export class EpisodeFormatError extends Error {
  constructor(
    readonly file: string,
    /** The HDF5 key (dataset path or "attrs.<name>") at fault, or "file". */
    readonly key: string,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${key}: ${detail}`, options);
    this.name = "EpisodeFormatError";
  }
}

function describeType(ds: Dataset): string {
  const m = ds.metadata;
  if (m.type === H5T_INTEGER) return `${m.signed ? "int" : "uint"}${m.size * 8}`;
  if (m.type === H5T_FLOAT) return `float${m.size * 8}`;
  if (m.type === H5T_STRING) return m.vlen ? "vlen string" : `string[${m.size}]`;
  return `HDF5 type class ${m.type}`;
}

function readAttrs(f: H5File): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const [name, attr] of Object.entries(f.attrs)) {
    const v = attr.json_value;
    if (v !== null) out[name] = v;
  }
  return out;
}

class H5Episode implements Episode {
  readonly path: string;
  readonly layout: EpisodeLayout;
  readonly numFrames: number;
  readonly height: number;
  readonly width: number;
  readonly channelOrder: ChannelOrder;
  readonly instruction: string | null;
  readonly attrs: Readonly<Record<string, AttrValue>>;
  readonly actions: Float32Array;
  readonly actionDim: number;
  readonly eventTypes?: string[];
  readonly timestamps?: Float64Array;
  private readonly file: H5File;
  private readonly images: Dataset;
  private closed = false;

  constructor(file: H5File, filePath: string) {
    this.file = file;
    this.path = filePath;
    const bad = (key: string, detail: string): EpisodeFormatError => new EpisodeFormatError(filePath, key, detail);
    const dataset = (key: string, required: boolean): Dataset | null => {
      const e = guarded(() => file.get(key));
      if (e === null || e === undefined) {
        if (required) throw bad(key, "missing");
        return null;
      }
      if (!isDataset(e)) throw bad(key, "is not a dataset");
      return e;
    };

    const keys = guarded(() => file.keys());
    if (keys.includes("images")) this.layout = "mobile_vla_2025";
    else if (keys.includes("observations")) this.layout = "mobile_vla_2026";
    else throw bad("images", `missing (neither the 2025 layout's "images" nor the 2026 layout's "observations/images"; keys: ${keys.join(", ") || "none"})`);
    const imagesKey = this.layout === "mobile_vla_2025" ? "images" : "observations/images";
    this.attrs = readAttrs(file);

    const images = dataset(imagesKey, true)!;
    const ishape = images.shape ?? [];
    if (ishape.length !== 4 || ishape[3] !== 3) throw bad(imagesKey, `shape [${ishape.join(", ")}], expected (N, H, W, 3)`);
    if (images.metadata.type !== H5T_INTEGER || images.metadata.size !== 1 || images.metadata.signed) {
      throw bad(imagesKey, `type ${describeType(images)}, expected uint8`);
    }
    this.images = images;
    [this.numFrames, this.height, this.width] = ishape;

    const actions = dataset("actions", true)!;
    const ashape = actions.shape ?? [];
    const wantDim = this.layout === "mobile_vla_2025" ? 3 : null;
    if (ashape.length !== 2 || ashape[0] !== this.numFrames || (wantDim !== null && ashape[1] !== wantDim) || ashape[1] < 1) {
      throw bad("actions", `shape [${ashape.join(", ")}], expected (${this.numFrames}, ${wantDim ?? "A"}) to match ${imagesKey}`);
    }
    if (actions.metadata.type !== H5T_FLOAT) throw bad("actions", `type ${describeType(actions)}, expected float32 or float64`);
    this.actionDim = ashape[1];
    const av = guarded(() => actions.value);
    this.actions = av instanceof Float32Array ? av : Float32Array.from(av as ArrayLike<number>);

    const events = dataset("action_event_types", false);
    if (events) {
      if (events.metadata.type !== H5T_STRING) throw bad("action_event_types", `type ${describeType(events)}, expected strings`);
      const ev = guarded(() => events.value);
      if (!Array.isArray(ev) || ev.length !== this.numFrames || !ev.every((s) => typeof s === "string")) {
        throw bad("action_event_types", `expected ${this.numFrames} strings, found shape [${(events.shape ?? []).join(", ")}]`);
      }
      this.eventTypes = ev as string[];
    }

    const ts = dataset("timestamps", false);
    if (ts) {
      const tshape = ts.shape ?? [];
      if (tshape.length !== 1 || tshape[0] !== this.numFrames) throw bad("timestamps", `shape [${tshape.join(", ")}], expected (${this.numFrames})`);
      if (ts.metadata.type !== H5T_FLOAT && ts.metadata.type !== H5T_INTEGER) throw bad("timestamps", `type ${describeType(ts)}, expected numbers`);
      const tv = guarded(() => ts.value);
      this.timestamps = tv instanceof Float64Array ? tv : Float64Array.from(Array.from(tv as ArrayLike<number | bigint>, Number));
    }

    const nf = this.attrs.num_frames;
    if (nf !== undefined && nf !== this.numFrames) throw bad("attrs.num_frames", `${JSON.stringify(nf)} but ${imagesKey} holds ${this.numFrames} frames`);

    const order = this.attrs.image_channel_order;
    if (order === undefined) {
      // No attribute: the 2025 collector stored camera bgr8 unchanged; 2026 files are RGB.
      this.channelOrder = this.layout === "mobile_vla_2025" ? "bgr" : "rgb";
    } else if (order === "bgr" || order === "rgb") {
      this.channelOrder = order;
    } else {
      throw bad("attrs.image_channel_order", `${JSON.stringify(order)}, expected "bgr" or "rgb"`);
    }

    this.instruction = this.layout === "mobile_vla_2025" ? this.stringAttr("instruction") : this.readInstruction2026();
  }

  private stringAttr(name: string): string | null {
    const v = this.attrs[name];
    if (v === undefined) return null;
    if (typeof v !== "string") throw new EpisodeFormatError(this.path, `attrs.${name}`, `${JSON.stringify(v)} is not a string`);
    return v;
  }

  private readInstruction2026(): string | null {
    const e = guarded(() => this.file.get("language_instruction"));
    if (e === null || e === undefined) return this.stringAttr("language_instruction");
    if (!isDataset(e) || e.metadata.type !== H5T_STRING) {
      throw new EpisodeFormatError(this.path, "language_instruction", "expected a string dataset");
    }
    const v = guarded(() => e.value);
    // A scalar string, or one per frame (the first is the episode's).
    const s = Array.isArray(v) ? v[0] : v;
    if (typeof s !== "string") throw new EpisodeFormatError(this.path, "language_instruction", "holds no string");
    return s;
  }

  frame(i: number): EpisodeFrame {
    if (this.closed) throw new EpisodeFormatError(this.path, "file", "episode is closed");
    if (!Number.isInteger(i) || i < 0 || i >= this.numFrames) throw new RangeError(`${this.path}: frame ${i} is outside 0..${this.numFrames - 1}`);
    const data = guarded(() => this.images.slice([[i, i + 1]]));
    if (!(data instanceof Uint8Array) || data.length !== this.width * this.height * 3) {
      throw new EpisodeFormatError(
        this.path,
        this.layout === "mobile_vla_2025" ? "images" : "observations/images",
        `frame ${i} could not be read as ${this.width}x${this.height}x3 bytes`,
      );
    }
    return { width: this.width, height: this.height, data, channelOrder: this.channelOrder };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    guarded(() => this.file.close());
  }
}

/** Opens an episode file; throws EpisodeFormatError (naming file and key) when it is not one. */
export function openEpisode(filePath: string): Episode {
  const abs = path.resolve(filePath);
  let file: H5File;
  try {
    file = guarded(() => new h5wasm.File(abs, "r"));
  } catch (e) {
    throw new EpisodeFormatError(abs, "file", `cannot open as HDF5: ${(e as Error).message}`, { cause: e });
  }
  try {
    return new H5Episode(file, abs);
  } catch (e) {
    try {
      guarded(() => file.close());
    } catch {
      /* the format error is the one worth reporting */
    }
    if (e instanceof EpisodeFormatError || e instanceof RangeError) throw e;
    throw new EpisodeFormatError(abs, "file", `unreadable: ${(e as Error).message}`, { cause: e });
  }
}

// Typed shapes of the messages this package uses, built from the plain
// objects the CDR reader returns. Anything malformed throws here, which the
// bag reader turns into a per-message error instead of a broken stream.

import type {
  CompressedImageMessage,
  ImageMessage,
  RawImageMessage,
  StampedImage,
} from "../msgs/image.js";
import type { ImageLayout } from "./cdr.js";

export interface Header {
  /** Seconds (sec + nanosec / 1e9). */
  stamp: number;
  /** The stamp's exact parts, as in builtin_interfaces/Time. */
  sec: number;
  nanosec: number;
  frame_id: string;
}

export interface Vector3 {
  x: number;
  y: number;
  z: number;
}

export interface ImageMsg {
  kind: "image";
  header: Header;
  image: RawImageMessage;
}

export interface CompressedImageMsg {
  kind: "compressed_image";
  header: Header;
  image: CompressedImageMessage;
}

export interface StringMsg {
  kind: "string";
  data: string;
}

export interface BoolMsg {
  kind: "bool";
  data: boolean;
}

/** geometry_msgs/Twist, or TwistStamped flattened (header present). */
export interface TwistMsg {
  kind: "twist";
  header?: Header;
  linear: Vector3;
  angular: Vector3;
}

/** Any other type: the decoded object as the CDR reader gives it. */
export interface OtherMsg {
  kind: "other";
  value: Record<string, unknown>;
}

export type DecodedMessage = ImageMsg | CompressedImageMsg | StringMsg | BoolMsg | TwistMsg | OtherMsg;

export const IMAGE_TYPE = "sensor_msgs/msg/Image";
export const COMPRESSED_IMAGE_TYPE = "sensor_msgs/msg/CompressedImage";
export const STRING_TYPE = "std_msgs/msg/String";
export const BOOL_TYPE = "std_msgs/msg/Bool";
export const TWIST_TYPE = "geometry_msgs/msg/Twist";
export const TWIST_STAMPED_TYPE = "geometry_msgs/msg/TwistStamped";

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null;
}

function field(o: Obj, name: string, type: string): Obj {
  const v = o[name];
  if (!isObj(v)) throw new Error(`${type}: field ${name} is missing or not a message`);
  return v;
}

function num(o: Obj, name: string, type: string): number {
  const v = o[name];
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  throw new Error(`${type}: field ${name} is not a number`);
}

function str(o: Obj, name: string, type: string): string {
  const v = o[name];
  if (typeof v !== "string") throw new Error(`${type}: field ${name} is not a string`);
  return v;
}

function bytes(o: Obj, name: string, type: string): Uint8Array {
  const v = o[name];
  if (v instanceof Uint8Array) return v;
  // A definition that declares `byte[]`/`char[]`-like fields may decode to a number array.
  if (Array.isArray(v) && v.every((x) => typeof x === "number")) return Uint8Array.from(v as number[]);
  throw new Error(`${type}: field ${name} is not a byte array`);
}

function header(o: Obj, type: string): Header {
  const h = field(o, "header", type);
  const stamp = field(h, "stamp", type);
  // ROS 1 style time objects use nsec; ROS 2 uses nanosec.
  const ns = "nanosec" in stamp ? num(stamp, "nanosec", type) : num(stamp, "nsec", type);
  const sec = num(stamp, "sec", type);
  return { stamp: sec + ns / 1e9, sec, nanosec: ns, frame_id: str(h, "frame_id", type) };
}

function vector3(o: Obj, name: string, type: string): Vector3 {
  const v = field(o, name, type);
  return { x: num(v, "x", type), y: num(v, "y", type), z: num(v, "z", type) };
}

const BYTES_PER_PIXEL: Record<string, number> = {
  rgb8: 3,
  bgr8: 3,
  rgba8: 4,
  bgra8: 4,
  mono8: 1,
  mono16: 2,
  "8UC1": 1,
  "8UC3": 3,
  "8UC4": 4,
  "16UC1": 2,
};

/** Bytes per pixel of a sensor_msgs/Image encoding, or undefined when not one we know. */
export function bytesPerPixel(encoding: string): number | undefined {
  return BYTES_PER_PIXEL[encoding];
}

function checkRawImage(type: string, width: number, height: number, step: number, encoding: string, dataBytes: number): void {
  const bpp = bytesPerPixel(encoding);
  if (bpp !== undefined && step < width * bpp) {
    throw new Error(`${type}: step ${step} is less than width ${width} x ${bpp} bytes (${encoding})`);
  }
  if (dataBytes < step * height) {
    throw new Error(`${type}: data has ${dataBytes} bytes, expected step ${step} x height ${height} = ${step * height}`);
  }
}

function rawImage(o: Obj, type: string): RawImageMessage {
  const width = num(o, "width", type);
  const height = num(o, "height", type);
  const step = num(o, "step", type);
  const encoding = str(o, "encoding", type);
  const data = bytes(o, "data", type);
  checkRawImage(type, width, height, step, encoding, data.byteLength);
  return { kind: "raw", width, height, encoding, step, isBigEndian: num(o, "is_bigendian", type) !== 0, data };
}

/** Builds the typed shape of a decoded message; throws on a malformed one. */
export function toDecodedMessage(type: string, value: unknown): DecodedMessage {
  if (!isObj(value)) throw new Error(`${type}: decoded value is not a message`);
  switch (type) {
    case IMAGE_TYPE:
    case "sensor_msgs/Image":
      return { kind: "image", header: header(value, type), image: rawImage(value, type) };
    case COMPRESSED_IMAGE_TYPE:
    case "sensor_msgs/CompressedImage":
      return {
        kind: "compressed_image",
        header: header(value, type),
        image: { kind: "compressed", format: str(value, "format", type), data: bytes(value, "data", type) },
      };
    case STRING_TYPE:
    case "std_msgs/String":
      return { kind: "string", data: str(value, "data", type) };
    case BOOL_TYPE:
    case "std_msgs/Bool": {
      const v = value["data"];
      if (typeof v !== "boolean") throw new Error(`${type}: field data is not a bool`);
      return { kind: "bool", data: v };
    }
    case TWIST_TYPE:
    case "geometry_msgs/Twist":
      return { kind: "twist", linear: vector3(value, "linear", type), angular: vector3(value, "angular", type) };
    case TWIST_STAMPED_TYPE:
    case "geometry_msgs/TwistStamped": {
      const twist = field(value, "twist", type);
      return {
        kind: "twist",
        header: header(value, type),
        linear: vector3(twist, "linear", type),
        angular: vector3(twist, "angular", type),
      };
    }
    default:
      return { kind: "other", value };
  }
}

/** The camera image of an Image / CompressedImage message, or undefined for any other message. */
export function toImageMessage(msg: DecodedMessage): ImageMessage | undefined {
  return msg.kind === "image" || msg.kind === "compressed_image" ? msg.image : undefined;
}

/** The image with its header stamp (seconds), or undefined for non-image messages. */
export function toStampedImage(msg: DecodedMessage): StampedImage | undefined {
  return msg.kind === "image" || msg.kind === "compressed_image"
    ? { stamp: msg.header.stamp, image: msg.image }
    : undefined;
}

/**
 * The leading fields of a sensor_msgs Image / CompressedImage, read from the
 * first bytes of its CDR payload, and where its `data` array lies in the
 * payload: everything the pipeline needs before it decides to look at the
 * pixels.
 */
export type ImageHead = {
  header: Header;
  /** Payload offset and length of the `data` bytes. */
  dataOffset: number;
  dataLength: number;
} & (
  | { layout: "image"; height: number; width: number; encoding: string; isBigEndian: boolean; step: number }
  | { layout: "compressed_image"; format: string }
);

const utf8 = new TextDecoder("utf8");

/**
 * Decodes an image message's fields up to its data array's length from `head`
 * (the payload's first bytes), for the standard layouts only (cdr.ts,
 * imageLayoutOf). Undefined when `head` ends first or the encapsulation is
 * not plain CDR: the caller then decodes the whole message, which also gives
 * the exact error a malformed one has.
 */
export function decodeImageHead(layout: ImageLayout, head: Uint8Array): ImageHead | undefined {
  // Encapsulation: 0x00 0x00 CDR big endian, 0x00 0x01 CDR little endian; alignment counts from byte 4.
  if (head.byteLength < 4 || head[0] !== 0 || (head[1] !== 0 && head[1] !== 1)) return undefined;
  const le = head[1] === 1;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let off = 4;
  let short = false;
  const u32 = (): number => {
    off += (4 - ((off - 4) & 3)) & 3;
    if (off + 4 > head.byteLength) {
      short = true;
      return 0;
    }
    const v = view.getUint32(off, le);
    off += 4;
    return v;
  };
  const i32 = (): number => {
    const v = u32();
    return v | 0;
  };
  const string = (): string => {
    const n = u32();
    if (short || off + n > head.byteLength) {
      short = true;
      return "";
    }
    const v = n <= 1 ? "" : utf8.decode(head.subarray(off, off + n - 1));
    off += n;
    return v;
  };
  const u8 = (): number => {
    if (off + 1 > head.byteLength) {
      short = true;
      return 0;
    }
    return head[off++]!;
  };
  const sec = i32();
  const nanosec = u32();
  const frameId = string();
  const header: Header = { stamp: sec + nanosec / 1e9, sec, nanosec, frame_id: frameId };
  if (layout === "image") {
    const height = u32();
    const width = u32();
    const encoding = string();
    const isBigEndian = u8() !== 0;
    const step = u32();
    const dataLength = u32();
    if (short) return undefined;
    return { layout, header, height, width, encoding, isBigEndian, step, dataOffset: off, dataLength };
  }
  const format = string();
  const dataLength = u32();
  if (short) return undefined;
  return { layout, header, format, dataOffset: off, dataLength };
}

/**
 * The typed image message of a decoded head, its `data` read by `readData`
 * on first access (then kept). Throws the same errors as toDecodedMessage
 * for image sizes that do not fit the data.
 */
export function toDeferredImageMessage(type: string, head: ImageHead, readData: () => Uint8Array): ImageMsg | CompressedImageMsg {
  let data: Uint8Array | undefined;
  if (head.layout === "image") {
    const { width, height, step, encoding, isBigEndian } = head;
    checkRawImage(type, width, height, step, encoding, head.dataLength);
    const image: RawImageMessage = {
      kind: "raw",
      width,
      height,
      encoding,
      step,
      isBigEndian,
      get data(): Uint8Array {
        return (data ??= readData());
      },
    };
    return { kind: "image", header: head.header, image };
  }
  const image: CompressedImageMessage = {
    kind: "compressed",
    format: head.format,
    get data(): Uint8Array {
      return (data ??= readData());
    },
  };
  return { kind: "compressed_image", header: head.header, image };
}

// Typed shapes of the messages this package uses, built from plain objects: what
// the CDR reader returns for a bag's message, or what rclnodejs delivers live.
// Anything malformed throws here, which the bag reader turns into a per-message
// error instead of a broken stream and the live node into a skipped message.

import type { CompressedImageMessage, RawImageMessage } from "./image.js";
import type { ImageHead } from "./image-head.js";
import { checkRawImage } from "./raw-image.js";
import { BOOL_TYPE, COMPRESSED_IMAGE_TYPE, IMAGE_TYPE, STRING_TYPE, TWIST_STAMPED_TYPE, TWIST_TYPE, fullTypeName } from "./type-names.js";

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

function rawImage(o: Obj, type: string): RawImageMessage {
  const width = num(o, "width", type);
  const height = num(o, "height", type);
  const step = num(o, "step", type);
  const encoding = str(o, "encoding", type);
  const data = bytes(o, "data", type);
  checkRawImage({ width, height, step, encoding }, data.byteLength);
  return { kind: "raw", width, height, encoding, step, isBigEndian: num(o, "is_bigendian", type) !== 0, data };
}

/** Builds the typed shape of a decoded message; throws on a malformed one. */
export function toDecodedMessage(type: string, value: unknown): DecodedMessage {
  if (!isObj(value)) throw new Error(`${type}: decoded value is not a message`);
  // Bags converted from ROS 1 name the same types without "/msg/".
  switch (fullTypeName(type)) {
    case IMAGE_TYPE:
      return { kind: "image", header: header(value, type), image: rawImage(value, type) };
    case COMPRESSED_IMAGE_TYPE:
      return {
        kind: "compressed_image",
        header: header(value, type),
        image: { kind: "compressed", format: str(value, "format", type), data: bytes(value, "data", type) },
      };
    case STRING_TYPE:
      return { kind: "string", data: str(value, "data", type) };
    case BOOL_TYPE: {
      const v = value["data"];
      if (typeof v !== "boolean") throw new Error(`${type}: field data is not a bool`);
      return { kind: "bool", data: v };
    }
    case TWIST_TYPE:
      return { kind: "twist", linear: vector3(value, "linear", type), angular: vector3(value, "angular", type) };
    case TWIST_STAMPED_TYPE: {
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

/**
 * The typed image message of a decoded head, its `data` read by `readData`
 * on first access (then kept). Throws the same errors as toDecodedMessage
 * for image sizes that do not fit the data.
 */
export function toDeferredImageMessage(head: ImageHead, readData: () => Uint8Array): ImageMsg | CompressedImageMsg {
  let data: Uint8Array | undefined;
  if (head.layout === "image") {
    const { width, height, step, encoding, isBigEndian } = head;
    checkRawImage(head, head.dataLength);
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

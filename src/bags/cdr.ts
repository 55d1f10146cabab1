// CDR (de)serialisation of ROS 2 messages, with definitions from a bag's
// schema or from the built-in Humble set.

import { MessageReader, MessageWriter } from "@foxglove/rosmsg2-serialization";
import {
  builtinDefinitions,
  fullDefinitionText,
  parseRos2Msg,
  shortTypeName,
  type MessageDefinitions,
} from "./msg-definitions.js";

export type CdrDecode = (data: Uint8Array) => unknown;

/**
 * The two image types whose leading fields (header, sizes, encoding / format)
 * lazy reading decodes by hand from a record's first bytes, leaving `data`
 * in the file (messages.ts, decodeImageHead).
 */
export type ImageLayout = "image" | "compressed_image";

const IMAGE_LAYOUT_TYPES: Record<string, ImageLayout> = {
  "sensor_msgs/Image": "image",
  "sensor_msgs/CompressedImage": "compressed_image",
};

type Definition = MessageDefinitions[number];

/** A definition's wire layout as text: field names and types, nested types expanded. */
function layoutSignature(defs: MessageDefinitions, root: Definition, depth = 0): string {
  if (depth > 8) return "?";
  return root.definitions
    .filter((f) => f.isConstant !== true)
    .map((f) => {
      let t: string;
      if (f.isComplex === true) {
        const sub = defs.find((d) => d.name === f.type || (d.name !== undefined && shortTypeName(d.name) === shortTypeName(f.type)));
        t = sub === undefined ? `?${f.type}` : `{${layoutSignature(defs, sub, depth + 1)}}`;
      } else if (f.type === "time" || f.type === "duration") {
        t = "{sec:int32,nanosec:uint32}";
      } else {
        t = f.type;
      }
      const arr = f.isArray === true ? `[${f.arrayLength ?? ""}]` : "";
      const bound = f.upperBound !== undefined ? `<=${f.upperBound}` : "";
      return `${f.name}:${t}${arr}${bound}`;
    })
    .join(",");
}

let standardSignatures: Map<string, string> | undefined;

/** The image layout `defs` has, when it is exactly the standard one of `type`. */
function imageLayoutOfDefs(type: string, defs: MessageDefinitions): ImageLayout | undefined {
  const short = shortTypeName(type);
  const layout = IMAGE_LAYOUT_TYPES[short];
  if (layout === undefined) return undefined;
  standardSignatures ??= new Map(
    Object.keys(IMAGE_LAYOUT_TYPES).map((t) => {
      const std = parseRos2Msg(fullDefinitionText(t));
      return [t, layoutSignature(std, std[0]!)];
    }),
  );
  const root = defs[0];
  return root !== undefined && layoutSignature(defs, root) === standardSignatures.get(short) ? layout : undefined;
}

const imageLayouts = new WeakMap<CdrDecode, ImageLayout>();

/**
 * "image" / "compressed_image" when `decode` reads a sensor_msgs Image /
 * CompressedImage with the standard field layout, so that its leading fields
 * can be read without decoding the whole message; undefined otherwise.
 */
export function imageLayoutOf(decode: CdrDecode): ImageLayout | undefined {
  return imageLayouts.get(decode);
}

/**
 * A decoder for one topic. Where no usable definition exists the decoder
 * throws on every message, so that the failure is reported per message
 * (counted and skipped by the consumer) rather than aborting the bag.
 */
export function makeDecoder(type: string, definitions: MessageDefinitions | undefined, why?: string): CdrDecode {
  const defs = definitions ?? builtinDefinitions(type);
  if (defs === undefined) {
    const reason = why ?? "the bag carries no definition and it is not a built-in Humble type";
    return () => {
      throw new Error(`cannot decode ${type}: ${reason}`);
    };
  }
  const reader = new MessageReader(defs);
  const decode: CdrDecode = (data) => reader.readMessage(data);
  const layout = imageLayoutOfDefs(type, defs);
  if (layout !== undefined) imageLayouts.set(decode, layout);
  return decode;
}

/**
 * Decoder for an MCAP channel: the schema text when it is `ros2msg`, else the
 * built-in definition of the type (rosbag2 writes `ros2idl` or an empty
 * "unknown" schema when it finds no .msg file).
 */
export function decoderForSchema(type: string, schemaEncoding: string, schemaData: Uint8Array): CdrDecode {
  if (schemaEncoding === "ros2msg" && schemaData.byteLength > 0) {
    let defs: MessageDefinitions;
    try {
      defs = parseRos2Msg(new TextDecoder().decode(schemaData));
    } catch (err) {
      return makeDecoder(type, builtinDefinitions(type), `its ros2msg schema does not parse (${(err as Error).message})`);
    }
    return makeDecoder(type, defs);
  }
  return makeDecoder(type, undefined, `schema encoding "${schemaEncoding || "none"}" is not supported and it is not a built-in Humble type`);
}

/** An encoder for a type whose .msg text is known (see msg-definitions.ts). */
export function makeEncoder(type: string): (message: unknown) => Uint8Array {
  const writer = new MessageWriter(parseRos2Msg(fullDefinitionText(type)));
  return (message) => writer.writeMessage(message);
}

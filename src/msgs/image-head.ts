// The leading fields of a sensor_msgs Image / CompressedImage (header, sizes,
// encoding or format) read from the first bytes of its CDR payload, and where its
// `data` array lies: everything the pipeline needs before it decides to look at
// the pixels, so a replay that samples one frame in twelve reads one in twelve.
// Only the standard field layout qualifies; anything else is decoded whole.
import { CdrReader, EncapsulationKind } from "@foxglove/cdr";
import { fullDefinitionText, parseRos2Msg, type MessageDefinitions } from "./definitions.js";
import type { Header } from "./decoded.js";
import { shortTypeName } from "./type-names.js";

export type ImageLayout = "image" | "compressed_image";

const LAYOUT_OF_TYPE: Readonly<Record<string, ImageLayout>> = {
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

/**
 * "image" / "compressed_image" when `defs` (root first) is exactly the standard
 * definition of `type`, so decodeImageHead reads it; undefined for any other type
 * or a customised definition (an extra field would shift every offset).
 */
export function imageLayoutOf(type: string, defs: MessageDefinitions): ImageLayout | undefined {
  const short = shortTypeName(type);
  const layout = LAYOUT_OF_TYPE[short];
  if (layout === undefined) return undefined;
  standardSignatures ??= new Map(
    Object.keys(LAYOUT_OF_TYPE).map((t) => {
      const std = parseRos2Msg(fullDefinitionText(t));
      return [t, layoutSignature(std, std[0]!)];
    }),
  );
  const root = defs[0];
  return root !== undefined && layoutSignature(defs, root) === standardSignatures.get(short) ? layout : undefined;
}

/** The fields before an image's `data`, and where `data` lies in the payload. */
export type ImageHead = {
  header: Header;
  /** Payload offset and length of the `data` bytes. */
  dataOffset: number;
  dataLength: number;
} & ({ layout: "image"; height: number; width: number; encoding: string; isBigEndian: boolean; step: number } | { layout: "compressed_image"; format: string });

/** Reads a CDR string, or undefined when it runs past `reader`'s bytes (the reader itself would read past its view). */
function boundedString(reader: CdrReader): string | undefined {
  const length = reader.uint32();
  if (reader.offset + length > reader.byteLength) return undefined;
  return reader.string(length);
}

/**
 * Decodes an image message's fields up to its data array's length from `head`
 * (the payload's first bytes). Undefined when `head` ends first or the
 * encapsulation is not plain CDR (XCDR1, either byte order): the caller then
 * decodes the whole message, which also gives the exact error a malformed one has.
 */
export function decodeImageHead(layout: ImageLayout, head: Uint8Array): ImageHead | undefined {
  // The representation identifier's first byte is 0 for every plain CDR kind.
  if (head.byteLength < 4 || head[0] !== 0) return undefined;
  const reader = new CdrReader(head);
  if (reader.kind !== EncapsulationKind.CDR_LE && reader.kind !== EncapsulationKind.CDR_BE) return undefined;
  try {
    const sec = reader.int32();
    const nanosec = reader.uint32();
    const frameId = boundedString(reader);
    if (frameId === undefined) return undefined;
    const header: Header = { stamp: sec + nanosec / 1e9, sec, nanosec, frame_id: frameId };
    if (layout === "image") {
      const height = reader.uint32();
      const width = reader.uint32();
      const encoding = boundedString(reader);
      if (encoding === undefined) return undefined;
      const isBigEndian = reader.uint8() !== 0;
      const step = reader.uint32();
      const dataLength = reader.sequenceLength();
      return { layout, header, height, width, encoding, isBigEndian, step, dataOffset: reader.offset, dataLength };
    }
    const format = boundedString(reader);
    if (format === undefined) return undefined;
    const dataLength = reader.sequenceLength();
    return { layout, header, format, dataOffset: reader.offset, dataLength };
  } catch (err) {
    // DataView reads past the head's end: the head is too short, not the message malformed.
    if (err instanceof RangeError) return undefined;
    throw err;
  }
}

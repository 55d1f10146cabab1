// sensor_msgs/Image and CompressedImage -> 8-bit, 3-channel pixels in the channel
// order the model wants.
//
// Raw messages are validated and described as a StridedImage view of the message's
// own bytes (see resample.ts), so the preprocessing hot path reads them in place and
// synchronously; decodeRawImage packs that view for callers that want an image.
// Compressed messages are decoded by sharp. As in ROS (cv_bridge and
// compressed_image_transport write correctly coloured files whatever the raw
// encoding was), the decoded file is RGB; the "bgr8; jpeg compressed bgr8" prefix
// only says what the publisher had, not the byte order inside the JPEG.
import sharp, { type OutputInfo } from "sharp";
import type { CompressedImageMessage, ImageMessage, RawImageMessage } from "../msgs/image.js";
import { ImageError } from "../msgs/image-error.js";
import { checkRawImage, COLOUR_ENCODINGS, imageEncoding } from "../msgs/raw-image.js";
import type { ChannelOrder } from "./manifest.js";
import { packedView, type StridedImage } from "./resample.js";

/** Packed HWC, 3 channels, 8 bits, no row padding. */
export interface PackedImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Largest width or height accepted, far above any camera, well below memory trouble. */
export const MAX_IMAGE_SIDE = 16384;

function checkSide(field: "width" | "height", v: number, source: string): void {
  if (!Number.isInteger(v) || v <= 0 || v > MAX_IMAGE_SIDE) {
    throw new ImageError(field, `${v} is not an integer in [1, ${MAX_IMAGE_SIDE}]${source}`);
  }
}

function ordered(rgb: readonly [number, number, number], order: ChannelOrder): [number, number, number] {
  return order === "rgb" ? [rgb[0], rgb[1], rgb[2]] : [rgb[2], rgb[1], rgb[0]];
}

/**
 * Validates a raw message and returns a view of its bytes whose channels 0..2 are in
 * `order`. No pixel is copied; the view is only valid while img.data is unchanged.
 */
export function rawImageView(img: RawImageMessage, order: ChannelOrder): StridedImage {
  const enc = imageEncoding(img.encoding);
  if (enc?.rgb === undefined) {
    throw new ImageError("encoding", `${JSON.stringify(img.encoding)} is not supported; expected one of ${COLOUR_ENCODINGS.join(", ")}`);
  }
  checkSide("width", img.width, "");
  checkSide("height", img.height, "");
  checkRawImage(img, img.data.length);
  return {
    data: img.data,
    width: img.width,
    height: img.height,
    offset: 0,
    xStride: enc.bytesPerPixel,
    yStride: img.step,
    channels: ordered(enc.rgb(img.isBigEndian), order),
  };
}

/** Copies a view into packed HWC bytes. */
export function packView(v: StridedImage): PackedImage {
  const out = new Uint8Array(v.width * v.height * 3);
  const [c0, c1, c2] = v.channels;
  let o = 0;
  for (let y = 0; y < v.height; y++) {
    let p = v.offset + y * v.yStride;
    for (let x = 0; x < v.width; x++) {
      out[o++] = v.data[p + c0]!;
      out[o++] = v.data[p + c1]!;
      out[o++] = v.data[p + c2]!;
      p += v.xStride;
    }
  }
  return { width: v.width, height: v.height, data: out };
}

/** A raw message as packed pixels in `order`, synchronously. */
export function decodeRawImage(img: RawImageMessage, order: ChannelOrder): PackedImage {
  return packView(rawImageView(img, order));
}

const JPEG_MAGIC = [0xff, 0xd8, 0xff];
const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * What can be known about a message without decoding pixels: raw fields fully
 * checked, compressed ones by format and magic bytes. Synchronous, so a caller that
 * must not spend an event (a captured key press) on a broken frame can skip it.
 */
export function imageProblem(img: ImageMessage): ImageError | null {
  try {
    if (img.kind === "raw") {
      rawImageView(img, "rgb");
      return null;
    }
    const kind = compressedKind(img.format);
    if (!kind) return new ImageError("format", `${JSON.stringify(img.format)} is not a supported compressed format; expected jpeg or png`);
    // The file's own magic decides, as in decodeCompressedRgb: a PNG labelled
    // "jpeg" decodes there, so it must pass here.
    if (!contentKind(img.data)) return new ImageError("data", `the ${img.data.length} bytes do not start like a ${kind} file`);
    return null;
  } catch (e) {
    if (e instanceof ImageError) return e;
    throw e;
  }
}

/**
 * "jpeg" or "png" by the bytes' own magic, or null. Publishers label PNGs "jpeg"
 * (and the reverse); the content is what gets decoded.
 */
function contentKind(data: Uint8Array): "jpeg" | "png" | null {
  const startsLike = (magic: readonly number[]) => data.length >= magic.length && magic.every((b, i) => data[i] === b);
  if (startsLike(JPEG_MAGIC)) return "jpeg";
  if (startsLike(PNG_MAGIC)) return "png";
  return null;
}

/** "jpeg" or "png" from a CompressedImage format string, or null. */
export function compressedKind(format: string): "jpeg" | "png" | null {
  const f = format.toLowerCase();
  // compressedDepth wraps a PNG in a private header and holds depth, not colour.
  if (f.includes("compresseddepth")) return null;
  if (f.includes("jpeg") || f.includes("jpg")) return "jpeg";
  if (f.includes("png")) return "png";
  return null;
}

/**
 * Decodes a compressed message to packed RGB (sharp's order; grey is expanded and
 * alpha dropped). Throws ImageError on an unsupported format or undecodable bytes.
 */
export async function decodeCompressedRgb(img: CompressedImageMessage): Promise<PackedImage> {
  const kind = compressedKind(img.format);
  if (!kind) {
    throw new ImageError(
      "format",
      `${JSON.stringify(img.format)} is not supported; expected a format naming jpeg, jpg or png (e.g. "jpeg", "bgr8; jpeg compressed bgr8")`,
    );
  }
  if (img.data.length === 0) throw new ImageError("data", `0 bytes; expected a ${kind} file`);
  // The same acceptance as imageProblem, which the episode capture checks frames
  // with: eval and bag2episodes take exactly the same compressed frames.
  if (!contentKind(img.data)) {
    throw new ImageError(
      "data",
      `cannot decode ${img.data.length} bytes as ${kind} (format ${JSON.stringify(img.format)}): they start like neither a jpeg nor a png file`,
    );
  }
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    // toColourspace("srgb") turns grey into 3 channels and 16-bit PNGs into 8 bits.
    decoded = await sharp(img.data, { failOn: "error" }).removeAlpha().toColourspace("srgb").raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new ImageError("data", `cannot decode ${img.data.length} bytes as ${kind} (format ${JSON.stringify(img.format)}): ${(e as Error).message}`);
  }
  const { width, height, channels } = decoded.info;
  checkSide("width", width, ` (decoded ${kind})`);
  checkSide("height", height, ` (decoded ${kind})`);
  if (channels !== 3 || decoded.data.length < width * height * 3) {
    throw new ImageError("data", `decoded ${kind} has ${channels} channels and ${decoded.data.length} bytes; expected 3 channels of ${width}x${height}`);
  }
  return { width, height, data: new Uint8Array(decoded.data.buffer, decoded.data.byteOffset, width * height * 3) };
}

/** Any camera message as packed pixels in `order`. */
export async function decodeImage(img: ImageMessage, order: ChannelOrder): Promise<PackedImage> {
  if (img.kind === "raw") return decodeRawImage(img, order);
  const rgb = await decodeCompressedRgb(img);
  return order === "rgb" ? rgb : packView(packedView(rgb, true));
}

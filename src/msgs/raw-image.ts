// sensor_msgs/Image encodings and the one check that a raw image's fields fit its
// bytes. Every path a raw frame takes (a live subscription, a bag, the policy's
// decoder) validates with checkRawImage, so a malformed frame fails the same way,
// with the same text, wherever it comes from.
import { ImageError } from "./image-error.js";

export interface ImageEncoding {
  bytesPerPixel: number;
  /**
   * Byte offsets of R, G and B inside a pixel (all equal for grey); absent for
   * encodings whose size is known but whose pixels are not colour (depth, generic
   * OpenCV types), which a message may carry but the policy cannot use.
   */
  rgb?: (bigEndian: boolean) => readonly [number, number, number];
}

const ENCODINGS: Readonly<Record<string, ImageEncoding>> = {
  rgb8: { bytesPerPixel: 3, rgb: () => [0, 1, 2] },
  bgr8: { bytesPerPixel: 3, rgb: () => [2, 1, 0] },
  rgba8: { bytesPerPixel: 4, rgb: () => [0, 1, 2] },
  bgra8: { bytesPerPixel: 4, rgb: () => [2, 1, 0] },
  mono8: { bytesPerPixel: 1, rgb: () => [0, 0, 0] },
  // 16 -> 8 bits keeps the high byte (value >> 8), the usual truncating conversion;
  // which byte that is depends on is_bigendian.
  mono16: { bytesPerPixel: 2, rgb: (be) => (be ? [0, 0, 0] : [1, 1, 1]) },
  "8UC1": { bytesPerPixel: 1 },
  "8UC3": { bytesPerPixel: 3 },
  "8UC4": { bytesPerPixel: 4 },
  "16UC1": { bytesPerPixel: 2 },
};

/** What is known about an encoding, or undefined for one this package does not know. */
export function imageEncoding(encoding: string): ImageEncoding | undefined {
  // hasOwn: "toString" and friends are not encodings.
  return Object.hasOwn(ENCODINGS, encoding) ? ENCODINGS[encoding] : undefined;
}

/** Encodings whose pixels convert to RGB, i.e. that the policy can take. */
export const COLOUR_ENCODINGS: readonly string[] = Object.keys(ENCODINGS).filter((e) => ENCODINGS[e]!.rgb !== undefined);

/** The fields of a sensor_msgs/Image that say how its bytes are laid out. */
export interface RawImageLayout {
  width: number;
  height: number;
  step: number;
  encoding: string;
}

function checkCount(field: "width" | "height" | "step", v: number): void {
  if (!Number.isInteger(v) || v < 0) {
    throw new ImageError(field, `${v} is not a whole number${field === "step" ? " of bytes" : ""} >= 0`);
  }
}

/**
 * Throws ImageError unless the fields describe `dataBytes` bytes: whole sizes, a
 * row (step) at least width pixels long for an encoding whose pixel size is
 * known, and data for every row. An unknown encoding or a 0x0 image is a valid
 * message; whether the policy can use it is decided where it is decoded.
 */
export function checkRawImage(img: RawImageLayout, dataBytes: number): void {
  checkCount("width", img.width);
  checkCount("height", img.height);
  checkCount("step", img.step);
  const bpp = imageEncoding(img.encoding)?.bytesPerPixel;
  if (bpp !== undefined && img.step < img.width * bpp) {
    throw new ImageError("step", `${img.step} is less than width*channels = ${img.width * bpp} for ${img.encoding}`);
  }
  const need = img.step * img.height;
  if (dataBytes < need) {
    throw new ImageError("data", `${dataBytes} bytes is shorter than step*height = ${img.step}*${img.height} = ${need}`);
  }
}

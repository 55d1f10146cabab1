// Camera messages as the policy sees them: the fields of sensor_msgs/Image and
// sensor_msgs/CompressedImage, independent of where they came from (a live
// subscription, a bag, an HDF5 episode or a generator).

export interface RawImageMessage {
  kind: "raw";
  width: number;
  height: number;
  /** sensor_msgs/Image encoding: rgb8, bgr8, rgba8, bgra8, mono8, mono16. */
  encoding: string;
  /** Bytes per row, including any row padding. */
  step: number;
  isBigEndian: boolean;
  data: Uint8Array;
}

export interface CompressedImageMessage {
  kind: "compressed";
  /** sensor_msgs/CompressedImage format, e.g. "jpeg", "png", "bgr8; jpeg compressed bgr8". */
  format: string;
  data: Uint8Array;
}

export type ImageMessage = RawImageMessage | CompressedImageMessage;

/** A camera message as it arrives: the image, and the camera's capture time when it gave one. */
export interface CameraFrame {
  image: ImageMessage;
  /**
   * The camera's own capture time (header.stamp, seconds) when it set one, on the
   * camera's clock, which may be offset from the pipeline's: only differences
   * between these are used (to choose frames, control/frame-grid.ts).
   */
  captureStamp?: number;
}

/** A camera frame with the time (seconds) it was taken, on whichever clock drives the pipeline. */
export interface StampedImage extends CameraFrame {
  stamp: number;
}

/** A header stamp as a capture time: an unset (zero) or non-finite stamp is none. */
export function captureTime(headerStampS: number): number | undefined {
  return Number.isFinite(headerStampS) && headerStampS > 0 ? headerStampS : undefined;
}

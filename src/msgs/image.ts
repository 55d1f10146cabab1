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

/** A camera message with the time (seconds) it was taken, on whichever clock drives the pipeline. */
export interface StampedImage {
  stamp: number;
  image: ImageMessage;
}

// rclnodejs message objects <-> this package's types. rclnodejs hands messages
// over as plain JS objects (numeric arrays as typed arrays by default) and takes
// plain objects to publish; they are read by the same code as a bag's decoded
// messages (msgs/decoded.ts), so a malformed camera message fails the same way
// live and in a replay.
import type { Action3 } from "../episodes/episode-writer.js";
import type { Command } from "../control/command.js";
import { captureTime, type CameraFrame, type RawImageMessage } from "../msgs/image.js";
import { toDecodedMessage } from "../msgs/decoded.js";
import { BOOL_TYPE, COMPRESSED_IMAGE_TYPE, IMAGE_TYPE, STRING_TYPE, TWIST_STAMPED_TYPE, TWIST_TYPE } from "../msgs/type-names.js";
import type { RosTime } from "./rclnodejs-api.js";

/** builtin_interfaces/msg/Time with plain numbers: rclnodejs' native layer aborts on a BigInt in a message field. */
export interface TimeMsg {
  sec: number;
  nanosec: number;
}

export interface HeaderMsg {
  stamp: TimeMsg;
  frame_id: string;
}

export interface Vector3Msg {
  x: number;
  y: number;
  z: number;
}

export interface TwistObj {
  linear: Vector3Msg;
  angular: Vector3Msg;
}

export interface TwistStampedObj {
  header: HeaderMsg;
  twist: TwistObj;
}

/** Seconds from an rclnodejs Time, whichever representation its version uses. */
export function timeToSeconds(t: RosTime): number {
  const ns = t.nanoseconds;
  if (typeof ns === "number") return ns / 1e9;
  const big = typeof ns === "bigint" ? ns : BigInt(ns);
  // Split before converting: a Number of ~1.7e18 ns keeps only ~256 ns, but seconds + remainder keep more.
  const sec = big / 1_000_000_000n;
  const rem = big % 1_000_000_000n;
  return Number(sec) + Number(rem) / 1e9;
}

/** A stamp for a message header from clock seconds, as numbers (never BigInt). */
export function stampFromSeconds(t: number): TimeMsg {
  if (!Number.isFinite(t) || t < 0) throw new RangeError(`stamp: expected finite seconds >= 0, got ${t}`);
  let sec = Math.floor(t);
  let nanosec = Math.round((t - sec) * 1e9);
  if (nanosec >= 1_000_000_000) {
    sec += 1;
    nanosec -= 1_000_000_000;
  }
  return { sec, nanosec };
}

/** sensor_msgs/msg/Image as rclnodejs delivers it -> RawImageMessage (throws on a malformed one). */
export function imageFromRos(msg: unknown): RawImageMessage {
  const d = toDecodedMessage(IMAGE_TYPE, msg);
  if (d.kind !== "image") throw new Error(`${IMAGE_TYPE}: not an image`);
  return d.image;
}

/** A camera message (Image, or CompressedImage when `compressed`) -> its image and capture time (throws on a malformed one). */
export function cameraFrameFromRos(msg: unknown, compressed: boolean): CameraFrame {
  const d = toDecodedMessage(compressed ? COMPRESSED_IMAGE_TYPE : IMAGE_TYPE, msg);
  if (d.kind !== "image" && d.kind !== "compressed_image") throw new Error(`${compressed ? COMPRESSED_IMAGE_TYPE : IMAGE_TYPE}: not an image`);
  return { image: d.image, captureStamp: captureTime(d.header.stamp) };
}

/** std_msgs/msg/String payload (throws on a malformed message). */
export function stringFromRos(msg: unknown): string {
  const d = toDecodedMessage(STRING_TYPE, msg);
  if (d.kind !== "string") throw new Error(`${STRING_TYPE}: not a string`);
  return d.data;
}

/** std_msgs/msg/Bool payload (throws on a malformed message). */
export function boolFromRos(msg: unknown): boolean {
  const d = toDecodedMessage(BOOL_TYPE, msg);
  if (d.kind !== "bool") throw new Error(`${BOOL_TYPE}: not a bool`);
  return d.data;
}

/** geometry_msgs Twist or TwistStamped -> [linear.x, linear.y, angular.z] (the episode action). */
export function twistActionFromRos(msg: unknown): Action3 {
  const stamped = typeof msg === "object" && msg !== null && "twist" in msg && "header" in msg;
  const d = toDecodedMessage(stamped ? TWIST_STAMPED_TYPE : TWIST_TYPE, msg);
  if (d.kind !== "twist") throw new Error(`${TWIST_TYPE}: not a twist`);
  return [d.linear.x, d.linear.y, d.angular.z];
}

export function twistMsg(x: number, y: number, z: number): TwistObj {
  // `+ 0` turns -0 into 0 so a zero command prints as 0 in ros2 topic echo.
  return { linear: { x: x + 0, y: y + 0, z: 0 }, angular: { x: 0, y: 0, z: z + 0 } };
}

/** The pipeline's command as a Twist. */
export function commandToTwist(cmd: Command): TwistObj {
  return twistMsg(cmd.linear_x, cmd.linear_y, cmd.angular_z);
}

/** The pipeline's command as a TwistStamped, stamped with `stampS` (the node clock's seconds). */
export function commandToTwistStamped(cmd: Command, stampS: number, frameId: string): TwistStampedObj {
  return { header: { stamp: stampFromSeconds(stampS), frame_id: frameId }, twist: commandToTwist(cmd) };
}

// A synthetic rosbag2 (MCAP) recording of a Mobile-VLA style teleop session,
// for demos, tests and the evaluation benchmark where no robot bag exists.
//
// The world: a holonomic base (no rotation) on a tiled floor facing a wall,
// with two objects ahead, a gray basket on the left and a blue box on the
// right. A forward-looking pinhole camera renders them, so the instructed
// object's image position and size follow the base's motion. The teleop
// drives the way the Mobile-VLA collection teleop does: every action period
// (0.4 s) it issues one of the 8 directions or stop, each component 1.15 or
// 0, heading for a stand-off point in front of the target; once there it
// stops, waits, and the base is put back at a new start (a new episode).
// Everything is a function of the options (seeded PRNG, no clocks), so the
// same options give the same bytes.

import sharp from "sharp";
import { RosbagMcapWriter, type WriterTopic, type WrittenBag } from "../src/bags/mcap-writer.js";
import { TELEOP_HOLD_S, TELEOP_SPEED } from "../src/mobile-vla/teleop.js";
import { BAG_TOPICS } from "../src/mobile-vla/topics.js";
import { mulberry32 } from "../src/util/prng.js";
import { secondsToNs } from "../src/util/time.js";

export type TargetSide = "left" | "right";

export interface SampleBagOptions {
  /** Recording length in seconds (default 120, the evaluation benchmark's length). */
  durationS?: number;
  width?: number;
  height?: number;
  /** Camera rate in Hz (default 30). */
  rateHz?: number;
  /** Raw image encoding (default bgr8). */
  encoding?: "bgr8" | "rgb8";
  /** Raw Image on /camera/image_raw, JPEG CompressedImage on /camera/image_raw/compressed, or both (default raw). */
  images?: "raw" | "compressed" | "both";
  jpegQuality?: number;
  /** First instruction, published at the start (default: the left basket task). */
  instruction?: string;
  /** The object the instruction refers to (default left). */
  target?: TargetSide;
  /** A new instruction (and target) mid-bag. */
  instructionChange?: { atS: number; instruction: string; target: TargetSide };
  /** No camera frames in [startS, startS + durationS). */
  cameraGap?: { startS: number; durationS: number };
  /** Bag start time, seconds since the epoch (default 1_700_000_000). */
  startTimeS?: number;
  /** Seeds the start poses of the episodes. */
  seed?: number;
  /** Split into files of this many seconds (`<name>_0.mcap`, `<name>_1.mcap`, ...). */
  splitEveryS?: number;
  /** File base name (default: the directory's name). */
  name?: string;
  frameId?: string;
  /** Publish geometry_msgs/TwistStamped instead of Twist on /cmd_vel. */
  stampedCmdVel?: boolean;
  /** Header stamp to log time delay of camera frames, seconds (default 0.02). */
  cameraLatencyS?: number;
}

export const DEFAULT_INSTRUCTION = "Navigate to the gray basket on the left";
/** The topics a Mobile-VLA recording has, by the names eval and bag2episodes look for. */
export const SAMPLE_TOPICS = {
  image: BAG_TOPICS.image,
  compressed: BAG_TOPICS.compressedImage,
  instruction: BAG_TOPICS.instruction,
  cmdVel: BAG_TOPICS.cmdVel,
} as const;

/** The teleop issues one command per hold period, as the collector's keys did. */
const ACTION_PERIOD_S = TELEOP_HOLD_S;
/** Metres per second of base motion per unit of commanded velocity. */
export const METERS_PER_UNIT = 0.2;
const STANDOFF_M = 0.8;
const TOLERANCE_M = 0.1;
const DWELL_S = 2;

const CAMERA_HEIGHT_M = 0.25;
const HFOV_RAD = (70 * Math.PI) / 180;
const WALL_X_M = 5;
const TILE_M = 0.5;

interface SceneObject {
  x: number;
  y: number;
  width: number;
  height: number;
  rgb: [number, number, number];
  /** Darker horizontal bands, for a woven-basket look. */
  banded: boolean;
}

export const SCENE_OBJECTS: Record<TargetSide, SceneObject> = {
  left: { x: 3.2, y: 0.9, width: 0.45, height: 0.35, rgb: [128, 128, 128], banded: true },
  right: { x: 3.2, y: -0.9, width: 0.4, height: 0.4, rgb: [40, 80, 200], banded: false },
};

export interface Pose {
  /** Forward, metres. */
  x: number;
  /** Left, metres. */
  y: number;
}

/** Where an object lands in the image: its box in pixels, or undefined when it is behind the camera. */
export function projectObject(
  pose: Pose,
  obj: SceneObject,
  width: number,
  height: number,
): { left: number; right: number; top: number; bottom: number } | undefined {
  const dx = obj.x - pose.x;
  if (dx < 0.15) return undefined;
  const f = width / 2 / Math.tan(HFOV_RAD / 2);
  const cx = width / 2;
  const cy = height / 2;
  const u = cx - (f * (obj.y - pose.y)) / dx;
  const half = (f * obj.width) / 2 / dx;
  return {
    left: u - half,
    right: u + half,
    top: cy - (f * (obj.height - CAMERA_HEIGHT_M)) / dx,
    bottom: cy + (f * CAMERA_HEIGHT_M) / dx,
  };
}

/**
 * Renders the camera view from a pose into `out` (width x height x 3, rows
 * unpadded), channels in the given order.
 */
export function renderScene(pose: Pose, width: number, height: number, order: "rgb" | "bgr", out = new Uint8Array(width * height * 3)): Uint8Array {
  const f = width / 2 / Math.tan(HFOV_RAD / 2);
  const cx = width / 2;
  const cy = height / 2;
  const [r, b] = order === "rgb" ? [0, 2] : [2, 0];
  const wallDist = Math.max(0.2, WALL_X_M - pose.x);
  const wallBottom = cy + (f * CAMERA_HEIGHT_M) / wallDist;
  for (let v = 0; v < height; v++) {
    const row = v * width * 3;
    if (v + 0.5 < wallBottom) {
      // Wall: a soft vertical gradient, with 1 m panels that slide as the base moves sideways.
      const shade = 200 - Math.round((28 * v) / height);
      for (let u = 0; u < width; u++) {
        const lateral = pose.y - ((u + 0.5 - cx) * wallDist) / f;
        const panel = Math.floor(lateral) & 1;
        const i = row + u * 3;
        out[i + r] = shade - panel * 10;
        out[i + 1] = shade - 6 - panel * 10;
        out[i + b] = shade - 20 - panel * 10;
      }
    } else {
      // Floor: ground-plane tiles, so forward and sideways motion both show.
      const depth = (f * CAMERA_HEIGHT_M) / (v + 0.5 - cy);
      const forwardTile = Math.floor((pose.x + depth) / TILE_M);
      const fade = Math.min(1, 1.2 / depth);
      for (let u = 0; u < width; u++) {
        const lateral = pose.y - ((u + 0.5 - cx) * depth) / f;
        const dark = (forwardTile + Math.floor(lateral / TILE_M)) & 1;
        const k = 0.82 + 0.18 * fade - dark * 0.08;
        const i = row + u * 3;
        out[i + r] = Math.round(150 * k);
        out[i + 1] = Math.round(118 * k);
        out[i + b] = Math.round(86 * k);
      }
    }
  }
  // Far objects first, so a nearer one covers it.
  const objects = Object.values(SCENE_OBJECTS).sort((a, c) => c.x - pose.x - (a.x - pose.x));
  for (const obj of objects) {
    const box = projectObject(pose, obj, width, height);
    if (box === undefined) continue;
    const u0 = Math.max(0, Math.round(box.left));
    const u1 = Math.min(width, Math.round(box.right));
    const v0 = Math.max(0, Math.round(box.top));
    const v1 = Math.min(height, Math.round(box.bottom));
    const bandH = Math.max(2, (box.bottom - box.top) / 7);
    for (let v = v0; v < v1; v++) {
      const band = obj.banded && Math.floor((v - box.top) / bandH) % 2 === 1;
      // The top face catches the light.
      const lit = v - box.top < (box.bottom - box.top) * 0.12 ? 1.18 : 1;
      const k = (band ? 0.72 : 1) * lit;
      for (let u = u0; u < u1; u++) {
        const i = (v * width + u) * 3;
        out[i + r] = Math.min(255, Math.round(obj.rgb[0] * k));
        out[i + 1] = Math.min(255, Math.round(obj.rgb[1] * k));
        out[i + b] = Math.min(255, Math.round(obj.rgb[2] * k));
      }
    }
  }
  return out;
}

/** The teleop's action toward the stand-off point in front of the target: each component 1.15, -1.15 or 0. */
export function teleopCommand(pose: Pose, target: TargetSide): { x: number; y: number } {
  const obj = SCENE_OBJECTS[target];
  const ex = obj.x - STANDOFF_M - pose.x;
  const ey = obj.y - pose.y;
  const axis = (e: number): number => (Math.abs(e) <= TOLERANCE_M ? 0 : Math.sign(e) * TELEOP_SPEED);
  return { x: axis(ex), y: axis(ey) };
}

const prng = mulberry32;

export interface SampleBagResult extends WrittenBag {
  frames: number;
  cmdVels: number;
  episodes: number;
}

interface TimedEvent {
  ns: bigint;
  /** Tie order at equal times: instruction, action, frame. */
  rank: number;
  kind: "instruction" | "action" | "frame";
  text?: string;
  target?: TargetSide;
}

/** Writes the sample bag into `outDir` (created) and returns what was written. */
export async function writeSampleBag(outDir: string, options: SampleBagOptions = {}): Promise<SampleBagResult> {
  const durationS = options.durationS ?? 120;
  const width = options.width ?? 640;
  const height = options.height ?? 480;
  const rateHz = options.rateHz ?? 30;
  const encoding = options.encoding ?? "bgr8";
  const images = options.images ?? "raw";
  const quality = options.jpegQuality ?? 80;
  const startNs = secondsToNs(options.startTimeS ?? 1_700_000_000);
  const latencyNs = secondsToNs(options.cameraLatencyS ?? 0.02);
  const frameId = options.frameId ?? "camera_optical_frame";
  const stamped = options.stampedCmdVel ?? false;
  if (!(durationS > 0) || !(rateHz > 0) || !(width > 0) || !(height > 0)) {
    throw new Error("writeSampleBag: durationS, rateHz, width and height must be positive");
  }

  const topics: WriterTopic[] = [];
  if (images !== "compressed") topics.push({ name: SAMPLE_TOPICS.image, type: "sensor_msgs/msg/Image", reliability: "best_effort" });
  if (images !== "raw") topics.push({ name: SAMPLE_TOPICS.compressed, type: "sensor_msgs/msg/CompressedImage", reliability: "best_effort" });
  topics.push({ name: SAMPLE_TOPICS.instruction, type: "std_msgs/msg/String" });
  topics.push({ name: SAMPLE_TOPICS.cmdVel, type: stamped ? "geometry_msgs/msg/TwistStamped" : "geometry_msgs/msg/Twist" });

  const writer = await RosbagMcapWriter.create(outDir, topics, {
    name: options.name,
    splitEveryNs: options.splitEveryS === undefined ? undefined : secondsToNs(options.splitEveryS),
    library: "mobile_vla_ros sample-bag",
  });

  // The schedule, as offsets from the start; each message's time is exact in ns.
  const endNs = secondsToNs(durationS);
  const events: TimedEvent[] = [{ ns: 0n, rank: 0, kind: "instruction", text: options.instruction ?? DEFAULT_INSTRUCTION, target: options.target ?? "left" }];
  const change = options.instructionChange;
  if (change !== undefined) {
    events.push({ ns: secondsToNs(change.atS), rank: 0, kind: "instruction", text: change.instruction, target: change.target });
  }
  // Actions 2 ms after the period boundary, so they never tie with a frame.
  for (let j = 0; ; j++) {
    const ns = secondsToNs(j * ACTION_PERIOD_S) + 2_000_000n;
    if (ns >= endNs) break;
    events.push({ ns, rank: 1, kind: "action" });
  }
  const gap = options.cameraGap;
  const gapStart = gap === undefined ? undefined : secondsToNs(gap.startS);
  const gapEnd = gap === undefined ? undefined : secondsToNs(gap.startS + gap.durationS);
  for (let k = 0; ; k++) {
    const ns = (BigInt(k) * 1_000_000_000_000n) / BigInt(Math.round(rateHz * 1000)) + latencyNs;
    if (ns >= endNs) break;
    const capture = ns - latencyNs;
    if (gapStart !== undefined && gapEnd !== undefined && capture >= gapStart && capture < gapEnd) continue;
    events.push({ ns, rank: 2, kind: "frame" });
  }
  events.sort((a, b) => (a.ns < b.ns ? -1 : a.ns > b.ns ? 1 : a.rank - b.rank));

  const random = prng(options.seed ?? 1);
  const newStart = (): Pose => ({ x: 0.6 * random(), y: -0.6 + 1.2 * random() });
  let pose: Pose = newStart();
  let target: TargetSide = options.target ?? "left";
  let cmd = { x: 0, y: 0 };
  let reachedAt: bigint | undefined;
  let lastNs = 0n;
  let frames = 0;
  let cmdVels = 0;
  let episodes = 1;
  const order = encoding === "rgb8" ? "rgb" : "bgr";
  const buf = new Uint8Array(width * height * 3);
  const rgb = images !== "raw" && order === "bgr" ? new Uint8Array(width * height * 3) : undefined;
  const toTime = (ns: bigint): { sec: number; nanosec: number } => ({
    sec: Number(ns / 1_000_000_000n),
    nanosec: Number(ns % 1_000_000_000n),
  });

  for (const ev of events) {
    // The base moves continuously under the last command.
    const dt = Number(ev.ns - lastNs) / 1e9;
    pose = { x: pose.x + cmd.x * METERS_PER_UNIT * dt, y: pose.y + cmd.y * METERS_PER_UNIT * dt };
    lastNs = ev.ns;
    const t = startNs + ev.ns;
    if (ev.kind === "instruction") {
      target = ev.target ?? target;
      reachedAt = undefined;
      await writer.write(SAMPLE_TOPICS.instruction, t, { data: ev.text ?? "" });
    } else if (ev.kind === "action") {
      const next = teleopCommand(pose, target);
      if (next.x === 0 && next.y === 0) {
        reachedAt ??= ev.ns;
        if (ev.ns - reachedAt >= secondsToNs(DWELL_S)) {
          pose = newStart();
          reachedAt = undefined;
          episodes++;
          cmd = teleopCommand(pose, target);
        } else {
          cmd = next;
        }
      } else {
        reachedAt = undefined;
        cmd = next;
      }
      const twist = { linear: { x: cmd.x, y: cmd.y, z: 0 }, angular: { x: 0, y: 0, z: 0 } };
      await writer.write(SAMPLE_TOPICS.cmdVel, t, stamped ? { header: { stamp: toTime(t), frame_id: "base_link" }, twist } : twist);
      cmdVels++;
    } else {
      const stamp = toTime(t - latencyNs);
      renderScene(pose, width, height, order, buf);
      if (images !== "compressed") {
        await writer.write(SAMPLE_TOPICS.image, t, {
          header: { stamp, frame_id: frameId },
          height,
          width,
          encoding,
          is_bigendian: 0,
          step: width * 3,
          data: buf,
        });
      }
      if (images !== "raw") {
        let src = buf;
        if (rgb !== undefined) {
          for (let i = 0; i < buf.length; i += 3) {
            rgb[i] = buf[i + 2]!;
            rgb[i + 1] = buf[i + 1]!;
            rgb[i + 2] = buf[i]!;
          }
          src = rgb;
        }
        const jpeg = await sharp(src, { raw: { width, height, channels: 3 } })
          .jpeg({ quality })
          .toBuffer();
        await writer.write(SAMPLE_TOPICS.compressed, t, {
          header: { stamp, frame_id: frameId },
          format: `${encoding}; jpeg compressed bgr8`,
          data: new Uint8Array(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength),
        });
      }
      frames++;
    }
  }
  const written = await writer.close();
  return { ...written, frames, cmdVels, episodes };
}

// rclnodejs message objects -> the package's image / command types and back.
import { test } from "node:test";
import assert from "node:assert/strict";
import sharp from "sharp";
import { decodeImage } from "../src/model/decode-image.js";
import type { Command } from "../src/control/command.js";
import {
  commandToTwist,
  commandToTwistStamped,
  cameraFrameFromRos,
  imageFromRos,
  stampFromSeconds,
  timeToSeconds,
  twistActionFromRos,
} from "../src/ros/msg-convert.js";

const W = 3;
const H = 2;
const PAD = 2;
/** The colour of pixel (x, y). */
const rgbAt = (x: number, y: number): [number, number, number] => [40 + x * 50, 10 + y * 100, 200 - x * 30 - y * 20];
const greyAt = (x: number, y: number): number => 17 + x * 60 + y * 30;

interface Layout {
  bpp: number;
  write(px: Uint8Array, o: number, x: number, y: number, bigEndian: boolean): void;
  /** The RGB the decoder must give back. */
  expect(x: number, y: number): [number, number, number];
}

const LAYOUTS: Record<string, Layout> = {
  rgb8: { bpp: 3, write: (d, o, x, y) => d.set(rgbAt(x, y), o), expect: rgbAt },
  bgr8: { bpp: 3, write: (d, o, x, y) => d.set([...rgbAt(x, y)].reverse(), o), expect: rgbAt },
  rgba8: { bpp: 4, write: (d, o, x, y) => d.set([...rgbAt(x, y), 255], o), expect: rgbAt },
  bgra8: { bpp: 4, write: (d, o, x, y) => d.set([...[...rgbAt(x, y)].reverse(), 255], o), expect: rgbAt },
  mono8: { bpp: 1, write: (d, o, x, y) => void (d[o] = greyAt(x, y)), expect: (x, y) => [greyAt(x, y), greyAt(x, y), greyAt(x, y)] },
  mono16: {
    bpp: 2,
    // High byte = the grey level, low byte noise: the decoder keeps the high byte.
    write: (d, o, x, y, be) => d.set(be ? [greyAt(x, y), 99] : [99, greyAt(x, y)], o),
    expect: (x, y) => [greyAt(x, y), greyAt(x, y), greyAt(x, y)],
  },
};

/** An Image as rclnodejs delivers it, rows padded by PAD bytes. */
function rosImage(encoding: string, bigEndian = false, asArray = false): Record<string, unknown> {
  const L = LAYOUTS[encoding]!;
  const step = W * L.bpp + PAD;
  const data = new Uint8Array(step * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) L.write(data, y * step + x * L.bpp, x, y, bigEndian);
  return {
    header: { stamp: { sec: 12, nanosec: 500 }, frame_id: "camera" },
    height: H,
    width: W,
    encoding,
    is_bigendian: bigEndian ? 1 : 0,
    step,
    data: asArray ? Array.from(data) : data,
  };
}

for (const encoding of Object.keys(LAYOUTS)) {
  for (const bigEndian of encoding === "mono16" ? [false, true] : [false]) {
    test(`Image ${encoding}${bigEndian ? " big-endian" : ""} with padded rows -> the right pixels`, async () => {
      const img = imageFromRos(rosImage(encoding, bigEndian));
      assert.equal(img.kind, "raw");
      assert.equal(img.encoding, encoding);
      assert.equal(img.isBigEndian, bigEndian);
      assert.equal(img.step, W * LAYOUTS[encoding]!.bpp + PAD);
      const rgb = await decodeImage(img, "rgb");
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++) {
          const o = (y * W + x) * 3;
          assert.deepEqual([rgb.data[o], rgb.data[o + 1], rgb.data[o + 2]], LAYOUTS[encoding]!.expect(x, y), `${encoding} pixel (${x}, ${y})`);
        }
    });
  }
}

test("Image data as a plain number array (enableTypedArray: false) is accepted", async () => {
  const img = imageFromRos(rosImage("bgr8", false, true));
  assert.ok(img.data instanceof Uint8Array, "bytes become a Uint8Array");
  const rgb = await decodeImage(img, "rgb");
  assert.deepEqual([rgb.data[0], rgb.data[1], rgb.data[2]], rgbAt(0, 0));
});

test("malformed Image messages are refused with the field named", () => {
  // The same validator, and text, as a bag's frames and the policy's decoder (msgs/raw-image.ts).
  assert.throws(
    () => imageFromRos({ ...rosImage("rgb8"), data: new Uint8Array(5) }),
    /^ImageError: image\.data: 5 bytes is shorter than step\*height = 11\*2 = 22$/,
  );
  assert.throws(() => imageFromRos({ ...rosImage("rgb8"), step: 4 }), /^ImageError: image\.step: 4 is less than width\*channels = 9 for rgb8$/);
  assert.throws(() => imageFromRos({ ...rosImage("rgb8"), header: undefined }), /header/);
  assert.throws(() => imageFromRos(null), /not a message/);
});

test("CompressedImage jpeg and png -> decodable images in either channel order", async () => {
  const raw = Buffer.alloc(8 * 8 * 3);
  for (let i = 0; i < 64; i++) raw.set([200, 40, 90], i * 3);
  const png = await sharp(raw, { raw: { width: 8, height: 8, channels: 3 } })
    .png()
    .toBuffer();
  const jpeg = await sharp(raw, { raw: { width: 8, height: 8, channels: 3 } })
    .jpeg({ quality: 95 })
    .toBuffer();
  for (const [format, bytes, tol] of [
    ["png", png, 0],
    ["bgr8; jpeg compressed bgr8", jpeg, 6],
  ] as const) {
    const { image: img, captureStamp } = cameraFrameFromRos(
      { header: { stamp: { sec: 1, nanosec: 5e8 }, frame_id: "" }, format, data: new Uint8Array(bytes) },
      true,
    );
    assert.equal(img.kind, "compressed");
    assert.equal(captureStamp, 1.5, "the header stamp is the capture time");
    assert.equal(img.format, format);
    const rgb = await decodeImage(img, "rgb");
    const bgr = await decodeImage(img, "bgr");
    assert.equal(rgb.width, 8);
    assert.ok(Math.abs(rgb.data[0]! - 200) <= tol && Math.abs(rgb.data[2]! - 90) <= tol, `${format}: rgb ${rgb.data.slice(0, 3).join(",")}`);
    assert.ok(Math.abs(bgr.data[0]! - 90) <= tol && Math.abs(bgr.data[2]! - 200) <= tol, `${format}: bgr ${bgr.data.slice(0, 3).join(",")}`);
  }
  assert.throws(() => cameraFrameFromRos({ header: { stamp: { sec: 1, nanosec: 0 }, frame_id: "" }, data: new Uint8Array(3) }, true), /format/);
});

test("a camera frame's capture time: the header stamp, none when the camera left it unset", () => {
  const raw = (sec: number, nanosec: number) => ({
    header: { stamp: { sec, nanosec }, frame_id: "cam" },
    height: 1,
    width: 1,
    encoding: "bgr8",
    is_bigendian: 0,
    step: 3,
    data: new Uint8Array(3),
  });
  assert.equal(cameraFrameFromRos(raw(1700000000, 250000000), false).captureStamp, 1700000000.25);
  assert.equal(cameraFrameFromRos(raw(0, 0), false).captureStamp, undefined);
  assert.equal(cameraFrameFromRos(raw(0, 0), false).image.kind, "raw");
});

test("rclnodejs Time -> seconds for BigInt (1.x), number and decimal-string (0.x) nanoseconds", () => {
  const ns = 1_764_764_710_123_456_789n;
  assert.equal(timeToSeconds({ nanoseconds: ns }), 1_764_764_710.1234567);
  assert.equal(timeToSeconds({ nanoseconds: ns.toString() }), 1_764_764_710.1234567);
  assert.equal(timeToSeconds({ nanoseconds: 1_500_000_000 }), 1.5);
  assert.equal(timeToSeconds({ nanoseconds: 0n }), 0);
});

test("stamps for headers are plain integers with nanosec < 1e9", () => {
  assert.deepEqual(stampFromSeconds(1000.05), { sec: 1000, nanosec: 50_000_000 });
  assert.deepEqual(stampFromSeconds(0), { sec: 0, nanosec: 0 });
  assert.deepEqual(stampFromSeconds(41.9999999999), { sec: 42, nanosec: 0 });
  for (const t of [1_764_764_710.123456, 3.7, 12]) {
    const s = stampFromSeconds(t);
    assert.equal(typeof s.sec, "number");
    assert.ok(Number.isInteger(s.sec) && Number.isInteger(s.nanosec) && s.nanosec >= 0 && s.nanosec < 1e9, `valid stamp for ${t}: ${JSON.stringify(s)}`);
    assert.ok(Math.abs(s.sec + s.nanosec / 1e9 - t) < 1e-6, `round trip ${t}`);
  }
  assert.throws(() => stampFromSeconds(-1), /stamp/);
  assert.throws(() => stampFromSeconds(NaN), /stamp/);
});

test("commands -> Twist / TwistStamped; Twist / TwistStamped -> episode actions", () => {
  const cmd: Command = { t: 1000.25, linear_x: -0, linear_y: 0.7, angular_z: 0, reason: "ok", target_x: 0, target_y: 0.7, chunk_stamp: 999.9, step: 0 };
  const tw = commandToTwist(cmd);
  assert.deepEqual(tw, { linear: { x: 0, y: 0.7, z: 0 }, angular: { x: 0, y: 0, z: 0 } });
  assert.ok(!Object.is(tw.linear.x, -0), "no negative zero on the wire");
  const ts = commandToTwistStamped(cmd, cmd.t, "base_link");
  assert.deepEqual(ts.header, { stamp: { sec: 1000, nanosec: 250_000_000 }, frame_id: "base_link" });
  assert.deepEqual(ts.twist, tw);
  assert.deepEqual(twistActionFromRos({ linear: { x: 1.15, y: -1.15, z: 0 }, angular: { x: 0, y: 0, z: 0.5 } }), [1.15, -1.15, 0.5]);
  assert.deepEqual(twistActionFromRos(ts), [0, 0.7, 0]);
  assert.throws(() => twistActionFromRos({ linear: { x: "fast" } }), /not a number|missing/);
});

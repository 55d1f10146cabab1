import { test } from "node:test";
import assert from "node:assert/strict";
import sharp from "sharp";
import { decodeCompressedRgb, decodeImage, decodeRawImage, MAX_IMAGE_SIDE, rawImageView } from "../src/model/decode-image.js";
import { ImageError, type ImageField } from "../src/msgs/image-error.js";
import type { CompressedImageMessage, RawImageMessage } from "../src/msgs/image.js";

const PAD = 99;

function raw(encoding: string, width: number, height: number, step: number, bytes: number[], isBigEndian = false): RawImageMessage {
  return { kind: "raw", encoding, width, height, step, isBigEndian, data: Uint8Array.from(bytes) };
}

function compressed(format: string, data: Uint8Array): CompressedImageMessage {
  return { kind: "compressed", format, data };
}

function isImageError(field: ImageField, pattern: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof ImageError, `expected an ImageError, got ${String(e)}`);
    assert.equal(e.field, field);
    assert.match(e.message, new RegExp(`^image\\.${field}: `));
    assert.match(e.message, pattern);
    return true;
  };
}

// A 3x2 frame whose rows carry one padding byte (step 10 > 3 * 3).
const rgbBytes = [1, 2, 3, 4, 5, 6, 7, 8, 9, PAD, 10, 11, 12, 13, 14, 15, 16, 17, 18, PAD];
const straight = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18];
const swapped = [3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10, 15, 14, 13, 18, 17, 16];

test("rgb8 with row padding: kept as is for rgb, swapped for bgr", () => {
  const m = raw("rgb8", 3, 2, 10, rgbBytes);
  const rgb = decodeRawImage(m, "rgb");
  assert.equal(rgb.width, 3);
  assert.equal(rgb.height, 2);
  assert.deepEqual([...rgb.data], straight);
  assert.deepEqual([...decodeRawImage(m, "bgr").data], swapped);
});

test("bgr8 asked for as bgr keeps its byte order; as rgb it is swapped", () => {
  const m = raw("bgr8", 3, 2, 10, rgbBytes);
  assert.deepEqual([...decodeRawImage(m, "bgr").data], straight);
  assert.deepEqual([...decodeRawImage(m, "rgb").data], swapped);
});

test("rgba8 and bgra8 drop alpha and padding", () => {
  const bytes = [1, 2, 3, 200, 4, 5, 6, 201, PAD, 7, 8, 9, 202, 10, 11, 12, 203, PAD];
  const inOrder = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
  const reversed = [3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10];
  assert.deepEqual([...decodeRawImage(raw("rgba8", 2, 2, 9, bytes), "rgb").data], inOrder);
  assert.deepEqual([...decodeRawImage(raw("rgba8", 2, 2, 9, bytes), "bgr").data], reversed);
  assert.deepEqual([...decodeRawImage(raw("bgra8", 2, 2, 9, bytes), "rgb").data], reversed);
  assert.deepEqual([...decodeRawImage(raw("bgra8", 2, 2, 9, bytes), "bgr").data], inOrder);
});

test("mono8 is replicated into three equal channels in either order", () => {
  const m = raw("mono8", 3, 2, 4, [10, 20, 30, PAD, 40, 50, 60, PAD]);
  const expected = [10, 10, 10, 20, 20, 20, 30, 30, 30, 40, 40, 40, 50, 50, 50, 60, 60, 60];
  assert.deepEqual([...decodeRawImage(m, "rgb").data], expected);
  assert.deepEqual([...decodeRawImage(m, "bgr").data], expected);
});

test("mono16 keeps the high byte, honouring is_bigendian", () => {
  // Values 0x1234, 0xabcd / 0x00ff, 0xff00; high bytes 0x12, 0xab, 0x00, 0xff.
  const le = raw("mono16", 2, 2, 5, [0x34, 0x12, 0xcd, 0xab, PAD, 0xff, 0x00, 0x00, 0xff, PAD], false);
  const be = raw("mono16", 2, 2, 5, [0x12, 0x34, 0xab, 0xcd, PAD, 0x00, 0xff, 0xff, 0x00, PAD], true);
  const expected = [0x12, 0x12, 0x12, 0xab, 0xab, 0xab, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff];
  assert.deepEqual([...decodeRawImage(le, "rgb").data], expected);
  assert.deepEqual([...decodeRawImage(be, "bgr").data], expected);
});

test("the raw view reads the message bytes in place", () => {
  const m = raw("bgr8", 3, 2, 10, rgbBytes);
  const v = rawImageView(m, "rgb");
  assert.equal(v.data, m.data);
  assert.deepEqual(v.channels, [2, 1, 0]);
  assert.equal(v.yStride, 10);
});

test("decodeImage takes raw messages through the same path", async () => {
  const m = raw("rgb8", 3, 2, 10, rgbBytes);
  assert.deepEqual([...(await decodeImage(m, "bgr")).data], swapped);
});

test("unknown encodings are rejected, naming the supported ones", () => {
  assert.throws(
    () => decodeRawImage(raw("yuv422", 2, 2, 4, new Array(8).fill(0)), "rgb"),
    isImageError("encoding", /"yuv422" is not supported; expected one of rgb8, bgr8, rgba8, bgra8, mono8, mono16/),
  );
  assert.throws(() => decodeRawImage(raw("toString", 2, 2, 4, new Array(8).fill(0)), "rgb"), isImageError("encoding", /toString/));
});

test("width and height must be integers in [1, 16384]", () => {
  assert.throws(
    () => decodeRawImage(raw("mono8", 0, 2, 4, new Array(8).fill(0)), "rgb"),
    isImageError("width", /^image\.width: 0 is not an integer in \[1, 16384\]/),
  );
  assert.throws(() => decodeRawImage(raw("mono8", MAX_IMAGE_SIDE + 1, 1, MAX_IMAGE_SIDE + 1, []), "rgb"), isImageError("width", /16385/));
  assert.throws(() => decodeRawImage(raw("mono8", 2.5, 1, 4, [0, 0, 0, 0]), "rgb"), isImageError("width", /2\.5/));
  assert.throws(() => decodeRawImage(raw("mono8", 2, 0, 4, []), "rgb"), isImageError("height", /0 is not an integer/));
  assert.throws(() => decodeRawImage(raw("mono8", 2, MAX_IMAGE_SIDE + 1, 2, []), "rgb"), isImageError("height", /16385/));
});

test("a step shorter than a row is rejected with the expected row size", () => {
  const m: RawImageMessage = { kind: "raw", encoding: "rgb8", width: 640, height: 1, step: 1900, isBigEndian: false, data: new Uint8Array(1920) };
  assert.throws(
    () => decodeRawImage(m, "rgb"),
    (e: unknown) => {
      assert.ok(e instanceof ImageError);
      assert.equal(e.field, "step");
      assert.equal(e.message, "image.step: 1900 is less than width*channels = 1920 for rgb8");
      return true;
    },
  );
  assert.throws(() => decodeRawImage(raw("mono16", 2, 1, 3, [0, 0, 0]), "rgb"), isImageError("step", /3 is less than width\*channels = 4 for mono16/));
});

test("data shorter than step*height is rejected", () => {
  // The last row's padding is missing: 19 bytes where step*height is 20.
  assert.throws(
    () => decodeRawImage(raw("rgb8", 3, 2, 10, rgbBytes.slice(0, 19)), "rgb"),
    isImageError("data", /19 bytes is shorter than step\*height = 10\*2 = 20/),
  );
});

// ---- compressed ----

function testPixels(width: number, height: number, channels: number): Uint8Array {
  const d = new Uint8Array(width * height * channels);
  for (let i = 0; i < d.length; i++) d[i] = (i * 37 + 11) % 256;
  return d;
}

function swapRB(d: Uint8Array): number[] {
  const out = [...d];
  for (let i = 0; i < out.length; i += 3) [out[i], out[i + 2]] = [out[i + 2]!, out[i]!];
  return out;
}

test("png round trip is exact, RGB as decoded and swapped for bgr", async () => {
  const px = testPixels(5, 4, 3);
  const png = new Uint8Array(
    await sharp(px, { raw: { width: 5, height: 4, channels: 3 } })
      .png()
      .toBuffer(),
  );
  for (const format of ["png", "bgr8; png compressed bgr8", "PNG"]) {
    const rgb = await decodeImage(compressed(format, png), "rgb");
    assert.equal(rgb.width, 5);
    assert.equal(rgb.height, 4);
    assert.deepEqual([...rgb.data], [...px], format);
    assert.deepEqual([...(await decodeImage(compressed(format, png), "bgr")).data], swapRB(px), format);
  }
});

test("grey png becomes three equal channels; rgba png loses alpha", async () => {
  const grey = testPixels(3, 2, 1);
  const greyPng = new Uint8Array(
    await sharp(grey, { raw: { width: 3, height: 2, channels: 1 } })
      .png()
      .toBuffer(),
  );
  const g = await decodeImage(compressed("png", greyPng), "bgr");
  assert.deepEqual(
    [...g.data],
    [...grey].flatMap((v) => [v, v, v]),
  );

  const rgba = testPixels(3, 2, 4);
  for (let i = 3; i < rgba.length; i += 4) rgba[i] = 255; // opaque, so colours survive unpremultiplied
  const rgbaPng = new Uint8Array(
    await sharp(rgba, { raw: { width: 3, height: 2, channels: 4 } })
      .png()
      .toBuffer(),
  );
  const c = await decodeImage(compressed("png", rgbaPng), "rgb");
  assert.deepEqual(
    [...c.data],
    [...rgba].filter((_, i) => i % 4 !== 3),
  );
});

test("jpeg decodes to RGB within the codec's error, for ROS-style format strings", async () => {
  const w = 32;
  const h = 24;
  const px = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      px[(y * w + x) * 3] = 40 + x * 5;
      px[(y * w + x) * 3 + 1] = 60 + y * 4;
      px[(y * w + x) * 3 + 2] = 200 - x * 3;
    }
  }
  const jpeg = new Uint8Array(
    await sharp(px, { raw: { width: w, height: h, channels: 3 } })
      .jpeg({ quality: 95, chromaSubsampling: "4:4:4" })
      .toBuffer(),
  );
  for (const format of ["jpeg", "bgr8; jpeg compressed bgr8", "rgb8; jpeg compressed bgr8", "JPG"]) {
    const rgb = await decodeImage(compressed(format, jpeg), "rgb");
    const bgr = await decodeImage(compressed(format, jpeg), "bgr");
    assert.equal(rgb.width, w);
    assert.equal(rgb.height, h);
    let worst = 0;
    for (let i = 0; i < px.length; i++) worst = Math.max(worst, Math.abs(rgb.data[i]! - px[i]!));
    assert.ok(worst <= 6, `${format}: max |diff| ${worst} levels`);
    // Red ramps up with x and blue down, so a swap would be off by far more than 6.
    assert.deepEqual([...bgr.data], swapRB(rgb.data), format);
  }
});

test("unsupported compressed formats are rejected naming the format", async () => {
  const png = new Uint8Array(
    await sharp(testPixels(2, 2, 3), { raw: { width: 2, height: 2, channels: 3 } })
      .png()
      .toBuffer(),
  );
  await assert.rejects(
    decodeCompressedRgb(compressed("tiff", png)),
    isImageError("format", /"tiff" is not supported; expected a format naming jpeg, jpg or png/),
  );
  await assert.rejects(decodeImage(compressed("16UC1; compressedDepth png", png), "rgb"), isImageError("format", /compressedDepth/));
});

test("undecodable or empty compressed data is rejected naming data", async () => {
  await assert.rejects(
    decodeImage(compressed("jpeg", new TextEncoder().encode("not a jpeg at all")), "rgb"),
    isImageError("data", /cannot decode 17 bytes as jpeg/),
  );
  const jpeg = new Uint8Array(
    await sharp(testPixels(64, 64, 3), { raw: { width: 64, height: 64, channels: 3 } })
      .jpeg()
      .toBuffer(),
  );
  await assert.rejects(decodeImage(compressed("jpeg", jpeg.subarray(0, jpeg.length >> 1)), "rgb"), isImageError("data", /cannot decode/));
  await assert.rejects(decodeImage(compressed("png", new Uint8Array(0)), "rgb"), isImageError("data", /0 bytes; expected a png file/));
});

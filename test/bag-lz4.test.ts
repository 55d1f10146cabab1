import { FileWritable } from "../src/bags/mcap-writer.js";
import { lz4LiteralFrame } from "./fixtures/compressed-frames.js";
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { McapIndexedReader, McapWriter } from "@mcap/core";
import { lz4DecompressFrame } from "../src/bags/lz4.js";
import { openBag, type BagMessage } from "../src/bags/index.js";
import { FileReadable } from "../src/bags/mcap-file.js";
import { makeEncoder } from "../src/msgs/cdr.js";
import { fullDefinitionText } from "../src/msgs/definitions.js";

// Made with the reference lz4 CLI (1.9): a 74,668-byte text compressed with
// `lz4 -9 -B4 -BD -BX --content-size` (two linked 64 KiB blocks, block
// checksums, content size), followed by a second frame holding 200
// incompressible bytes (stored as an uncompressed block).
const REFERENCE = [
  "BCJNGFxArCMBAAAAAACorgMAAPIFc3RlcCAwMCB2eD0tMSB2eT0tMTsUABAxFAAQMBMABBIAEDISAAElABMwEgAfMzgAAB00OAAd",
  "NTgAHzY4AAAdNzgAHTg4AB45OAAsMTA4ACwxMTgALzEyOAAAHTM4AB00OAAfNTgAAB02OAAdNzgAHzg4AAAcOTgALDIwOAAuMjE4",
  "AC0yMjgAHTM4AB80OAAAHTU4AB02OAAfNzgAAB04OAAcOTgAHzMwAgAdMzACHTMwAh8zMAIAHTMwAh0zMAIfMzACAB0zMAIdMzAC",
  "HzMwAgAdNDACHTQwAh80MAIAHTQwAh00MAIfNDACAB00MAIdNDACHzQwAgAdNDACHTAwAh8wMAIALTAyOAANMAIvMDQ4AAANMAIt",
  "MDY4AA8wAgAtMDg4AA0wAh8xMAIAHTEwAi0xMjgADzACAC0xNDgADTACLzE2OAAADTACLTE4OAAPMAIAHTIwAh0yMAIvMjI4AAAN",
  "MAItMjQ4AA8wAgAtMjY4AA0wAi8yODgAAA0wAh0zMAIfMzACAC0zMjgADTACLzM0OAAADTACLTM2OAAPMAIALTM4OAANMAIfNDAC",
  "AB00MAItNDI4AA8wAgAtNDQ4AA0wAi80NjgAAA0wAi00ODgADzACAB0wMAIdMDACLzAyOAAADTACLTA0OAAPMAIALTA2OAANMAIv",
  "MDg4AAANMAIdMTACHzEwAgAtMTI4AA0wAi8xNDgAAA0wAi0xNjgADzACAC0xODgADTACHzIwAgAdMjACLTIyOAAPMAIALTI0OAAN",
  "MAIvMjY4AAANMAItMjg4AA8wAgAdMzACHTMwAi8zMjgAAA0wAi0zNDgADzACAC0zNjgADTACLzM4OAAADTACHTQwAh80MAIALTQy",
  "OAANMAIvNDQ4AAANMAItNDY4AA8wAgAtNDg4AA0wAg/wCv//////////////////////////////////////////////////////",
  "////////////////////////////////////////////////////////////////////////////////////////////////////",
  "////////////////////////////////////////////////////////////////////////////////////////////////////",
  "////////////////////////////////////////////////////////////////////////6FAtMSB2ec44TkwtAAAAD/AK////",
  "//////////////////////////////////////////+3UHk9LTE7gwKyJwAAAABSpZ6VBCJNGGRAp8gAAIDGfoFrS/vi+1T2vd98",
  "HOGHAb8x3lZyD0dnZodZqog8WepWE3vShaHYPFRVLzeuZVvaAnmYzOMado5f2ZmPHz827kN4TQ36vqba5IaO3CltTv9W4XAg+4+x",
  "WAWQxQncU82qO0iZUtNSnQaf6rXCBhOYSbIBHqwyiDGcUkaVcTaPV/Y5HRb6iHT1mHwXXEG7bXGOD3BZxwEbLzM9kcAdpQ0NqzON",
  "fl6PPuZodKY6scOTEahkx9vK4GDh878JAGei4yWgITGH1WLFqAAAAABPWxEu",
].join("");

function referenceText(): Uint8Array {
  let s = "";
  for (let i = 0; i < 4000; i++) {
    s += `step ${String(i % 50).padStart(2, "0")} vx=${((i * 7) % 3) - 1} vy=${((i * 11) % 3) - 1};`;
  }
  return new TextEncoder().encode(s);
}

function referenceRandom(): Uint8Array {
  const out = new Uint8Array(200);
  let x = 1;
  for (let i = 0; i < 200; i++) {
    x = Number((BigInt(x) * 1103515245n + 12345n) & 0x7fffffffn);
    out[i] = (x >> 16) & 255;
  }
  return out;
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "bag-lz4-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("lz4 frames from the reference CLI decode exactly (linked blocks, checksums, stored block, two frames)", () => {
  const input = new Uint8Array(Buffer.from(REFERENCE, "base64"));
  const text = referenceText();
  const rnd = referenceRandom();
  assert.equal(text.byteLength, 74668);
  const out = lz4DecompressFrame(input, text.byteLength + rnd.byteLength);
  assert.deepEqual(Buffer.from(out.subarray(0, text.byteLength)), Buffer.from(text));
  assert.deepEqual(Buffer.from(out.subarray(text.byteLength)), Buffer.from(rnd));
});

test("lz4: damaged input or a wrong size is an error, not garbage", () => {
  const input = new Uint8Array(Buffer.from(REFERENCE, "base64"));
  const size = 74668 + 200;
  assert.throws(() => lz4DecompressFrame(input, size + 1), /lz4: decompressed 74868 bytes, expected 74869/);
  assert.throws(() => lz4DecompressFrame(input.subarray(0, 500), size), /lz4: input ends at byte 500/);
  const bad = input.slice();
  bad[0] = 0;
  assert.throws(() => lz4DecompressFrame(bad, size), /lz4: bad frame magic/);
});

test("an MCAP bag with lz4 chunks reads the same messages as without compression", async () => {
  const encode = makeEncoder("sensor_msgs/msg/Image");
  const write = async (file: string, lz4: boolean): Promise<void> => {
    const handle = await open(file, "w");
    const writable = new FileWritable(handle);
    const writer = new McapWriter({
      writable,
      chunkSize: 50_000,
      compressChunk: lz4 ? (d) => ({ compression: "lz4", compressedData: lz4LiteralFrame(d) }) : undefined,
    });
    await writer.start({ profile: "ros2", library: "test" });
    const schemaId = await writer.registerSchema({
      name: "sensor_msgs/msg/Image",
      encoding: "ros2msg",
      data: new TextEncoder().encode(fullDefinitionText("sensor_msgs/msg/Image")),
    });
    const channelId = await writer.registerChannel({ topic: "/img", schemaId, messageEncoding: "cdr", metadata: new Map() });
    for (let i = 0; i < 12; i++) {
      const data = new Uint8Array(80 * 60 * 3).map((_, k) => (k * 13 + i * 7) & 255);
      const msg = { header: { stamp: { sec: 10, nanosec: i }, frame_id: "cam" }, height: 60, width: 80, encoding: "rgb8", is_bigendian: 0, step: 240, data };
      await writer.addMessage({ channelId, sequence: i, logTime: BigInt(i) * 1000n, publishTime: BigInt(i) * 1000n, data: encode(msg) });
    }
    await writer.end();
    await writable.flush();
    await handle.close();
  };
  const plain = join(dir, "plain.mcap");
  const packed = join(dir, "lz4.mcap");
  await write(plain, false);
  await write(packed, true);
  const read = async (file: string): Promise<BagMessage[]> => {
    const bag = await openBag(file);
    const out: BagMessage[] = [];
    for await (const m of bag.messages()) out.push(m);
    await bag.close();
    return out;
  };
  const readable = await FileReadable.open(packed);
  const index = await McapIndexedReader.Initialize({ readable });
  assert.ok(index.chunkIndexes.length > 1);
  assert.ok(index.chunkIndexes.every((c) => c.compression === "lz4"));
  await readable.close();
  const a = await read(plain);
  const b = await read(packed);
  assert.equal(b.length, 12);
  assert.ok(b.every((m) => m.error === undefined && m.message?.kind === "image"));
  assert.deepEqual(
    b.map((m) => Buffer.from(m.data).toString("base64")),
    a.map((m) => Buffer.from(m.data).toString("base64")),
  );
});

// Lazy bag iteration (bag.messages({ lazy: true })): the same messages as the
// eager stream, payloads read only when asked for, torn records named.
import { FileWritable } from "../src/bags/mcap-writer.js";
import { lz4LiteralFrame, zstdRawFrame } from "./fixtures/compressed-frames.js";
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, open, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { McapIndexedReader, McapWriter } from "@mcap/core";
import { openBag, BagError, type BagMessage, type LazyBagMessage, type MessagesOptions } from "../src/bags/index.js";
import { FileReadable } from "../src/bags/mcap-file.js";
import { McapSource } from "../src/bags/mcap-source.js";
import { RosbagMcapWriter } from "../src/bags/mcap-writer.js";
import { makeEncoder } from "../src/msgs/cdr.js";
import { decoderForSchema } from "../src/msgs/message-decoder.js";
import { fullDefinitionText } from "../src/msgs/definitions.js";
import { writeSampleBag, SAMPLE_TOPICS, type SampleBagOptions } from "../synthetic/sample-bag.js";

const run = promisify(execFile);
const DB3_WRITER =
  [new URL("./fixtures/write_db3_bag.py", import.meta.url), new URL("../../test/fixtures/write_db3_bag.py", import.meta.url)]
    .map((u) => fileURLToPath(u))
    .find((p) => existsSync(p)) ?? "test/fixtures/write_db3_bag.py";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "bag-lazy-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

// 320x240 frames (230 KB) at 10 Hz: several chunks of 768 KiB, each holding
// several messages of several topics.
const SAMPLE: SampleBagOptions = {
  durationS: 3,
  width: 320,
  height: 240,
  rateHz: 10,
  images: "both",
  stampedCmdVel: true,
  instructionChange: { atS: 1.5, instruction: "Go to the blue box on the right", target: "right" },
};

/** A message as plain data, every getter read: what equality is checked on. */
function plain(m: BagMessage): Record<string, unknown> {
  const { error, message, ...rest } = m;
  const out: Record<string, unknown> = { ...rest, data: Buffer.from(m.data).toString("base64") };
  if (error !== undefined) out["error"] = error.message;
  if (message !== undefined) {
    if (message.kind === "image" || message.kind === "compressed_image") {
      out["message"] = { ...message, header: { ...message.header }, image: { ...message.image, data: Buffer.from(message.image.data).toString("base64") } };
    } else {
      out["message"] = message;
    }
  }
  return out;
}

async function eager(path: string, options: MessagesOptions = {}): Promise<Record<string, unknown>[]> {
  const bag = await openBag(path);
  try {
    const out: Record<string, unknown>[] = [];
    for await (const m of bag.messages(options)) out.push(plain(m));
    return out;
  } finally {
    await bag.close();
  }
}

/**
 * The lazy stream, every message loaded only AFTER the iteration has ended
 * (so loads work after the stream moved on), both whole and with deferred
 * image data.
 */
async function lazy(
  path: string,
  options: MessagesOptions = {},
): Promise<{ whole: Record<string, unknown>[]; deferred: Record<string, unknown>[]; heads: string[] }> {
  const { lazy: _eager, ...rest } = options;
  const bag = await openBag(path);
  try {
    const held: LazyBagMessage[] = [];
    const heads: string[] = [];
    for await (const m of bag.messages({ ...rest, lazy: true })) {
      held.push(m);
      heads.push(`${m.index} ${m.topic} ${m.type} ${m.logTimeNs} ${m.logTime} ${m.file}`);
    }
    return {
      whole: held.map((m) => plain(m.load())),
      deferred: held.map((m) => plain(m.load({ deferImageData: true }))),
      heads,
    };
  } finally {
    await bag.close();
  }
}

function headsOf(msgs: Record<string, unknown>[]): string[] {
  return msgs.map((m) => `${m["index"]} ${m["topic"]} ${m["type"]} ${m["logTimeNs"]} ${m["logTime"]} ${m["file"]}`);
}

async function assertSameAsEager(path: string, options: MessagesOptions = {}): Promise<number> {
  const want = await eager(path, options);
  const got = await lazy(path, options);
  assert.deepEqual(got.heads, headsOf(want), "lazy topics / times / files / indexes equal the eager stream's");
  assert.deepEqual(got.whole, want, "lazily loaded messages equal the eager ones");
  assert.deepEqual(got.deferred, want, "messages loaded with deferred image data equal the eager ones once read");
  return want.length;
}

interface RawMsg {
  topic: string;
  type: string;
  logTime: bigint;
  /** A message object (encoded with the type) or serialized CDR. */
  message?: unknown;
  cdr?: Uint8Array;
}

/** Writes messages in the order given (log times may go back: overlapping chunks). */
async function writeMcap(file: string, msgs: RawMsg[], options: { chunkSize: number; lz4?: boolean; zstd?: boolean }): Promise<void> {
  const handle = await open(file, "w");
  const writable = new FileWritable(handle);
  const writer = new McapWriter({
    writable,
    chunkSize: options.chunkSize,
    compressChunk:
      options.lz4 === true
        ? (d) => ({ compression: "lz4", compressedData: lz4LiteralFrame(d) })
        : options.zstd === true
          ? (d) => ({ compression: "zstd", compressedData: zstdRawFrame(d) })
          : undefined,
  });
  await writer.start({ profile: "ros2", library: "bag-lazy.test" });
  const schemas = new Map<string, number>();
  const channels = new Map<string, number>();
  for (const m of msgs) {
    if (channels.has(m.topic)) continue;
    let schemaId = schemas.get(m.type);
    if (schemaId === undefined) {
      schemaId = await writer.registerSchema({ name: m.type, encoding: "ros2msg", data: new TextEncoder().encode(fullDefinitionText(m.type)) });
      schemas.set(m.type, schemaId);
    }
    channels.set(m.topic, await writer.registerChannel({ topic: m.topic, schemaId, messageEncoding: "cdr", metadata: new Map() }));
  }
  const encoders = new Map<string, (m: unknown) => Uint8Array>();
  for (const [i, m] of msgs.entries()) {
    let enc = encoders.get(m.type);
    if (enc === undefined) encoders.set(m.type, (enc = makeEncoder(m.type)));
    const data = m.cdr ?? enc(m.message);
    await writer.addMessage({ channelId: channels.get(m.topic)!, sequence: i, logTime: m.logTime, publishTime: m.logTime, data });
  }
  await writer.end();
  await writable.flush();
  await handle.close();
}

function image(i: number, width = 40, height = 30): unknown {
  return {
    header: { stamp: { sec: 100 + i, nanosec: 1000 * i + 7 }, frame_id: i % 2 === 0 ? "cam" : "camera_optical_frame_x" },
    height,
    width,
    encoding: "bgr8",
    is_bigendian: 0,
    step: width * 3,
    data: new Uint8Array(width * height * 3).map((_, k) => (k * 7 + i * 13) & 255),
  };
}

/** File offset of the message record the first chunk's index lists first, and that chunk's records range. */
async function firstMessageRecord(file: string): Promise<{ record: number; recordsStart: number; recordsEnd: number }> {
  const readable = await FileReadable.open(file);
  try {
    const reader = await McapIndexedReader.Initialize({ readable });
    const chunk = reader.chunkIndexes[0]!;
    assert.equal(chunk.compression, "", "the fixture's chunks are uncompressed");
    const recordsStart = Number(chunk.chunkStartOffset) + 1 + 8 + 8 + 8 + 8 + 4 + 4 + 8;
    const indexAt = [...chunk.messageIndexOffsets.values()].reduce((a, b) => (a < b ? a : b));
    const idx = await readable.read(indexAt, 9n + 2n + 4n + 16n);
    const view = new DataView(idx.buffer, idx.byteOffset, idx.byteLength);
    assert.equal(view.getUint8(0), 0x07, "a MessageIndex record follows the chunk");
    const offset = Number(view.getBigUint64(9 + 2 + 4 + 8, true));
    return { record: recordsStart + offset, recordsStart, recordsEnd: recordsStart + Number(chunk.compressedSize) };
  } finally {
    await readable.close();
  }
}

test("mcap: lazy messages equal the eager stream (all topics, a topic filter, a time window), loaded after the stream moved on", async () => {
  const out = join(dir, "sample");
  await writeSampleBag(out, SAMPLE);
  const readable = await FileReadable.open(join(out, "sample_0.mcap"));
  const index = await McapIndexedReader.Initialize({ readable });
  const chunks = index.chunkIndexes.length;
  await readable.close();
  assert.ok(chunks >= 4, `the sample bag should span several chunks, has ${chunks}`);

  const n = await assertSameAsEager(out);
  assert.ok(n > 60, `the bag should hold images, commands and instructions, has ${n} messages`);
  await assertSameAsEager(out, { topics: [SAMPLE_TOPICS.image, SAMPLE_TOPICS.cmdVel] });
  await assertSameAsEager(out, { topics: [SAMPLE_TOPICS.compressed] });
  await assertSameAsEager(out, { startTime: 1_700_000_000.75, endTime: 1_700_000_002.05 });
  await assertSameAsEager(out, { topics: ["/no/such/topic"] });
});

test("mcap: deferred image data is read on first access only, and the headers come from the record's first bytes", async () => {
  const out = join(dir, "deferred");
  await writeSampleBag(out, { ...SAMPLE, images: "raw", instructionChange: undefined });
  const file = join(out, "deferred_0.mcap");
  const size = (await stat(file)).size;
  const source = await McapSource.open(file);
  try {
    const opened = source.bytesRead();
    let images = 0;
    for await (const rec of source.lazyRecords({ topics: new Set([SAMPLE_TOPICS.image]) })) {
      images++;
      assert.equal(decoderForSchema(rec.schema).imageLayout, "image", "the sample bag's Image topic has the standard layout");
    }
    assert.equal(images, 30);
    const indexOnly = source.bytesRead() - opened;
    assert.ok(indexOnly < size / 100, `iterating without loading reads only the message indexes: ${indexOnly} of ${size} bytes`);
  } finally {
    await source.close();
  }

  const bag = await openBag(out);
  try {
    const frames: BagMessage[] = [];
    for await (const m of bag.messages({ topics: [SAMPLE_TOPICS.image], lazy: true })) frames.push(m.load({ deferImageData: true }));
    assert.equal(frames.length, 30);
    for (const f of frames) {
      assert.equal(f.error, undefined, `frame ${f.index} decodes`);
      assert.equal(f.message?.kind, "image");
      if (f.message?.kind !== "image") continue;
      assert.equal(f.message.header.frame_id, "camera_optical_frame");
      assert.ok(
        f.message.header.stamp < f.logTime && f.logTime - f.message.header.stamp < 0.05,
        `frame ${f.index}: the header stamp is the capture time, just before the log time`,
      );
      assert.deepEqual([f.message.image.width, f.message.image.height, f.message.image.step, f.message.image.encoding], [320, 240, 960, "bgr8"]);
    }
    const last = frames[frames.length - 1]!;
    if (last.message?.kind !== "image") throw new Error("not an image");
    const first = last.message.image.data;
    assert.equal(first.byteLength, 320 * 240 * 3);
    assert.equal(last.message.image.data, first, "image.data is read once and then kept");
  } finally {
    await bag.close();
  }
});

test("split bags: lazy messages come in time order across the files, equal to the eager stream", async () => {
  const out = join(dir, "split");
  const res = await writeSampleBag(out, { ...SAMPLE, splitEveryS: 1 });
  assert.equal(res.files.length, 3);
  await assertSameAsEager(out);
  await assertSameAsEager(out, { topics: [SAMPLE_TOPICS.image] });

  // Two overlapping files (no metadata.yaml): merged message by message.
  const over = join(dir, "overlap");
  await mkdir(over);
  const str = (t: string, i: number, off: number): RawMsg => ({
    topic: t,
    type: "std_msgs/msg/String",
    logTime: BigInt(i * 2 + off) * 1000n,
    message: { data: `${t}${i * 2 + off}` },
  });
  await writeMcap(
    join(over, "over_0.mcap"),
    Array.from({ length: 10 }, (_, i) => str("/a", i, 0)),
    { chunkSize: 100 },
  );
  await writeMcap(
    join(over, "over_1.mcap"),
    Array.from({ length: 10 }, (_, i) => str("/b", i, 1)),
    { chunkSize: 100 },
  );
  const got = await lazy(over);
  assert.deepEqual(
    got.whole.map((m) => (m["message"] as { data: string }).data),
    Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? `/a${i}` : `/b${i}`)),
  );
  await assertSameAsEager(over);
});

test("overlapping chunks in one file are merged by log time, ties by chunk then record offset, as the eager reader does", async () => {
  const file = join(dir, "chunks.mcap");
  const msgs: RawMsg[] = [];
  // Two runs of times written one after the other: the second run's chunks overlap the first's.
  for (const run of [0, 1]) {
    for (let i = 0; i < 12; i++) {
      const t = BigInt(i * 10 + run * 5 - (i % 3 === 0 ? run * 5 : 0));
      msgs.push({
        topic: i % 2 === 0 ? "/img" : "/s",
        type: i % 2 === 0 ? "sensor_msgs/msg/Image" : "std_msgs/msg/String",
        logTime: t,
        message: i % 2 === 0 ? image(i + run * 12) : { data: `r${run}i${i}` },
      });
    }
  }
  await writeMcap(file, msgs, { chunkSize: 6000 });
  const n = await assertSameAsEager(file);
  assert.equal(n, 24);
  await assertSameAsEager(file, { topics: ["/s"], startTimeNs: 15n, endTimeNs: 95n });
});

test("zstd-compressed MCAP (the rosbag2 default) reads on Node 20, eager and lazy, the same as uncompressed", async () => {
  const plainFile = join(dir, "zplain.mcap");
  const packed = join(dir, "zpacked.mcap");
  const msgs: RawMsg[] = [];
  for (let i = 0; i < 10; i++) {
    msgs.push({ topic: "/img", type: "sensor_msgs/msg/Image", logTime: BigInt(i) * 1000n, message: image(i, 80, 60) });
    msgs.push({ topic: "/s", type: "std_msgs/msg/String", logTime: BigInt(i) * 1000n + 7n, message: { data: `z${i}` } });
  }
  await writeMcap(plainFile, msgs, { chunkSize: 30_000 });
  await writeMcap(packed, msgs, { chunkSize: 30_000, zstd: true });
  const readable = await FileReadable.open(packed);
  const index = await McapIndexedReader.Initialize({ readable });
  await readable.close();
  assert.ok(index.chunkIndexes.length >= 2 && index.chunkIndexes.every((c) => c.compression === "zstd"), "chunks must be zstd-compressed");
  const withoutFile = (ms: Record<string, unknown>[]) => ms.map(({ file: _file, ...rest }) => rest);
  assert.deepEqual(withoutFile(await eager(packed)), withoutFile(await eager(plainFile)), "zstd chunks must decode to the same messages");
  await assertSameAsEager(packed);
});

test("lz4-compressed MCAP: lazy equals eager, chunks decompressed on demand and again after the cache let them go; CRC checked", async () => {
  const plainFile = join(dir, "plain.mcap");
  const packed = join(dir, "packed.mcap");
  const msgs: RawMsg[] = [];
  for (let i = 0; i < 16; i++) {
    msgs.push({ topic: "/img", type: "sensor_msgs/msg/Image", logTime: BigInt(i) * 1000n, message: image(i, 80, 60) });
    msgs.push({
      topic: "/cmd",
      type: "geometry_msgs/msg/Twist",
      logTime: BigInt(i) * 1000n + 500n,
      message: { linear: { x: i, y: -i, z: 0 }, angular: { x: 0, y: 0, z: 0.5 } },
    });
  }
  await writeMcap(plainFile, msgs, { chunkSize: 30_000 });
  await writeMcap(packed, msgs, { chunkSize: 30_000, lz4: true });
  const readable = await FileReadable.open(packed);
  const index = await McapIndexedReader.Initialize({ readable });
  await readable.close();
  assert.ok(index.chunkIndexes.length >= 4, `several chunks: ${index.chunkIndexes.length}`);
  assert.ok(
    index.chunkIndexes.every((c) => c.compression === "lz4"),
    "every chunk is lz4",
  );

  // Loaded after the iteration ended: the first chunks have left the two-chunk cache and are decompressed again.
  await assertSameAsEager(packed);
  assert.deepEqual(
    (await lazy(packed)).whole.map((m) => m["data"]),
    (await eager(plainFile)).map((m) => m["data"]),
  );

  // A flipped byte inside a compressed chunk (a literal in the lz4 frame) fails the chunk's CRC when it is decompressed.
  const bytes = new Uint8Array(await readFile(packed));
  const chunk = index.chunkIndexes[1]!;
  const at = Number(chunk.chunkStartOffset + chunk.chunkLength) - 200;
  bytes[at] = bytes[at]! ^ 0xff;
  const broken = join(dir, "packed-broken.mcap");
  await writeFile(broken, bytes);
  const bag = await openBag(broken);
  try {
    const held: LazyBagMessage[] = [];
    for await (const m of bag.messages({ lazy: true })) held.push(m);
    assert.equal(held.length, 32, "the index is intact: every message is listed");
    const first = held[0]!.load();
    assert.equal(first.error, undefined, "a message of an intact chunk loads");
    const inBroken = held.filter((m) => m.logTimeNs >= chunk.messageStartTime && m.logTimeNs <= chunk.messageEndTime);
    assert.ok(inBroken.length > 0, "some messages are in the damaged chunk");
    assert.throws(
      () => inBroken[0]!.load(),
      (err: unknown) => {
        assert.ok(err instanceof BagError, `a BagError, got ${String(err)}`);
        assert.match(err.message, /chunk CRC mismatch/);
        assert.ok(err.message.includes(broken), `the error names the file: ${err.message}`);
        assert.equal(err.location.offset, chunk.chunkStartOffset);
        return true;
      },
    );
  } finally {
    await bag.close();
  }
  const unchecked = await openBag(broken, { validateCrcs: false });
  try {
    let loaded = 0;
    for await (const m of unchecked.messages({ lazy: true })) {
      m.load();
      loaded++;
    }
    assert.equal(loaded, 32, "with validateCrcs: false the damaged chunk loads");
  } finally {
    await unchecked.close();
  }
});

test("db3: lazy messages equal the eager stream, fetched by row id, also after the iteration ended", async () => {
  const out = join(dir, "db3");
  await run("python3", [DB3_WRITER, out, "humble", "5"]);
  const n = await assertSameAsEager(out);
  assert.equal(n, 16);
  await assertSameAsEager(out, { topics: ["/camera/image_raw", "/camera/mono"] });
  await assertSameAsEager(out, { startTimeNs: 1_700_000_000_050_000_000n, endTimeNs: 1_700_000_000_210_000_000n });

  const bag = await openBag(out);
  const held: LazyBagMessage[] = [];
  for await (const m of bag.messages({ topics: ["/camera/image_raw"], lazy: true })) held.push(m);
  assert.equal(held.length, 3);
  const f = held[2]!.load({ deferImageData: true });
  assert.equal(f.message?.kind, "image");
  if (f.message?.kind === "image") {
    // 4x3 bgr8 with 4 bytes of padding per row; the frame id misaligns what follows it.
    assert.deepEqual([f.message.header.frame_id, f.message.image.width, f.message.image.height, f.message.image.step], ["camera_optical", 4, 3, 16]);
    assert.equal(f.message.image.data.byteLength, 48);
  }
  await bag.close();
  assert.throws(
    () => held[0]!.load(),
    (err: unknown) => err instanceof BagError && /after the bag was closed/.test(err.message),
  );
});

test("a torn MCAP record: a BagError naming the file and the byte offset, not a garbage message", async () => {
  const out = join(dir, "torn");
  const w = await RosbagMcapWriter.create(out, [{ name: "/img", type: "sensor_msgs/msg/Image" }]);
  for (let i = 0; i < 4; i++) await w.write("/img", BigInt(i + 1) * 1_000_000n, image(i));
  const written = await w.close();
  const file = written.files[0]!;
  const { record, recordsEnd } = await firstMessageRecord(file);
  const good = new Uint8Array(await readFile(file));
  assert.equal(good[record], 0x05, "the index points at a Message record");

  const expectTorn = async (name: string, damage: (b: Uint8Array) => void, why: RegExp): Promise<void> => {
    const bytes = good.slice();
    damage(bytes);
    const path = join(dir, `${name}.mcap`);
    await writeFile(path, bytes);
    // The record's framing is what is checked here; the damage also breaks the
    // chunk's CRC, which (checked by default) fails every record of the chunk.
    const bag = await openBag(path, { validateCrcs: false });
    try {
      const held: LazyBagMessage[] = [];
      for await (const m of bag.messages({ lazy: true })) held.push(m);
      assert.equal(held.length, 4, `${name}: the index still lists every message`);
      for (const deferred of [false, true]) {
        assert.throws(
          () => held[0]!.load({ deferImageData: deferred }),
          (err: unknown) => {
            assert.ok(err instanceof BagError, `${name}: a BagError, got ${String(err)}`);
            assert.ok(err.message.includes(path), `${name}: the error names the file: ${err.message}`);
            assert.match(err.message, /torn message record/);
            assert.match(err.message, why);
            assert.match(err.message, new RegExp(`at byte offset ${record}\\b`));
            assert.equal(err.location.offset, record);
            return true;
          },
        );
      }
      assert.equal(held[1]!.load().error, undefined, `${name}: an intact record after it still loads`);
    } finally {
      await bag.close();
    }
    // With CRCs checked (the default) the torn record is still named as torn, and
    // its intact neighbour fails the chunk's CRC instead of loading.
    const checked = await openBag(path);
    try {
      const held: LazyBagMessage[] = [];
      for await (const m of checked.messages({ lazy: true })) held.push(m);
      assert.throws(
        () => held[0]!.load(),
        (err: unknown) => err instanceof BagError && /torn message record/.test(err.message) && why.test(err.message),
        `${name}: the framing is named first`,
      );
      assert.throws(
        () => held[1]!.load(),
        (err: unknown) => err instanceof BagError && /chunk CRC mismatch/.test(err.message) && err.message.includes(path),
        `${name}: the damaged chunk's other records fail its CRC`,
      );
    } finally {
      await checked.close();
    }
  };
  await expectTorn("torn-opcode", (b) => (b[record] = 0x00), /opcode 0x00 where the chunk's message index points/);
  await expectTorn("torn-length", (b) => new DataView(b.buffer).setBigUint64(record + 1, BigInt(recordsEnd - record), true), /runs past the end of its chunk/);
  await expectTorn("torn-time", (b) => new DataView(b.buffer).setBigUint64(record + 15, 123n, true), /log time 123 ns, but the message index says 1000000 ns/);
});

test("a flipped payload byte in an uncompressed chunk fails a lazy read on the chunk's CRC, as it fails the eager stream", async () => {
  const out = join(dir, "flip");
  const w = await RosbagMcapWriter.create(out, [{ name: "/img", type: "sensor_msgs/msg/Image" }]);
  for (let i = 0; i < 3; i++) await w.write("/img", BigInt(i + 1) * 1000n, image(i));
  const file = (await w.close()).files[0]!;
  const { record } = await firstMessageRecord(file);
  const readable = await FileReadable.open(file);
  const chunkAt = (await McapIndexedReader.Initialize({ readable })).chunkIndexes[0]!.chunkStartOffset;
  await readable.close();
  const bytes = new Uint8Array(await readFile(file));
  const at = record + 31 + 200; // inside the first image's pixels
  bytes[at] = bytes[at]! ^ 0x01;
  const flipped = join(dir, "flipped.mcap");
  await writeFile(flipped, bytes);
  await assert.rejects(eager(flipped), (err: unknown) => err instanceof BagError && /CRC/i.test(err.message));
  const isCrcError =
    (what: string) =>
    (err: unknown): boolean => {
      assert.ok(err instanceof BagError, `${what}: a BagError, got ${String(err)}`);
      assert.match(err.message, /chunk CRC mismatch: computed \d+, stored \d+ \(the chunk is corrupt\)/, what);
      assert.ok(err.message.includes(flipped), `${what}: the error names the file: ${err.message}`);
      assert.equal(err.location.offset, chunkAt, `${what}: the error names the chunk's offset`);
      return true;
    };
  const bag = await openBag(flipped);
  try {
    const held: LazyBagMessage[] = [];
    for await (const m of bag.messages({ lazy: true })) held.push(m);
    assert.equal(held.length, 3, "the index is intact: every message is listed");
    // Every way a payload is read checks the CRC of the chunk it is read from, also a message whose own bytes are intact.
    // A deferred load only peeks at the image's head (to choose which frame to sample): its pixels are
    // the read, and they fail on the CRC before anyone can use them.
    for (const m of held) {
      assert.throws(() => m.load(), isCrcError(`load() of message ${m.index}`));
      assert.throws(() => m.data(), isCrcError(`data() of message ${m.index}`));
      const deferred = m.load({ deferImageData: true });
      const msg = deferred.error ? undefined : deferred.message;
      assert.ok(msg?.kind === "image", `load({ deferImageData }) of message ${m.index} peeks at the head: ${String(deferred.error)}`);
      assert.throws(() => msg.image.data, isCrcError(`the deferred pixels of message ${m.index}`));
    }
  } finally {
    await bag.close();
  }
  // Asked not to check CRCs, the flip goes through unnoticed: what validateCrcs: false means.
  const unchecked = await openBag(flipped, { validateCrcs: false });
  try {
    let loaded = 0;
    for await (const m of unchecked.messages({ lazy: true })) {
      assert.equal(m.load().error, undefined, `message ${m.index} loads with validateCrcs: false`);
      loaded++;
    }
    assert.equal(loaded, 3);
  } finally {
    await unchecked.close();
  }
});

test("undecodable messages: the same per-message error lazily (deferred images fall back to a full decode)", async () => {
  const out = join(dir, "bad");
  const w = await RosbagMcapWriter.create(out, [
    { name: "/img", type: "sensor_msgs/msg/Image" },
    { name: "/s", type: "std_msgs/msg/String" },
  ]);
  const enc = makeEncoder("sensor_msgs/msg/Image");
  const good = {
    header: { stamp: { sec: 1, nanosec: 5 }, frame_id: "c" },
    height: 2,
    width: 2,
    encoding: "rgb8",
    is_bigendian: 0,
    step: 6,
    data: new Uint8Array(12).fill(9),
  };
  await w.write("/img", 1n, good);
  await w.write("/img", 2n, { ...good, data: new Uint8Array(5) }); // fewer bytes than step x height
  const cdr = enc(good);
  await w.writeSerialized("/img", 3n, cdr.subarray(0, cdr.byteLength - 8)); // cut off inside data
  await w.writeSerialized("/img", 4n, cdr.subarray(0, 10)); // cut off inside the header
  await w.write("/s", 5n, { data: "still here" });
  await w.close();
  assert.equal(await assertSameAsEager(out), 5);
  const got = await lazy(out);
  assert.deepEqual(
    got.deferred.map((m) => m["error"] === undefined),
    [true, false, false, false, true],
  );
  assert.match(
    String(got.deferred[1]!["error"]),
    /message #1 on \/img \(sensor_msgs\/msg\/Image\).*: image\.data: 5 bytes is shorter than step\*height = 6\*2 = 12$/,
  );
});

test("image layout: only the standard Image / CompressedImage definitions are decoded from their first bytes", () => {
  const layoutOf = (type: string, definition: string) =>
    decoderForSchema({ type, messageEncoding: "cdr", definitionEncoding: "ros2msg", definition }).imageLayout;
  assert.equal(layoutOf("sensor_msgs/msg/Image", fullDefinitionText("sensor_msgs/msg/Image")), "image");
  assert.equal(layoutOf("sensor_msgs/msg/CompressedImage", fullDefinitionText("sensor_msgs/msg/CompressedImage")), "compressed_image");
  assert.equal(layoutOf("std_msgs/msg/String", fullDefinitionText("std_msgs/msg/String")), undefined);
  const custom = fullDefinitionText("sensor_msgs/msg/Image").replace("uint32 height", "uint32 exposure_us\nuint32 height");
  assert.equal(layoutOf("sensor_msgs/msg/Image", custom), undefined);
});

test("a closed bag: lazily held MCAP messages fail with a clear error", async () => {
  const out = join(dir, "closed");
  const w = await RosbagMcapWriter.create(out, [{ name: "/s", type: "std_msgs/msg/String" }]);
  await w.write("/s", 1n, { data: "x" });
  const file = (await w.close()).files[0]!;
  const copy = join(dir, "closed-copy.mcap");
  await copyFile(file, copy);
  const bag = await openBag(copy);
  const held: LazyBagMessage[] = [];
  for await (const m of bag.messages({ lazy: true })) held.push(m);
  assert.deepEqual(held[0]!.load().message, { kind: "string", data: "x" });
  await bag.close();
  assert.throws(
    () => held[0]!.load(),
    (err: unknown) => err instanceof BagError && /after the bag was closed/.test(err.message) && err.message.includes(copy),
  );
});

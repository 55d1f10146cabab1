import { FileWritable } from "../src/bags/mcap-writer.js";
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { copyFile, mkdtemp, readFile, readdir, rm, truncate, writeFile, open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { McapIndexedReader, McapWriter } from "@mcap/core";
import sharp from "sharp";
import { parse as parseYaml } from "yaml";
import { openBag, missingTopicError, requireTopic, BagError, type BagMessage } from "../src/bags/index.js";
import { FileReadable } from "../src/bags/mcap-file.js";
import { McapSource } from "../src/bags/mcap-source.js";
import { RosbagMcapWriter } from "../src/bags/mcap-writer.js";
import { makeEncoder } from "../src/msgs/cdr.js";
import { fullDefinitionText } from "../src/msgs/definitions.js";
import { writeSampleBag, DEFAULT_INSTRUCTION, SAMPLE_TOPICS, type SampleBagOptions } from "../synthetic/sample-bag.js";
import { TELEOP_SPEED } from "../src/mobile-vla/teleop.js";

let dir: string;
const SMALL: SampleBagOptions = { durationS: 3, width: 64, height: 48, rateHz: 10 };

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "bag-mcap-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function collect(path: string, topics?: string[]): Promise<BagMessage[]> {
  const bag = await openBag(path);
  try {
    const out: BagMessage[] = [];
    for await (const m of bag.messages({ topics })) out.push(m);
    return out;
  } finally {
    await bag.close();
  }
}

function assertTimeOrdered(msgs: BagMessage[]): void {
  for (let i = 1; i < msgs.length; i++) {
    assert.ok(msgs[i]!.logTimeNs >= msgs[i - 1]!.logTimeNs, `message ${i} (${msgs[i]!.logTimeNs}) before ${i - 1} (${msgs[i - 1]!.logTimeNs})`);
  }
}

test("sample bag round trip: every topic, count and field comes back typed", async () => {
  const out = join(dir, "roundtrip");
  const res = await writeSampleBag(out, { ...SMALL, images: "both" });
  assert.equal(res.frames, 30);
  const bag = await openBag(out);
  try {
    assert.equal(bag.storage, "mcap");
    assert.deepEqual(bag.files, [join(out, "roundtrip_0.mcap")]);
    assert.deepEqual(
      bag.topics().map((t) => [t.name, t.type, t.count]),
      [
        [SAMPLE_TOPICS.image, "sensor_msgs/msg/Image", 30],
        [SAMPLE_TOPICS.compressed, "sensor_msgs/msg/CompressedImage", 30],
        [SAMPLE_TOPICS.cmdVel, "geometry_msgs/msg/Twist", res.cmdVels],
        [SAMPLE_TOPICS.instruction, "std_msgs/msg/String", 1],
      ],
    );
    assert.equal(bag.startTime, 1_700_000_000);
    assert.ok(bag.endTime > bag.startTime + 2.8 && bag.endTime < bag.startTime + 3);
    const msgs: BagMessage[] = [];
    for await (const m of bag.messages()) msgs.push(m);
    assert.equal(msgs.length, bag.messageCount);
    assertTimeOrdered(msgs);
    assert.deepEqual(
      msgs.map((m) => m.index),
      msgs.map((_, i) => i),
    );

    const first = msgs[0]!;
    assert.equal(first.topic, SAMPLE_TOPICS.instruction);
    assert.deepEqual(first.message, { kind: "string", data: DEFAULT_INSTRUCTION });

    const raw = msgs.filter((m) => m.topic === SAMPLE_TOPICS.image);
    for (const m of raw) {
      assert.equal(m.message?.kind, "image");
      if (m.message?.kind !== "image") continue;
      const img = m.message.image;
      assert.deepEqual([img.kind, img.width, img.height, img.encoding, img.step, img.isBigEndian], ["raw", 64, 48, "bgr8", 192, false]);
      assert.equal(img.data.byteLength, 192 * 48);
      assert.equal(m.message.header.frame_id, "camera_optical_frame");
      // Camera latency: acquisition stamp 20 ms before the log time.
      assert.ok(Math.abs(m.logTime - m.message.header.stamp - 0.02) < 1e-6);
    }
    // Frames at 10 Hz: consecutive stamps 0.1 s apart.
    const stamps = raw.map((m) => (m.message?.kind === "image" ? m.message.header.stamp : NaN));
    for (let i = 1; i < stamps.length; i++) assert.ok(Math.abs(stamps[i]! - stamps[i - 1]! - 0.1) < 1e-6);

    const jpegs = msgs.filter((m) => m.topic === SAMPLE_TOPICS.compressed);
    const j0 = jpegs[0]!.message;
    assert.equal(j0?.kind, "compressed_image");
    if (j0?.kind === "compressed_image") {
      assert.equal(j0.image.format, "bgr8; jpeg compressed bgr8");
      assert.deepEqual([...j0.image.data.subarray(0, 2)], [0xff, 0xd8]);
      const meta = await sharp(j0.image.data).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height], ["jpeg", 64, 48]);
    }

    const cmds = msgs.filter((m) => m.topic === SAMPLE_TOPICS.cmdVel);
    assert.equal(cmds.length, res.cmdVels);
    for (const m of cmds) {
      assert.equal(m.message?.kind, "twist");
      if (m.message?.kind !== "twist") continue;
      for (const v of [m.message.linear.x, m.message.linear.y]) assert.ok([0, TELEOP_SPEED, -TELEOP_SPEED].includes(v), `component ${v}`);
      assert.deepEqual([m.message.linear.z, m.message.angular.x, m.message.angular.y, m.message.angular.z], [0, 0, 0, 0]);
      assert.equal(m.message.header, undefined);
    }
    for (let i = 1; i < cmds.length; i++) assert.ok(Math.abs(cmds[i]!.logTime - cmds[i - 1]!.logTime - 0.4) < 1e-6);
  } finally {
    await bag.close();
  }
});

test("the MCAP file and metadata.yaml follow rosbag2's layout", async () => {
  const out = join(dir, "layout");
  const res = await writeSampleBag(out, { ...SMALL, durationS: 1 });
  const readable = await FileReadable.open(res.files[0]!);
  try {
    const reader = await McapIndexedReader.Initialize({ readable });
    assert.equal(reader.header.profile, "ros2");
    const schemas = [...reader.schemasById.values()];
    const image = schemas.find((s) => s.name === "sensor_msgs/msg/Image");
    assert.ok(image !== undefined);
    assert.equal(image.encoding, "ros2msg");
    const text = new TextDecoder().decode(image.data);
    assert.equal(text, fullDefinitionText("sensor_msgs/msg/Image"));
    const sep = "\n" + "=".repeat(80) + "\n";
    assert.ok(text.includes(`${sep}MSG: std_msgs/Header\n`));
    assert.ok(text.includes(`${sep}MSG: builtin_interfaces/Time\n`));
    assert.ok(text.startsWith("# This message contains an uncompressed image"));
    for (const ch of reader.channelsById.values()) {
      assert.equal(ch.messageEncoding, "cdr");
      assert.match(ch.metadata.get("offered_qos_profiles") ?? "", /^- history: 3\n {2}depth: 0\n {2}reliability: [12]\n/);
    }
    const cam = [...reader.channelsById.values()].find((c) => c.topic === SAMPLE_TOPICS.image);
    assert.match(cam?.metadata.get("offered_qos_profiles") ?? "", /reliability: 2/); // sensor data: best effort
  } finally {
    await readable.close();
  }
  const meta = parseYaml(await readFile(join(out, "metadata.yaml"), "utf8"), { intAsBigInt: true }) as {
    rosbag2_bagfile_information: Record<string, unknown>;
  };
  const info = meta.rosbag2_bagfile_information;
  assert.equal(info["version"], 5n);
  assert.equal(info["storage_identifier"], "mcap");
  assert.deepEqual(info["relative_file_paths"], ["layout_0.mcap"]);
  assert.equal(info["message_count"], BigInt(res.messageCount));
  assert.deepEqual(info["starting_time"], { nanoseconds_since_epoch: res.startNs });
  assert.deepEqual(info["duration"], { nanoseconds: res.endNs - res.startNs });
  assert.equal(info["compression_format"], "");
  assert.equal(info["compression_mode"], "");
  const topics = info["topics_with_message_count"] as { topic_metadata: Record<string, string>; message_count: bigint }[];
  const img = topics.find((t) => t.topic_metadata["name"] === SAMPLE_TOPICS.image);
  assert.equal(img?.topic_metadata["type"], "sensor_msgs/msg/Image");
  assert.equal(img?.topic_metadata["serialization_format"], "cdr");
  assert.match(img?.topic_metadata["offered_qos_profiles"] ?? "", /^- history: 3\n/);
  assert.equal(img?.message_count, BigInt(res.frames));
  const files = info["files"] as { path: string; message_count: bigint }[];
  assert.deepEqual(
    files.map((f) => [f.path, f.message_count]),
    [["layout_0.mcap", BigInt(res.messageCount)]],
  );
});

test("the sample bag is deterministic: same options, same bytes; another seed, other bytes", async () => {
  const opts: SampleBagOptions = {
    ...SMALL,
    durationS: 2,
    splitEveryS: 1,
    instructionChange: { atS: 1, instruction: "Navigate to the blue box on the right", target: "right" },
  };
  const a = await writeSampleBag(join(dir, "det-a", "bag"), opts);
  const b = await writeSampleBag(join(dir, "det-b", "bag"), opts);
  const c = await writeSampleBag(join(dir, "det-c", "bag"), { ...opts, seed: 7 });
  assert.equal(a.files.length, 2);
  for (let i = 0; i < a.files.length; i++) {
    assert.ok((await readFile(a.files[i]!)).equals(await readFile(b.files[i]!)), `file ${i} differs`);
  }
  assert.equal(await readFile(join(a.dir, "metadata.yaml"), "utf8"), await readFile(join(b.dir, "metadata.yaml"), "utf8"));
  assert.ok(!(await readFile(a.files[0]!)).equals(await readFile(c.files[0]!)));
});

test("a single .mcap file reads the same as its bag directory", async () => {
  const out = join(dir, "single");
  const res = await writeSampleBag(out, SMALL);
  const fromDir = await collect(out);
  const fromFile = await collect(res.files[0]!);
  const fromMeta = await collect(join(out, "metadata.yaml"));
  assert.ok(fromDir.length > 30);
  const key = (m: BagMessage): string => `${m.topic}@${m.logTimeNs}:${Buffer.from(m.data).toString("base64")}`;
  assert.deepEqual(fromFile.map(key), fromDir.map(key));
  assert.deepEqual(fromMeta.map(key), fromDir.map(key));
});

test("split bag directory: files merged into one time-ordered stream, equal to the unsplit bag", async () => {
  const opts: SampleBagOptions = { ...SMALL, durationS: 2.5 };
  const whole = await writeSampleBag(join(dir, "unsplit"), opts);
  const split = await writeSampleBag(join(dir, "split"), { ...opts, splitEveryS: 0.5 });
  assert.equal(split.files.length, 5);
  assert.deepEqual((await readdir(split.dir)).sort(), ["metadata.yaml", "split_0.mcap", "split_1.mcap", "split_2.mcap", "split_3.mcap", "split_4.mcap"]);
  const a = await collect(whole.dir);
  const b = await collect(split.dir);
  assertTimeOrdered(b);
  const key = (m: BagMessage): string => `${m.topic}@${m.logTimeNs}:${Buffer.from(m.data).toString("base64")}`;
  assert.deepEqual(b.map(key), a.map(key));
  assert.deepEqual([...new Set(b.map((m) => m.file))], split.files);
  const bag = await openBag(split.dir);
  const wholeBag = await openBag(whole.dir);
  assert.equal(bag.messageCount, whole.messageCount);
  assert.deepEqual(bag.topics(), wholeBag.topics());
  await Promise.all([bag.close(), wholeBag.close()]);

  // Without metadata.yaml (a crashed recording) the files are found and ordered by split index.
  await rm(join(split.dir, "metadata.yaml"));
  assert.deepEqual((await collect(split.dir)).map(key), a.map(key));
});

test("overlapping files are merged message by message, topic filter applies to all", async () => {
  const out = join(dir, "overlap");
  const topics = [
    { name: "/a", type: "std_msgs/msg/String" },
    { name: "/b", type: "std_msgs/msg/String" },
  ];
  const w1 = await RosbagMcapWriter.create(out, topics, { name: "one" });
  const w2 = await RosbagMcapWriter.create(join(out, "tmp"), topics, { name: "two" });
  for (let i = 0; i < 10; i++) {
    await w1.write("/a", BigInt(i * 2) * 1000n, { data: `a${i * 2}` });
    await w2.write("/b", BigInt(i * 2 + 1) * 1000n, { data: `b${i * 2 + 1}` });
  }
  await w1.close();
  await w2.close();
  await copyFile(join(out, "tmp", "two_0.mcap"), join(out, "two_0.mcap"));
  await rm(join(out, "tmp"), { recursive: true });
  await writeFile(
    join(out, "metadata.yaml"),
    "rosbag2_bagfile_information:\n  version: 5\n  storage_identifier: mcap\n  relative_file_paths:\n    - two_0.mcap\n    - one_0.mcap\n",
  );
  const all = await collect(out);
  assert.deepEqual(
    all.map((m) => (m.message?.kind === "string" ? m.message.data : "?")),
    Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? `a${i}` : `b${i}`)),
  );
  const onlyB = await collect(out, ["/b"]);
  assert.deepEqual(
    onlyB.map((m) => m.topic),
    Array(10).fill("/b"),
  );
  const bag = await openBag(out);
  const window: string[] = [];
  for await (const m of bag.messages({ startTime: 5e-6, endTime: 8e-6 })) window.push(m.message?.kind === "string" ? m.message.data : "?");
  assert.deepEqual(window, ["b5", "a6", "b7", "a8"]);
  await bag.close();
});

test("truncated MCAP (cut in half): a clear error naming the file and where it breaks", async () => {
  const out = join(dir, "trunc");
  const res = await writeSampleBag(out, SMALL);
  const file = res.files[0]!;
  const size = (await readFile(file)).byteLength;
  await truncate(file, Math.floor(size / 2));
  await assert.rejects(openBag(out), (err: unknown) => {
    assert.ok(err instanceof BagError, String(err));
    assert.equal(err.file, file);
    assert.ok(err.message.startsWith(`${file}: not a complete MCAP file`), err.message);
    assert.match(err.message, new RegExp(`cut off at byte ${Math.floor(size / 2)}`));
    assert.match(err.message, /last complete record ends at byte \d+ \(\d+ messages before the break\)/);
    assert.ok(typeof err.location.offset === "number" && err.location.offset > 0 && err.location.offset <= size / 2);
    return true;
  });
  // Not even a header: still an error, not a crash.
  await truncate(file, 5);
  await assert.rejects(openBag(file), (err: unknown) => err instanceof BagError && err.message.includes(file));
});

test("a corrupt chunk fails the stream with the file and the message index where it broke", async () => {
  const out = join(dir, "corrupt");
  const res = await writeSampleBag(out, { ...SMALL, width: 160, height: 120 });
  const file = res.files[0]!;
  const readable = await FileReadable.open(file);
  const reader = await McapIndexedReader.Initialize({ readable });
  assert.ok(reader.chunkIndexes.length >= 3);
  const chunk = reader.chunkIndexes[Math.floor(reader.chunkIndexes.length / 2)]!;
  await readable.close();
  const handle = await open(file, "r+");
  // Inside the chunk's records, past the chunk header: the chunk CRC no longer matches.
  await handle.write(Buffer.alloc(16, 0xab), 0, 16, Number(chunk.chunkStartOffset) + 200);
  await handle.close();
  const bag = await openBag(out);
  let seen = 0;
  await assert.rejects(
    (async () => {
      for await (const _m of bag.messages()) seen++;
    })(),
    (err: unknown) => {
      assert.ok(err instanceof BagError, String(err));
      assert.ok(err.message.startsWith(`${file}: cannot read the next message after log time`), err.message);
      assert.match(err.message, /CRC/);
      assert.equal(err.location.messageIndex, seen);
      return true;
    },
  );
  assert.ok(seen > 0 && seen < res.messageCount);
  await bag.close();
});

test("a chunk compression this build cannot read is named at open", async () => {
  const file = join(dir, "bz2.mcap");
  const handle = await open(file, "w");
  const writable = new FileWritable(handle);
  const writer = new McapWriter({
    writable,
    compressChunk: (data) => ({ compression: "bz2", compressedData: data }),
  });
  await writer.start({ profile: "ros2", library: "test" });
  const schemaId = await writer.registerSchema({ name: "std_msgs/msg/String", encoding: "ros2msg", data: new TextEncoder().encode("string data\n") });
  const channelId = await writer.registerChannel({ topic: "/s", schemaId, messageEncoding: "cdr", metadata: new Map() });
  await writer.addMessage({ channelId, sequence: 0, logTime: 1n, publishTime: 1n, data: makeEncoder("std_msgs/msg/String")({ data: "x" }) });
  await writer.end();
  await writable.flush();
  await handle.close();
  await assert.rejects(openBag(file), (err: unknown) => {
    assert.ok(err instanceof BagError);
    assert.match(err.message, /chunk is bz2-compressed and cannot be decompressed here/);
    assert.match(err.message, /at byte offset \d+/);
    assert.ok(err.message.startsWith(file));
    return true;
  });
});

test("undecodable messages are reported per message and the stream goes on", async () => {
  const out = join(dir, "badmsgs");
  const w = await RosbagMcapWriter.create(out, [
    { name: "/img", type: "sensor_msgs/msg/Image" },
    { name: "/s", type: "std_msgs/msg/String" },
  ]);
  const enc = makeEncoder("sensor_msgs/msg/Image");
  const header = { stamp: { sec: 1, nanosec: 5 }, frame_id: "c" };
  const good = { header, height: 2, width: 2, encoding: "rgb8", is_bigendian: 0, step: 6, data: new Uint8Array(12).fill(9) };
  await w.write("/img", 1n, good);
  await w.write("/img", 2n, { ...good, data: new Uint8Array(5) }); // fewer bytes than step x height
  const cdr = enc(good);
  await w.writeSerialized("/img", 3n, cdr.subarray(0, cdr.byteLength - 8)); // cut off inside data
  await w.write("/s", 4n, { data: "still here" });
  await w.close();
  const msgs = await collect(out);
  assert.equal(msgs.length, 4);
  assert.equal(msgs[0]!.error, undefined);
  assert.equal(msgs[0]!.message?.kind, "image");
  assert.match(
    msgs[1]!.error?.message ?? "",
    /message #1 on \/img \(sensor_msgs\/msg\/Image\).*: image\.data: 5 bytes is shorter than step\*height = 6\*2 = 12$/,
  );
  assert.equal(msgs[1]!.message, undefined);
  assert.ok(msgs[2]!.error instanceof Error);
  assert.ok(msgs[2]!.error.message.includes(join(out, "badmsgs_0.mcap")));
  assert.deepEqual(msgs[3]!.message, { kind: "string", data: "still here" });
});

test("missing topic: the error lists the bag's topics and types", async () => {
  const out = join(dir, "missing");
  await writeSampleBag(out, { ...SMALL, durationS: 0.5 });
  const bag = await openBag(out);
  try {
    assert.equal(requireTopic(bag, SAMPLE_TOPICS.image, ["sensor_msgs/msg/Image"]).count, 5);
    assert.throws(
      () => requireTopic(bag, "/camera/color/image_raw"),
      (err: unknown) => {
        assert.ok(err instanceof BagError);
        assert.match(err.message, /has no topic \/camera\/color\/image_raw\. Topics in the bag:/);
        assert.match(err.message, /\n {2}\/camera\/image_raw \[sensor_msgs\/msg\/Image\] 5 msgs/);
        assert.match(err.message, /\n {2}\/cmd_vel \[geometry_msgs\/msg\/Twist\] \d+ msgs/);
        assert.match(err.message, /\n {2}\/instruction \[std_msgs\/msg\/String\] 1 msgs/);
        return true;
      },
    );
    // Present, but of the wrong type.
    assert.throws(
      () => requireTopic(bag, SAMPLE_TOPICS.image, ["sensor_msgs/msg/CompressedImage"]),
      /has no topic \/camera\/image_raw of type sensor_msgs\/msg\/CompressedImage/,
    );
    assert.match(missingTopicError(bag, "/x").message, /^.*missing: has no topic \/x\./);
  } finally {
    await bag.close();
  }
});

test("bounded reads: streaming reads chunk by chunk, and stopping early reads little of the file", async () => {
  const out = join(dir, "bounded");
  const res = await writeSampleBag(out, { ...SMALL, width: 320, height: 240, durationS: 3 });
  const size = (await readFile(res.files[0]!)).byteLength;
  const source = await McapSource.open(res.files[0]!);
  try {
    const atOpen = source.bytesRead();
    assert.ok(atOpen < size / 10, `open read ${atOpen} of ${size} bytes`);
    let n = 0;
    for await (const _r of source.records({})) {
      if (++n === 3) break;
    }
    assert.ok(source.bytesRead() < size / 4, `3 messages read ${source.bytesRead()} of ${size} bytes`);
    for await (const _r of source.records({})) n++;
    assert.ok(source.bytesRead() >= size * 0.9, "a full pass reads the data");
  } finally {
    await source.close();
  }
  // Breaking out of the bag stream closes it cleanly, and a new stream starts again from the top.
  const bag = await openBag(out);
  for await (const m of bag.messages()) {
    assert.equal(m.index, 0);
    break;
  }
  let count = 0;
  for await (const _m of bag.messages()) count++;
  assert.equal(count, res.messageCount);
  await bag.close();
});

test("schemas: custom ros2msg types decode as 'other'; ros2idl falls back to built-in types; unknown ones fail per message", async () => {
  const file = join(dir, "schemas.mcap");
  const handle = await open(file, "w");
  const writable = new FileWritable(handle);
  const writer = new McapWriter({
    writable,
  });
  await writer.start({ profile: "ros2", library: "test" });
  const te = new TextEncoder();
  const custom = await writer.registerSchema({ name: "my_msgs/msg/Foo", encoding: "ros2msg", data: te.encode("int32 a\nstring b\nfloat64[] c\n") });
  const boolIdl = await writer.registerSchema({ name: "std_msgs/msg/Bool", encoding: "ros2idl", data: te.encode("module std_msgs { ... };") });
  const unknownIdl = await writer.registerSchema({ name: "my_msgs/msg/Bar", encoding: "ros2idl", data: te.encode("module my_msgs { ... };") });
  const ch = async (topic: string, schemaId: number): Promise<number> =>
    writer.registerChannel({ topic, schemaId, messageEncoding: "cdr", metadata: new Map() });
  const fooCh = await ch("/foo", custom);
  const boolCh = await ch("/estop", boolIdl);
  const barCh = await ch("/bar", unknownIdl);
  // int32 a = -7, string b = "hi", float64[] c = [0.5]
  const foo = new Uint8Array([0, 1, 0, 0, 0xf9, 0xff, 0xff, 0xff, 3, 0, 0, 0, 0x68, 0x69, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xe0, 0x3f]);
  await writer.addMessage({ channelId: fooCh, sequence: 0, logTime: 1n, publishTime: 1n, data: foo });
  await writer.addMessage({ channelId: boolCh, sequence: 0, logTime: 2n, publishTime: 2n, data: new Uint8Array([0, 1, 0, 0, 1]) });
  await writer.addMessage({ channelId: barCh, sequence: 0, logTime: 3n, publishTime: 3n, data: new Uint8Array([0, 1, 0, 0, 1]) });
  await writer.end();
  await writable.flush();
  await handle.close();
  const msgs = await collect(file);
  assert.equal(msgs[0]!.message?.kind, "other");
  if (msgs[0]!.message?.kind === "other") {
    const v = msgs[0]!.message.value;
    assert.equal(v["a"], -7);
    assert.equal(v["b"], "hi");
    assert.deepEqual([...(v["c"] as Float64Array)], [0.5]);
  }
  assert.deepEqual(msgs[1]!.message, { kind: "bool", data: true });
  assert.match(msgs[2]!.error?.message ?? "", /cannot decode my_msgs\/msg\/Bar: schema encoding "ros2idl" is not supported/);
});

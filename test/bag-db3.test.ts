import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, truncate, writeFile, open, cp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { openBag, BagError, type BagMessage } from "../src/bags/index.js";

const run = promisify(execFile);
// Next to this file under test/, or two levels up when run compiled from dist/test/.
const WRITER =
  [new URL("./fixtures/write_db3_bag.py", import.meta.url), new URL("../../test/fixtures/write_db3_bag.py", import.meta.url)]
    .map((u) => fileURLToPath(u))
    .find((p) => existsSync(p)) ?? "test/fixtures/write_db3_bag.py";

interface Described {
  topic: string;
  type: string;
  timestamp: string;
  fields: Record<string, unknown>;
}
interface Written {
  db3: string;
  messages: Described[];
  extra: number;
}

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "bag-db3-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeBag(name: string, extra = 0): Promise<Written> {
  const out = join(dir, name);
  const { stdout } = await run("python3", [WRITER, out, name, String(extra)]);
  return JSON.parse(stdout) as Written;
}

async function collect(path: string, options?: Parameters<Awaited<ReturnType<typeof openBag>>["messages"]>[0]): Promise<BagMessage[]> {
  const bag = await openBag(path);
  try {
    const out: BagMessage[] = [];
    for await (const m of bag.messages(options)) out.push(m);
    return out;
  } finally {
    await bag.close();
  }
}

test("db3 from the independent Python writer: every field of every message", async () => {
  const written = await writeBag("humble");
  const bag = await openBag(join(dir, "humble"));
  try {
    assert.equal(bag.storage, "sqlite3");
    assert.deepEqual(bag.files, [written.db3]);
    assert.deepEqual(
      bag.topics().map((t) => [t.name, t.type, t.count, t.serializationFormat]),
      [
        ["/camera/image_raw", "sensor_msgs/msg/Image", 3, "cdr"],
        ["/camera/mono", "sensor_msgs/msg/Image", 2, "cdr"],
        ["/cmd_vel", "geometry_msgs/msg/Twist", 4, "cdr"],
        ["/instruction", "std_msgs/msg/String", 2, "cdr"],
      ],
    );
    assert.match(bag.topics()[0]!.offeredQosProfiles, /^- history: 3\n/);
    assert.equal(bag.messageCount, 11);
    assert.equal(bag.startTimeNs, 1_700_000_000_000_000_000n);
    assert.equal(bag.endTimeNs, 1_700_000_000_251_000_000n);
  } finally {
    await bag.close();
  }

  const msgs = await collect(join(dir, "humble"));
  assert.equal(msgs.length, written.messages.length);
  for (const [i, m] of msgs.entries()) {
    const want = written.messages[i]!;
    const at = `message ${i} (${want.topic})`;
    assert.equal(m.error, undefined, at);
    assert.equal(m.topic, want.topic, at);
    assert.equal(m.type, want.type, at);
    assert.equal(m.logTimeNs, BigInt(want.timestamp), at);
    assert.equal(m.logTime, Number(BigInt(want.timestamp) / 1000n) / 1e6, at);
    const f = want.fields;
    const msg = m.message;
    if (want.type === "sensor_msgs/msg/Image") {
      assert.equal(msg?.kind, "image", at);
      if (msg?.kind !== "image") continue;
      const [sec, nanosec] = f["stamp"] as [number, number];
      assert.equal(msg.header.sec, sec, at);
      assert.equal(msg.header.nanosec, nanosec, at);
      assert.equal(msg.header.stamp, sec + nanosec / 1e9, at);
      assert.equal(msg.header.frame_id, f["frame_id"], at);
      assert.deepEqual(
        { ...msg.image, data: [...msg.image.data] },
        { kind: "raw", width: f["width"], height: f["height"], encoding: f["encoding"], step: f["step"], isBigEndian: false, data: f["data"] },
        at,
      );
    } else if (want.type === "std_msgs/msg/String") {
      assert.deepEqual(msg, { kind: "string", data: f["data"] }, at);
    } else {
      const [lx, ly, lz] = f["linear"] as number[];
      const [ax, ay, az] = f["angular"] as number[];
      assert.deepEqual(msg, { kind: "twist", linear: { x: lx, y: ly, z: lz }, angular: { x: ax, y: ay, z: az } }, at);
    }
  }
  // The bgr8 frames carry 4 bytes of row padding, kept as stored.
  const padded = msgs.find((m) => m.topic === "/camera/image_raw")?.message;
  assert.ok(padded?.kind === "image" && padded.image.step === 16 && padded.image.data[12] === 0xee);
  // Unicode survives the CDR string.
  assert.ok(msgs.some((m) => m.message?.kind === "string" && m.message.data === "왼쪽 바구니로 가세요 →"));
});

test("db3: a single .db3 file reads like its directory; topic and time filters", async () => {
  const written = await writeBag("filters");
  const key = (m: BagMessage): string => `${m.topic}@${m.logTimeNs}:${Buffer.from(m.data).toString("hex")}`;
  const fromDir = await collect(join(dir, "filters"));
  const fromFile = await collect(written.db3);
  assert.equal(fromDir.length, 11);
  assert.deepEqual(fromFile.map(key), fromDir.map(key));

  const cmd = await collect(written.db3, { topics: ["/cmd_vel", "/nothing"] });
  assert.deepEqual(
    cmd.map((m) => m.logTimeNs),
    [2_000_000n, 62_000_000n, 122_000_000n, 182_000_000n].map((d) => 1_700_000_000_000_000_000n + d),
  );
  const none = await collect(written.db3, { topics: [] });
  assert.equal(none.length, 0);
  const windowed = await collect(written.db3, { startTime: 1_700_000_000.1, endTime: 1_700_000_000.15 });
  assert.deepEqual(
    windowed.map((m) => m.topic),
    ["/camera/image_raw", "/cmd_vel", "/instruction"],
  );
  const exact = await collect(written.db3, { startTimeNs: 1_700_000_000_062_000_000n, endTimeNs: 1_700_000_000_105_000_000n });
  assert.deepEqual(
    exact.map((m) => m.logTimeNs - 1_700_000_000_000_000_000n),
    [62_000_000n, 105_000_000n],
  );
});

test("db3 without metadata.yaml (a crashed recording) is still found in its directory", async () => {
  await writeBag("nometa");
  await rm(join(dir, "nometa", "metadata.yaml"));
  const msgs = await collect(join(dir, "nometa"));
  assert.equal(msgs.length, 11);
});

test("corrupt db3: overwritten header -> a clear error naming the file and offset 0", async () => {
  const written = await writeBag("badheader");
  const handle = await open(written.db3, "r+");
  await handle.write(Buffer.from("this is not sqlite at all"), 0, 25, 0);
  await handle.close();
  await assert.rejects(openBag(join(dir, "badheader")), (err: unknown) => {
    assert.ok(err instanceof BagError, String(err));
    assert.equal(err.file, written.db3);
    assert.ok(err.message.startsWith(`${written.db3}: not a readable sqlite3 database`), err.message);
    assert.match(err.message, /does not start with the sqlite3 header/);
    assert.equal(err.location.offset, 0);
    return true;
  });
});

test("truncated db3 -> a clear error saying where the file ends and what it should have held", async () => {
  const written = await writeBag("truncated", 200);
  const size = (await readFile(written.db3)).byteLength;
  const cut = Math.floor(size / 2 / 4096) * 4096;
  await truncate(written.db3, cut);
  await assert.rejects(openBag(join(dir, "truncated")), (err: unknown) => {
    assert.ok(err instanceof BagError, String(err));
    assert.ok(err.message.startsWith(written.db3), err.message);
    assert.match(
      err.message,
      new RegExp(`the file is truncated: its header declares ${size / 4096} pages of 4096 bytes \\(${size} bytes\\) but the file ends at byte ${cut}`),
    );
    assert.equal(err.location.offset, cut);
    return true;
  });
});

test("db3 damaged inside a table page -> error with the file and how far the messages are readable", async () => {
  const written = await writeBag("damaged", 200);
  const data = await readFile(written.db3);
  // Find a b-tree page of the messages table far into the file and wreck its header.
  let page = -1;
  for (let p = Math.floor(data.byteLength / 4096) - 1; p > 4; p--) {
    if (data[p * 4096] === 0x0d) {
      page = p;
      break;
    }
  }
  assert.ok(page > 0, "a leaf table page exists");
  const handle = await open(written.db3, "r+");
  await handle.write(Buffer.alloc(64, 0xff), 0, 64, page * 4096);
  await handle.close();
  await assert.rejects(
    (async () => {
      const bag = await openBag(written.db3);
      try {
        for await (const _m of bag.messages()) {
          // draining
        }
      } finally {
        await bag.close();
      }
    })(),
    (err: unknown) => {
      assert.ok(err instanceof BagError, String(err));
      assert.ok(err.message.startsWith(written.db3), err.message);
      assert.match(err.message, /malformed|corrupt/i);
      assert.ok(err.location.messageIndex !== undefined, "names how far the messages were readable");
      return true;
    },
  );
});

test("a file-compressed bag, or another storage, is refused with the reason", async () => {
  await writeBag("compressed");
  const meta = join(dir, "compressed", "metadata.yaml");
  const text = await readFile(meta, "utf8");
  await writeFile(meta, text.replace('compression_format: ""', "compression_format: zstd").replace('compression_mode: ""', "compression_mode: FILE"));
  await assert.rejects(openBag(join(dir, "compressed")), /metadata\.yaml: the bag is FILE-compressed with zstd/);
  await writeFile(meta, text.replace("storage_identifier: sqlite3", "storage_identifier: rocksdb"));
  await assert.rejects(openBag(join(dir, "compressed")), /storage_identifier "rocksdb" is not supported/);
  await cp(join(dir, "compressed"), join(dir, "missingfile"), { recursive: true });
  await writeFile(join(dir, "missingfile", "metadata.yaml"), text.replace(/- compressed_0\.db3/g, "- gone_0.db3"));
  await assert.rejects(openBag(join(dir, "missingfile")), /lists gone_0\.db3, which is not in/);
  await assert.rejects(openBag(join(dir, "nowhere")), (err: unknown) => err instanceof BagError && /no such bag/.test(err.message));
});

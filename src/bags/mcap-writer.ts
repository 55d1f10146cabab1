// Writes a rosbag2 bag with MCAP storage the way `ros2 bag record -s mcap`
// lays it out: profile "ros2", one `ros2msg` schema per type holding the full
// concatenated definition, channels with `cdr` encoding and
// `offered_qos_profiles` metadata, optional splitting into `<name>_<i>.mcap`,
// and a Humble (version 5) metadata.yaml. Chunks are uncompressed: this
// process has no zstd/lz4 compressor, and readers handle either.

import { mkdir, open, writeFile, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { McapWriter, type IWritable } from "@mcap/core";
import { makeEncoder } from "../msgs/cdr.js";
import { fullDefinitionText } from "../msgs/definitions.js";
import { fullTypeName } from "../msgs/type-names.js";

export type Reliability = "reliable" | "best_effort";

export interface WriterTopic {
  name: string;
  /** e.g. "sensor_msgs/msg/Image" (must be a type msgs/definitions.ts knows). */
  type: string;
  /** QoS the recorder saw offered: reliable (default) or best_effort (sensor data). */
  reliability?: Reliability;
}

export interface BagWriterOptions {
  /** File base name: files are `<name>_0.mcap`, `<name>_1.mcap`, ... (default: the directory's name). */
  name?: string;
  /** Start a new file when a message is this far (ns) past the current file's first message. */
  splitEveryNs?: bigint;
  /** MCAP chunk size in bytes (rosbag2's default 768 KiB). */
  chunkSize?: number;
  /** Written in the MCAP header's library field. */
  library?: string;
}

const INFINITE = "    sec: 9223372036\n    nsec: 854775807";

/** offered_qos_profiles as rosbag2 (Humble) records it for one publisher. */
export function qosProfileYaml(reliability: Reliability): string {
  return [
    "- history: 3",
    "  depth: 0",
    `  reliability: ${reliability === "reliable" ? 1 : 2}`,
    "  durability: 2",
    "  deadline:",
    INFINITE,
    "  lifespan:",
    INFINITE,
    "  liveliness: 1",
    "  liveliness_lease_duration:",
    INFINITE,
    "  avoid_ros_namespace_conventions: false",
  ].join("\n");
}

/** Buffers small writes so a chunk or record costs one syscall, not several. */
export class FileWritable implements IWritable {
  private pos = 0n;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;

  constructor(private readonly handle: FileHandle) {}

  async write(buffer: Uint8Array): Promise<void> {
    // McapWriter reuses its buffers after the promise resolves, so keep a copy.
    this.pending.push(buffer.slice());
    this.pendingBytes += buffer.byteLength;
    this.pos += BigInt(buffer.byteLength);
    if (this.pendingBytes >= 4 << 20) await this.flush();
  }

  position(): bigint {
    return this.pos;
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const all = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    await this.handle.write(all);
  }
}

interface FileStats {
  path: string;
  startNs: bigint;
  endNs: bigint;
  count: number;
}

interface OpenFile {
  writer: McapWriter;
  writable: FileWritable;
  handle: FileHandle;
  channels: Map<string, number>;
  stats: FileStats;
}

export interface WrittenBag {
  dir: string;
  files: string[];
  messageCount: number;
  startNs: bigint;
  endNs: bigint;
  counts: Map<string, number>;
}

export class RosbagMcapWriter {
  private current: OpenFile | undefined;
  private readonly done: FileStats[] = [];
  private readonly encoders = new Map<string, (m: unknown) => Uint8Array>();
  private readonly counts = new Map<string, number>();
  private lastNs: bigint | undefined;

  private constructor(
    readonly dir: string,
    private readonly name: string,
    private readonly topics: WriterTopic[],
    private readonly options: BagWriterOptions,
  ) {
    for (const t of topics) {
      this.counts.set(t.name, 0);
      if (!this.encoders.has(t.type)) this.encoders.set(t.type, makeEncoder(t.type));
    }
  }

  static async create(dir: string, topics: WriterTopic[], options: BagWriterOptions = {}): Promise<RosbagMcapWriter> {
    await mkdir(dir, { recursive: true });
    const name =
      options.name ??
      dir
        .split(/[\\/]/)
        .filter((s) => s !== "")
        .pop() ??
      "bag";
    return new RosbagMcapWriter(
      dir,
      name,
      topics.map((t) => ({ ...t, type: fullTypeName(t.type) })),
      options,
    );
  }

  private async openFile(startNs: bigint): Promise<OpenFile> {
    const path = `${this.name}_${this.done.length}.mcap`;
    const handle = await open(join(this.dir, path), "w");
    const writable = new FileWritable(handle);
    const writer = new McapWriter({ writable, chunkSize: this.options.chunkSize ?? 768 * 1024 });
    await writer.start({ profile: "ros2", library: this.options.library ?? "mobile_vla_ros" });
    const schemas = new Map<string, number>();
    const channels = new Map<string, number>();
    for (const t of this.topics) {
      let schemaId = schemas.get(t.type);
      if (schemaId === undefined) {
        schemaId = await writer.registerSchema({
          name: t.type,
          encoding: "ros2msg",
          data: new TextEncoder().encode(fullDefinitionText(t.type)),
        });
        schemas.set(t.type, schemaId);
      }
      channels.set(
        t.name,
        await writer.registerChannel({
          topic: t.name,
          schemaId,
          messageEncoding: "cdr",
          metadata: new Map([["offered_qos_profiles", qosProfileYaml(t.reliability ?? "reliable")]]),
        }),
      );
    }
    return { writer, writable, handle, channels, stats: { path, startNs, endNs: startNs, count: 0 } };
  }

  private async closeFile(f: OpenFile): Promise<void> {
    await f.writer.end();
    await f.writable.flush();
    await f.handle.close();
    this.done.push(f.stats);
  }

  /** Writes one message object (encoded as CDR with the topic's type). Times must not decrease. */
  async write(topic: string, logTimeNs: bigint, message: unknown): Promise<void> {
    const t = this.topics.find((x) => x.name === topic);
    if (t === undefined) throw new Error(`topic ${topic} was not declared to the writer`);
    await this.writeSerialized(topic, logTimeNs, this.encoders.get(t.type)!(message));
  }

  async writeSerialized(topic: string, logTimeNs: bigint, data: Uint8Array): Promise<void> {
    if (this.lastNs !== undefined && logTimeNs < this.lastNs) {
      throw new Error(`messages must be written in time order: ${logTimeNs} after ${this.lastNs}`);
    }
    this.lastNs = logTimeNs;
    const split = this.options.splitEveryNs;
    if (this.current !== undefined && split !== undefined && logTimeNs - this.current.stats.startNs >= split) {
      await this.closeFile(this.current);
      this.current = undefined;
    }
    this.current ??= await this.openFile(logTimeNs);
    const f = this.current;
    const channelId = f.channels.get(topic);
    if (channelId === undefined) throw new Error(`topic ${topic} was not declared to the writer`);
    // rosbag2 writes sequence 0 and publish time = log time.
    await f.writer.addMessage({ channelId, sequence: 0, logTime: logTimeNs, publishTime: logTimeNs, data });
    f.stats.endNs = logTimeNs;
    f.stats.count++;
    this.counts.set(topic, (this.counts.get(topic) ?? 0) + 1);
  }

  /** Finishes the last file and writes metadata.yaml. */
  async close(): Promise<WrittenBag> {
    if (this.current !== undefined) await this.closeFile(this.current);
    this.current = undefined;
    if (this.done.length === 0) {
      // An empty recording still has one (empty) file, as rosbag2 leaves it.
      await this.closeFile(await this.openFile(0n));
    }
    const startNs = this.done.reduce((m, f) => (f.count > 0 && f.startNs < m ? f.startNs : m), this.done[0]!.startNs);
    const endNs = this.done.reduce((m, f) => (f.endNs > m ? f.endNs : m), 0n);
    const messageCount = this.done.reduce((n, f) => n + f.count, 0);
    await writeFile(join(this.dir, "metadata.yaml"), this.metadataYaml(startNs, endNs, messageCount));
    return { dir: this.dir, files: this.done.map((f) => join(this.dir, f.path)), messageCount, startNs, endNs, counts: new Map(this.counts) };
  }

  private metadataYaml(startNs: bigint, endNs: bigint, messageCount: number): string {
    const q = (s: string): string => JSON.stringify(s); // a JSON string is a valid YAML double-quoted scalar
    const lines = [
      "rosbag2_bagfile_information:",
      "  version: 5",
      "  storage_identifier: mcap",
      "  duration:",
      `    nanoseconds: ${endNs - startNs}`,
      "  starting_time:",
      `    nanoseconds_since_epoch: ${startNs}`,
      `  message_count: ${messageCount}`,
      "  topics_with_message_count:",
    ];
    for (const t of this.topics) {
      lines.push(
        "    - topic_metadata:",
        `        name: ${t.name}`,
        `        type: ${t.type}`,
        "        serialization_format: cdr",
        `        offered_qos_profiles: ${q(qosProfileYaml(t.reliability ?? "reliable"))}`,
        `      message_count: ${this.counts.get(t.name) ?? 0}`,
      );
    }
    lines.push('  compression_format: ""', '  compression_mode: ""', "  relative_file_paths:");
    for (const f of this.done) lines.push(`    - ${f.path}`);
    lines.push("  files:");
    for (const f of this.done) {
      lines.push(
        `    - path: ${f.path}`,
        "      starting_time:",
        `        nanoseconds_since_epoch: ${f.startNs}`,
        "      duration:",
        `        nanoseconds: ${f.endNs - f.startNs}`,
        `      message_count: ${f.count}`,
      );
    }
    return lines.join("\n") + "\n";
  }
}

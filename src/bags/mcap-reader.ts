// One MCAP file of a rosbag2 bag, read through its index so messages stream
// chunk by chunk in log-time order. A file without a usable index (cut off
// mid-recording, or corrupt) is diagnosed with a linear scan that finds where
// it breaks.

import { open, type FileHandle } from "node:fs/promises";
import {
  McapIndexedReader,
  McapStreamReader,
  type DecompressHandlers,
  type IReadable,
  type TypedMcapRecords,
} from "@mcap/core";
import { decoderForSchema, type CdrDecode } from "./cdr.js";
import { decompressHandlers, unsupportedCompressionHint } from "./decompress.js";
import {
  BagError,
  errorText,
  type BagSource,
  type RawBagRecord,
  type RecordFilter,
  type SourceTopic,
} from "./source.js";

/** Random access to a file for McapIndexedReader; every read returns a fresh buffer. */
export class FileReadable implements IReadable {
  /** Bytes read so far: how the bounded-read design is checked. */
  bytesRead = 0;

  private constructor(
    private readonly handle: FileHandle,
    private readonly bytes: bigint,
    private readonly file: string,
  ) {}

  static async open(file: string): Promise<FileReadable> {
    const handle = await open(file, "r");
    try {
      const { size } = await handle.stat();
      return new FileReadable(handle, BigInt(size), file);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  async size(): Promise<bigint> {
    return this.bytes;
  }

  async read(offset: bigint, length: bigint): Promise<Uint8Array> {
    if (offset + length > this.bytes) {
      throw new BagError(this.file, `read of ${length} bytes past the end of the file (size ${this.bytes})`, { offset });
    }
    const n = Number(length);
    const buf = new Uint8Array(n);
    let done = 0;
    while (done < n) {
      const { bytesRead } = await this.handle.read(buf, done, n - done, Number(offset) + done);
      if (bytesRead === 0) throw new BagError(this.file, "file shrank while reading", { offset: offset + BigInt(done) });
      done += bytesRead;
    }
    this.bytesRead += n;
    return buf;
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

export interface McapScan {
  complete: boolean;
  /** End of the last record that parsed completely. */
  goodUntil: number;
  records: number;
  messages: number;
  /** The parse error, when the scan stopped on one rather than at the end of the data. */
  error?: string;
  size: number;
}

const SCAN_PIECE = 1 << 20;

/**
 * Reads the file front to back with the streaming parser, to say how far it
 * is intact. Memory stays at one chunk; time is one pass over the file.
 */
export async function scanMcap(file: string, handlers?: DecompressHandlers): Promise<McapScan> {
  const readable = await FileReadable.open(file);
  try {
    const size = Number(await readable.size());
    const stream = new McapStreamReader({ decompressHandlers: handlers ?? (await decompressHandlers()), validateCrcs: true });
    let fed = 0;
    let goodUntil = 0;
    let records = 0;
    let messages = 0;
    while (fed < size) {
      const n = Math.min(SCAN_PIECE, size - fed);
      stream.append(await readable.read(BigInt(fed), BigInt(n)));
      fed += n;
      try {
        for (let r = stream.nextRecord(); r !== undefined; r = stream.nextRecord()) {
          records++;
          if (r.type === "Message") messages++;
          goodUntil = fed - stream.bytesRemaining();
        }
      } catch (err) {
        return { complete: false, goodUntil, records, messages, error: errorText(err), size };
      }
    }
    return { complete: stream.done(), goodUntil, records, messages, size };
  } finally {
    await readable.close();
  }
}

function describeBreak(scan: McapScan): { text: string; offset: number } {
  if (scan.size === 0) return { text: "the file is empty", offset: 0 };
  if (scan.error !== undefined) {
    return {
      text: `the data is corrupt after the last good record (${scan.messages} messages before it): ${scan.error}`,
      offset: scan.goodUntil,
    };
  }
  if (!scan.complete) {
    return {
      text: `the file is cut off at byte ${scan.size}; the last complete record ends at byte ${scan.goodUntil} (${scan.messages} messages before the break). The recording was probably interrupted; \`mcap recover\` can rebuild the index of what is there`,
      offset: scan.goodUntil,
    };
  }
  return { text: "the data section parses but the summary/index does not", offset: scan.goodUntil };
}

interface ChannelInfo {
  topic: string;
  type: string;
  decode: CdrDecode;
}

export class McapSource implements BagSource {
  readonly storage = "mcap" as const;
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly messageCount: number | undefined;
  private readonly channels = new Map<number, ChannelInfo>();
  private readonly topicList: SourceTopic[];

  private constructor(
    readonly file: string,
    private readonly readable: FileReadable,
    private readonly reader: McapIndexedReader,
    private readonly validateCrcs: boolean,
  ) {
    const decoders = new Map<number, CdrDecode>();
    const counts = reader.statistics?.channelMessageCounts;
    const byTopic = new Map<string, SourceTopic>();
    for (const ch of reader.channelsById.values()) {
      const schema = reader.schemasById.get(ch.schemaId);
      const type = schema?.name ?? "";
      let decode = decoders.get(ch.schemaId);
      if (decode === undefined) {
        decode = decoderForSchema(type, schema?.encoding ?? "", schema?.data ?? new Uint8Array());
        decoders.set(ch.schemaId, decode);
      }
      if (ch.messageEncoding !== "cdr") {
        const enc = ch.messageEncoding;
        decode = () => {
          throw new Error(`message encoding "${enc}" is not supported (only cdr)`);
        };
      }
      this.channels.set(ch.id, { topic: ch.topic, type, decode });
      const count = counts === undefined ? undefined : Number(counts.get(ch.id) ?? 0n);
      const prev = byTopic.get(ch.topic);
      if (prev === undefined) {
        byTopic.set(ch.topic, {
          name: ch.topic,
          type,
          serializationFormat: ch.messageEncoding,
          offeredQosProfiles: ch.metadata.get("offered_qos_profiles") ?? "",
          count,
        });
      } else if (prev.count !== undefined && count !== undefined) {
        prev.count += count;
      }
    }
    this.topicList = [...byTopic.values()];
    const stats = reader.statistics;
    if (stats !== undefined && stats.messageCount > 0n) {
      this.startNs = stats.messageStartTime;
      this.endNs = stats.messageEndTime;
    } else if (reader.chunkIndexes.length > 0) {
      this.startNs = reader.chunkIndexes.reduce((m, c) => (c.messageStartTime < m ? c.messageStartTime : m), reader.chunkIndexes[0]!.messageStartTime);
      this.endNs = reader.chunkIndexes.reduce((m, c) => (c.messageEndTime > m ? c.messageEndTime : m), 0n);
    } else {
      this.startNs = 0n;
      this.endNs = 0n;
    }
    this.messageCount = stats === undefined ? undefined : Number(stats.messageCount);
  }

  static async open(file: string, options: { validateCrcs?: boolean; decompressHandlers?: DecompressHandlers } = {}): Promise<McapSource> {
    const handlers = { ...(await decompressHandlers()), ...options.decompressHandlers };
    let readable: FileReadable;
    try {
      readable = await FileReadable.open(file);
    } catch (err) {
      throw new BagError(file, `cannot open: ${errorText(err)}`, {}, { cause: err });
    }
    let reader: McapIndexedReader;
    try {
      reader = await McapIndexedReader.Initialize({ readable, decompressHandlers: handlers });
    } catch (err) {
      await readable.close();
      const scan = await scanMcap(file, handlers).catch(() => undefined);
      if (scan === undefined) throw new BagError(file, `not a readable MCAP file: ${errorText(err)}`, {}, { cause: err });
      const brk = describeBreak(scan);
      throw new BagError(file, `not a complete MCAP file (${errorText(err)}): ${brk.text}`, { offset: brk.offset }, { cause: err });
    }
    try {
      if (reader.chunkIndexes.length === 0 && (reader.statistics?.messageCount ?? 0n) > 0n) {
        // rosbag2's "fastwrite" preset writes no chunks; the indexed reader only reads chunks.
        throw new BagError(file, "the file has messages but no chunk index (unchunked MCAP); rewrite it with `mcap convert` or `ros2 bag convert` to a chunked file");
      }
      for (const chunk of reader.chunkIndexes) {
        if (chunk.compression !== "" && handlers[chunk.compression] === undefined) {
          throw new BagError(
            file,
            `chunk is ${chunk.compression}-compressed and cannot be decompressed here: ${unsupportedCompressionHint(chunk.compression)}`,
            { offset: chunk.chunkStartOffset },
          );
        }
      }
      return new McapSource(file, readable, reader, options.validateCrcs ?? true);
    } catch (err) {
      await readable.close();
      throw err;
    }
  }

  topics(): SourceTopic[] {
    return this.topicList.map((t) => ({ ...t }));
  }

  /** Bytes read from the file so far (summary at open, then chunk by chunk). */
  bytesRead(): number {
    return this.readable.bytesRead;
  }

  async *records(filter: RecordFilter): AsyncGenerator<RawBagRecord, void, undefined> {
    const topics = filter.topics === undefined ? undefined : [...filter.topics];
    if (topics !== undefined && topics.length === 0) return;
    let index = 0;
    let last: TypedMcapRecords["Message"] | undefined;
    const iter = this.reader.readMessages({
      topics,
      startTime: filter.startNs,
      endTime: filter.endNs,
      validateCrcs: this.validateCrcs,
    });
    try {
      for (;;) {
        let next: IteratorResult<TypedMcapRecords["Message"], void>;
        try {
          next = await iter.next();
        } catch (err) {
          const after = last === undefined ? "before the first message" : `after log time ${last.logTime} ns`;
          throw new BagError(this.file, `cannot read the next message ${after}: ${errorText(err)}`, { messageIndex: index }, { cause: err });
        }
        if (next.done === true) return;
        const msg = next.value;
        last = msg;
        const ch = this.channels.get(msg.channelId);
        if (ch === undefined) {
          throw new BagError(this.file, `message refers to unknown channel ${msg.channelId}`, { messageIndex: index });
        }
        index++;
        yield { topic: ch.topic, type: ch.type, logTimeNs: msg.logTime, data: msg.data, decode: ch.decode };
      }
    } finally {
      // Stops the chunk reads when the consumer leaves early.
      await iter.return(undefined);
    }
  }

  close(): Promise<void> {
    return this.readable.close();
  }
}

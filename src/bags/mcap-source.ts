// One MCAP file of a rosbag2 bag, read through its index: the topics with the
// schema each channel stored, and the messages as bytes, streamed chunk by chunk
// in log-time order (eager: @mcap/core's indexed reader, which checks each
// chunk's CRC; lazy: mcap-lazy.ts). A file without a usable index is diagnosed
// with a scan that finds where it breaks (mcap-scan.ts).

import { McapIndexedReader, type DecompressHandlers, type TypedMcapRecords } from "@mcap/core";
import type { MessageSchema } from "../msgs/message-decoder.js";
import { decompressHandlers, unsupportedCompressionHint } from "./decompress.js";
import { FileReadable } from "./mcap-file.js";
import { McapLazyReader, type LazyChannel } from "./mcap-lazy.js";
import { describeBreak, scanMcap } from "./mcap-scan.js";
import { errorText } from "../util/errors.js";
import { BagError, type BagSource, type LazyRawRecord, type RawBagRecord, type RecordFilter, type SourceTopic } from "./source.js";

const utf8 = new TextDecoder();

export class McapSource implements BagSource {
  readonly storage = "mcap" as const;
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly messageCount: number | undefined;
  readonly warnings: readonly string[] = [];
  private readonly channels = new Map<number, LazyChannel>();
  private readonly topicList: SourceTopic[];
  private readonly lazy: McapLazyReader;

  private constructor(
    readonly file: string,
    private readonly readable: FileReadable,
    private readonly reader: McapIndexedReader,
    private readonly validateCrcs: boolean,
    handlers: DecompressHandlers,
  ) {
    const schemas = new Map<string, MessageSchema>();
    const counts = reader.statistics?.channelMessageCounts;
    const byTopic = new Map<string, SourceTopic>();
    for (const ch of reader.channelsById.values()) {
      const stored = reader.schemasById.get(ch.schemaId);
      // One object per (schema, message encoding): decoders are cached by it.
      const key = `${ch.schemaId}\u0000${ch.messageEncoding}`;
      let schema = schemas.get(key);
      if (schema === undefined) {
        schema = {
          type: stored?.name ?? "",
          messageEncoding: ch.messageEncoding,
          definitionEncoding: stored?.encoding ?? "",
          definition: stored === undefined ? "" : utf8.decode(stored.data),
        };
        schemas.set(key, schema);
      }
      this.channels.set(ch.id, { topic: ch.topic, schema });
      const count = counts === undefined ? undefined : Number(counts.get(ch.id) ?? 0n);
      const prev = byTopic.get(ch.topic);
      if (prev === undefined) {
        byTopic.set(ch.topic, { name: ch.topic, schema, offeredQosProfiles: ch.metadata.get("offered_qos_profiles") ?? "", count });
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
    // Without chunks the indexed reader reads nothing, whatever the statistics say (open refuses that case).
    this.messageCount = reader.chunkIndexes.length === 0 ? 0 : stats === undefined ? undefined : Number(stats.messageCount);
    this.lazy = new McapLazyReader(file, readable, reader.chunkIndexes, this.channels, validateCrcs, handlers);
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
        throw new BagError(
          file,
          "the file has messages but no chunk index (unchunked MCAP); rewrite it with `mcap convert` or `ros2 bag convert` to a chunked file",
        );
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
      return new McapSource(file, readable, reader, options.validateCrcs ?? true, handlers);
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
        yield { topic: ch.topic, schema: ch.schema, logTimeNs: msg.logTime, data: msg.data };
      }
    } finally {
      // Stops the chunk reads when the consumer leaves early.
      await iter.return(undefined);
    }
  }

  lazyRecords(filter: RecordFilter): AsyncGenerator<LazyRawRecord, void, undefined> {
    return this.lazy.records(filter);
  }

  close(): Promise<void> {
    this.lazy.close();
    return this.readable.close();
  }
}

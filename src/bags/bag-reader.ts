// Opening a rosbag2 bag (a directory with metadata.yaml, or one .mcap/.db3
// file) and streaming its messages in log-time order across all of its files.
// Memory stays bounded: one chunk (MCAP) or one row (sqlite3) per file being
// read, and split files are only opened for reading when the merge reaches
// their start time.
//
// Lazy mode (`messages({ lazy: true })`) yields the same messages in the same
// order with topic and times only: an MCAP file is walked through its chunks'
// message indexes, a .db3 through (id, topic, time, length(data)); a payload
// is read when load() / data() asks for it, synchronously. Memory: the message
// indexes of the chunks the merge is in, plus two whole chunks (mcap-lazy.ts).

import type { DecompressHandlers } from "@mcap/core";
import type { Bag, BagMessage, BagTopic, LazyBagMessage, LazyMessagesOptions, MessagesOptions } from "./bag.js";
import { layoutOf, storageOfExtension, type BagLayout } from "./bag-layout.js";
import { BagDecoder } from "./decode.js";
import { McapSource } from "./mcap-source.js";
import { merge } from "./merge.js";
import { Db3Source } from "./sqlite-reader.js";
import { BagError, type BagSource, type RecordFilter, type StorageId } from "./source.js";
import { nsToSeconds, secondsToNs } from "../util/time.js";
import { recordingSpan, type RecordingSpan } from "./time-span.js";

export interface OpenBagOptions {
  /** Check the CRC of every MCAP chunk whose messages are read (default true). */
  validateCrcs?: boolean;
  /** Extra MCAP chunk decompressors, by compression name. */
  decompressHandlers?: DecompressHandlers;
}

/** First and last log time over the files that hold messages (0n, 0n for none). */
function rawSpan(sources: readonly BagSource[]): { startNs: bigint; endNs: bigint } {
  const nonEmpty = sources.filter((s) => s.messageCount !== 0);
  const startNs = nonEmpty.reduce<bigint | undefined>((m, s) => (m === undefined || s.startNs < m ? s.startNs : m), undefined) ?? 0n;
  const endNs = nonEmpty.reduce((m, s) => (s.endNs > m ? s.endNs : m), 0n);
  return { startNs, endNs };
}

class OpenedBag implements Bag {
  readonly startTimeNs: bigint;
  readonly endTimeNs: bigint;
  readonly messageCount: number;
  readonly files: readonly string[];
  readonly warnings: readonly string[];
  private readonly decoder = new BagDecoder();

  constructor(
    readonly path: string,
    readonly storage: StorageId,
    private readonly sources: BagSource[],
    private readonly layout: BagLayout,
    private readonly span: RecordingSpan,
  ) {
    this.files = sources.map((s) => s.file);
    this.startTimeNs = span.startNs;
    this.endTimeNs = span.endNs;
    this.warnings = [...layout.warnings, ...sources.flatMap((s) => s.warnings), ...span.warnings];
    this.messageCount = this.topics().reduce((n, t) => n + t.count, 0);
  }

  get startTime(): number {
    return nsToSeconds(this.startTimeNs);
  }

  get endTime(): number {
    return nsToSeconds(this.endTimeNs);
  }

  topics(): BagTopic[] {
    const byName = new Map<string, BagTopic>();
    for (const source of this.sources) {
      for (const t of source.topics()) {
        const count = t.count ?? this.layout.metadataCounts.get(t.name) ?? 0;
        const prev = byName.get(t.name);
        if (prev === undefined) {
          byName.set(t.name, {
            name: t.name,
            type: t.schema.type,
            count,
            serializationFormat: t.schema.messageEncoding,
            offeredQosProfiles: t.offeredQosProfiles,
          });
        } else if (t.count !== undefined) {
          prev.count += count;
        }
      }
    }
    for (const [name, n] of this.span.excluded) {
      const t = byName.get(name);
      if (t !== undefined) t.count = Math.max(0, t.count - n);
    }
    return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  messages(options: LazyMessagesOptions): AsyncIterable<LazyBagMessage>;
  messages(options?: MessagesOptions): AsyncIterable<BagMessage>;
  messages(options: MessagesOptions | LazyMessagesOptions = {}): AsyncIterable<BagMessage> | AsyncIterable<LazyBagMessage> {
    let startNs = options.startTimeNs ?? (options.startTime === undefined ? undefined : secondsToNs(options.startTime));
    let endNs = options.endTimeNs ?? (options.endTime === undefined ? undefined : secondsToNs(options.endTime));
    if (this.span.excluded.size > 0) {
      // Messages outside the recording's span were left out (named in warnings).
      if (startNs === undefined || startNs < this.span.startNs) startNs = this.span.startNs;
      if (endNs === undefined || endNs > this.span.endNs) endNs = this.span.endNs;
    }
    const filter: RecordFilter = { topics: options.topics === undefined ? undefined : new Set(options.topics), startNs, endNs };
    const { sources, decoder } = this;
    const inSpan = this.inSpan.bind(this);
    if (options.lazy === true) {
      return {
        async *[Symbol.asyncIterator]() {
          let index = 0;
          for await (const { record, file } of merge(sources, (s) => s.lazyRecords(filter))) yield decoder.lazy(inSpan(record, file), file, index++);
        },
      };
    }
    return {
      async *[Symbol.asyncIterator]() {
        let index = 0;
        for await (const { record, file } of merge(sources, (s) => s.records(filter))) yield decoder.message(inSpan(record, file), file, index++);
      },
    };
  }

  /**
   * The record, checked to lie in the span the bag was opened with: everything
   * downstream (bag info, a replay's clock and its cost check) trusts that span,
   * so a file whose summary does not cover its own messages is refused here.
   */
  private inSpan<R extends { topic: string; logTimeNs: bigint }>(record: R, file: string): R {
    const t = record.logTimeNs;
    if (t < this.span.startNs || t > this.span.endNs) {
      throw new BagError(
        file,
        `a message on ${record.topic} has log time ${t} ns (${nsToSeconds(t).toFixed(3)} s), outside the span the file's summary declares ` +
          `(${this.span.startNs} to ${this.span.endNs} ns): its statistics or chunk index do not describe its messages; rebuild the summary with \`mcap recover\``,
      );
    }
    return record;
  }

  async close(): Promise<void> {
    const results = await Promise.allSettled(this.sources.map((s) => s.close()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed !== undefined) throw failed.reason;
  }
}

/**
 * Opens a bag: a rosbag2 directory (metadata.yaml + files, split files merged
 * in time order), its metadata.yaml, or a single .mcap / .db3 file.
 */
export async function openBag(path: string, options: OpenBagOptions = {}): Promise<Bag> {
  const layout = await layoutOf(path);
  const sources: BagSource[] = [];
  try {
    for (const file of layout.files) {
      const storage = storageOfExtension(file) ?? layout.storage;
      sources.push(
        storage === "mcap"
          ? await McapSource.open(file, { validateCrcs: options.validateCrcs, decompressHandlers: options.decompressHandlers })
          : await Db3Source.open(file),
      );
    }
    const raw = rawSpan(sources);
    const span = await recordingSpan(path, sources, raw.startNs, raw.endNs);
    return new OpenedBag(path, layout.storage, sources, layout, span);
  } catch (err) {
    await Promise.allSettled(sources.map((s) => s.close()));
    throw err;
  }
}

/** The error for a topic the caller needs but the bag lacks, listing what the bag has. */
export function missingTopicError(bag: Pick<Bag, "path" | "topics">, topic: string, wantedTypes?: readonly string[]): BagError {
  const have = bag.topics();
  const list = have.length === 0 ? "  (no topics)" : have.map((t) => `  ${t.name} [${t.type}] ${t.count} msgs`).join("\n");
  const want = wantedTypes === undefined || wantedTypes.length === 0 ? "" : ` of type ${wantedTypes.join(" or ")}`;
  return new BagError(bag.path, `has no topic ${topic}${want}. Topics in the bag:\n${list}`);
}

/**
 * The topic, checked to exist (and to have one of `types`, when given);
 * throws missingTopicError otherwise.
 */
export function requireTopic(bag: Pick<Bag, "path" | "topics">, topic: string, types?: readonly string[]): BagTopic {
  const found = bag.topics().find((t) => t.name === topic);
  if (found === undefined || (types !== undefined && types.length > 0 && !types.includes(found.type))) {
    throw missingTopicError(bag, topic, types);
  }
  return found;
}

// One MCAP file of a rosbag2 bag, read through its index so messages stream
// chunk by chunk in log-time order. A file without a usable index (cut off
// mid-recording, or corrupt) is diagnosed with a linear scan that finds where
// it breaks.
//
// Lazy reading (lazyRecords) walks only the chunks' MessageIndex records and
// reads a message's bytes when asked for: for an uncompressed chunk a
// positioned read of just that record; a compressed chunk is decompressed
// whole when one of its messages is first read and kept in a two-chunk cache.
//
// CRC trade-off: the chunk CRC covers all of a chunk's records, so it can only
// be checked by reading the whole chunk. The eager path (records) checks it
// (validateCrcs, default on). Lazy reading of an UNCOMPRESSED chunk does not:
// what it checks instead, on every record it reads, is the record's own
// framing against the index (opcode Message, length inside the chunk, channel
// id and log time equal to the index entry), which catches a torn or shifted
// record with a BagError naming the file and byte offset, but not flipped bits
// inside a payload. A COMPRESSED chunk is read whole anyway, so lazy reading
// checks its CRC when it decompresses it (with validateCrcs).

import { readSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { crc32 } from "node:zlib";
import {
  McapIndexedReader,
  McapStreamReader,
  type DecompressHandlers,
  type IReadable,
  type TypedMcapRecords,
} from "@mcap/core";
import { decoderForSchema, imageLayoutOf, type CdrDecode, type ImageLayout } from "./cdr.js";
import { decompressHandlers, unsupportedCompressionHint } from "./decompress.js";
import {
  BagError,
  errorText,
  type BagSource,
  type LazyRawRecord,
  type RawBagRecord,
  type RecordFilter,
  type SourceTopic,
} from "./source.js";

/** The bytes of a Buffer as a plain Uint8Array (what the rest of the bag layer hands out). */
function plainBytes(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Random access to a file for McapIndexedReader; every read returns a fresh buffer. */
export class FileReadable implements IReadable {
  /** Bytes read so far: how the bounded-read design is checked. */
  bytesRead = 0;
  private closed = false;

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

  /** A synchronous positioned read (one lazily read record). */
  readSync(offset: number, length: number): Uint8Array {
    if (this.closed) throw new BagError(this.file, "read after the bag was closed (a lazily read message is valid only until bag.close())", { offset });
    if (offset + length > Number(this.bytes)) {
      throw new BagError(this.file, `read of ${length} bytes past the end of the file (size ${this.bytes})`, { offset });
    }
    // A large read fills every byte (or throws), so it skips zero-filling: an
    // image-sized buffer per sampled frame otherwise costs a memset each.
    const buf = length >= 64 * 1024 ? plainBytes(Buffer.allocUnsafe(length)) : new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.handle.fd, buf, done, length - done, offset + done);
      if (n === 0) throw new BagError(this.file, "file shrank while reading", { offset: offset + done });
      done += n;
    }
    this.bytesRead += length;
    return buf;
  }

  close(): Promise<void> {
    this.closed = true;
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
  imageLayout: ImageLayout | undefined;
}

type ChunkIndex = TypedMcapRecords["ChunkIndex"];

/** A chunk as lazy reading addresses it. */
interface LazyChunk {
  index: ChunkIndex;
  /** File offset of the first byte of the chunk's records. */
  recordsStart: number;
  /** Length of the records once uncompressed (what message offsets index). */
  recordsLength: number;
  compressed: boolean;
}

/** One message index entry of a chunk. */
interface IndexEntry {
  logTime: bigint;
  /** Offset of the message record in the chunk's uncompressed records. */
  offset: number;
  channelId: number;
}

interface ChunkCursor {
  chunk: LazyChunk;
  entries: IndexEntry[];
  next: number;
}

/** Opcode, record length, channel id, sequence, log time, publish time. */
const MESSAGE_HEADER = 1 + 8 + 2 + 4 + 8 + 8;
const OP_MESSAGE = 0x05;
const OP_CHUNK = 0x06;
const OP_MESSAGE_INDEX = 0x07;
/** Chunk record bytes before its compression string's characters and after them. */
const CHUNK_FIXED = 1 + 8 + 8 + 8 + 8 + 4 + 4;
/** Payload bytes read with a record's header when its size is not yet known. */
const SMALL_RECORD = 4096 - MESSAGE_HEADER;
/** Decompressed chunks kept for lazy reads: the one the iteration is in and the one before. */
const DECOMPRESSED_CACHE = 2;

function u64(view: DataView, at: number): number {
  const v = view.getBigUint64(at, true);
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
}

/** A lazily read message of one MCAP file. */
class McapLazyRecord implements LazyRawRecord {
  readonly topic: string;
  readonly type: string;
  readonly decode: CdrDecode;
  readonly imageLayout: ImageLayout | undefined;
  /** Payload length, once the record's framing has been read. */
  payloadLength = -1;

  constructor(
    private readonly source: McapSource,
    readonly chunk: LazyChunk,
    readonly entry: IndexEntry,
    readonly logTimeNs: bigint,
    ch: ChannelInfo,
  ) {
    this.topic = ch.topic;
    this.type = ch.type;
    this.decode = ch.decode;
    this.imageLayout = ch.imageLayout;
  }

  size(): number {
    if (this.payloadLength < 0) this.source.recordHead(this, 0);
    return this.payloadLength;
  }

  head(n: number): Uint8Array {
    return this.source.recordHead(this, n);
  }

  slice(start: number, end: number): Uint8Array {
    return this.source.recordSlice(this, start, end);
  }

  read(): Uint8Array {
    if (this.payloadLength < 0) {
      // One read for a small message; a large one is read again from its payload start.
      const head = this.source.recordHead(this, SMALL_RECORD);
      // A copy: the CDR reader takes typed arrays of the whole underlying
      // buffer, so a view into the larger read would let a cut-off message
      // decode bytes of the records after it instead of failing.
      if (head.byteLength === this.payloadLength) return head.slice();
    }
    return this.source.recordSlice(this, 0, this.payloadLength);
  }
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
    private readonly handlers: DecompressHandlers,
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
      this.channels.set(ch.id, { topic: ch.topic, type, decode, imageLayout: ch.messageEncoding === "cdr" ? imageLayoutOf(decode) : undefined });
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
        yield { topic: ch.topic, type: ch.type, logTimeNs: msg.logTime, data: msg.data, decode: ch.decode };
      }
    } finally {
      // Stops the chunk reads when the consumer leaves early.
      await iter.return(undefined);
    }
  }

  async *lazyRecords(filter: RecordFilter): AsyncGenerator<LazyRawRecord, void, undefined> {
    let relevant: Set<number> | undefined;
    if (filter.topics !== undefined) {
      relevant = new Set();
      for (const [id, ch] of this.channels) if (filter.topics.has(ch.topic)) relevant.add(id);
      if (relevant.size === 0) return;
    }
    const { startNs, endNs } = filter;
    const hasRelevant = (c: ChunkIndex): boolean => {
      if (relevant === undefined) return c.messageIndexOffsets.size > 0;
      for (const id of c.messageIndexOffsets.keys()) if (relevant.has(id)) return true;
      return false;
    };
    // Merged in (log time, chunk offset, offset in chunk) order, as the eager
    // reader does; a chunk's index is read when the merge reaches its start time.
    const pending = this.reader.chunkIndexes
      .filter((c) => (endNs === undefined || c.messageStartTime <= endNs) && (startNs === undefined || c.messageEndTime >= startNs) && hasRelevant(c))
      .sort((a, b) => (a.messageStartTime < b.messageStartTime ? -1 : a.messageStartTime > b.messageStartTime ? 1 : Number(a.chunkStartOffset - b.chunkStartOffset)));
    const active: ChunkCursor[] = [];
    let p = 0;
    for (;;) {
      let head: ChunkCursor | undefined;
      for (const c of active) {
        if (head === undefined) head = c;
        else {
          const a = c.entries[c.next]!.logTime;
          const b = head.entries[head.next]!.logTime;
          if (a < b || (a === b && c.chunk.index.chunkStartOffset < head.chunk.index.chunkStartOffset)) head = c;
        }
      }
      while (p < pending.length && (head === undefined || pending[p]!.messageStartTime <= head.entries[head.next]!.logTime)) {
        const index = pending[p++]!;
        const chunk = this.lazyChunk(index);
        const entries = this.readMessageIndex(index, relevant, startNs, endNs);
        if (entries.length === 0) continue;
        const cursor: ChunkCursor = { chunk, entries, next: 0 };
        active.push(cursor);
        const t = entries[0]!.logTime;
        if (head === undefined || t < head.entries[head.next]!.logTime || (t === head.entries[head.next]!.logTime && index.chunkStartOffset < head.chunk.index.chunkStartOffset)) head = cursor;
      }
      if (head === undefined) return;
      const entry = head.entries[head.next++]!;
      if (head.next >= head.entries.length) active.splice(active.indexOf(head), 1);
      const ch = this.channels.get(entry.channelId);
      if (ch === undefined) {
        throw new BagError(this.file, `message index of the chunk at byte ${head.chunk.index.chunkStartOffset} refers to unknown channel ${entry.channelId}`, { offset: head.chunk.index.chunkStartOffset });
      }
      yield new McapLazyRecord(this, head.chunk, entry, entry.logTime, ch);
    }
  }

  private lazyChunk(index: ChunkIndex): LazyChunk {
    const nameBytes = Buffer.byteLength(index.compression, "utf8");
    const expected = BigInt(CHUNK_FIXED + nameBytes + 8) + index.compressedSize;
    if (index.chunkLength !== expected) {
      throw new BagError(
        this.file,
        `the chunk index says the chunk is ${index.chunkLength} bytes, but its ${index.compressedSize} bytes of records need ${expected}: the summary does not describe this chunk`,
        { offset: index.chunkStartOffset },
      );
    }
    const compressed = index.compression !== "";
    return {
      index,
      recordsStart: Number(index.chunkStartOffset) + CHUNK_FIXED + nameBytes + 8,
      recordsLength: Number(compressed ? index.uncompressedSize : index.compressedSize),
      compressed,
    };
  }

  /** The chunk's message index entries of the relevant channels inside [startNs, endNs], in read order. */
  private readMessageIndex(index: ChunkIndex, relevant: Set<number> | undefined, startNs: bigint | undefined, endNs: bigint | undefined): IndexEntry[] {
    let first: bigint | undefined;
    let firstRelevant: bigint | undefined;
    for (const [id, off] of index.messageIndexOffsets) {
      if (first === undefined || off < first) first = off;
      if ((relevant === undefined || relevant.has(id)) && (firstRelevant === undefined || off < firstRelevant)) firstRelevant = off;
    }
    if (first === undefined || firstRelevant === undefined) return [];
    const from = Number(firstRelevant);
    const buf = this.readable.readSync(from, Number(first + index.messageIndexLength) - from);
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const entries: IndexEntry[] = [];
    let pos = 0;
    let sorted = true;
    while (pos < buf.byteLength) {
      const bad = (why: string): BagError =>
        new BagError(this.file, `message index of the chunk at byte ${index.chunkStartOffset} is damaged: ${why}`, { offset: from + pos });
      if (buf.byteLength - pos < 9) throw bad("a record header is cut off");
      const op = buf[pos]!;
      const len = u64(view, pos + 1);
      if (pos + 9 + len > buf.byteLength) throw bad(`a record of ${len} bytes runs past the index section`);
      if (op === OP_MESSAGE_INDEX) {
        if (len < 6) throw bad(`a MessageIndex record of ${len} bytes`);
        const channelId = view.getUint16(pos + 9, true);
        const n = view.getUint32(pos + 11, true);
        if (n % 16 !== 0 || 6 + n > len) throw bad(`a MessageIndex record whose ${n} bytes of entries do not fit its length ${len}`);
        if (relevant === undefined || relevant.has(channelId)) {
          for (let at = pos + 15; at < pos + 15 + n; at += 16) {
            const logTime = view.getBigUint64(at, true);
            if ((startNs !== undefined && logTime < startNs) || (endNs !== undefined && logTime > endNs)) continue;
            const entry = { logTime, offset: u64(view, at + 8), channelId };
            const last = entries[entries.length - 1];
            if (last !== undefined && (logTime < last.logTime || (logTime === last.logTime && entry.offset < last.offset))) sorted = false;
            entries.push(entry);
          }
        }
      }
      pos += 9 + len;
    }
    if (!sorted) entries.sort((a, b) => (a.logTime < b.logTime ? -1 : a.logTime > b.logTime ? 1 : a.offset - b.offset));
    return entries;
  }

  /** Checks a message record's framing against its index entry; returns the payload length. */
  private checkFrame(rec: McapLazyRecord, buf: Uint8Array, at: number, available: number, where: () => string): number {
    const torn = (why: string): BagError => new BagError(this.file, `torn message record ${where()}: ${why}`, { offset: this.recordOffset(rec) });
    const { chunk, entry } = rec;
    if (available < MESSAGE_HEADER) throw torn(`only ${available} bytes of its chunk are left, less than a message header`);
    const view = new DataView(buf.buffer, buf.byteOffset + at, MESSAGE_HEADER);
    const op = view.getUint8(0);
    if (op !== OP_MESSAGE) throw torn(`opcode 0x${op.toString(16).padStart(2, "0")} where the chunk's message index points (expected 0x05, Message)`);
    const len = u64(view, 1);
    if (len < MESSAGE_HEADER - 9) throw torn(`record length ${len} is shorter than a message header`);
    if (entry.offset + 9 + len > chunk.recordsLength) {
      throw torn(`record length ${len} runs past the end of its chunk (${chunk.recordsLength - entry.offset - 9} bytes left)`);
    }
    const channelId = view.getUint16(9, true);
    if (channelId !== entry.channelId) throw torn(`channel id ${channelId}, but the message index says ${entry.channelId}`);
    const logTime = view.getBigUint64(15, true);
    if (logTime !== entry.logTime) throw torn(`log time ${logTime} ns, but the message index says ${entry.logTime} ns`);
    return len - (MESSAGE_HEADER - 9);
  }

  /** The record's byte offset in the file (uncompressed) or the chunk's (compressed). */
  private recordOffset(rec: McapLazyRecord): number | bigint {
    return rec.chunk.compressed ? rec.chunk.index.chunkStartOffset : rec.chunk.recordsStart + rec.entry.offset;
  }

  private whereText(rec: McapLazyRecord): string {
    const { chunk, entry } = rec;
    return chunk.compressed
      ? `at offset ${entry.offset} of the ${chunk.index.compression} chunk at byte ${chunk.index.chunkStartOffset} (log time ${entry.logTime} ns)`
      : `at byte ${chunk.recordsStart + entry.offset} (log time ${entry.logTime} ns, chunk at byte ${chunk.index.chunkStartOffset})`;
  }

  /** The first bytes of a lazily read record's payload (framing checked). */
  recordHead(rec: McapLazyRecord, n: number): Uint8Array {
    const { chunk, entry } = rec;
    const left = chunk.recordsLength - entry.offset;
    if (chunk.compressed) {
      const data = this.chunkRecords(chunk);
      rec.payloadLength = this.checkFrame(rec, data, entry.offset, Math.max(0, left), () => this.whereText(rec));
      const start = entry.offset + MESSAGE_HEADER;
      return data.subarray(start, start + Math.min(n, rec.payloadLength));
    }
    const want = Math.max(0, Math.min(MESSAGE_HEADER + Math.max(0, n), left));
    const buf = want >= MESSAGE_HEADER ? this.readable.readSync(chunk.recordsStart + entry.offset, want) : new Uint8Array(0);
    rec.payloadLength = this.checkFrame(rec, buf, 0, Math.max(0, left), () => this.whereText(rec));
    return buf.subarray(MESSAGE_HEADER, MESSAGE_HEADER + Math.min(n, rec.payloadLength, want - MESSAGE_HEADER));
  }

  /** Payload bytes [start, end) of a lazily read record, in an ArrayBuffer of their own. */
  recordSlice(rec: McapLazyRecord, start: number, end: number): Uint8Array {
    if (rec.payloadLength < 0) this.recordHead(rec, 0);
    if (!(start >= 0 && end >= start && end <= rec.payloadLength)) {
      throw new RangeError(`${this.file}: bytes [${start}, ${end}) are outside the ${rec.payloadLength}-byte message ${this.whereText(rec)}`);
    }
    const at = rec.entry.offset + MESSAGE_HEADER + start;
    if (rec.chunk.compressed) return this.chunkRecords(rec.chunk).slice(at, at + end - start);
    return this.readable.readSync(rec.chunk.recordsStart + at, end - start);
  }

  private decompressed: { offset: bigint; data: Uint8Array }[] = [];

  /** The uncompressed records of a compressed chunk (read, decompressed and CRC-checked once while cached). */
  private chunkRecords(chunk: LazyChunk): Uint8Array {
    const { index } = chunk;
    const hit = this.decompressed.findIndex((d) => d.offset === index.chunkStartOffset);
    if (hit >= 0) {
      const entry = this.decompressed[hit]!;
      if (hit !== this.decompressed.length - 1) {
        this.decompressed.splice(hit, 1);
        this.decompressed.push(entry);
      }
      return entry.data;
    }
    const at = index.chunkStartOffset;
    const raw = this.readable.readSync(Number(at), Number(index.chunkLength));
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const bad = (why: string): BagError => new BagError(this.file, `chunk does not match its index: ${why}`, { offset: at });
    if (raw[0] !== OP_CHUNK) throw bad(`opcode 0x${raw[0]!.toString(16).padStart(2, "0")} (expected 0x06, Chunk)`);
    if (BigInt(u64(view, 1)) + 9n !== index.chunkLength) throw bad(`record length ${u64(view, 1)} + 9 is not the indexed ${index.chunkLength}`);
    const crc = view.getUint32(33, true);
    const nameBytes = view.getUint32(37, true);
    const recordsAt = CHUNK_FIXED + nameBytes + 8;
    if (Number(at) + recordsAt !== chunk.recordsStart) throw bad("its compression name is not the index's");
    if (BigInt(u64(view, recordsAt - 8)) !== index.compressedSize) throw bad(`records length ${u64(view, recordsAt - 8)} is not the indexed ${index.compressedSize}`);
    const decompress = this.handlers[index.compression];
    if (decompress === undefined) throw bad(`no decompressor for ${index.compression}: ${unsupportedCompressionHint(index.compression)}`);
    let data: Uint8Array;
    try {
      data = decompress(raw.subarray(recordsAt), index.uncompressedSize);
    } catch (err) {
      throw new BagError(this.file, `cannot decompress the ${index.compression} chunk: ${errorText(err)}`, { offset: at }, { cause: err });
    }
    if (data.byteLength !== chunk.recordsLength) throw bad(`decompressed to ${data.byteLength} bytes, the index says ${chunk.recordsLength}`);
    if (this.validateCrcs && crc !== 0) {
      const actual = crc32(data) >>> 0;
      if (actual !== crc) throw new BagError(this.file, `chunk CRC mismatch: computed ${actual}, stored ${crc} (the chunk is corrupt)`, { offset: at });
    }
    this.decompressed.push({ offset: at, data });
    if (this.decompressed.length > DECOMPRESSED_CACHE) this.decompressed.shift();
    return data;
  }

  close(): Promise<void> {
    this.decompressed = [];
    return this.readable.close();
  }
}

// Lazy reading of one MCAP file: the chunks' MessageIndex records are walked in
// log-time order and a message's bytes are read only when asked for.
//
// A compressed chunk is decompressed whole when one of its messages is first
// read and kept in a two-chunk cache. A message of an uncompressed chunk is a
// positioned read of just that record (a replay that samples one camera frame
// in twelve reads the pixels of one in twelve).
//
// The chunk CRC covers all of a chunk's records, so it can only be checked on
// the whole chunk: with validateCrcs (the default) every chunk one of whose
// messages is read is checked once, before the read returns; an uncompressed
// chunk by streaming its bytes through a reused buffer, a compressed one when
// it is decompressed. A flipped payload bit then fails every read from that
// chunk with a BagError naming the file and the chunk's offset. A peek at a
// message's first bytes (head, size: a camera frame's stamp and layout, read to
// choose which frame to sample) is not such a read: a replay peeks at every frame
// but reads one in twelve, and checking every peeked chunk read the whole bag
// (replay 227x -> 67x real time). Whatever a peek chooses is read, and so checked,
// before it is used.
//
// Every record read is also checked against the index entry that points at it
// (opcode Message, length inside the chunk, channel id and log time): a torn or
// shifted record is named with its byte offset, before the chunk's CRC is.

import { crc32 } from "node:zlib";
import { Opcode, type DecompressHandlers, type TypedMcapRecords } from "@mcap/core";
import type { MessageSchema } from "../msgs/message-decoder.js";
import { unsupportedCompressionHint } from "./decompress.js";
import type { FileReadable } from "./mcap-file.js";
import { BagError, type LazyRawRecord, type RecordFilter } from "./source.js";
import { errorText } from "../util/errors.js";

type ChunkIndex = TypedMcapRecords["ChunkIndex"];

/** What a lazily read record needs of its channel. */
export interface LazyChannel {
  topic: string;
  schema: MessageSchema;
}

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

/** A compressed chunk's records, decompressed; `crcError` is thrown once a record's own framing has been checked. */
interface WholeChunk {
  offset: bigint;
  data: Uint8Array;
  crcError: BagError | undefined;
}

// Record layouts of the MCAP spec (https://mcap.dev/spec), in bytes.
/** Opcode, record length, channel id, sequence, log time, publish time. */
const MESSAGE_HEADER = 1 + 8 + 2 + 4 + 8 + 8;
/** Chunk record: opcode, length, start and end time, uncompressed size, CRC, compression string length. */
const CHUNK_FIXED = 1 + 8 + 8 + 8 + 8 + 4 + 4;
/** Offset of the uncompressed CRC inside a Chunk record. */
const CHUNK_CRC_AT = 1 + 8 + 8 + 8 + 8;
/** Payload bytes read with a record's header when its size is not yet known. */
const SMALL_RECORD = 4096 - MESSAGE_HEADER;
/** Decompressed chunks kept for lazy reads: the one the iteration is in and the one before. */
const CHUNK_CACHE = 2;
/** Bytes of an uncompressed chunk read at a time to check its CRC. */
const CRC_PIECE = 1 << 20;

function u64(view: DataView, at: number): number {
  const v = view.getBigUint64(at, true);
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
}

function opcodeText(op: number): string {
  return `0x${op.toString(16).padStart(2, "0")}`;
}

/** A lazily read message of one MCAP file. */
class McapLazyRecord implements LazyRawRecord {
  readonly topic: string;
  readonly schema: MessageSchema;
  /** Payload length, once the record's framing has been read. */
  payloadLength = -1;

  constructor(
    private readonly reader: McapLazyReader,
    readonly chunk: LazyChunk,
    readonly entry: IndexEntry,
    readonly logTimeNs: bigint,
    ch: LazyChannel,
  ) {
    this.topic = ch.topic;
    this.schema = ch.schema;
  }

  size(): number {
    if (this.payloadLength < 0) this.reader.recordHead(this, 0, false);
    return this.payloadLength;
  }

  head(n: number): Uint8Array {
    return this.reader.recordHead(this, n, false);
  }

  slice(start: number, end: number): Uint8Array {
    return this.reader.recordSlice(this, start, end);
  }

  read(): Uint8Array {
    if (this.payloadLength < 0) {
      // One read for a small message; a large one is read again from its payload start.
      const head = this.reader.recordHead(this, SMALL_RECORD);
      // A copy: the CDR reader takes typed arrays of the whole underlying
      // buffer, so a view into the larger read would let a cut-off message
      // decode bytes of the records after it instead of failing.
      if (head.byteLength === this.payloadLength) return head.slice();
    }
    return this.reader.recordSlice(this, 0, this.payloadLength);
  }
}

export class McapLazyReader {
  private cache: WholeChunk[] = [];
  /** Uncompressed chunks whose CRC was checked, by offset: the error, or undefined when it matched. */
  private readonly checked = new Map<bigint, BagError | undefined>();
  private scratch: Uint8Array | undefined;

  constructor(
    private readonly file: string,
    private readonly readable: FileReadable,
    private readonly chunkIndexes: readonly ChunkIndex[],
    private readonly channels: ReadonlyMap<number, LazyChannel>,
    private readonly validateCrcs: boolean,
    private readonly handlers: DecompressHandlers,
  ) {}

  /** The messages in (log time, chunk offset, offset in chunk) order, as the eager reader gives them. */
  async *records(filter: RecordFilter): AsyncGenerator<LazyRawRecord, void, undefined> {
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
    // A chunk's index is read when the merge reaches its start time.
    const pending = this.chunkIndexes
      .filter((c) => (endNs === undefined || c.messageStartTime <= endNs) && (startNs === undefined || c.messageEndTime >= startNs) && hasRelevant(c))
      .sort((a, b) =>
        a.messageStartTime < b.messageStartTime ? -1 : a.messageStartTime > b.messageStartTime ? 1 : Number(a.chunkStartOffset - b.chunkStartOffset),
      );
    const active: ChunkCursor[] = [];
    const before = (a: ChunkCursor, b: ChunkCursor): boolean => {
      const ta = a.entries[a.next]!.logTime;
      const tb = b.entries[b.next]!.logTime;
      return ta < tb || (ta === tb && a.chunk.index.chunkStartOffset < b.chunk.index.chunkStartOffset);
    };
    let p = 0;
    for (;;) {
      let head: ChunkCursor | undefined;
      for (const c of active) if (head === undefined || before(c, head)) head = c;
      while (p < pending.length && (head === undefined || pending[p]!.messageStartTime <= head.entries[head.next]!.logTime)) {
        const index = pending[p++]!;
        const chunk = this.lazyChunk(index);
        const entries = this.readMessageIndex(index, relevant, startNs, endNs);
        if (entries.length === 0) continue;
        const cursor: ChunkCursor = { chunk, entries, next: 0 };
        active.push(cursor);
        if (head === undefined || before(cursor, head)) head = cursor;
      }
      if (head === undefined) return;
      const entry = head.entries[head.next++]!;
      if (head.next >= head.entries.length) active.splice(active.indexOf(head), 1);
      const ch = this.channels.get(entry.channelId);
      if (ch === undefined) {
        throw new BagError(this.file, `message index of the chunk at byte ${head.chunk.index.chunkStartOffset} refers to unknown channel ${entry.channelId}`, {
          offset: head.chunk.index.chunkStartOffset,
        });
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
      if (op === Opcode.MESSAGE_INDEX) {
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
  private checkFrame(rec: McapLazyRecord, buf: Uint8Array, at: number, available: number): number {
    const torn = (why: string): BagError => new BagError(this.file, `torn message record ${this.whereText(rec)}: ${why}`, { offset: this.recordOffset(rec) });
    const { chunk, entry } = rec;
    if (available < MESSAGE_HEADER) throw torn(`only ${available} bytes of its chunk are left, less than a message header`);
    const view = new DataView(buf.buffer, buf.byteOffset + at, MESSAGE_HEADER);
    const op = view.getUint8(0);
    if (op !== Opcode.MESSAGE) throw torn(`opcode ${opcodeText(op)} where the chunk's message index points (expected ${opcodeText(Opcode.MESSAGE)}, Message)`);
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

  /** The first bytes of a lazily read record's payload; its framing is checked, and the chunk CRC when `verify`. */
  recordHead(rec: McapLazyRecord, n: number, verify = true): Uint8Array {
    const { chunk, entry } = rec;
    const left = Math.max(0, chunk.recordsLength - entry.offset);
    if (chunk.compressed) {
      const whole = this.wholeChunk(chunk);
      rec.payloadLength = this.checkFrame(rec, whole.data, entry.offset, left);
      if (whole.crcError !== undefined) throw whole.crcError;
      const start = entry.offset + MESSAGE_HEADER;
      return whole.data.subarray(start, start + Math.min(n, rec.payloadLength));
    }
    const want = Math.min(MESSAGE_HEADER + Math.max(0, n), left);
    const buf = want >= MESSAGE_HEADER ? this.readable.readSync(chunk.recordsStart + entry.offset, want) : new Uint8Array(0);
    rec.payloadLength = this.checkFrame(rec, buf, 0, left);
    if (verify) this.checkCrc(chunk);
    return buf.subarray(MESSAGE_HEADER, MESSAGE_HEADER + Math.min(n, rec.payloadLength, want - MESSAGE_HEADER));
  }

  /** Payload bytes [start, end) of a lazily read record, in an ArrayBuffer of their own. */
  recordSlice(rec: McapLazyRecord, start: number, end: number): Uint8Array {
    if (rec.payloadLength < 0) this.recordHead(rec, 0, false);
    if (!(start >= 0 && end >= start && end <= rec.payloadLength)) {
      throw new RangeError(`${this.file}: bytes [${start}, ${end}) are outside the ${rec.payloadLength}-byte message ${this.whereText(rec)}`);
    }
    const at = rec.entry.offset + MESSAGE_HEADER + start;
    if (rec.chunk.compressed) {
      const whole = this.wholeChunk(rec.chunk);
      if (whole.crcError !== undefined) throw whole.crcError;
      return whole.data.slice(at, at + end - start);
    }
    this.checkCrc(rec.chunk);
    return this.readable.readSync(rec.chunk.recordsStart + at, end - start);
  }

  /** Reads a chunk record's header and checks it against the chunk index; returns the stored CRC and the raw header. */
  private chunkHeader(chunk: LazyChunk, raw: Uint8Array): number {
    const { index } = chunk;
    const at = index.chunkStartOffset;
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const bad = (why: string): BagError => new BagError(this.file, `chunk does not match its index: ${why}`, { offset: at });
    if (raw[0] !== Opcode.CHUNK) throw bad(`opcode ${opcodeText(raw[0]!)} (expected ${opcodeText(Opcode.CHUNK)}, Chunk)`);
    if (BigInt(u64(view, 1)) + 9n !== index.chunkLength) throw bad(`record length ${u64(view, 1)} + 9 is not the indexed ${index.chunkLength}`);
    const nameBytes = view.getUint32(CHUNK_CRC_AT + 4, true);
    const recordsAt = CHUNK_FIXED + nameBytes + 8;
    if (Number(at) + recordsAt !== chunk.recordsStart) throw bad("its compression name is not the index's");
    if (BigInt(u64(view, recordsAt - 8)) !== index.compressedSize)
      throw bad(`records length ${u64(view, recordsAt - 8)} is not the indexed ${index.compressedSize}`);
    return view.getUint32(CHUNK_CRC_AT, true);
  }

  private crcMismatch(chunk: LazyChunk, actual: number, stored: number): BagError {
    return new BagError(this.file, `chunk CRC mismatch: computed ${actual}, stored ${stored} (the chunk is corrupt)`, { offset: chunk.index.chunkStartOffset });
  }

  /** Throws when the uncompressed chunk fails its CRC (checked once, streaming its records through a reused buffer). */
  private checkCrc(chunk: LazyChunk): void {
    if (!this.validateCrcs) return;
    const at = chunk.index.chunkStartOffset;
    if (!this.checked.has(at)) {
      const header = this.readable.readSync(Number(at), chunk.recordsStart - Number(at));
      const stored = this.chunkHeader(chunk, header);
      let error: BagError | undefined;
      // A stored CRC of 0 means the writer did not compute one (MCAP spec).
      if (stored !== 0) {
        this.scratch ??= new Uint8Array(CRC_PIECE);
        let crc = 0;
        for (let done = 0; done < chunk.recordsLength; ) {
          const n = Math.min(CRC_PIECE, chunk.recordsLength - done);
          crc = crc32(this.readable.readInto(chunk.recordsStart + done, this.scratch, n), crc);
          done += n;
        }
        if (crc >>> 0 !== stored) error = this.crcMismatch(chunk, crc >>> 0, stored);
      }
      this.checked.set(at, error);
    }
    const error = this.checked.get(at);
    if (error !== undefined) throw error;
  }

  /** A compressed chunk's records, decompressed whole and CRC-checked once while cached. */
  private wholeChunk(chunk: LazyChunk): WholeChunk {
    const { index } = chunk;
    const hit = this.cache.findIndex((d) => d.offset === index.chunkStartOffset);
    if (hit >= 0) {
      const entry = this.cache[hit]!;
      if (hit !== this.cache.length - 1) {
        this.cache.splice(hit, 1);
        this.cache.push(entry);
      }
      return entry;
    }
    const at = index.chunkStartOffset;
    const raw = this.readable.readSync(Number(at), Number(index.chunkLength));
    const crc = this.chunkHeader(chunk, raw);
    const bad = (why: string): BagError => new BagError(this.file, `chunk does not match its index: ${why}`, { offset: at });
    const decompress = this.handlers[index.compression];
    if (decompress === undefined) throw bad(`no decompressor for ${index.compression}: ${unsupportedCompressionHint(index.compression)}`);
    let data: Uint8Array;
    try {
      data = decompress(raw.subarray(chunk.recordsStart - Number(at)), index.uncompressedSize);
    } catch (err) {
      throw new BagError(this.file, `cannot decompress the ${index.compression} chunk: ${errorText(err)}`, { offset: at }, { cause: err });
    }
    if (data.byteLength !== chunk.recordsLength) throw bad(`decompressed to ${data.byteLength} bytes, the index says ${chunk.recordsLength}`);
    let crcError: BagError | undefined;
    // A stored CRC of 0 means the writer did not compute one (MCAP spec).
    if (this.validateCrcs && crc !== 0) {
      const actual = crc32(data) >>> 0;
      if (actual !== crc) crcError = this.crcMismatch(chunk, actual, crc);
    }
    const entry = { offset: at, data, crcError };
    this.cache.push(entry);
    if (this.cache.length > CHUNK_CACHE) this.cache.shift();
    return entry;
  }

  close(): void {
    this.cache = [];
    this.scratch = undefined;
  }
}

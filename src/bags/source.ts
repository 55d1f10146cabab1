// What every storage backend (one MCAP or one .db3 file) gives the bag reader:
// topics with the schema it stored for them, and messages as bytes. What the
// bytes mean is decided above the backends, once (msgs/message-decoder.ts).

import type { MessageSchema } from "../msgs/message-decoder.js";

export type StorageId = "mcap" | "sqlite3";

export interface SourceTopic {
  name: string;
  /** One object per topic (or MCAP channel), shared by its records: decoders are cached by it. */
  schema: MessageSchema;
  offeredQosProfiles: string;
  /** Messages the source yields; undefined where the file keeps no count (an MCAP without statistics). */
  count: number | undefined;
}

/** One serialized message, not yet decoded. */
export interface RawBagRecord {
  topic: string;
  schema: MessageSchema;
  logTimeNs: bigint;
  data: Uint8Array;
}

/**
 * One message whose payload stays in the file until asked for (lazy
 * iteration). Every read is synchronous (a positioned read of just this
 * record, or a row fetch), so it can back a plain property getter; it stays
 * valid until the source is closed, also after the iteration has moved on.
 * A record whose stored framing does not match the index throws BagError
 * naming the file and byte offset.
 */
export interface LazyRawRecord {
  topic: string;
  schema: MessageSchema;
  logTimeNs: bigint;
  /** Size of the serialized payload in bytes. */
  size(): number;
  /** At least the first min(n, size()) bytes of the payload (possibly more). */
  head(n: number): Uint8Array;
  /** Payload bytes [start, end). */
  slice(start: number, end: number): Uint8Array;
  /**
   * The whole payload, in an ArrayBuffer that ends where it ends (the CDR
   * reader's typed arrays are bounded by the buffer, not the view).
   */
  read(): Uint8Array;
}

export interface RecordFilter {
  topics?: ReadonlySet<string>;
  startNs?: bigint;
  endNs?: bigint;
}

export interface BagSource {
  readonly file: string;
  readonly storage: StorageId;
  /** Log time of the first and last message (0n for an empty file). */
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly messageCount: number | undefined;
  /** What is odd about the file but did not stop it from being read (each names the file and what is wrong). */
  readonly warnings: readonly string[];
  topics(): SourceTopic[];
  /** Messages in log-time order, streamed: never more than a chunk / a row in memory. */
  records(filter: RecordFilter): AsyncGenerator<RawBagRecord, void, undefined>;
  /** The same messages in the same order, with payloads read only on demand (see LazyRawRecord). */
  lazyRecords(filter: RecordFilter): AsyncGenerator<LazyRawRecord, void, undefined>;
  close(): Promise<void>;
}

/** Where in a file something went wrong, for error messages a person can act on. */
export interface BagErrorLocation {
  offset?: bigint | number;
  messageIndex?: number;
}

/** A bag (or one of its files) that cannot be read: names the file and where it broke. */
export class BagError extends Error {
  readonly file: string;
  readonly location: BagErrorLocation;

  constructor(file: string, message: string, location: BagErrorLocation = {}, options?: { cause?: unknown }) {
    const where = [
      location.offset !== undefined ? `at byte offset ${location.offset}` : undefined,
      location.messageIndex !== undefined ? `at message #${location.messageIndex}` : undefined,
    ].filter((s) => s !== undefined);
    super(`${file}: ${message}${where.length > 0 ? ` (${where.join(", ")})` : ""}`, options);
    this.name = "BagError";
    this.file = file;
    this.location = location;
  }
}

// What an opened rosbag2 bag offers its readers: its files, topics and true time
// span, what is odd about it, and its messages in log-time order, decoded
// (eager) or read on demand (lazy). Implemented by bag-reader.ts.

import type { DecodedMessage } from "../msgs/decoded.js";
import type { StorageId } from "./source.js";

export interface BagTopic {
  name: string;
  type: string;
  /** Messages of the topic that the bag's message stream yields. */
  count: number;
  serializationFormat: string;
  offeredQosProfiles: string;
}

interface BagMessageCommon {
  topic: string;
  type: string;
  /** Log (receive) time in seconds. */
  logTime: number;
  /** Log time in nanoseconds, exact. */
  logTimeNs: bigint;
  /** The serialized CDR bytes, as stored. */
  data: Uint8Array;
  /** The bag file the message came from. */
  file: string;
  /** Position of the message in this stream (0-based, counting every yielded message). */
  index: number;
}

/**
 * A message of the bag: decoded, or with the reason it could not be. A bad
 * message does not end the stream; the consumer counts and skips it.
 */
export type BagMessage = (BagMessageCommon & { message: DecodedMessage; error?: undefined }) | (BagMessageCommon & { message?: undefined; error: Error });

export interface LoadOptions {
  /**
   * sensor_msgs Image / CompressedImage with the standard layout: decode the
   * header and image fields from the record's first bytes now, and read the
   * image bytes (`image.data`, and the message's `data`) only when first
   * accessed, synchronously. Other types load whole.
   */
  deferImageData?: boolean;
}

/**
 * A message of a lazy iteration (`bag.messages({ lazy: true })`): topic and
 * times cost nothing, the payload is read from the file only by load() /
 * data(). Reads are synchronous and work until bag.close(), also after the
 * iteration has moved past the message.
 */
export interface LazyBagMessage {
  readonly topic: string;
  readonly type: string;
  /** Log (receive) time in seconds. */
  readonly logTime: number;
  /** Log time in nanoseconds, exact. */
  readonly logTimeNs: bigint;
  /** The bag file the message came from. */
  readonly file: string;
  /** Position of the message in this stream (0-based, counting every yielded message). */
  readonly index: number;
  /** The serialized CDR bytes, read now. */
  data(): Uint8Array;
  /**
   * Reads (each call again) and decodes the message: the BagMessage the eager
   * stream yields, a decode failure in its `error`. Throws BagError when the
   * stored record is torn, fails its chunk's CRC or cannot be read.
   */
  load(options?: LoadOptions): BagMessage;
}

export interface MessagesOptions {
  /** Eager (the default): every message read and decoded as it is yielded. */
  lazy?: false;
  topics?: readonly string[];
  /** Seconds, inclusive. */
  startTime?: number;
  /** Seconds, inclusive. */
  endTime?: number;
  /** Exact bounds in ns; take precedence over startTime / endTime (a double holds epoch seconds to ~0.2 µs). */
  startTimeNs?: bigint;
  endTimeNs?: bigint;
}

/** Lazy iteration: payloads are read only by LazyBagMessage.load() / data(). */
export interface LazyMessagesOptions extends Omit<MessagesOptions, "lazy"> {
  lazy: true;
}

export interface Bag {
  /** The path as given to openBag. */
  readonly path: string;
  readonly storage: StorageId;
  /** The bag's files, in split order. */
  readonly files: readonly string[];
  /**
   * Log time of the recording's first / last message, seconds (0 for an empty
   * bag). Messages that cannot be placed in the recording's time (see
   * time-span.ts) are not part of it: they are named in `warnings` and left
   * out of `messages()` and the topic counts.
   */
  readonly startTime: number;
  readonly endTime: number;
  readonly startTimeNs: bigint;
  readonly endTimeNs: bigint;
  readonly messageCount: number;
  /** What is odd about the bag but did not stop it from being read; each names the file and what is wrong. */
  readonly warnings: readonly string[];
  topics(): BagTopic[];
  /**
   * Messages in log-time order across the bag's files. With `lazy: true`,
   * LazyBagMessages whose payload is read only on demand. Both check the CRC
   * of every MCAP chunk whose messages they read (unless opened with
   * validateCrcs: false).
   */
  messages(options: LazyMessagesOptions): AsyncIterable<LazyBagMessage>;
  messages(options?: MessagesOptions): AsyncIterable<BagMessage>;
  close(): Promise<void>;
}

// Where a bag's stored bytes become typed messages: once per message, for every
// storage backend, eager or lazy. A message that does not decode becomes a
// BagMessage with an error naming the file, the message, its topic and time.

import { decodeImageHead } from "../msgs/image-head.js";
import { toDeferredImageMessage, type DecodedMessage } from "../msgs/decoded.js";
import { decoderForSchema, type MessageDecoder, type MessageSchema } from "../msgs/message-decoder.js";
import type { BagMessage, LazyBagMessage, LoadOptions } from "./bag.js";
import { type LazyRawRecord, type RawBagRecord } from "./source.js";
import { errorText } from "../util/errors.js";
import { nsToSeconds } from "../util/time.js";

/** Bytes of an image payload read to decode its head (header, sizes, encoding); more is read if a frame id is longer. */
const IMAGE_HEAD_BYTES = 512;
/** The most read for an image head before giving up and decoding the whole message. */
const IMAGE_HEAD_MAX_BYTES = 64 * 1024;

type Common = Omit<BagMessage, "message" | "error">;

function decodeError(c: Common, err: unknown): Error {
  return new Error(`${c.file}: message #${c.index} on ${c.topic} (${c.type}) at ${c.logTime.toFixed(9)} s: ${errorText(err)}`, { cause: err });
}

/** The decoders of one bag, one per stored schema. */
export class BagDecoder {
  private readonly decoders = new Map<MessageSchema, MessageDecoder>();

  decoder(schema: MessageSchema): MessageDecoder {
    let d = this.decoders.get(schema);
    if (d === undefined) this.decoders.set(schema, (d = decoderForSchema(schema)));
    return d;
  }

  /** A message of the eager stream. */
  message(rec: RawBagRecord, file: string, index: number): BagMessage {
    return this.decode(rec.schema, {
      topic: rec.topic,
      type: rec.schema.type,
      logTime: nsToSeconds(rec.logTimeNs),
      logTimeNs: rec.logTimeNs,
      data: rec.data,
      file,
      index,
    });
  }

  /** A message of the lazy stream: read and decoded by load(). */
  lazy(rec: LazyRawRecord, file: string, index: number): LazyBagMessage {
    return new LazyMessage(this, rec, file, index);
  }

  decode(schema: MessageSchema, common: Common): BagMessage {
    try {
      return { ...common, message: this.decoder(schema).decode(common.data) };
    } catch (err) {
      return { ...common, error: decodeError(common, err) };
    }
  }
}

class LazyMessage implements LazyBagMessage {
  readonly topic: string;
  readonly type: string;
  readonly logTime: number;
  readonly logTimeNs: bigint;

  constructor(
    private readonly decoder: BagDecoder,
    private readonly rec: LazyRawRecord,
    readonly file: string,
    readonly index: number,
  ) {
    this.topic = rec.topic;
    this.type = rec.schema.type;
    this.logTimeNs = rec.logTimeNs;
    this.logTime = nsToSeconds(rec.logTimeNs);
  }

  data(): Uint8Array {
    return this.rec.read();
  }

  load(options: LoadOptions = {}): BagMessage {
    if (options.deferImageData === true) {
      const deferred = this.loadDeferred();
      if (deferred !== undefined) return deferred;
    }
    return this.decoder.decode(this.rec.schema, this.common(this.data()));
  }

  private common(data: Uint8Array): Common {
    return { topic: this.topic, type: this.type, logTime: this.logTime, logTimeNs: this.logTimeNs, data, file: this.file, index: this.index };
  }

  /**
   * The image message from its head, or undefined where that does not work
   * (another type or layout, short head, unusual encapsulation, sizes that do
   * not fit): then load() decodes the whole message, which gives the eager
   * stream's exact result.
   */
  private loadDeferred(): BagMessage | undefined {
    const rec = this.rec;
    const layout = this.decoder.decoder(rec.schema).imageLayout;
    if (layout === undefined) return undefined;
    const size = rec.size();
    let head = decodeImageHead(layout, rec.head(IMAGE_HEAD_BYTES));
    if (head === undefined && size > IMAGE_HEAD_BYTES) head = decodeImageHead(layout, rec.head(Math.min(size, IMAGE_HEAD_MAX_BYTES)));
    if (head === undefined || head.dataOffset + head.dataLength > size) return undefined;
    const { dataOffset, dataLength } = head;
    let message: DecodedMessage;
    try {
      message = toDeferredImageMessage(head, () => rec.slice(dataOffset, dataOffset + dataLength));
    } catch {
      return undefined;
    }
    let data: Uint8Array | undefined;
    const read = (): Uint8Array => this.data();
    return {
      topic: this.topic,
      type: this.type,
      logTime: this.logTime,
      logTimeNs: this.logTimeNs,
      file: this.file,
      index: this.index,
      get data(): Uint8Array {
        return (data ??= read());
      },
      message,
    };
  }
}

// Opening a rosbag2 bag (a directory with metadata.yaml, or one .mcap/.db3
// file) and streaming its messages, decoded, in log-time order across all of
// its files. Memory stays bounded: one chunk (MCAP) or one row (sqlite3) per
// file being read, and split files are only opened for reading when the merge
// reaches their start time.
//
// Lazy mode (`messages({ lazy: true })`) yields the same messages in the same
// order with topic and times only: an MCAP file is walked through its chunks'
// message indexes, a .db3 through (id, topic, time, length(data)); a payload
// is read when load() / data() asks for it, synchronously, so that e.g. a
// replay that samples one camera frame in twelve reads one in twelve. Memory:
// the message indexes of the chunks the merge is in, plus (compressed chunks
// only) two decompressed chunks. CRC checking differs: see mcap-reader.ts.

import { readdir, readFile, stat, open } from "node:fs/promises";
import { basename, dirname, extname, join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import type { DecompressHandlers } from "@mcap/core";
import { McapSource } from "./mcap-reader.js";
import { decodeImageHead, toDecodedMessage, toDeferredImageMessage, type DecodedMessage } from "./messages.js";
import { Db3Source } from "./sqlite-reader.js";
import {
  BagError,
  errorText,
  nsToSeconds,
  secondsToNs,
  type BagSource,
  type LazyRawRecord,
  type RecordFilter,
  type StorageId,
} from "./source.js";

export { BagError } from "./source.js";
export type { StorageId } from "./source.js";

export interface BagTopic {
  name: string;
  type: string;
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
export type BagMessage =
  | (BagMessageCommon & { message: DecodedMessage; error?: undefined })
  | (BagMessageCommon & { message?: undefined; error: Error });

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
   * stored record is torn or cannot be read.
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
  /** Log time of the first / last message, seconds (0 for an empty bag). */
  readonly startTime: number;
  readonly endTime: number;
  readonly startTimeNs: bigint;
  readonly endTimeNs: bigint;
  readonly messageCount: number;
  topics(): BagTopic[];
  /**
   * Messages in log-time order across the bag's files. With `lazy: true`,
   * LazyBagMessages whose payload is read only on demand. CRC: the eager
   * stream checks each MCAP chunk's CRC (validateCrcs); lazily read records
   * of uncompressed chunks get a framing check instead (mcap-reader.ts).
   */
  messages(options: LazyMessagesOptions): AsyncIterable<LazyBagMessage>;
  messages(options?: MessagesOptions): AsyncIterable<BagMessage>;
  close(): Promise<void>;
}

export interface OpenBagOptions {
  /** Check each MCAP chunk's CRC while reading (default true). */
  validateCrcs?: boolean;
  /** Extra MCAP chunk decompressors, by compression name. */
  decompressHandlers?: DecompressHandlers;
}

interface BagLayout {
  storage: StorageId;
  files: string[];
  /** Counts from metadata.yaml, used only where a file keeps none. */
  metadataCounts: Map<string, number>;
}

const MCAP_MAGIC = Uint8Array.from([0x89, 0x4d, 0x43, 0x41, 0x50, 0x30, 0x0d, 0x0a]);
const SQLITE_MAGIC = new TextEncoder().encode("SQLite format 3\0");

async function sniff(file: string): Promise<StorageId | undefined> {
  const handle = await open(file, "r");
  try {
    const head = new Uint8Array(16);
    const { bytesRead } = await handle.read(head, 0, 16, 0);
    const starts = (magic: Uint8Array): boolean => bytesRead >= magic.length && magic.every((b, i) => head[i] === b);
    if (starts(MCAP_MAGIC)) return "mcap";
    if (starts(SQLITE_MAGIC)) return "sqlite3";
    return undefined;
  } finally {
    await handle.close();
  }
}

function storageOfExtension(file: string): StorageId | undefined {
  const ext = extname(file).toLowerCase();
  if (ext === ".mcap") return "mcap";
  if (ext === ".db3") return "sqlite3";
  return undefined;
}

/** Split index of `name_12.mcap` -> 12, for ordering files when there is no metadata.yaml. */
function splitIndex(file: string): number {
  const m = /_(\d+)\.[^.]+$/.exec(basename(file));
  return m === null ? -1 : Number(m[1]);
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

async function readMetadata(dir: string): Promise<BagLayout> {
  const path = join(dir, "metadata.yaml");
  let doc: unknown;
  try {
    // Large integers (ns since epoch) are kept exact as bigint.
    doc = parseYaml(await readFile(path, "utf8"), { intAsBigInt: true });
  } catch (err) {
    throw new BagError(path, `cannot parse: ${errorText(err)}`, {}, { cause: err });
  }
  const info = obj(obj(doc)?.["rosbag2_bagfile_information"]);
  if (info === undefined) throw new BagError(path, "no rosbag2_bagfile_information section: not a rosbag2 metadata file");
  const storageId = String(info["storage_identifier"] ?? "");
  if (storageId !== "mcap" && storageId !== "sqlite3") {
    throw new BagError(path, `storage_identifier "${storageId}" is not supported (mcap or sqlite3)`);
  }
  const mode = String(info["compression_mode"] ?? "");
  if (mode !== "" && mode.toLowerCase() !== "none") {
    throw new BagError(
      path,
      `the bag is ${mode}-compressed with ${String(info["compression_format"] ?? "?")}; decompress it first (\`ros2 bag convert\` with no compression)`,
    );
  }
  let rel: string[] = [];
  const paths = info["relative_file_paths"];
  if (Array.isArray(paths) && paths.length > 0) rel = paths.map(String);
  else if (Array.isArray(info["files"])) rel = info["files"].map((f) => String(obj(f)?.["path"] ?? ""));
  if (rel.length === 0) throw new BagError(path, "lists no files (relative_file_paths is empty)");
  const isFile = (f: string): Promise<boolean> => stat(f).then((s) => s.isFile(), () => false);
  const present: string[] = [];
  for (const r of rel) {
    const direct = resolve(dir, r);
    // Foxy wrote paths that start with the bag directory's own name.
    const alt = join(dir, basename(r));
    if (await isFile(direct)) present.push(direct);
    else if (await isFile(alt)) present.push(alt);
    else throw new BagError(path, `lists ${r}, which is not in ${dir}`);
  }
  const metadataCounts = new Map<string, number>();
  const topics = info["topics_with_message_count"];
  if (Array.isArray(topics)) {
    for (const t of topics) {
      const name = obj(obj(t)?.["topic_metadata"])?.["name"];
      const count = obj(t)?.["message_count"];
      if (typeof name === "string" && (typeof count === "bigint" || typeof count === "number")) {
        metadataCounts.set(name, Number(count));
      }
    }
  }
  return { storage: storageId, files: present, metadataCounts };
}

async function layoutOf(path: string): Promise<BagLayout> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    throw new BagError(path, `no such bag: ${errorText(err)}`, {}, { cause: err });
  }
  if (st.isDirectory()) {
    if (await stat(join(path, "metadata.yaml")).then(() => true, () => false)) return readMetadata(path);
    // A bag whose recording crashed has no metadata.yaml; its files are still readable.
    const names = (await readdir(path)).filter((n) => storageOfExtension(n) !== undefined);
    if (names.length === 0) throw new BagError(path, "not a bag: no metadata.yaml and no .mcap or .db3 files");
    const kinds = new Set(names.map((n) => storageOfExtension(n)));
    if (kinds.size > 1) throw new BagError(path, "has both .mcap and .db3 files and no metadata.yaml to say which are the bag");
    const files = names.sort((a, b) => splitIndex(a) - splitIndex(b) || a.localeCompare(b)).map((n) => join(path, n));
    return { storage: storageOfExtension(names[0]!)!, files, metadataCounts: new Map() };
  }
  if (basename(path) === "metadata.yaml") return readMetadata(dirname(path));
  const storage = storageOfExtension(path) ?? (await sniff(path));
  if (storage === undefined) throw new BagError(path, "not a bag: neither an MCAP nor a sqlite3 file (by name or content)");
  return { storage, files: [resolve(path)], metadataCounts: new Map() };
}

function cmpNs(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

class OpenedBag implements Bag {
  readonly startTimeNs: bigint;
  readonly endTimeNs: bigint;
  readonly messageCount: number;
  readonly files: readonly string[];

  constructor(
    readonly path: string,
    readonly storage: StorageId,
    private readonly sources: BagSource[],
    private readonly metadataCounts: Map<string, number>,
  ) {
    this.files = sources.map((s) => s.file);
    const nonEmpty = sources.filter((s) => (s.messageCount ?? 1) > 0 && !(s.startNs === 0n && s.endNs === 0n));
    this.startTimeNs = nonEmpty.reduce<bigint | undefined>((m, s) => (m === undefined || s.startNs < m ? s.startNs : m), undefined) ?? 0n;
    this.endTimeNs = nonEmpty.reduce((m, s) => (s.endNs > m ? s.endNs : m), 0n);
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
        const count = t.count ?? this.metadataCounts.get(t.name) ?? 0;
        const prev = byName.get(t.name);
        if (prev === undefined) {
          byName.set(t.name, {
            name: t.name,
            type: t.type,
            count,
            serializationFormat: t.serializationFormat,
            offeredQosProfiles: t.offeredQosProfiles,
          });
        } else if (t.count !== undefined) {
          prev.count += count;
        }
      }
    }
    return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  messages(options: LazyMessagesOptions): AsyncIterable<LazyBagMessage>;
  messages(options?: MessagesOptions): AsyncIterable<BagMessage>;
  messages(options: MessagesOptions | LazyMessagesOptions = {}): AsyncIterable<BagMessage> | AsyncIterable<LazyBagMessage> {
    const filter: RecordFilter = {
      topics: options.topics === undefined ? undefined : new Set(options.topics),
      startNs: options.startTimeNs ?? (options.startTime === undefined ? undefined : secondsToNs(options.startTime)),
      endNs: options.endTimeNs ?? (options.endTime === undefined ? undefined : secondsToNs(options.endTime)),
    };
    const sources = this.sources;
    if (options.lazy === true) {
      return {
        [Symbol.asyncIterator]: () => lazyMessages(sources, filter)[Symbol.asyncIterator](),
      };
    }
    return {
      [Symbol.asyncIterator]: () => eagerMessages(sources, filter)[Symbol.asyncIterator](),
    };
  }

  async close(): Promise<void> {
    const results = await Promise.allSettled(this.sources.map((s) => s.close()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed !== undefined) throw failed.reason;
  }
}

interface Head<R> {
  iter: AsyncGenerator<R, void, undefined>;
  record: R;
  order: number;
  file: string;
}

/** What the merge yields: the record and the file it came from (one object, reused). */
interface Merged<R> {
  record: R;
  file: string;
}

async function* merge<R extends { logTimeNs: bigint }>(
  sources: readonly BagSource[],
  open: (source: BagSource) => AsyncGenerator<R, void, undefined>,
): AsyncGenerator<Merged<R>, void, undefined> {
  // Split files are started lazily, in start-time order, so that a bag of
  // many sequential splits reads one file at a time; overlapping files are
  // merged message by message.
  const pending = sources
    .map((source, order) => ({ source, order }))
    .sort((a, b) => cmpNs(a.source.startNs, b.source.startNs) || a.order - b.order);
  const active: Head<R>[] = [];
  const min = (): Head<R> | undefined => {
    let best: Head<R> | undefined;
    for (const h of active) {
      if (best === undefined || h.record.logTimeNs < best.record.logTimeNs || (h.record.logTimeNs === best.record.logTimeNs && h.order < best.order)) best = h;
    }
    return best;
  };
  const out = {} as Merged<R>;
  try {
    for (;;) {
      let head = min();
      while (pending.length > 0 && (head === undefined || pending[0]!.source.startNs <= head.record.logTimeNs)) {
        const { source, order } = pending.shift()!;
        const iter = open(source);
        const first = await iter.next();
        if (first.done !== true) active.push({ iter, record: first.value, order, file: source.file });
        head = min();
      }
      if (head === undefined) return;
      out.record = head.record;
      out.file = head.file;
      yield out;
      const next = await head.iter.next();
      if (next.done === true) active.splice(active.indexOf(head), 1);
      else head.record = next.value;
    }
  } finally {
    await Promise.allSettled(active.map((h) => h.iter.return(undefined)));
  }
}

function decodeError(file: string, index: number, topic: string, type: string, logTime: number, err: unknown): Error {
  return new Error(`${file}: message #${index} on ${topic} (${type}) at ${logTime.toFixed(9)} s: ${errorText(err)}`, { cause: err });
}

async function* eagerMessages(sources: readonly BagSource[], filter: RecordFilter): AsyncGenerator<BagMessage, void, undefined> {
  let index = 0;
  for await (const { record: rec, file } of merge(sources, (s) => s.records(filter))) {
    const common = {
      topic: rec.topic,
      type: rec.type,
      logTime: nsToSeconds(rec.logTimeNs),
      logTimeNs: rec.logTimeNs,
      data: rec.data,
      file,
      index: index++,
    };
    let out: BagMessage;
    try {
      out = { ...common, message: toDecodedMessage(rec.type, rec.decode(rec.data)) };
    } catch (err) {
      out = { ...common, error: decodeError(file, common.index, rec.topic, rec.type, common.logTime, err) };
    }
    yield out;
  }
}

/** Bytes of an image payload read to decode its head (header, sizes, encoding); more is read if a frame id is longer. */
const IMAGE_HEAD_BYTES = 512;

class LazyMessage implements LazyBagMessage {
  readonly topic: string;
  readonly type: string;
  readonly logTime: number;
  readonly logTimeNs: bigint;

  constructor(
    private readonly rec: LazyRawRecord,
    readonly file: string,
    readonly index: number,
  ) {
    this.topic = rec.topic;
    this.type = rec.type;
    this.logTimeNs = rec.logTimeNs;
    this.logTime = nsToSeconds(rec.logTimeNs);
  }

  data(): Uint8Array {
    return this.rec.read();
  }

  load(options: LoadOptions = {}): BagMessage {
    const rec = this.rec;
    if (options.deferImageData === true && rec.imageLayout !== undefined) {
      const deferred = this.loadDeferred(rec.imageLayout);
      if (deferred !== undefined) return deferred;
    }
    const data = this.data();
    try {
      return { ...this.common(data), message: toDecodedMessage(rec.type, rec.decode(data)) };
    } catch (err) {
      return { ...this.common(data), error: decodeError(this.file, this.index, rec.topic, rec.type, this.logTime, err) };
    }
  }

  private common(data: Uint8Array): BagMessageCommon {
    return { topic: this.topic, type: this.type, logTime: this.logTime, logTimeNs: this.logTimeNs, data, file: this.file, index: this.index };
  }

  /**
   * The image message from its head, or undefined where that does not work
   * (short head, unusual encapsulation, sizes that do not fit): then load()
   * decodes the whole message, which gives the eager stream's exact result.
   */
  private loadDeferred(layout: NonNullable<LazyRawRecord["imageLayout"]>): BagMessage | undefined {
    const rec = this.rec;
    const size = rec.size();
    let head = decodeImageHead(layout, rec.head(IMAGE_HEAD_BYTES));
    if (head === undefined && size > IMAGE_HEAD_BYTES) head = decodeImageHead(layout, rec.head(Math.min(size, 64 * 1024)));
    if (head === undefined || head.dataOffset + head.dataLength > size) return undefined;
    const { dataOffset, dataLength } = head;
    let message: DecodedMessage;
    try {
      message = toDeferredImageMessage(rec.type, head, () => rec.slice(dataOffset, dataOffset + dataLength));
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
      get data(): Uint8Array {
        return (data ??= read());
      },
      file: this.file,
      index: this.index,
      message,
    };
  }
}

async function* lazyMessages(sources: readonly BagSource[], filter: RecordFilter): AsyncGenerator<LazyBagMessage, void, undefined> {
  let index = 0;
  for await (const { record, file } of merge(sources, (s) => s.lazyRecords(filter))) {
    yield new LazyMessage(record, file, index++);
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
  } catch (err) {
    await Promise.allSettled(sources.map((s) => s.close()));
    throw err;
  }
  return new OpenedBag(path, layout.storage, sources, layout.metadataCounts);
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

// One sqlite3 (.db3) file of a rosbag2 bag (the Humble default storage).
//
// Schema: topics(id, name, type, serialization_format, offered_qos_profiles)
// and messages(id, topic_id, timestamp, data); Iron and later add
// message_definitions, used when present. Humble bags carry no definitions,
// so types are decoded with the built-in Humble set.

import { open } from "node:fs/promises";
import { createRequire } from "node:module";
import { imageLayoutOf, makeDecoder, type CdrDecode, type ImageLayout } from "./cdr.js";
import { parseRos2Msg, type MessageDefinitions } from "./msg-definitions.js";
import {
  BagError,
  errorText,
  type BagSource,
  type LazyRawRecord,
  type RawBagRecord,
  type RecordFilter,
  type SourceTopic,
} from "./source.js";

// better-sqlite3 ships no type declarations; this is the part of its API used here.
interface Statement {
  all(...params: unknown[]): unknown[];
  get(...params: unknown[]): unknown;
  iterate(...params: unknown[]): IterableIterator<unknown>;
  safeIntegers(on?: boolean): Statement;
}
interface Database {
  prepare(sql: string): Statement;
  close(): void;
}
type DatabaseCtor = new (file: string, options: { readonly?: boolean; fileMustExist?: boolean }) => Database;

const require = createRequire(import.meta.url);
let ctor: DatabaseCtor | undefined;
function sqlite(): DatabaseCtor {
  ctor ??= require("better-sqlite3") as DatabaseCtor;
  return ctor;
}

type Row = Record<string, unknown>;

function rowsOf(stmt: Statement, ...params: unknown[]): Row[] {
  return stmt.all(...params) as Row[];
}

function toBig(v: unknown): bigint {
  if (typeof v === "bigint") return v;
  if (typeof v === "number") return BigInt(v);
  return 0n;
}

/**
 * What the 100-byte sqlite header says about the file: not sqlite at all, or
 * shorter than the page count it declares (a copy or recording cut off).
 */
async function diagnoseHeader(file: string): Promise<{ text: string; offset?: number }> {
  let head: Uint8Array;
  let size: number;
  try {
    const handle = await open(file, "r");
    try {
      size = (await handle.stat()).size;
      head = new Uint8Array(100);
      const { bytesRead } = await handle.read(head, 0, 100, 0);
      head = head.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch (err) {
    return { text: `cannot read the file: ${errorText(err)}` };
  }
  const magic = "SQLite format 3\0";
  if (head.byteLength < 100 || new TextDecoder().decode(head.subarray(0, 16)) !== magic) {
    return { text: "the file does not start with the sqlite3 header (not a .db3 file, or its first page is overwritten)", offset: 0 };
  }
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const rawPageSize = view.getUint16(16);
  const pageSize = rawPageSize === 1 ? 65536 : rawPageSize;
  const pages = view.getUint32(28);
  const expected = pageSize * pages;
  if (pages > 0 && size < expected) {
    return {
      text: `the file is truncated: its header declares ${pages} pages of ${pageSize} bytes (${expected} bytes) but the file ends at byte ${size}`,
      offset: size,
    };
  }
  return { text: "the sqlite header looks intact, so the damage is inside the file" };
}

/**
 * Walks the messages table in storage (row id) order to say how much of it is
 * intact: rows are stored in recording order, so this is where the file broke.
 */
function scanMessages(db: Database): { readable: number; text: string } {
  let readable = 0;
  let lastId: unknown;
  let lastTs: unknown;
  try {
    for (const row of db.prepare("SELECT id, timestamp FROM messages ORDER BY id").safeIntegers(true).iterate()) {
      const r = row as Row;
      lastId = r["id"];
      lastTs = r["timestamp"];
      readable++;
    }
    return { readable, text: `all ${readable} message rows are readable in storage order` };
  } catch (err) {
    const upTo = lastId === undefined ? "no message row is readable" : `message rows are readable up to row id ${String(lastId)} (timestamp ${String(lastTs)} ns)`;
    return { readable, text: `${upTo}, then: ${errorText(err)}` };
  }
}

interface TopicRow {
  id: number;
  topic: SourceTopic;
  decode: CdrDecode;
  imageLayout: ImageLayout | undefined;
}

/** A message row whose data is fetched by id when asked for. */
class Db3LazyRecord implements LazyRawRecord {
  readonly topic: string;
  readonly type: string;
  readonly decode: CdrDecode;
  readonly imageLayout: ImageLayout | undefined;

  constructor(
    private readonly source: Db3Source,
    readonly id: bigint,
    readonly logTimeNs: bigint,
    private readonly bytes: number,
    row: TopicRow,
  ) {
    this.topic = row.topic.name;
    this.type = row.topic.type;
    this.decode = row.decode;
    this.imageLayout = row.imageLayout;
  }

  size(): number {
    return this.bytes;
  }

  head(n: number): Uint8Array {
    return n >= this.bytes ? this.source.fetchData(this) : this.source.fetchData(this, n);
  }

  slice(start: number, end: number): Uint8Array {
    if (!(start >= 0 && end >= start && end <= this.bytes)) {
      throw new RangeError(`${this.source.file}: bytes [${start}, ${end}) are outside the ${this.bytes}-byte message row ${this.id}`);
    }
    const data = this.source.fetchData(this);
    // A plain Uint8Array view (Buffer#slice would also be a view, but a Buffer).
    return new Uint8Array(data.buffer, data.byteOffset + start, end - start);
  }

  read(): Uint8Array {
    return this.source.fetchData(this);
  }
}

export class Db3Source implements BagSource {
  readonly storage = "sqlite3" as const;
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly messageCount: number;
  private readonly topicRows: TopicRow[];

  private constructor(readonly file: string, topicRows: TopicRow[], startNs: bigint, endNs: bigint, count: number) {
    this.topicRows = topicRows;
    this.startNs = startNs;
    this.endNs = endNs;
    this.messageCount = count;
  }

  private static connect(file: string): Database {
    try {
      return new (sqlite())(file, { readonly: true, fileMustExist: true });
    } catch (err) {
      throw new BagError(file, `cannot open as sqlite3: ${errorText(err)}`, {}, { cause: err });
    }
  }

  static async open(file: string): Promise<Db3Source> {
    const db = Db3Source.connect(file);
    try {
      let tables: Set<string>;
      try {
        tables = new Set(rowsOf(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")).map((r) => String(r["name"])));
      } catch (err) {
        const hint = await diagnoseHeader(file);
        throw new BagError(file, `not a readable sqlite3 database: ${errorText(err)}; ${hint.text}`, hint.offset === undefined ? {} : { offset: hint.offset }, { cause: err });
      }
      if (!tables.has("topics") || !tables.has("messages")) {
        throw new BagError(file, `not a rosbag2 sqlite3 bag: it needs tables topics and messages, found ${[...tables].join(", ") || "none"}`);
      }
      try {
        const topicCols = new Set(rowsOf(db.prepare("PRAGMA table_info(topics)")).map((r) => String(r["name"])));
        const qosCol = topicCols.has("offered_qos_profiles") ? "offered_qos_profiles" : "'' AS offered_qos_profiles";
        const definitions = new Map<string, MessageDefinitions>();
        if (tables.has("message_definitions")) {
          for (const r of rowsOf(db.prepare("SELECT topic_type, encoding, encoded_message_definition FROM message_definitions"))) {
            if (r["encoding"] !== "ros2msg" || typeof r["encoded_message_definition"] !== "string" || r["encoded_message_definition"] === "") continue;
            try {
              definitions.set(String(r["topic_type"]), parseRos2Msg(r["encoded_message_definition"]));
            } catch {
              // Falls back to the built-in definition of the type.
            }
          }
        }
        const counts = new Map<number, number>();
        for (const r of rowsOf(db.prepare("SELECT topic_id, COUNT(*) AS n FROM messages GROUP BY topic_id"))) {
          counts.set(Number(r["topic_id"]), Number(r["n"]));
        }
        const topicRows: TopicRow[] = rowsOf(
          db.prepare(`SELECT id, name, type, serialization_format, ${qosCol} FROM topics ORDER BY id`),
        ).map((r) => {
          const id = Number(r["id"]);
          const type = String(r["type"]);
          const format = String(r["serialization_format"]);
          const decode: CdrDecode =
            format === "cdr"
              ? makeDecoder(type, definitions.get(type))
              : () => {
                  throw new Error(`serialization format "${format}" is not supported (only cdr)`);
                };
          return {
            id,
            decode,
            imageLayout: format === "cdr" ? imageLayoutOf(decode) : undefined,
            topic: {
              name: String(r["name"]),
              type,
              serializationFormat: format,
              offeredQosProfiles: String(r["offered_qos_profiles"] ?? ""),
              count: counts.get(id) ?? 0,
            },
          };
        });
        const span = db.prepare("SELECT MIN(timestamp) AS lo, MAX(timestamp) AS hi, COUNT(*) AS n FROM messages").safeIntegers(true).get() as Row;
        return new Db3Source(file, topicRows, toBig(span["lo"]), toBig(span["hi"]), Number(span["n"]));
      } catch (err) {
        if (err instanceof BagError) throw err;
        const scan = scanMessages(db);
        throw new BagError(file, `cannot read the bag's tables (corrupt or truncated database): ${errorText(err)}; ${scan.text}`, { messageIndex: scan.readable }, { cause: err });
      }
    } finally {
      db.close();
    }
  }

  topics(): SourceTopic[] {
    return this.topicRows.map((r) => ({ ...r.topic }));
  }

  async *records(filter: RecordFilter): AsyncGenerator<RawBagRecord, void, undefined> {
    const rows = this.topicRows.filter((r) => filter.topics === undefined || filter.topics.has(r.topic.name));
    if (rows.length === 0) return;
    const byId = new Map(rows.map((r) => [r.id, r]));
    const { where, params } = this.whereClause(rows, filter);
    // The ordered scan reads only (id, topic, time) so that sorting never holds
    // message data, index or no index; a second connection fetches each blob,
    // since a connection that is iterating cannot run another statement.
    const order = Db3Source.connect(this.file);
    const blobs = Db3Source.connect(this.file);
    let index = 0;
    let lastNs: bigint | undefined;
    let it: IterableIterator<unknown> | undefined;
    try {
      const fetch = blobs.prepare("SELECT data FROM messages WHERE id = ?");
      const sql = `SELECT id, topic_id, timestamp FROM messages${where} ORDER BY timestamp, id`;
      const rowsIt = ((): IterableIterator<unknown> => {
        try {
          return order.prepare(sql).safeIntegers(true).iterate(...params);
        } catch (err) {
          throw new BagError(this.file, `cannot query messages: ${errorText(err)}`, { messageIndex: 0 }, { cause: err });
        }
      })();
      it = rowsIt;
      for (;;) {
        let row: Row;
        let data: unknown;
        try {
          const next = rowsIt.next();
          if (next.done === true) return;
          row = next.value as Row;
          data = (fetch.get(row["id"]) as Row | undefined)?.["data"];
        } catch (err) {
          const after = lastNs === undefined ? "before the first message" : `after timestamp ${lastNs} ns`;
          throw new BagError(this.file, `sqlite error reading messages ${after}: ${errorText(err)}`, { messageIndex: index }, { cause: err });
        }
        const topic = byId.get(Number(row["topic_id"]));
        if (topic === undefined) continue; // a row of a topic with no entry in topics: nothing to decode it with
        const logTimeNs = toBig(row["timestamp"]);
        lastNs = logTimeNs;
        index++;
        const bytes = data instanceof Uint8Array ? data : new Uint8Array();
        yield { topic: topic.topic.name, type: topic.topic.type, logTimeNs, data: bytes, decode: topic.decode };
      }
    } finally {
      it?.return?.();
      order.close();
      blobs.close();
    }
  }

  async *lazyRecords(filter: RecordFilter): AsyncGenerator<LazyRawRecord, void, undefined> {
    const rows = this.topicRows.filter((r) => filter.topics === undefined || filter.topics.has(r.topic.name));
    if (rows.length === 0) return;
    const byId = new Map(rows.map((r) => [r.id, r]));
    const { where, params } = this.whereClause(rows, filter);
    // length(data) comes from the row's record header: sqlite does not read a blob's overflow pages for it.
    const sql = `SELECT id, topic_id, timestamp, length(data) AS size FROM messages${where} ORDER BY timestamp, id`;
    const order = Db3Source.connect(this.file);
    let it: IterableIterator<unknown> | undefined;
    let index = 0;
    let lastNs: bigint | undefined;
    try {
      try {
        it = order.prepare(sql).safeIntegers(true).iterate(...params);
      } catch (err) {
        throw new BagError(this.file, `cannot query messages: ${errorText(err)}`, { messageIndex: 0 }, { cause: err });
      }
      for (;;) {
        let row: Row;
        try {
          const next = it.next();
          if (next.done === true) return;
          row = next.value as Row;
        } catch (err) {
          const after = lastNs === undefined ? "before the first message" : `after timestamp ${lastNs} ns`;
          throw new BagError(this.file, `sqlite error reading messages ${after}: ${errorText(err)}`, { messageIndex: index }, { cause: err });
        }
        const topic = byId.get(Number(row["topic_id"]));
        if (topic === undefined) continue;
        const logTimeNs = toBig(row["timestamp"]);
        lastNs = logTimeNs;
        index++;
        yield new Db3LazyRecord(this, toBig(row["id"]), logTimeNs, Number(toBig(row["size"])), topic);
      }
    } finally {
      it?.return?.();
      order.close();
    }
  }

  private whereClause(rows: TopicRow[], filter: RecordFilter): { where: string; params: unknown[] } {
    const where: string[] = [];
    const params: unknown[] = [];
    if (rows.length < this.topicRows.length) {
      where.push(`topic_id IN (${rows.map(() => "?").join(", ")})`);
      params.push(...rows.map((r) => r.id));
    }
    if (filter.startNs !== undefined) {
      where.push("timestamp >= ?");
      params.push(filter.startNs);
    }
    if (filter.endNs !== undefined) {
      where.push("timestamp <= ?");
      params.push(filter.endNs);
    }
    return { where: where.length > 0 ? ` WHERE ${where.join(" AND ")}` : "", params };
  }

  /** Lazily read rows: one connection for the source's life (closed by close()), so a message stays readable after the iteration ends. */
  private blobs: { db: Database; all: Statement; head: Statement } | undefined;
  private closed = false;

  /** A row's data, or its first `n` bytes. */
  fetchData(rec: Db3LazyRecord, n?: number): Uint8Array {
    if (this.closed) throw new BagError(this.file, "read after the bag was closed (a lazily read message is valid only until bag.close())", {});
    let data: unknown;
    try {
      if (this.blobs === undefined) {
        const db = Db3Source.connect(this.file);
        try {
          this.blobs = {
            db,
            all: db.prepare("SELECT data FROM messages WHERE id = ?"),
            head: db.prepare("SELECT substr(data, 1, ?) AS data FROM messages WHERE id = ?"),
          };
        } catch (err) {
          db.close();
          throw err;
        }
      }
      const row = (n === undefined ? this.blobs.all.get(rec.id) : this.blobs.head.get(n, rec.id)) as Row | undefined;
      if (row === undefined) throw new Error("the row is gone");
      data = row["data"];
    } catch (err) {
      if (err instanceof BagError) throw err;
      throw new BagError(this.file, `sqlite error reading message row ${rec.id} (timestamp ${rec.logTimeNs} ns): ${errorText(err)}`, {}, { cause: err });
    }
    return data instanceof Uint8Array ? data : new Uint8Array();
  }

  async close(): Promise<void> {
    // The iteration connections are per call; only lazy reads keep one open.
    this.closed = true;
    this.blobs?.db.close();
    this.blobs = undefined;
  }
}

// One sqlite3 (.db3) file of a rosbag2 bag (the Humble default storage).
//
// Schema: topics(id, name, type, serialization_format, offered_qos_profiles)
// and messages(id, topic_id, timestamp, data); Iron and later add
// message_definitions, whose text is handed on with the topic when present.
//
// rosbag2 writes timestamp as an INTEGER of ns since the epoch. A row whose
// timestamp is TEXT, REAL, NULL or negative cannot be placed in time, and a row
// whose topic_id has no topics row cannot be decoded: both are left out of every
// count and stream, and the source's warnings say how many and which.

import { open } from "node:fs/promises";
import { createRequire } from "node:module";
import type BetterSqlite3 from "better-sqlite3";
import type { MessageSchema } from "../msgs/message-decoder.js";
import { BagError, type BagSource, type LazyRawRecord, type RawBagRecord, type RecordFilter, type SourceTopic } from "./source.js";
import { errorText } from "../util/errors.js";

type Database = BetterSqlite3.Database;
type Statement = BetterSqlite3.Statement<unknown[], unknown>;

// Loaded on first use: reading MCAP bags never loads the native module.
const require = createRequire(import.meta.url);
let ctor: typeof BetterSqlite3 | undefined;
function sqlite(): typeof BetterSqlite3 {
  ctor ??= require("better-sqlite3") as typeof BetterSqlite3;
  return ctor;
}

/** SQL condition of a row whose timestamp places it in time. */
const TIMED = "(typeof(timestamp) = 'integer' AND timestamp >= 0)";
/** Rows with another timestamp named in a warning. */
const UNTIMED_EXAMPLES = 5;

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
    const upTo =
      lastId === undefined ? "no message row is readable" : `message rows are readable up to row id ${String(lastId)} (timestamp ${String(lastTs)} ns)`;
    return { readable, text: `${upTo}, then: ${errorText(err)}` };
  }
}

interface TopicRow {
  id: number;
  topic: SourceTopic;
}

/** A message row whose data is fetched by id when asked for. */
class Db3LazyRecord implements LazyRawRecord {
  readonly topic: string;
  readonly schema: MessageSchema;

  constructor(
    private readonly source: Db3Source,
    readonly id: bigint,
    readonly logTimeNs: bigint,
    private readonly bytes: number,
    row: TopicRow,
  ) {
    this.topic = row.topic.name;
    this.schema = row.topic.schema;
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

  private constructor(
    readonly file: string,
    private readonly topicRows: TopicRow[],
    readonly startNs: bigint,
    readonly endNs: bigint,
    readonly messageCount: number,
    readonly warnings: readonly string[],
  ) {}

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
        throw new BagError(file, `not a readable sqlite3 database: ${errorText(err)}; ${hint.text}`, hint.offset === undefined ? {} : { offset: hint.offset }, {
          cause: err,
        });
      }
      if (!tables.has("topics") || !tables.has("messages")) {
        throw new BagError(file, `not a rosbag2 sqlite3 bag: it needs tables topics and messages, found ${[...tables].join(", ") || "none"}`);
      }
      try {
        return Db3Source.readTables(file, db, tables);
      } catch (err) {
        if (err instanceof BagError) throw err;
        const scan = scanMessages(db);
        throw new BagError(
          file,
          `cannot read the bag's tables (corrupt or truncated database): ${errorText(err)}; ${scan.text}`,
          { messageIndex: scan.readable },
          { cause: err },
        );
      }
    } finally {
      db.close();
    }
  }

  private static readTables(file: string, db: Database, tables: Set<string>): Db3Source {
    const topicCols = new Set(rowsOf(db.prepare("PRAGMA table_info(topics)")).map((r) => String(r["name"])));
    const qosCol = topicCols.has("offered_qos_profiles") ? "offered_qos_profiles" : "'' AS offered_qos_profiles";
    const stored = new Map<string, { encoding: string; text: string }>();
    if (tables.has("message_definitions")) {
      for (const r of rowsOf(db.prepare("SELECT topic_type, encoding, encoded_message_definition FROM message_definitions"))) {
        const text = r["encoded_message_definition"];
        if (typeof text === "string" && text !== "") stored.set(String(r["topic_type"]), { encoding: String(r["encoding"] ?? ""), text });
      }
    }
    // One pass over the messages: per topic id, the rows that can be placed in
    // time (counted and spanned) and those that cannot.
    const perTopic = new Map<number, { timed: number; untimed: number }>();
    let lo: bigint | undefined;
    let hi: bigint | undefined;
    let untimed = 0;
    for (const r of rowsOf(
      db
        .prepare(
          `SELECT topic_id, SUM(${TIMED}) AS timed, SUM(NOT ${TIMED}) AS untimed, MIN(CASE WHEN ${TIMED} THEN timestamp END) AS lo, MAX(CASE WHEN ${TIMED} THEN timestamp END) AS hi FROM messages GROUP BY topic_id`,
        )
        .safeIntegers(true),
    )) {
      const n = { timed: Number(toBig(r["timed"])), untimed: Number(toBig(r["untimed"])) };
      perTopic.set(Number(toBig(r["topic_id"])), n);
      untimed += n.untimed;
      if (n.timed > 0) {
        const a = toBig(r["lo"]);
        const b = toBig(r["hi"]);
        if (lo === undefined || a < lo) lo = a;
        if (hi === undefined || b > hi) hi = b;
      }
    }
    const schemas = new Map<string, MessageSchema>();
    const topicRows: TopicRow[] = rowsOf(db.prepare(`SELECT id, name, type, serialization_format, ${qosCol} FROM topics ORDER BY id`)).map((r) => {
      const id = Number(r["id"]);
      const type = String(r["type"]);
      const format = String(r["serialization_format"]);
      // One object per (type, format): decoders are cached by it.
      const key = `${type}\u0000${format}`;
      let schema = schemas.get(key);
      if (schema === undefined) {
        const def = stored.get(type);
        schema = { type, messageEncoding: format, definitionEncoding: def?.encoding ?? "", definition: def?.text ?? "" };
        schemas.set(key, schema);
      }
      return {
        id,
        topic: { name: String(r["name"]), schema, offeredQosProfiles: String(r["offered_qos_profiles"] ?? ""), count: perTopic.get(id)?.timed ?? 0 },
      };
    });
    const warnings: string[] = [];
    const nameOf = new Map(topicRows.map((t) => [t.id, t.topic.name]));
    for (const [id, n] of perTopic) {
      if (nameOf.has(id)) continue;
      const rows = n.timed + n.untimed;
      warnings.push(
        `${file}: ${rows} message row(s) have topic_id ${id}, which has no row in the topics table: without a type they cannot be decoded, and are skipped`,
      );
    }
    if (untimed > 0) warnings.push(Db3Source.untimedWarning(file, db, untimed, nameOf));
    const count = topicRows.reduce((sum, t) => sum + (t.topic.count ?? 0), 0);
    return new Db3Source(file, topicRows, lo ?? 0n, hi ?? 0n, count, warnings);
  }

  /** Names the rows whose timestamp is not an integer >= 0 (a few of them, with topic and value). */
  private static untimedWarning(file: string, db: Database, untimed: number, nameOf: Map<number, string>): string {
    const examples = rowsOf(
      db
        .prepare(
          `SELECT id, topic_id, typeof(timestamp) AS kind, CAST(timestamp AS TEXT) AS value FROM messages WHERE NOT ${TIMED} ORDER BY id LIMIT ${UNTIMED_EXAMPLES}`,
        )
        .safeIntegers(true),
    ).map((r) => {
      const topic = nameOf.get(Number(toBig(r["topic_id"]))) ?? `topic_id ${String(r["topic_id"])}`;
      const kind = String(r["kind"]);
      const value =
        kind === "null"
          ? "NULL"
          : kind === "integer"
            ? `${String(r["value"])} (negative)`
            : `${kind.toUpperCase()} ${JSON.stringify(String(r["value"]).slice(0, 40))}`;
      return `row ${String(r["id"])} on ${topic}: ${value}`;
    });
    const more = untimed > examples.length ? `, and ${untimed - examples.length} more` : "";
    return `${file}: ${untimed} message row(s) have a timestamp that is not an integer number of ns >= 0, so they cannot be placed in time and are skipped: ${examples.join("; ")}${more}`;
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
          return order
            .prepare(sql)
            .safeIntegers(true)
            .iterate(...params);
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
        // A row whose topic_id has no topics row has no type to decode it with (named in the warnings).
        if (topic === undefined) continue;
        const logTimeNs = toBig(row["timestamp"]);
        lastNs = logTimeNs;
        index++;
        const bytes = data instanceof Uint8Array ? data : new Uint8Array();
        yield { topic: topic.topic.name, schema: topic.topic.schema, logTimeNs, data: bytes };
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
        it = order
          .prepare(sql)
          .safeIntegers(true)
          .iterate(...params);
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
    const where: string[] = [TIMED];
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
    return { where: ` WHERE ${where.join(" AND ")}`, params };
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

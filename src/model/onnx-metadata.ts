// An ONNX file's metadata_props (ModelProto field 14: StringStringEntryProto key = 1,
// value = 2), read straight from the protobuf wire format. onnxruntime-node's JS API does
// not expose custom metadata, and decoding the whole ModelProto would parse the graph and
// copy every embedded weight: a backbone with inline weights is hundreds of MB. So this
// walks only the top-level fields, reading each field's header and skipping its body by
// its length; only the (small) metadata entries are read.
import { open, type FileHandle } from "node:fs/promises";

const METADATA_PROPS = 14;
const ENTRY_KEY = 1;
const ENTRY_VALUE = 2;
/** A metadata entry larger than this is not something the package wrote or needs. */
const MAX_ENTRY_BYTES = 1 << 20;

export class OnnxMetadataError extends Error {
  override name = "OnnxMetadataError";
}

/** Reads the file in small windows at explicit positions: no whole-file buffer. */
class FileCursor {
  private buf = Buffer.alloc(0);
  private bufStart = 0;

  constructor(
    private readonly fh: FileHandle,
    readonly size: number,
    private readonly file: string,
  ) {}

  /** Bytes [pos, pos + length), fewer only at the end of the file. */
  async bytes(pos: number, length: number): Promise<Buffer> {
    if (pos >= this.bufStart && pos + length <= this.bufStart + this.buf.length) {
      return this.buf.subarray(pos - this.bufStart, pos - this.bufStart + length);
    }
    const want = Math.min(Math.max(length, 64 * 1024), this.size - pos);
    const buf = Buffer.alloc(Math.max(want, 0));
    const { bytesRead } = await this.fh.read(buf, 0, buf.length, pos);
    this.buf = buf.subarray(0, bytesRead);
    this.bufStart = pos;
    return this.buf.subarray(0, Math.min(length, bytesRead));
  }

  fail(pos: number, what: string): never {
    throw new OnnxMetadataError(`${this.file}: not a readable ONNX model (${what} at byte ${pos})`);
  }
}

/** A varint from `buf` at `at`: its value (exact below 2^53, which any length here is) and its size. */
function varint(buf: Uint8Array, at: number): { value: number; size: number } | null {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (at + i >= buf.length) return null;
    const b = buf[at + i]!;
    value += (b & 0x7f) * scale;
    scale *= 128;
    if ((b & 0x80) === 0) return { value, size: i + 1 };
  }
  return null;
}

interface Field {
  number: number;
  wire: number;
  /** Where the body starts and how long it is (for varints: the varint itself). */
  start: number;
  length: number;
}

/** The field whose header starts at `pos` (top level of `cursor`'s file). */
async function fieldAt(c: FileCursor, pos: number): Promise<Field> {
  const head = await c.bytes(pos, 20);
  const tag = varint(head, 0);
  if (!tag || tag.value === 0) c.fail(pos, "a bad field tag");
  const number = Math.floor(tag.value / 8);
  const wire = tag.value % 8;
  const after = pos + tag.size;
  switch (wire) {
    case 0: {
      const v = varint(head, tag.size);
      if (!v) c.fail(pos, "a truncated varint");
      return { number, wire, start: after, length: v.size };
    }
    case 1:
      return { number, wire, start: after, length: 8 };
    case 5:
      return { number, wire, start: after, length: 4 };
    case 2: {
      const len = varint(head, tag.size);
      if (!len) c.fail(pos, "a truncated length");
      return { number, wire, start: after + len.size, length: len.value };
    }
    default:
      // Groups (3, 4) are not used by onnx.proto; anything else is not protobuf.
      return c.fail(pos, `wire type ${wire} in field ${number}`);
  }
}

/** Decodes one StringStringEntryProto from its bytes. */
function decodeEntry(bytes: Uint8Array): { key: string; value: string } | null {
  let key = "";
  let value = "";
  let at = 0;
  const text = new TextDecoder("utf-8", { fatal: false });
  while (at < bytes.length) {
    const tag = varint(bytes, at);
    if (!tag) return null;
    at += tag.size;
    const wire = tag.value % 8;
    const number = Math.floor(tag.value / 8);
    if (wire === 2) {
      const len = varint(bytes, at);
      if (!len || at + len.size + len.value > bytes.length) return null;
      at += len.size;
      const s = text.decode(bytes.subarray(at, at + len.value));
      at += len.value;
      if (number === ENTRY_KEY) key = s;
      else if (number === ENTRY_VALUE) value = s;
    } else if (wire === 0) {
      const v = varint(bytes, at);
      if (!v) return null;
      at += v.size;
    } else if (wire === 1 || wire === 5) {
      at += wire === 1 ? 8 : 4;
    } else return null;
  }
  return { key, value };
}

/**
 * The metadata_props of an ONNX model file, in file order (a later duplicate key wins,
 * as onnxruntime's map does). Throws OnnxMetadataError when the file is not a
 * readable protobuf ModelProto.
 */
export async function readOnnxMetadata(file: string): Promise<Map<string, string>> {
  const fh = await open(file, "r");
  try {
    const size = (await fh.stat()).size;
    const c: FileCursor = new FileCursor(fh, size, file);
    const out = new Map<string, string>();
    let pos = 0;
    while (pos < size) {
      const f = await fieldAt(c, pos);
      const end = f.start + f.length;
      if (end > size) c.fail(pos, `field ${f.number} running past the end of the file (${end} > ${size} bytes)`);
      if (f.number === METADATA_PROPS && f.wire === 2) {
        if (f.length > MAX_ENTRY_BYTES) c.fail(pos, `a ${f.length}-byte metadata entry`);
        const entry = decodeEntry(await c.bytes(f.start, f.length));
        if (!entry) c.fail(f.start, "a malformed metadata entry");
        out.set(entry.key, entry.value);
      }
      pos = end;
    }
    return out;
  } finally {
    await fh.close();
  }
}

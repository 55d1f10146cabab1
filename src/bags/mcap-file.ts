// An MCAP file opened for positioned reads: asynchronous ones for
// @mcap/core's indexed reader, synchronous ones for lazily read records (a
// payload read inside a property getter cannot await).

import { readSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import type { IReadable } from "@mcap/core";
import { BagError } from "./source.js";

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

  /** A synchronous positioned read (a lazily read record or chunk). */
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

  /** Reads `length` bytes at `offset` into the start of `buf` (reused by the caller); returns that part of it. */
  readInto(offset: number, buf: Uint8Array, length: number): Uint8Array {
    if (this.closed) throw new BagError(this.file, "read after the bag was closed (a lazily read message is valid only until bag.close())", { offset });
    if (offset + length > Number(this.bytes) || length > buf.byteLength) {
      throw new BagError(this.file, `read of ${length} bytes past the end of the file (size ${this.bytes})`, { offset });
    }
    let done = 0;
    while (done < length) {
      const n = readSync(this.handle.fd, buf, done, length - done, offset + done);
      if (n === 0) throw new BagError(this.file, "file shrank while reading", { offset: offset + done });
      done += n;
    }
    this.bytesRead += length;
    return buf.subarray(0, length);
  }

  close(): Promise<void> {
    this.closed = true;
    return this.handle.close();
  }
}

// LZ4 frame decompression (the format MCAP's "lz4" chunk compression uses).
// Small enough to carry here, so lz4 bags read without a native or extra
// package. Checksums are skipped: MCAP checks each chunk's CRC itself.

const FRAME_MAGIC = 0x184d2204;

export function lz4DecompressFrame(input: Uint8Array, decompressedSize: number): Uint8Array {
  const out = new Uint8Array(decompressedSize);
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  let pos = 0;
  let outPos = 0;
  const need = (n: number): void => {
    if (pos + n > input.byteLength) throw new Error(`lz4: input ends at byte ${input.byteLength}, needed ${pos + n}`);
  };
  while (pos < input.byteLength) {
    need(4);
    const magic = view.getUint32(pos, true);
    pos += 4;
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      // Skippable frame: carries no data for us.
      need(4);
      pos += 4 + view.getUint32(pos, true);
      continue;
    }
    if (magic !== FRAME_MAGIC) throw new Error(`lz4: bad frame magic 0x${magic.toString(16)} at byte ${pos - 4}`);
    need(2);
    const flg = input[pos]!;
    if (flg >> 6 !== 1) throw new Error(`lz4: unsupported frame version ${flg >> 6}`);
    const blockChecksum = (flg & 0x10) !== 0;
    const contentSize = (flg & 0x08) !== 0;
    const contentChecksum = (flg & 0x04) !== 0;
    const dictId = (flg & 0x01) !== 0;
    pos += 2 + (contentSize ? 8 : 0) + (dictId ? 4 : 0) + 1; // FLG, BD, options, header checksum
    for (;;) {
      need(4);
      const word = view.getUint32(pos, true);
      pos += 4;
      if (word === 0) break;
      const size = word & 0x7fffffff;
      need(size);
      if (word & 0x80000000) {
        if (outPos + size > out.byteLength) throw new Error("lz4: output larger than the declared size");
        out.set(input.subarray(pos, pos + size), outPos);
        outPos += size;
      } else {
        outPos = decodeBlock(input, pos, pos + size, out, outPos);
      }
      pos += size + (blockChecksum ? 4 : 0);
    }
    pos += contentChecksum ? 4 : 0;
  }
  if (outPos !== decompressedSize) {
    throw new Error(`lz4: decompressed ${outPos} bytes, expected ${decompressedSize}`);
  }
  return out;
}

function decodeBlock(src: Uint8Array, start: number, end: number, out: Uint8Array, outStart: number): number {
  let i = start;
  let o = outStart;
  const overrun = (): Error => new Error(`lz4: corrupt block at input byte ${i}`);
  while (i < end) {
    const token = src[i++]!;
    let lit = token >> 4;
    if (lit === 15) {
      let b: number;
      do {
        if (i >= end) throw overrun();
        b = src[i++]!;
        lit += b;
      } while (b === 255);
    }
    if (i + lit > end || o + lit > out.byteLength) throw overrun();
    out.set(src.subarray(i, i + lit), o);
    i += lit;
    o += lit;
    if (i >= end) break; // the last sequence has literals only
    if (i + 2 > end) throw overrun();
    const offset = src[i]! | (src[i + 1]! << 8);
    i += 2;
    if (offset === 0 || offset > o) throw overrun();
    let len = (token & 15) + 4;
    if ((token & 15) === 15) {
      let b: number;
      do {
        if (i >= end) throw overrun();
        b = src[i++]!;
        len += b;
      } while (b === 255);
    }
    if (o + len > out.byteLength) throw overrun();
    let from = o - offset;
    if (offset >= len) {
      out.copyWithin(o, from, from + len);
      o += len;
    } else {
      // Overlapping match: the copy reads bytes it has just written.
      for (let k = 0; k < len; k++) out[o++] = out[from++]!;
    }
  }
  return o;
}

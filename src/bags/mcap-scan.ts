// Where a damaged MCAP file breaks. A file whose summary or index cannot be
// read (cut off mid-recording, or corrupt) is read front to back with the
// streaming parser, so the error can say how much of it is intact and where.

import { McapStreamReader, type DecompressHandlers } from "@mcap/core";
import { decompressHandlers } from "./decompress.js";
import { FileReadable } from "./mcap-file.js";
import { errorText } from "../util/errors.js";

export interface McapScan {
  complete: boolean;
  /** End of the last record that parsed completely. */
  goodUntil: number;
  records: number;
  messages: number;
  /** The parse error, when the scan stopped on one rather than at the end of the data. */
  error?: string;
  size: number;
}

const SCAN_PIECE = 1 << 20;

/**
 * Reads the file front to back with the streaming parser, to say how far it
 * is intact. Memory stays at one chunk; time is one pass over the file.
 */
export async function scanMcap(file: string, handlers?: DecompressHandlers): Promise<McapScan> {
  const readable = await FileReadable.open(file);
  try {
    const size = Number(await readable.size());
    const stream = new McapStreamReader({ decompressHandlers: handlers ?? (await decompressHandlers()), validateCrcs: true });
    let fed = 0;
    let goodUntil = 0;
    let records = 0;
    let messages = 0;
    while (fed < size) {
      const n = Math.min(SCAN_PIECE, size - fed);
      stream.append(await readable.read(BigInt(fed), BigInt(n)));
      fed += n;
      try {
        for (let r = stream.nextRecord(); r !== undefined; r = stream.nextRecord()) {
          records++;
          if (r.type === "Message") messages++;
          goodUntil = fed - stream.bytesRemaining();
        }
      } catch (err) {
        return { complete: false, goodUntil, records, messages, error: errorText(err), size };
      }
    }
    return { complete: stream.done(), goodUntil, records, messages, size };
  } finally {
    await readable.close();
  }
}

/** The scan in words, and the byte offset an error should name. */
export function describeBreak(scan: McapScan): { text: string; offset: number } {
  if (scan.size === 0) return { text: "the file is empty", offset: 0 };
  if (scan.error !== undefined) {
    return {
      text: `the data is corrupt after the last good record (${scan.messages} messages before it): ${scan.error}`,
      offset: scan.goodUntil,
    };
  }
  if (!scan.complete) {
    return {
      text: `the file is cut off at byte ${scan.size}; the last complete record ends at byte ${scan.goodUntil} (${scan.messages} messages before the break). The recording was probably interrupted; \`mcap recover\` can rebuild the index of what is there`,
      offset: scan.goodUntil,
    };
  }
  return { text: "the data section parses but the summary/index does not", offset: scan.goodUntil };
}

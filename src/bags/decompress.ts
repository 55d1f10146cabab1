// Chunk decompressors for MCAP. rosbag2's MCAP plugin writes zstd chunks by
// default (the MCAP C++ writer's default), lz4 with a storage preset.
//
// - lz4: always, via the small frame decoder in lz4.ts;
// - zstd: node:zlib's zstd when the runtime has it (Node >= 22.15), else the
//   pure-JS `fzstd` package (a dependency, for Node 20).

import * as zlib from "node:zlib";
import type { McapTypes } from "@mcap/core";
import { decompress as fzstdDecompress } from "fzstd";
import { lz4DecompressFrame } from "./lz4.js";

export type DecompressHandlers = McapTypes.DecompressHandlers;

type Decompress = (buffer: Uint8Array, decompressedSize: bigint) => Uint8Array;

function nodeZstd(): Decompress | undefined {
  const fn = (zlib as unknown as Record<string, unknown>)["zstdDecompressSync"];
  if (typeof fn !== "function") return undefined;
  const zstdDecompressSync = fn as (buf: Uint8Array) => Uint8Array;
  return (buffer) => zstdDecompressSync(buffer);
}

const fzstd: Decompress = (buffer, size) => fzstdDecompress(buffer, new Uint8Array(Number(size)));

let handlers: Promise<DecompressHandlers> | undefined;

/** The decompressors available in this process (loaded once). */
export function decompressHandlers(): Promise<DecompressHandlers> {
  handlers ??= (async () => {
    const out: DecompressHandlers = {
      lz4: (buffer, size) => lz4DecompressFrame(buffer, Number(size)),
    };
    out["zstd"] = nodeZstd() ?? fzstd;
    return out;
  })();
  return handlers;
}

/** Why a compression cannot be read here, phrased for an error message. */
export function unsupportedCompressionHint(compression: string): string {
  return `"${compression}" is not an MCAP chunk compression this reader knows (supported: lz4, zstd)`;
}

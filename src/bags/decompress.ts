// Chunk decompressors for MCAP. rosbag2's MCAP plugin writes zstd chunks by
// default (the MCAP C++ writer's default), lz4 with a storage preset.
//
// - lz4: always, via the small frame decoder in lz4.ts;
// - zstd: node:zlib's zstd when the runtime has it (Node >= 22.15), else the
//   pure-JS `fzstd` package when installed; otherwise reading a zstd bag fails
//   at open with an error naming the compression and what to install.

import * as zlib from "node:zlib";
import type { McapTypes } from "@mcap/core";
import { lz4DecompressFrame } from "./lz4.js";

export type DecompressHandlers = McapTypes.DecompressHandlers;

type Decompress = (buffer: Uint8Array, decompressedSize: bigint) => Uint8Array;

function nodeZstd(): Decompress | undefined {
  const fn = (zlib as unknown as Record<string, unknown>)["zstdDecompressSync"];
  if (typeof fn !== "function") return undefined;
  const zstdDecompressSync = fn as (buf: Uint8Array) => Uint8Array;
  return (buffer) => zstdDecompressSync(buffer);
}

async function fzstd(): Promise<Decompress | undefined> {
  // A variable specifier keeps this an optional, undeclared dependency.
  const name = "fzstd";
  try {
    const mod: unknown = await import(name);
    const fn = typeof mod === "object" && mod !== null ? (mod as Record<string, unknown>)["decompress"] : undefined;
    if (typeof fn !== "function") return undefined;
    const decompress = fn as (buf: Uint8Array, out?: Uint8Array) => Uint8Array;
    return (buffer, size) => decompress(buffer, new Uint8Array(Number(size)));
  } catch {
    return undefined;
  }
}

let handlers: Promise<DecompressHandlers> | undefined;

/** The decompressors available in this process (loaded once). */
export function decompressHandlers(): Promise<DecompressHandlers> {
  handlers ??= (async () => {
    const out: DecompressHandlers = {
      lz4: (buffer, size) => lz4DecompressFrame(buffer, Number(size)),
    };
    const zstd = nodeZstd() ?? (await fzstd());
    if (zstd !== undefined) out["zstd"] = zstd;
    return out;
  })();
  return handlers;
}

/** Why a compression cannot be read here, phrased for an error message. */
export function unsupportedCompressionHint(compression: string): string {
  if (compression === "zstd") {
    return "this Node.js has no zstd decompressor (node:zlib gained zstd in Node 22.15); install the pure-JS 'fzstd' package, run on a newer Node, or rewrite the bag without compression (e.g. `mcap compress --compression none` or `ros2 bag convert`)";
  }
  return `"${compression}" is not an MCAP chunk compression this reader knows (supported: lz4, zstd)`;
}

// Writes that never lose what was there and whose errors name their file.
//
// - writeFileAtomic: the new content goes to a temporary file next to the target,
//   is fsynced, then renamed over it, so a full disk or a crash leaves the old file
//   whole (never a truncated report.json) and the new one complete or absent.
// - Node's ENOSPC / EIO errors from write() carry no path ("ENOSPC: no space left on
//   device, write"); every error from here names the file it was writing.
// - refuseNonEmptyTarget: commands that create a folder (a sample bag, a model)
//   refuse one that already holds something instead of writing over it.
import { open, readdir, rename, rm, stat, type FileHandle } from "node:fs/promises";
import path from "node:path";
import { errorText } from "./errors.js";

/** An I/O failure on a named file; `code` is the errno code (ENOSPC, EACCES, ...) when there is one. */
export class FileWriteError extends Error {
  override name = "FileWriteError";

  constructor(
    readonly file: string,
    readonly code: string | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

function errnoCode(e: unknown): string | undefined {
  return typeof e === "object" && e !== null && "code" in e ? String((e as { code: unknown }).code) : undefined;
}

/** The error, as a FileWriteError whose message starts with the file (unless it already names it). */
export function namedWriteError(file: string, e: unknown, doing = "cannot write"): FileWriteError {
  if (e instanceof FileWriteError) return e;
  const text = errorText(e);
  const message = text.includes(file) ? text : `${file}: ${doing}: ${text}`;
  return new FileWriteError(file, errnoCode(e), message, { cause: e });
}

/** The file operations writeFileAtomic uses; tests replace one to fail like a full disk. */
export interface AtomicWriteFs {
  writeAll(handle: FileHandle, data: string | Uint8Array): Promise<void>;
}

const REAL_FS: AtomicWriteFs = {
  async writeAll(handle, data) {
    await handle.writeFile(data);
  },
};

/**
 * Replaces `file` with `data` atomically: on any failure the previous file (if any)
 * is untouched, the temporary file is removed, and the error names `file`.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array, fsOps: AtomicWriteFs = REAL_FS): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  try {
    const handle = await open(tmp, "wx");
    try {
      await fsOps.writeAll(handle, data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw namedWriteError(file, e);
  }
}

/**
 * Throws (naming the folder) when `dir` exists and is not an empty folder: what
 * is there is never written over. A missing folder is fine (the caller creates it).
 */
export async function refuseNonEmptyTarget(dir: string, what: string): Promise<void> {
  const s = await stat(dir).catch((e: unknown) => {
    if (errnoCode(e) === "ENOENT") return null;
    throw namedWriteError(dir, e, "cannot inspect");
  });
  if (s === null) return;
  if (!s.isDirectory())
    throw new FileWriteError(dir, "EEXIST", `${dir}: already exists and is not a folder; ${what} is never written over anything: choose a new folder`);
  const entries = await readdir(dir);
  if (entries.length > 0) {
    throw new FileWriteError(
      dir,
      "ENOTEMPTY",
      `${dir}: already holds ${entries.length} entr${entries.length === 1 ? "y" : "ies"} (${entries.slice(0, 3).join(", ")}${entries.length > 3 ? ", ..." : ""}); ${what} is never written over an existing one: choose a new or empty folder`,
    );
  }
}

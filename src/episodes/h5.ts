// The one place that loads h5wasm for the episode code.
//
// h5wasm's WebAssembly module initialises asynchronously; awaiting it here at the top
// level lets every episode API be synchronous (a recorder callback can append a frame
// without juggling promises).
//
// HDF5 errors: by default h5wasm only PRINTS the HDF5 error stack and carries on, so
// a failed write (disk full) looks like a success and close() returns as if the file
// were complete. Every call that can fail therefore runs inside guarded(), which turns
// on h5wasm's throwing error handler for the duration of the call only (a global
// switch would change what other h5wasm users in the process see).
import h5wasm from "h5wasm/node";
import type { Dataset, Entity } from "h5wasm/node";
import { errorText } from "../util/errors.js";

const Module = await h5wasm.ready;

export { h5wasm };
export type { Dataset, Entity };

export const H5T_INTEGER = Module.H5T_class_t.H5T_INTEGER.value;
export const H5T_FLOAT = Module.H5T_class_t.H5T_FLOAT.value;
export const H5T_STRING = Module.H5T_class_t.H5T_STRING.value;

/** Runs fn with HDF5 errors thrown as JS errors; rethrows them as Hdf5Error with a one-line summary. */
export function guarded<T>(fn: () => T): T {
  Module.activate_throwing_error_handler();
  try {
    return fn();
  } catch (e) {
    throw toHdf5Error(e);
  } finally {
    Module.deactivate_throwing_error_handler();
  }
}

/** An HDF5 library failure, with the short cause (e.g. "File too large") and the full stack. */
export class Hdf5Error extends Error {
  constructor(
    readonly summary: string,
    readonly stack_text: string,
  ) {
    super(summary);
    this.name = "Hdf5Error";
  }
}

function toHdf5Error(e: unknown): Error {
  if (e instanceof Hdf5Error) return e;
  const text = errorText(e);
  if (!text.includes("HDF5")) return e instanceof Error ? e : new Error(text);
  return new Hdf5Error(summariseHdf5Stack(text), text);
}

/**
 * The HDF5 error stack is dozens of lines; users need the API call that failed and
 * the root cause (the OS error when there is one).
 */
export function summariseHdf5Stack(text: string): string {
  const frames = [...text.matchAll(/#\d+: .*? in ([\w.]+)\(\): ([^\n]*)/g)];
  const os = /error message = '([^']*)'/.exec(text);
  const top = frames[0];
  const deepest = frames[frames.length - 1];
  const head = top ? `${top[1]}(): ${top[2].trim()}` : text.split("\n")[0].trim();
  // The OS error is the actionable part ("No space left on device"); the API call
  // only says where HDF5 noticed it.
  if (os) return top ? `${os[1]} (HDF5 ${top[1]}() failed)` : os[1];
  if (deepest && deepest !== top) return `${head} (${deepest[1]}(): ${deepest[2].trim()})`;
  return head;
}

export function isDataset(e: Entity | null): e is Dataset {
  return e instanceof h5wasm.Dataset;
}

export type H5File = InstanceType<typeof h5wasm.File>;

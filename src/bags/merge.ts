// The messages of a bag's files as one stream in log-time order.

import type { BagSource } from "./source.js";

interface Head<R> {
  iter: AsyncGenerator<R, void, undefined>;
  record: R;
  order: number;
  file: string;
}

/** What the merge yields: the record and the file it came from (one object, reused). */
export interface Merged<R> {
  record: R;
  file: string;
}

function cmpNs(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Merges the sources' record streams by log time; equal times keep the files'
 * order. Split files are started lazily, in start-time order, so that a bag of
 * many sequential splits reads one file at a time; overlapping files are merged
 * message by message.
 */
export async function* merge<R extends { logTimeNs: bigint }>(
  sources: readonly BagSource[],
  open: (source: BagSource) => AsyncGenerator<R, void, undefined>,
): AsyncGenerator<Merged<R>, void, undefined> {
  const pending = sources.map((source, order) => ({ source, order })).sort((a, b) => cmpNs(a.source.startNs, b.source.startNs) || a.order - b.order);
  const active: Head<R>[] = [];
  const min = (): Head<R> | undefined => {
    let best: Head<R> | undefined;
    for (const h of active) {
      if (best === undefined || h.record.logTimeNs < best.record.logTimeNs || (h.record.logTimeNs === best.record.logTimeNs && h.order < best.order)) best = h;
    }
    return best;
  };
  const out = {} as Merged<R>;
  try {
    for (;;) {
      let head = min();
      while (pending.length > 0 && (head === undefined || pending[0]!.source.startNs <= head.record.logTimeNs)) {
        const { source, order } = pending.shift()!;
        const iter = open(source);
        const first = await iter.next();
        if (first.done !== true) active.push({ iter, record: first.value, order, file: source.file });
        head = min();
      }
      if (head === undefined) return;
      out.record = head.record;
      out.file = head.file;
      yield out;
      const next = await head.iter.next();
      if (next.done === true) active.splice(active.indexOf(head), 1);
      else head.record = next.value;
    }
  } finally {
    await Promise.allSettled(active.map((h) => h.iter.return(undefined)));
  }
}

// A recording's time span, and the messages that cannot be part of it.
//
// rosbag2 stamps each message with the recorder's clock. A clock that was not yet
// set when recording began (a robot without a real-time clock boots in 1970), or
// one corrupted timestamp, puts a message years away from all the others, and a
// span taken from the first and last message covers that distance: `bag info`
// printed 1970, episodes got a total_duration of 1.7e9 s, and a replay ticked its
// control loop through 54 years of nothing until it ran out of memory.
//
// A recording does not go a day with nothing at all logged, so the messages are
// split wherever consecutive ones lie more than MAX_RECORDING_GAP_S apart; the
// part holding the most messages is the recording, and every other part is named
// in a warning (topic and time) and left out.

import { merge } from "./merge.js";
import { type BagSource } from "./source.js";
import { nsToSeconds } from "../util/time.js";

/** Longest stretch (s) with no message at all inside one recording. */
export const MAX_RECORDING_GAP_S = 24 * 3600;
const MAX_GAP_NS = BigInt(MAX_RECORDING_GAP_S) * 1_000_000_000n;
/** Messages of a left-out part named one by one; a bigger part is summarised by topic. */
const NAMED_MESSAGES = 3;
/** Left-out parts described in full; the rest are counted. */
const DESCRIBED_PARTS = 5;

export interface RecordingSpan {
  startNs: bigint;
  endNs: bigint;
  /** Messages left out, per topic (empty when none). */
  excluded: Map<string, number>;
  warnings: string[];
}

interface Part {
  startNs: bigint;
  endNs: bigint;
  count: number;
  topics: Map<string, number>;
  /** The first few messages, to name them. */
  first: { topic: string; ns: bigint }[];
}

/** "1700000000.000 s (2023-11-14T22:13:20.000Z)" */
function timeText(ns: bigint): string {
  const s = nsToSeconds(ns);
  const date = new Date(Number(ns / 1_000_000n));
  return Number.isFinite(date.getTime()) ? `${s.toFixed(3)} s (${date.toISOString()})` : `${s.toFixed(3)} s`;
}

function gapText(ns: bigint): string {
  const s = nsToSeconds(ns);
  const days = s / 86400;
  return days >= 365 ? `${s.toExponential(2)} s (${(days / 365.25).toFixed(1)} years)` : `${s.toFixed(0)} s (${days.toFixed(1)} days)`;
}

function describe(path: string, part: Part, main: Part): string {
  const before = part.endNs < main.startNs;
  const gap = before ? main.startNs - part.endNs : part.startNs - main.endNs;
  const what =
    part.count <= NAMED_MESSAGES
      ? part.first.map((m) => `the message on ${m.topic} at ${timeText(m.ns)}`).join(", ")
      : `${part.count} messages (${[...part.topics].map(([t, n]) => `${t} ${n}`).join(", ")}) from ${timeText(part.startNs)} to ${timeText(part.endNs)}`;
  return (
    `${path}: ${what} ${part.count === 1 ? "lies" : "lie"} ${gapText(gap)} ${before ? "before" : "after"} the rest of the recording ` +
    `(${main.count} messages, ${timeText(main.startNs)} to ${timeText(main.endNs)}) with nothing logged in between; ` +
    `a recorder clock that was not yet set, or a corrupt timestamp? Left out of the bag's span, counts and messages.`
  );
}

/**
 * The span of the recording in `sources` (whose first and last log times are
 * `startNs`, `endNs`) and the messages outside it. Costs nothing when the whole
 * span is shorter than the gap that splits it; otherwise one pass over the
 * message times (MCAP message indexes, sqlite rows without data).
 */
export async function recordingSpan(path: string, sources: readonly BagSource[], startNs: bigint, endNs: bigint): Promise<RecordingSpan> {
  if (endNs - startNs <= MAX_GAP_NS) return { startNs, endNs, excluded: new Map(), warnings: [] };
  const parts: Part[] = [];
  let cur: Part | undefined;
  for await (const { record } of merge(sources, (s) => s.lazyRecords({}))) {
    const t = record.logTimeNs;
    if (cur === undefined || t - cur.endNs > MAX_GAP_NS) {
      cur = { startNs: t, endNs: t, count: 0, topics: new Map(), first: [] };
      parts.push(cur);
    }
    cur.endNs = t;
    cur.count++;
    cur.topics.set(record.topic, (cur.topics.get(record.topic) ?? 0) + 1);
    if (cur.first.length < NAMED_MESSAGES) cur.first.push({ topic: record.topic, ns: t });
  }
  if (parts.length <= 1) return { startNs, endNs, excluded: new Map(), warnings: [] };
  const main = parts.reduce((best, p) => (p.count > best.count ? p : best));
  const others = parts.filter((p) => p !== main);
  const excluded = new Map<string, number>();
  for (const p of others) for (const [t, n] of p.topics) excluded.set(t, (excluded.get(t) ?? 0) + n);
  const warnings = others.slice(0, DESCRIBED_PARTS).map((p) => describe(path, p, main));
  if (others.length > DESCRIBED_PARTS) {
    const rest = others.slice(DESCRIBED_PARTS);
    warnings.push(
      `${path}: ${rest.length} more group(s) of ${rest.reduce((n, p) => n + p.count, 0)} message(s) lie over ${gapText(MAX_GAP_NS)} away from the recording; also left out.`,
    );
  }
  return { startNs: main.startNs, endNs: main.endNs, excluded, warnings };
}

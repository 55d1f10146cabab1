// A bag's summary, and a text rendering in the layout of `ros2 bag info`, followed
// by what is odd about the bag. Start, end and duration are the recording's own:
// messages that cannot be placed in it are left out and named (time-span.ts,
// sqlite-reader.ts).

import { stat } from "node:fs/promises";
import { basename } from "node:path";
import type { BagTopic } from "./bag.js";
import { openBag, type OpenBagOptions } from "./bag-reader.js";
import { type StorageId } from "./source.js";
import { nsToSeconds } from "../util/time.js";

export interface BagFileInfo {
  path: string;
  sizeBytes: number;
}

export interface BagInfo {
  path: string;
  storage: StorageId;
  files: BagFileInfo[];
  sizeBytes: number;
  messageCount: number;
  /** Seconds. */
  startTime: number;
  endTime: number;
  duration: number;
  startTimeNs: bigint;
  endTimeNs: bigint;
  topics: BagTopic[];
  /** What is odd about the bag (each names the file and what is wrong). */
  warnings: readonly string[];
}

export async function bagInfo(path: string, options?: OpenBagOptions): Promise<BagInfo> {
  const bag = await openBag(path, options);
  try {
    const files = await Promise.all(bag.files.map(async (f) => ({ path: f, sizeBytes: (await stat(f)).size })));
    return {
      path,
      storage: bag.storage,
      files,
      sizeBytes: files.reduce((n, f) => n + f.sizeBytes, 0),
      messageCount: bag.messageCount,
      startTime: bag.startTime,
      endTime: bag.endTime,
      duration: nsToSeconds(bag.endTimeNs - bag.startTimeNs),
      startTimeNs: bag.startTimeNs,
      endTimeNs: bag.endTimeNs,
      topics: bag.topics(),
      warnings: bag.warnings,
    };
  } finally {
    await bag.close();
  }
}

function formatSize(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${bytes} B` : `${v.toFixed(1)} ${units[i]}`;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** "Nov 14 2023 22:13:20.000 (1700000000.000)", in UTC so the text is the same on every machine. */
function formatTime(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const d = new Date(ms);
  const p = (n: number, w = 2): string => String(n).padStart(w, "0");
  const secs = nsToSeconds(ns).toFixed(3);
  return `${MONTHS[d.getUTCMonth()]} ${p(d.getUTCDate())} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.${p(d.getUTCMilliseconds(), 3)} (${secs})`;
}

/** The summary as `ros2 bag info` prints it (times in UTC). */
export function formatBagInfo(info: BagInfo): string {
  const label = (s: string): string => s.padEnd(19);
  const indent = " ".repeat(19);
  const lines = [
    "",
    label("Files:") + info.files.map((f, i) => (i === 0 ? "" : indent) + basename(f.path)).join("\n"),
    label("Bag size:") + formatSize(info.sizeBytes),
    label("Storage id:") + info.storage,
    label("Duration:") + `${info.duration.toFixed(3)}s`,
    label("Start:") + formatTime(info.startTimeNs),
    label("End:") + formatTime(info.endTimeNs),
    label("Messages:") + String(info.messageCount),
  ];
  const nameWidth = Math.max(0, ...info.topics.map((t) => t.name.length));
  const typeWidth = Math.max(0, ...info.topics.map((t) => t.type.length));
  const countWidth = Math.max(0, ...info.topics.map((t) => String(t.count).length));
  const topicLines = info.topics.map(
    (t) =>
      `Topic: ${t.name.padEnd(nameWidth)} | Type: ${t.type.padEnd(typeWidth)} | Count: ${String(t.count).padEnd(countWidth)} | Serialization Format: ${t.serializationFormat}`,
  );
  lines.push(label("Topic information:") + (topicLines.length === 0 ? "" : topicLines.map((l, i) => (i === 0 ? "" : indent) + l).join("\n")));
  if (info.warnings.length > 0) lines.push(label("Warnings:") + info.warnings.map((w, i) => (i === 0 ? "" : indent) + w).join("\n"));
  return lines.join("\n") + "\n";
}

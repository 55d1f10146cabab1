// `episodes check DIR`: is this folder safe to train on? Lists every episode with
// what the trainer will see, and flags what would break or silently poison training:
// `.h5.partial` files (an episode that never finished), `.h5` files that do not
// open or do not match a Mobile-VLA layout, and (with deep) frames that cannot be read.
import fs from "node:fs";
import path from "node:path";
import type { ChannelOrder } from "../model/manifest.js";
import { EpisodeFormatError, openEpisode, type Episode, type EpisodeLayout } from "./episode-reader.js";
import { EPISODE_SUFFIX, PARTIAL_SUFFIX, parseEpisodeStem } from "./episode-name.js";

export interface EpisodeSummary {
  file: string;
  layout: EpisodeLayout;
  numFrames: number;
  width: number;
  height: number;
  /** attrs.total_duration, else the timestamps' span, else null. */
  durationS: number | null;
  channelOrder: ChannelOrder;
  instruction: string | null;
  /** Per action axis over all frames; empty when there are no frames. */
  actionMin: number[];
  actionMax: number[];
  /** Count of each action_event_types value (empty when the file has none). */
  eventTypes: Record<string, number>;
  /** Not fatal: e.g. a name the trainer's left/right rule cannot read. */
  warnings: string[];
}

export type CheckProblemKind = "partial" | "unreadable" | "layout" | "frames";

export interface CheckProblem {
  file: string;
  kind: CheckProblemKind;
  detail: string;
}

export interface CheckReport {
  dir: string;
  episodes: EpisodeSummary[];
  problems: CheckProblem[];
  /** No problems (warnings allowed): the exit code. */
  ok: boolean;
}

export interface CheckOptions {
  /** Also read every frame (slow: the whole dataset passes through). */
  deep?: boolean;
}

/**
 * What makes an opened episode's actions unusable for training (a NaN/Inf value),
 * or null. The one rule behind `episodes check` and eval, so both give an episode
 * the same verdict.
 */
export function actionsProblem(ep: Pick<Episode, "actions" | "actionDim" | "numFrames">): string | null {
  const a = ep.actionDim;
  for (let i = 0; i < ep.numFrames; i++) {
    for (let j = 0; j < a; j++) {
      const v = ep.actions[i * a + j];
      if (!Number.isFinite(v)) return `actions: frame ${i} axis ${j} is ${v}`;
    }
  }
  return null;
}

function summarise(file: string, deep: boolean): EpisodeSummary | CheckProblem {
  let ep;
  try {
    ep = openEpisode(file);
  } catch (e) {
    if (e instanceof EpisodeFormatError) {
      return { file, kind: e.key === "file" ? "unreadable" : "layout", detail: `${e.key}: ${e.detail}` };
    }
    return { file, kind: "unreadable", detail: (e as Error).message };
  }
  try {
    const a = ep.actionDim;
    const actionMin: number[] = ep.numFrames ? new Array<number>(a).fill(Infinity) : [];
    const actionMax: number[] = ep.numFrames ? new Array<number>(a).fill(-Infinity) : [];
    const actions = actionsProblem(ep);
    if (actions) return { file, kind: "layout", detail: actions };
    for (let i = 0; i < ep.numFrames; i++) {
      for (let j = 0; j < a; j++) {
        const v = ep.actions[i * a + j];
        if (v < actionMin[j]) actionMin[j] = v;
        if (v > actionMax[j]) actionMax[j] = v;
      }
    }
    if (deep) {
      for (let i = 0; i < ep.numFrames; i++) {
        try {
          ep.frame(i);
        } catch (e) {
          return { file, kind: "frames", detail: `frame ${i}: ${(e as Error).message}` };
        }
      }
    }
    const eventTypes: Record<string, number> = {};
    for (const t of ep.eventTypes ?? []) eventTypes[t] = (eventTypes[t] ?? 0) + 1;
    const dur = ep.attrs.total_duration;
    let durationS: number | null = typeof dur === "number" ? dur : null;
    if (durationS === null && ep.timestamps && ep.timestamps.length > 0) durationS = ep.timestamps[ep.timestamps.length - 1] - ep.timestamps[0];
    const warnings: string[] = [];
    const stem = path.basename(file, EPISODE_SUFFIX);
    if (ep.layout === "mobile_vla_2025" && !parseEpisodeStem(stem)) warnings.push("name is not episode_YYYYMMDD_HHMMSS[_tags]");
    if (ep.numFrames === 0) warnings.push("no frames");
    if (ep.layout === "mobile_vla_2025" && !ep.eventTypes) warnings.push("no action_event_types");
    return {
      file,
      layout: ep.layout,
      numFrames: ep.numFrames,
      width: ep.width,
      height: ep.height,
      durationS,
      channelOrder: ep.channelOrder,
      instruction: ep.instruction,
      actionMin,
      actionMax,
      eventTypes,
      warnings,
    };
  } finally {
    ep.close();
  }
}

/** Checks every `*.h5` and `*.h5.partial` directly inside dir (other files are ignored). */
export function checkEpisodes(dir: string, opts: CheckOptions = {}): CheckReport {
  const abs = path.resolve(dir);
  const names = fs.readdirSync(abs).sort();
  const episodes: EpisodeSummary[] = [];
  const problems: CheckProblem[] = [];
  for (const name of names) {
    const file = path.join(abs, name);
    if (name.endsWith(PARTIAL_SUFFIX)) {
      const complete = path.join(abs, name.slice(0, -".partial".length));
      const detail = fs.existsSync(complete)
        ? `left over next to the complete ${path.basename(complete)} (a crash between publishing and cleaning up; safe to delete once that file checks out)`
        : "an episode that never finished (recorder crashed or failed); not usable for training";
      problems.push({ file, kind: "partial", detail });
      continue;
    }
    if (!name.endsWith(EPISODE_SUFFIX)) continue;
    if (!fs.statSync(file).isFile()) continue;
    const r = summarise(file, opts.deep ?? false);
    if ("kind" in r) problems.push(r);
    else episodes.push(r);
  }
  return { dir: abs, episodes, problems, ok: problems.length === 0 };
}

const fmt = (v: number): string => (Number.isInteger(v) ? String(v) : v.toFixed(3));

/** Human-readable report: one line per episode, then the problems. */
export function formatCheckReport(r: CheckReport): string {
  const lines: string[] = [];
  lines.push(`${r.dir}: ${r.episodes.length} episode(s), ${r.problems.length} problem(s)`);
  for (const e of r.episodes) {
    const range = e.actionMin.map((lo, j) => `${fmt(lo)}..${fmt(e.actionMax[j])}`).join(", ");
    const events = Object.entries(e.eventTypes)
      .map(([k, n]) => `${k} ${n}`)
      .join(", ");
    const parts = [
      path.basename(e.file),
      `${e.numFrames} frames`,
      `${e.width}x${e.height} ${e.channelOrder}`,
      e.durationS === null ? "duration ?" : `${e.durationS.toFixed(1)} s`,
      `actions [${range}]`,
    ];
    if (events) parts.push(`events: ${events}`);
    if (e.layout !== "mobile_vla_2025") parts.push(e.layout);
    if (e.instruction) parts.push(`instruction ${JSON.stringify(e.instruction)}`);
    lines.push("  " + parts.join("  "));
    for (const w of e.warnings) lines.push(`    warning: ${w}`);
  }
  for (const p of r.problems) lines.push(`  ${p.kind.toUpperCase()} ${path.basename(p.file)}: ${p.detail}`);
  lines.push(r.ok ? "ok" : "NOT OK");
  return lines.join("\n");
}

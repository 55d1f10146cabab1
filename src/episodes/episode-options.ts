// The rules for the episode settings (capture, writer, converter), apart from the
// code that uses them so a command line can check its options before any work
// starts, and without loading h5wasm (seconds of WebAssembly compilation) to do it.
// The state machine, the writer, bag2episodes, its CLI and the recorder node all
// refuse exactly what these functions list.
import type { BagToEpisodesOptions } from "./bag-to-episodes.js";
import { checkScenario } from "./episode-name.js";
import type { EpisodeStateOptions } from "./episode-state.js";
import type { EpisodeWriterOptions } from "./episode-writer.js";

/**
 * Shortest capture interval: faster than any camera, so a shorter one only asks for
 * frames that do not exist (at bag times of 1.7e9 s, 1e-9 s is below one double step).
 */
export const MIN_CAPTURE_INTERVAL_S = 0.01;
/** Longest capture delay after a command: far beyond the hold time any key lasts. */
export const MAX_CAPTURE_DELAY_S = 60;

/** The capture settings' names as the caller shows them (ROS parameters by default, CLI flags in the CLI). */
export type CaptureOptionNames = Record<"capture" | "captureIntervalS" | "holdS" | "moveCaptureDelayS" | "stopCaptureDelayS" | "minFrames", string>;

export const CAPTURE_PARAM_NAMES: Readonly<CaptureOptionNames> = {
  capture: "capture",
  captureIntervalS: "capture_interval_s",
  holdS: "hold_s",
  moveCaptureDelayS: "move_capture_delay_s",
  stopCaptureDelayS: "stop_capture_delay_s",
  minFrames: "min_frames",
};

/**
 * Every bad capture setting, each naming the setting, what was expected and the
 * bound: the one check behind the state machine, bag2episodes' options and the
 * recorder's parameters, so each refuses before any work starts.
 */
export function captureOptionProblems(o: EpisodeStateOptions, names: Readonly<CaptureOptionNames> = CAPTURE_PARAM_NAMES): string[] {
  const problems: string[] = [];
  const bad = (key: keyof CaptureOptionNames, expected: string, got: unknown): void => {
    problems.push(`${names[key]}: expected ${expected}, got ${typeof got === "string" ? JSON.stringify(got) : String(got)}`);
  };
  if (o.capture !== undefined && o.capture !== "on_action" && o.capture !== "interval") bad("capture", '"on_action" or "interval"', o.capture);
  const i = o.captureIntervalS;
  if (i !== undefined && !(Number.isFinite(i) && i >= MIN_CAPTURE_INTERVAL_S)) bad("captureIntervalS", `a number of seconds >= ${MIN_CAPTURE_INTERVAL_S}`, i);
  const h = o.holdS;
  if (h !== undefined && !(Number.isFinite(h) && h > 0)) bad("holdS", "a number of seconds > 0", h);
  for (const key of ["moveCaptureDelayS", "stopCaptureDelayS"] as const) {
    const v = o[key];
    if (v !== undefined && !(Number.isFinite(v) && v >= 0 && v <= MAX_CAPTURE_DELAY_S)) bad(key, `a number of seconds in [0, ${MAX_CAPTURE_DELAY_S}]`, v);
  }
  const m = o.minFrames;
  if (m !== undefined && !(Number.isInteger(m) && m >= 1)) bad("minFrames", "an integer >= 1", m);
  return problems;
}

/** The writer settings' names as the caller shows them (option names by default). */
export type WriterOptionNames = Record<"scenario" | "channelOrder" | "gzip" | "flushEvery", string>;

const WRITER_OPTION_NAMES: Readonly<WriterOptionNames> = { scenario: "scenario", channelOrder: "channelOrder", gzip: "gzip", flushEvery: "flushEvery" };

/**
 * Every bad writer setting, each naming the setting and what was expected: the one
 * check behind EpisodeWriter.open, bag2episodes (before the bag is read) and the
 * recorder's parameters.
 */
export function writerOptionProblems(
  o: Pick<EpisodeWriterOptions, "scenario" | "channelOrder" | "gzip" | "flushEvery">,
  names: Readonly<WriterOptionNames> = WRITER_OPTION_NAMES,
): string[] {
  const problems: string[] = [];
  if (o.scenario) {
    try {
      checkScenario(o.scenario);
    } catch (e) {
      problems.push(`${names.scenario}: ${(e as Error).message}`);
    }
  }
  if (o.channelOrder !== undefined && o.channelOrder !== "bgr" && o.channelOrder !== "rgb") {
    problems.push(`${names.channelOrder}: expected "bgr" or "rgb", got ${JSON.stringify(o.channelOrder)}`);
  }
  const g = o.gzip;
  if (typeof g !== "boolean" && g !== undefined && !(Number.isInteger(g) && g >= 0 && g <= 9)) {
    problems.push(`${names.gzip}: gzip level ${g} is not an integer in 0..9 (0 = off)`);
  }
  if (o.flushEvery !== undefined && !(Number.isInteger(o.flushEvery) && o.flushEvery >= 1)) {
    problems.push(`${names.flushEvery}: expected a positive integer, got ${o.flushEvery}`);
  }
  return problems;
}

/** The option names bagToEpisodes problems are reported under (the CLI passes its flags). */
export type BagToEpisodesOptionNames = CaptureOptionNames & WriterOptionNames;

/**
 * Every bad option (capture settings, scenario, channel order, gzip level), each
 * naming the option and what was expected: the CLI refuses them as usage errors
 * and bagToEpisodes before the bag is opened, not once per episode.
 */
export function bagToEpisodesOptionProblems(o: BagToEpisodesOptions, names?: Readonly<BagToEpisodesOptionNames>): string[] {
  return [...captureOptionProblems(o, names), ...writerOptionProblems({ scenario: o.scenario, channelOrder: o.channelOrder, gzip: o.gzip }, names)];
}

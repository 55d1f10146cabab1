// Episode file names and the time attributes, exactly as the Mobile-VLA collector
// makes them, so new episodes sort and group with the existing 250.
//
// The collector uses the machine's LOCAL time (Python's naive datetime.now()) for
// the name, collection_datetime, collection_hour/minute and time_period; so do we.

export type TimePeriod = "dawn" | "morning" | "evening" | "night";

/**
 * The collector's own table (mobile_vla_data_collector.py, classify_time_period):
 * four equal 6-hour blocks, dawn 00-06, morning 06-12, evening 12-18, night 18-24.
 * "evening" for the afternoon looks odd but it is what the existing files say.
 */
export function timePeriod(hour: number): TimePeriod {
  if (!Number.isInteger(hour) || hour < 0 || hour > 23) throw new RangeError(`hour ${hour} is not an integer in 0..23`);
  if (hour < 6) return "dawn";
  if (hour < 12) return "morning";
  if (hour < 18) return "evening";
  return "night";
}

const pad = (n: number, w = 2): string => String(n).padStart(w, "0");

/** Python's datetime.isoformat() of a naive local time: microseconds only when non-zero. */
export function pythonIsoformat(d: Date): string {
  const base = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  const ms = d.getMilliseconds();
  return ms === 0 ? base : `${base}.${pad(ms * 1000, 6)}`;
}

/**
 * Scenario tags go into a file name and the trainer splits names on "_" to find
 * "left"/"right": allow only the characters the existing names use.
 */
const SCENARIO_RE = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

export function checkScenario(scenario: string): string {
  if (!SCENARIO_RE.test(scenario)) {
    throw new RangeError(`scenario ${JSON.stringify(scenario)} must be letters, digits, "_" or "-" (e.g. "1box_hori_left_core_medium")`);
  }
  return scenario;
}

/** `episode_YYYYMMDD_HHMMSS[_<scenario>]`, the file name without ".h5". */
export function episodeStem(start: Date, scenario?: string | null): string {
  if (Number.isNaN(start.getTime())) throw new RangeError("episode start time is not a valid date");
  const stamp = `${start.getFullYear()}${pad(start.getMonth() + 1)}${pad(start.getDate())}_${pad(start.getHours())}${pad(start.getMinutes())}${pad(start.getSeconds())}`;
  return scenario ? `episode_${stamp}_${checkScenario(scenario)}` : `episode_${stamp}`;
}

export interface ParsedEpisodeName {
  date: string;
  time: string;
  scenario: string | null;
}

const NAME_RE = /^episode_(\d{8})_(\d{6})(?:_(.+))?$/;

/** Splits a stem made by episodeStem (or the collector); null for any other name. */
export function parseEpisodeStem(stem: string): ParsedEpisodeName | null {
  const m = NAME_RE.exec(stem);
  if (!m) return null;
  return { date: m[1], time: m[2], scenario: m[3] ?? null };
}

export const EPISODE_SUFFIX = ".h5";
export const PARTIAL_SUFFIX = ".h5.partial";

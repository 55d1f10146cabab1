// How one parameter is declared and read. A value may come from a ROS params YAML
// (typed) or from a command line (strings like "0.5" / "true"); each parser takes
// both and says what it expected, so a bad value is refused naming the parameter
// and its bound before any work starts.

export type ParamType = "string" | "number" | "integer" | "boolean";

/**
 * When a new value takes effect on a running ROS node (`ros2 param set`), decided
 * per parameter where it is declared:
 *   live:      from the next control tick (or key, or episode): checked and applied at once;
 *   configure: read at configure (a model, a publisher's type, a state machine built
 *              from it); refused while the node is configured, naming the way through
 *              cleanup and configure;
 *   start:     read once when the node starts (autostart); refused afterwards.
 * A value that is refused keeps the old one: never "successful" and not applied.
 */
export type ParamApply = "live" | "configure" | "start";

type Parsed<T> = { ok: true; value: T } | { ok: false; expected: string };

export interface ParamSpec<T> {
  type: ParamType;
  /** Unit for documentation; "" when it has none. */
  unit: string;
  default: T;
  description: string;
  applies: ParamApply;
  /** Reads a YAML value or a command-line string. */
  parse(raw: unknown): Parsed<T>;
}

const NUMBER_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const INF_RE = /^\+?(\.?inf|infinity)$/i;

/** A number from YAML or a CLI string; NaN when it is not one. */
export function toNumber(raw: unknown): number {
  if (typeof raw === "number") return raw;
  if (typeof raw !== "string") return NaN;
  const s = raw.trim();
  if (NUMBER_RE.test(s)) return Number(s);
  if (INF_RE.test(s)) return Infinity;
  return NaN;
}

export function numberParam(o: {
  unit: string;
  default: number;
  description: string;
  applies: ParamApply;
  integer?: boolean;
  /**
   * Smallest allowed value, and whether it is allowed itself. Left out when the
   * bounds are another module's rule, checked by the table's relations (the
   * recorder's capture and writer settings).
   */
  min?: number;
  minInclusive?: boolean;
  /** Largest allowed value (inclusive): what the package can run without hanging or exhausting memory. */
  max?: number;
  infinite?: boolean;
}): ParamSpec<number> {
  const what = o.integer ? "an integer" : "a number";
  const min = o.min ?? -Infinity;
  const below = o.min === undefined ? what : `${what} ${o.minInclusive ? ">=" : ">"} ${o.min}${o.infinite ? " (inf allowed)" : ""}`;
  return {
    type: o.integer ? "integer" : "number",
    unit: o.unit,
    default: o.default,
    description: o.description,
    applies: o.applies,
    parse(raw) {
      const n = toNumber(raw);
      const finiteOk = Number.isFinite(n) || (o.infinite === true && n === Infinity);
      const ok = finiteOk && (o.minInclusive ? n >= min : n > min) && (!o.integer || Number.isInteger(n));
      if (!ok) return { ok: false, expected: below };
      if (o.max !== undefined && n > o.max) return { ok: false, expected: `${what} <= ${o.max}` };
      return { ok: true, value: n };
    },
  };
}

export function stringParam(o: {
  unit?: string;
  default: string;
  description: string;
  applies: ParamApply;
  nonEmpty?: boolean;
  check?: (s: string) => string | null;
}): ParamSpec<string> {
  return {
    type: "string",
    unit: o.unit ?? "",
    default: o.default,
    description: o.description,
    applies: o.applies,
    parse(raw) {
      if (typeof raw !== "string" || (o.nonEmpty && raw.trim() === "")) return { ok: false, expected: o.nonEmpty ? "a non-empty string" : "a string" };
      const problem = o.check?.(raw);
      return problem ? { ok: false, expected: problem } : { ok: true, value: raw };
    },
  };
}

export function oneOfParam<T extends string>(o: { allowed: readonly T[]; default: T; description: string; applies: ParamApply }): ParamSpec<T> {
  return {
    type: "string",
    unit: "",
    default: o.default,
    description: `${o.description} One of: ${o.allowed.join(", ")}.`,
    applies: o.applies,
    parse(raw) {
      const s = typeof raw === "string" ? raw.trim() : raw;
      return (o.allowed as readonly unknown[]).includes(s)
        ? { ok: true, value: s as T }
        : { ok: false, expected: `one of ${o.allowed.map((a) => JSON.stringify(a)).join(", ")}` };
    },
  };
}

export function boolParam(o: { default: boolean; description: string; applies: ParamApply }): ParamSpec<boolean> {
  return {
    type: "boolean",
    unit: "",
    default: o.default,
    description: o.description,
    applies: o.applies,
    parse(raw) {
      if (typeof raw === "boolean") return { ok: true, value: raw };
      if (typeof raw === "string" && /^(true|false)$/i.test(raw.trim())) return { ok: true, value: raw.trim().toLowerCase() === "true" };
      return { ok: false, expected: "true or false" };
    },
  };
}

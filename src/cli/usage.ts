// Bad option values are usage errors (exit 2, the usage hint), refused before any
// part of a command runs: each command lists its options' problems in a yargs
// check(), so a model is never built or a bag never read for a run that cannot go
// ahead. Failed runs (a bag that does not read, a model that fails) exit 1.
import { ParamsError } from "../params/param-table.js";
import { parseParams, pickParams } from "../params/table.js";
import { YARGS_OPTIONS } from "../params/yargs.js";

/** A bad option value found after yargs' own checks; main.ts turns it into exit 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Errors that mean "the command line is wrong" rather than "the run failed". */
export function isUsageError(e: unknown): e is Error {
  return e instanceof UsageError || e instanceof ParamsError;
}

/** A yargs check() from a function listing every problem (one line each, naming the option). */
export function problemsCheck<A>(problems: (argv: A) => string[]): (argv: A) => true | string {
  return (argv) => {
    const p = problems(argv);
    return p.length === 0 ? true : p.join("\n");
  };
}

export interface NumberBound {
  /** Smallest allowed value (inclusive). */
  min?: number;
  /** Values must be strictly greater than this. */
  above?: number;
  /** Largest allowed value (inclusive). */
  max?: number;
  integer?: boolean;
}

function boundText(b: NumberBound): string {
  const what = b.integer ? "an integer" : "a number";
  const lo = b.min !== undefined ? `[${b.min}` : b.above !== undefined ? `(${b.above}` : "(-inf";
  const hi = b.max !== undefined ? `${b.max}]` : "inf)";
  return `${what} in ${lo}, ${hi}`;
}

/** `--flag: expected a number in (0, 120], got 1e9`, or null when v is within the bound. */
export function numberProblem(flag: string, v: unknown, b: NumberBound): string | null {
  const ok =
    typeof v === "number" &&
    Number.isFinite(v) &&
    (!b.integer || Number.isInteger(v)) &&
    (b.min === undefined || v >= b.min) &&
    (b.above === undefined || v > b.above) &&
    (b.max === undefined || v <= b.max);
  return ok ? null : `${flag}: expected ${boundText(b)}, got ${String(v)}`;
}

/** Problems of the listed numeric options, in order. */
export function numberProblems(argv: Record<string, unknown>, bounds: Readonly<Record<string, NumberBound>>): string[] {
  return Object.entries(bounds).flatMap(([name, b]) => numberProblem(`--${name}`, argv[name], b) ?? []);
}

/**
 * String options (or repeated ones) that were given but empty: an empty topic or
 * path would be looked up as itself and fail later, naming nothing useful.
 */
export function emptyOptionProblems(argv: Record<string, unknown>, names: readonly string[]): string[] {
  return names.flatMap((name) => {
    const v = argv[name];
    const values = Array.isArray(v) ? v : v === undefined ? [] : [v];
    return values.some((x) => typeof x !== "string" || x.trim() === "") ? [`--${name}: expected a non-empty value, got ${JSON.stringify(v)}`] : [];
  });
}

/** An instruction given on the command line must say something: an empty one would run with none. */
export function instructionProblem(flag: string, v: unknown): string | null {
  if (v === undefined) return null;
  return typeof v === "string" && v.trim() !== "" ? null : `${flag}: expected a non-empty instruction, got ${JSON.stringify(v)}`;
}

/** The policy parameters among argv (the parameter table's own rules and bounds), as option problems. */
export function paramsProblems(argv: Record<string, unknown>): string[] {
  try {
    parseParams(pickParams(argv));
    return [];
  } catch (e) {
    if (e instanceof ParamsError) return e.problems.map((p) => `--${p}`);
    throw e;
  }
}

/**
 * The policy parameters as options of a command that names its model(s) and its
 * instruction itself (--model, --instruction): those two stay the command's own,
 * so an explicitly empty --instruction can be told from none. Kept out of yargs'
 * inferred type so the command's own options stay typed.
 */
export function policyOptions(): Record<never, never> {
  return Object.fromEntries(Object.entries(YARGS_OPTIONS).filter(([k]) => k !== "model" && k !== "instruction")) as Record<never, never>;
}

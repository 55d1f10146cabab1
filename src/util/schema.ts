// zod in this package's error style: every problem names its field by its path and
// says what was expected and what was found, e.g.
//   image.mean: expected 3 finite numbers or null, got [0.5,0.5]
// so a person fixing a hand-written JSON file knows where to look without a stack trace.
import * as z from "zod";

/** A value for an error message, cut short (a file may hold megabytes of base64). */
export function show(v: unknown): string {
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** Error parameters for a schema: "expected <what>, got <the value>". */
export function expected(what: string): { error: (issue: { input?: unknown }) => string } {
  return { error: (issue) => `expected ${what}, got ${show(issue.input)}` };
}

/** A number passing `check` (finite always), described by `what` in errors. */
export function num(what: string, check: (n: number) => boolean = () => true) {
  return z.number(expected(what)).refine((n) => Number.isFinite(n) && check(n), expected(what));
}

/** An integer in [min, max]; the bounds are named in the error. */
export function int(min: number, max: number, what = `an integer in [${min}, ${max}]`) {
  return num(what, (n) => Number.isInteger(n) && n >= min && n <= max);
}

export const nonEmptyString = z.string(expected("a non-empty string")).min(1, expected("a non-empty string"));

/** `a.b[2].c` for a zod issue path. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) out += typeof key === "number" ? `[${key}]` : out ? `.${String(key)}` : String(key);
  return out;
}

/** Each issue as "field: message" (a message alone when it names its fields itself), without repeats. */
export function problemsOf(error: z.ZodError): string[] {
  const lines = error.issues.map((i) => (i.path.length ? `${fieldPath(i.path)}: ${i.message}` : i.message));
  return [...new Set(lines)];
}

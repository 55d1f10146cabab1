// Reads fields off parsed JSON, collecting every problem instead of stopping at the
// first, each named by its path (e.g. `image.mean`, `windows[0].outputs[2].w`). Shared
// by manifest.json and golden.json so both report mistakes the same way.

export type Json = unknown;

export class FieldReader {
  constructor(
    readonly problems: string[],
    private readonly prefix: string,
  ) {}

  where(key: string): string {
    if (!this.prefix) return key;
    return key.startsWith("[") ? `${this.prefix}${key}` : `${this.prefix}.${key}`;
  }

  /** Records a problem with the field `key`. */
  fail(key: string, text: string): void {
    this.problems.push(`${this.where(key)}: ${text}`);
  }

  has(o: Json, key: string): boolean {
    return (o as Record<string, Json>)[key] !== undefined;
  }

  obj(o: Json, key: string): Record<string, Json> | undefined {
    const v = (o as Record<string, Json>)[key];
    if (v === undefined) return undefined;
    if (v === null || typeof v !== "object" || Array.isArray(v)) {
      this.problems.push(`${this.where(key)}: expected an object, got ${JSON.stringify(v)}`);
      return undefined;
    }
    return v as Record<string, Json>;
  }

  /** A list; undefined (and a problem when `required`) when missing or not a list. */
  arr(o: Json, key: string, required: boolean): Json[] | undefined {
    const v = (o as Record<string, Json>)[key];
    if (v === undefined) {
      if (required) this.problems.push(`${this.where(key)}: missing (expected a list)`);
      return undefined;
    }
    if (!Array.isArray(v)) {
      this.problems.push(`${this.where(key)}: expected a list, got ${short(v)}`);
      return undefined;
    }
    return v;
  }

  num(o: Json, key: string, fallback: number, check: (n: number) => boolean, expected: string): number {
    const v = (o as Record<string, Json>)[key];
    if (v === undefined) return fallback;
    if (typeof v !== "number" || !Number.isFinite(v) || !check(v)) {
      this.problems.push(`${this.where(key)}: expected ${expected}, got ${JSON.stringify(v)}`);
      return fallback;
    }
    return v;
  }

  /** A number that must be there: missing is a problem too. */
  reqNum(o: Json, key: string, check: (n: number) => boolean, expected: string): number {
    if (!this.has(o, key)) {
      this.problems.push(`${this.where(key)}: missing (expected ${expected})`);
      return NaN;
    }
    return this.num(o, key, NaN, check, expected);
  }

  str(o: Json, key: string, fallback: string): string {
    const v = (o as Record<string, Json>)[key];
    if (v === undefined) return fallback;
    if (typeof v !== "string" || v.length === 0) {
      this.problems.push(`${this.where(key)}: expected a non-empty string, got ${JSON.stringify(v)}`);
      return fallback;
    }
    return v;
  }

  /** A non-empty string that must be there. */
  reqStr(o: Json, key: string): string {
    if (!this.has(o, key)) {
      this.problems.push(`${this.where(key)}: missing (expected a non-empty string)`);
      return "";
    }
    return this.str(o, key, "");
  }

  oneOf<T extends string | number>(o: Json, key: string, fallback: T, allowed: readonly T[]): T {
    const v = (o as Record<string, Json>)[key];
    if (v === undefined) return fallback;
    if (!allowed.includes(v as T)) {
      this.problems.push(`${this.where(key)}: expected one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}, got ${JSON.stringify(v)}`);
      return fallback;
    }
    return v as T;
  }

  bool(o: Json, key: string, fallback: boolean): boolean {
    const v = (o as Record<string, Json>)[key];
    if (v === undefined) return fallback;
    if (typeof v !== "boolean") {
      this.problems.push(`${this.where(key)}: expected true or false, got ${JSON.stringify(v)}`);
      return fallback;
    }
    return v;
  }

  numbers(o: Json, key: string, fallback: number[] | null, length: number, nullable: boolean): number[] | null {
    const v = (o as Record<string, Json>)[key];
    if (v === undefined) return fallback;
    if (v === null && nullable) return null;
    if (!Array.isArray(v) || v.length !== length || !v.every((x) => typeof x === "number" && Number.isFinite(x))) {
      this.problems.push(`${this.where(key)}: expected ${length} finite numbers${nullable ? " or null" : ""}, got ${JSON.stringify(v)}`);
      return fallback;
    }
    return v as number[];
  }

  /** A list of integers each passing `check` (`expectedEach` describes one), at least `minLength` long; undefined when missing or bad. */
  ints(o: Json, key: string, check: (n: number) => boolean, expectedEach: string, minLength = 0): number[] | undefined {
    const v = (o as Record<string, Json>)[key];
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.length < minLength) {
      this.problems.push(`${this.where(key)}: expected a list of ${minLength > 0 ? `at least ${minLength} ` : ""}integers, got ${short(v)}`);
      return undefined;
    }
    const bad = v.findIndex((x) => typeof x !== "number" || !Number.isInteger(x) || !check(x));
    if (bad >= 0) {
      this.problems.push(`${this.where(key)}[${bad}]: expected ${expectedEach}, got ${JSON.stringify(v[bad])}`);
      return undefined;
    }
    return v as number[];
  }

  /** A list of strings (empty strings allowed only when `allowEmpty`). */
  strings(o: Json, key: string, allowEmpty: boolean): string[] | undefined {
    const v = (o as Record<string, Json>)[key];
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) {
      this.problems.push(`${this.where(key)}: expected a list of strings, got ${short(v)}`);
      return undefined;
    }
    const bad = v.findIndex((x) => typeof x !== "string" || (!allowEmpty && x.length === 0));
    if (bad >= 0) {
      this.problems.push(`${this.where(key)}[${bad}]: expected a ${allowEmpty ? "" : "non-empty "}string, got ${JSON.stringify(v[bad])}`);
      return undefined;
    }
    return v as string[];
  }

  child(key: string): FieldReader {
    return new FieldReader(this.problems, this.where(key));
  }
}

/** A value for an error message, cut short: golden.json holds megabytes of base64. */
export function short(v: Json): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

export const isPositiveInt = (n: number): boolean => Number.isInteger(n) && n > 0;

// Reads fields off parsed JSON (golden.json), collecting every problem instead of stopping
// at the first, each named by its path (e.g. `windows[0].outputs[2].w`), in the same
// words as the manifest's schema (util/schema.ts).
import { show } from "../util/schema.js";

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
      this.problems.push(`${this.where(key)}: expected a list, got ${show(v)}`);
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

  /** A list of integers each passing `check` (`expectedEach` describes one), at least `minLength` long; undefined when missing or bad. */
  ints(o: Json, key: string, check: (n: number) => boolean, expectedEach: string, minLength = 0): number[] | undefined {
    const v = (o as Record<string, Json>)[key];
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.length < minLength) {
      this.problems.push(`${this.where(key)}: expected a list of ${minLength > 0 ? `at least ${minLength} ` : ""}integers, got ${show(v)}`);
      return undefined;
    }
    const bad = v.findIndex((x) => typeof x !== "number" || !Number.isInteger(x) || !check(x));
    if (bad >= 0) {
      this.problems.push(`${this.where(key)}[${bad}]: expected ${expectedEach}, got ${JSON.stringify(v[bad])}`);
      return undefined;
    }
    return v as number[];
  }

  child(key: string): FieldReader {
    return new FieldReader(this.problems, this.where(key));
  }
}

export const isPositiveInt = (n: number): boolean => Number.isInteger(n) && n > 0;

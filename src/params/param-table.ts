// A node's parameters as one table of specs (spec.ts), and the one function that
// checks a set of values against it. The three nodes each have a table (table.ts for
// vla_policy, recorder-table.ts, teleop-table.ts); the ROS side (ros/node-params.ts)
// declares a table's parameters, reads them at configure and checks a `ros2 param
// set` through this same parse, as nav2's nodes validate at configure and in their
// dynamic-parameters callback alike.
import { show } from "../util/schema.js";
import type { ParamSpec } from "./spec.js";

export type SpecTable = Record<string, ParamSpec<unknown>>;

export type TableValues<T extends SpecTable> = { [K in keyof T]: T[K] extends ParamSpec<infer V> ? V : never };

export class ParamsError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid parameters (${problems.length}):\n  - ${problems.join("\n  - ")}`);
    this.name = "ParamsError";
  }
}

/**
 * Rules between parameters, over the typed values. `ok(name)` is false for a
 * parameter whose own value was refused (its default stands in): a rule involving it
 * would only repeat that problem, or invent one. Each problem starts with "name: ".
 */
export type Relations<T extends SpecTable> = (values: TableValues<T>, ok: (name: keyof T & string) => boolean) => string[];

/** A table seen without its value types: what code that walks any table (docs, ROS declarations) needs. */
export interface AnyParamTable {
  readonly names: readonly string[];
  has(name: string): boolean;
  spec(name: string): ParamSpec<unknown>;
  problems(raw: Record<string, unknown>): string[];
}

export class ParamTable<T extends SpecTable> implements AnyParamTable {
  /** In documentation order. */
  readonly names: (keyof T & string)[];
  readonly defaults: Readonly<TableValues<T>>;

  constructor(
    readonly specs: T,
    private readonly relations: Relations<T> = () => [],
  ) {
    this.names = Object.keys(specs) as (keyof T & string)[];
    this.defaults = Object.freeze(Object.fromEntries(this.names.map((n) => [n, specs[n]!.default])) as TableValues<T>);
  }

  has(name: string): name is keyof T & string {
    return Object.hasOwn(this.specs, name);
  }

  /** A spec without its value type, for code that walks the whole table. */
  spec(name: keyof T & string): ParamSpec<unknown> {
    return this.specs[name]!;
  }

  /**
   * Every problem with raw values (a params YAML's ros__parameters, CLI strings, a
   * node's declared parameters): unknown names, bad values, broken relations, each
   * naming the parameter and what was expected. Missing names take their defaults.
   */
  problems(raw: Record<string, unknown>): string[] {
    return this.check(raw).problems;
  }

  /** Typed values, or one ParamsError listing every problem. */
  parse(raw: Record<string, unknown>): TableValues<T> {
    const { values, problems } = this.check(raw);
    if (problems.length) throw new ParamsError(problems);
    return values;
  }

  private check(raw: Record<string, unknown>): { values: TableValues<T>; problems: string[] } {
    const problems: string[] = [];
    const out: Record<string, unknown> = { ...this.defaults };
    const bad = new Set<string>();
    for (const key of Object.keys(raw)) {
      if (!this.has(key)) problems.push(`${key}: unknown parameter; known: ${this.names.join(", ")}`);
    }
    for (const name of this.names) {
      if (!(name in raw) || raw[name] === undefined) continue;
      const r = this.spec(name).parse(raw[name]);
      if (r.ok) out[name] = r.value;
      else {
        bad.add(name);
        problems.push(`${name}: expected ${r.expected}, got ${show(raw[name])}`);
      }
    }
    const values = out as TableValues<T>;
    problems.push(...this.relations(values, (n) => !bad.has(n)));
    return { values, problems };
  }
}

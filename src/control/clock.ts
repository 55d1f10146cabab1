// Time for the control layer. The pipeline only ever asks a Scheduler for the time,
// for timers and to run async work, so the same pipeline runs on the robot
// (WallScheduler) and on a recording (VirtualClock) with the same numbers.
// All times are seconds on one clock; frame stamps must be on that clock too.
import { performance } from "node:perf_hooks";

export interface Clock {
  /** Seconds on this clock. */
  now(): number;
}

export interface Timer {
  cancel(): void;
}

/** How a piece of async work ended, in this clock's time. */
export type Outcome<T> = { ok: true; value: T; startedAt: number; finishedAt: number } | { ok: false; error: unknown; startedAt: number; finishedAt: number };

export interface Scheduler extends Clock {
  /** Calls fn once at time t; a time already past fires as soon as possible. */
  at(t: number, fn: () => void): Timer;
  /**
   * Calls fn at now + periodS, now + 2*periodS, ...; tick n is computed from the
   * start time rather than the previous tick, so a slow callback never drifts the rate.
   */
  every(periodS: number, fn: () => void): Timer;
  /**
   * Runs async work and calls done at the clock time the work is finished. On a
   * wall clock that is when the promise settles; on a virtual clock it is
   * startedAt + the simulated latency, so slow inference is slow in virtual time too.
   */
  run<T>(task: () => Promise<T>, done: (outcome: Outcome<T>) => void): void;
}

// A task that throws synchronously must end up as a rejected outcome, not escape
// into the caller's timer callback.
function startTask<T>(task: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve) => resolve(task()));
}

function reportCallbackError(where: string, e: unknown): void {
  // A throwing callback must not kill the scheduler's other timers; stderr is the
  // last resort because the scheduler has no logger of its own.
  process.emitWarning(`${where} threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
}

/** Real time. `now` defaults to the system clock, which is what ROS 2's default clock reads. */
export class WallScheduler implements Scheduler {
  constructor(private readonly clock: () => number = () => Date.now() / 1000) {}

  now(): number {
    return this.clock();
  }

  at(t: number, fn: () => void): Timer {
    const h = setTimeout(
      () => {
        try {
          fn();
        } catch (e) {
          reportCallbackError("timer", e);
        }
      },
      Math.max(0, (t - this.now()) * 1000),
    );
    return { cancel: () => clearTimeout(h) };
  }

  every(periodS: number, fn: () => void): Timer {
    if (!(periodS > 0) || !Number.isFinite(periodS)) throw new RangeError(`every: period must be a positive number of seconds, got ${periodS}`);
    const start = this.now();
    let n = 0;
    let handle: NodeJS.Timeout | undefined;
    let cancelled = false;
    const arm = (): void => {
      n += 1;
      // Ticks missed during a long pause are skipped, not replayed in a burst.
      const nowS = this.now();
      while (start + n * periodS < nowS - periodS) n += 1;
      handle = setTimeout(tick, Math.max(0, (start + n * periodS - this.now()) * 1000));
    };
    const tick = (): void => {
      if (cancelled) return;
      try {
        fn();
      } catch (e) {
        reportCallbackError("periodic timer", e);
      }
      if (!cancelled) arm();
    };
    arm();
    return {
      cancel: () => {
        cancelled = true;
        if (handle) clearTimeout(handle);
      },
    };
  }

  run<T>(task: () => Promise<T>, done: (outcome: Outcome<T>) => void): void {
    const startedAt = this.now();
    const call = (o: Outcome<T>): void => {
      try {
        done(o);
      } catch (e) {
        reportCallbackError("work completion", e);
      }
    };
    startTask(task).then(
      (value) => call({ ok: true, value, startedAt, finishedAt: this.now() }),
      (error: unknown) => call({ ok: false, error, startedAt, finishedAt: this.now() }),
    );
  }
}

/**
 * How long async work takes in virtual time: a fixed number of seconds, the real
 * measured duration, or a function of the start time (tests with varying latency).
 */
export type VirtualLatency = number | "measured" | ((startedAt: number) => number);

// 17 * 0.05 is 0.8500000000000001: snapping computed times to the nanosecond puts
// ticks where a replay (and a test) that advances "to 0.85" expects them.
function snap(t: number): number {
  const r = Math.round(t * 1e9) / 1e9;
  return Math.abs(r - t) < 1e-9 ? r : t;
}

interface Entry {
  t: number;
  seq: number;
  fire: () => void | Promise<void>;
  cancelled: boolean;
}

/**
 * Deterministic time for replays and tests. Time moves only in advanceTo /
 * advanceBy, which fire every due timer in (time, creation order) and wait for
 * the async work whose completion falls in the interval before firing it, so
 * a replay can never outrun a slow inference.
 */
export class VirtualClock implements Scheduler {
  private t: number;
  private seq = 0;
  private readonly queue: Entry[] = [];
  /** Work with "measured" latency whose finish time is unknown until it settles. */
  private readonly unsettled = new Set<Promise<void>>();
  private readonly latency: VirtualLatency;
  private advancing = false;

  constructor(opts: { start?: number; latency?: VirtualLatency } = {}) {
    this.t = opts.start ?? 0;
    this.latency = opts.latency ?? "measured";
    if (typeof this.latency === "number" && !(this.latency >= 0 && Number.isFinite(this.latency))) {
      throw new RangeError(`VirtualClock: latency must be a finite number of seconds >= 0 or "measured", got ${this.latency}`);
    }
  }

  now(): number {
    return this.t;
  }

  private push(t: number, fire: () => void | Promise<void>): Entry {
    const e: Entry = { t: Math.max(t, this.t), seq: this.seq++, fire, cancelled: false };
    this.queue.push(e);
    return e;
  }

  at(t: number, fn: () => void): Timer {
    const e = this.push(t, fn);
    return { cancel: () => void (e.cancelled = true) };
  }

  every(periodS: number, fn: () => void): Timer {
    if (!(periodS > 0) || !Number.isFinite(periodS)) throw new RangeError(`every: period must be a positive number of seconds, got ${periodS}`);
    const start = this.t;
    let n = 1;
    let current: Entry;
    let cancelled = false;
    const arm = (): void => {
      current = this.push(snap(start + n * periodS), () => {
        if (cancelled) return;
        n += 1;
        arm();
        fn();
      });
    };
    arm();
    return {
      cancel: () => {
        cancelled = true;
        current.cancelled = true;
      },
    };
  }

  run<T>(task: () => Promise<T>, done: (outcome: Outcome<T>) => void): void {
    const startedAt = this.t;
    const realStart = performance.now();
    let settled: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
    let realS = 0;
    const p = startTask(task)
      .then(
        (value) => void (settled = { ok: true, value }),
        (error: unknown) => void (settled = { ok: false, error }),
      )
      .then(() => void (realS = (performance.now() - realStart) / 1000));
    const complete = (finishedAt: number) => async (): Promise<void> => {
      await p;
      const s = settled!;
      done(s.ok ? { ok: true, value: s.value, startedAt, finishedAt } : { ok: false, error: s.error, startedAt, finishedAt });
    };
    if (this.latency === "measured") {
      const tracked: Promise<void> = p.then(() => {
        this.unsettled.delete(tracked);
        const end = snap(startedAt + realS);
        this.push(end, complete(end));
      });
      this.unsettled.add(tracked);
    } else {
      const lat = typeof this.latency === "number" ? this.latency : this.latency(startedAt);
      if (!(lat >= 0) || !Number.isFinite(lat)) throw new RangeError(`VirtualClock: latency function returned ${lat}`);
      const end = snap(startedAt + lat);
      this.push(end, complete(end));
    }
  }

  /** Moves time forward to t, firing every timer and completion due on the way. */
  async advanceTo(t: number): Promise<void> {
    if (!Number.isFinite(t)) throw new RangeError(`advanceTo: expected a finite time, got ${t}`);
    if (t < this.t) throw new RangeError(`advanceTo: time only moves forward (now ${this.t}, asked ${t}); sort the replay's messages by time`);
    if (this.advancing) throw new Error("advanceTo: already advancing; await the previous call");
    this.advancing = true;
    try {
      for (;;) {
        // Work with an unknown finish time could finish before any timer: wait for it first.
        while (this.unsettled.size) await Promise.all([...this.unsettled]);
        const next = this.popDue(t);
        if (!next) break;
        this.t = Math.max(this.t, next.t);
        try {
          await next.fire();
        } catch (e) {
          reportCallbackError("virtual timer", e);
        }
      }
      this.t = t;
    } finally {
      this.advancing = false;
    }
  }

  advanceBy(dt: number): Promise<void> {
    return this.advanceTo(this.t + dt);
  }

  /** Timers and in-flight work still waiting (cancelled timers excluded). */
  pending(): number {
    return this.queue.filter((e) => !e.cancelled).length + this.unsettled.size;
  }

  private popDue(limit: number): Entry | undefined {
    // Cancelled entries are dropped here so a long replay's queue stays small.
    for (let i = this.queue.length - 1; i >= 0; i--) if (this.queue[i].cancelled) this.queue.splice(i, 1);
    let best = -1;
    for (let i = 0; i < this.queue.length; i++) {
      const e = this.queue[i];
      if (e.t > limit) continue;
      if (best < 0 || e.t < this.queue[best].t || (e.t === this.queue[best].t && e.seq < this.queue[best].seq)) best = i;
    }
    return best < 0 ? undefined : this.queue.splice(best, 1)[0];
  }
}

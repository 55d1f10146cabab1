import { test } from "node:test";
import assert from "node:assert/strict";
import { FrameGrid } from "../src/control/frame-grid.js";

/** The indices of the frames the grid takes from a stream of stamps. */
function taken(interval: number, stamps: readonly number[]): number[] {
  const grid = new FrameGrid(interval);
  return stamps.flatMap((s, i) => (grid.offer(s) ? [i] : []));
}

/** Deterministic jitter in [-a, a] (a small LCG, so the test is the same every run). */
function jitter(n: number, a: number, seed = 7): number[] {
  let x = seed;
  return Array.from({ length: n }, () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return (x / 2 ** 31 - 0.5) * 2 * a;
  });
}

test("a 30 Hz camera and a 0.4 s interval: the first frame, then every 12th", () => {
  const stamps = Array.from({ length: 121 }, (_, k) => 5 + k / 30);
  assert.deepEqual(taken(0.4, stamps), [0, 12, 24, 36, 48, 60, 72, 84, 96, 108, 120]);
});

test("transport jitter of a few milliseconds does not change which frames are taken", () => {
  const n = 301;
  const exact = Array.from({ length: n }, (_, k) => 100 + k / 30);
  for (const seed of [1, 2, 3, 4, 5]) {
    const j = jitter(n, 0.006, seed);
    const jittered = exact.map((s, k) => s + j[k]!);
    assert.deepEqual(taken(0.4, jittered), taken(0.4, exact), `seed ${seed}`);
  }
});

test("the grid does not drift: a camera slightly slower than nominal still gives one frame per interval", () => {
  // 29.9 Hz: after 10 s the nominal 12-frame spacing is a third of a frame off.
  const stamps = Array.from({ length: 600 }, (_, k) => k / 29.9);
  const t = taken(0.4, stamps).map((i) => stamps[i]!);
  for (let k = 1; k < t.length; k++) {
    const off = t[k]! - k * 0.4;
    assert.ok(Math.abs(off) <= 0.5 / 29.9 + 1e-9, `frame ${k} taken ${off.toFixed(4)} s from its grid point`);
  }
});

test("frames lost around a grid point (a best-effort topic, a short pause) do not move the grid: later samples are the undisturbed stream's", () => {
  const exact = Array.from({ length: 121 }, (_, k) => k / 30);
  const grid = [0, 12, 24, 36, 48, 60, 72, 84, 96, 108, 120];
  assert.deepEqual(taken(0.4, exact), grid);
  // Frames 4..19 lost (0.53 s, as in ros2 bag play's start burst): frame 20 takes the 0.4 s slot, then the grid goes on.
  const lost = exact.filter((_, k) => k < 4 || k >= 20);
  assert.deepEqual(
    taken(0.4, lost).map((i) => Math.round(lost[i]! * 30)),
    [0, 20, ...grid.slice(2)],
  );
  // Lost right after the first frame, before any frame period is known: the grid still keeps its phase (one slot goes empty).
  const early = exact.filter((_, k) => k === 0 || k >= 20);
  assert.deepEqual(
    taken(0.4, early).map((i) => Math.round(early[i]! * 30)),
    [0, 20, ...grid.slice(3)],
  );
  // A pause over two grid points: the first frame back takes the slot it falls in; the grid keeps its phase.
  const paused = exact.filter((t) => t <= 1.0 || t >= 1.75);
  assert.deepEqual(
    taken(0.4, paused).map((i) => Math.round(paused[i]! * 30)),
    [0, 12, 24, 53, 60, 72, 84, 96, 108, 120],
  );
});

test("a camera slower than the interval: every frame is taken", () => {
  const stamps = Array.from({ length: 20 }, (_, k) => k * 0.5);
  assert.deepEqual(
    taken(0.4, stamps),
    stamps.map((_, i) => i),
  );
});

test("one answer per interval (the camera service), a little early or late: every answer is taken", () => {
  const j = jitter(50, 0.05);
  const stamps = Array.from({ length: 50 }, (_, k) => 3 + k * 0.4 + j[k]!);
  assert.deepEqual(
    taken(0.4, stamps),
    stamps.map((_, i) => i),
  );
});

test("reset starts the grid at the next frame, at a new interval if given", () => {
  const grid = new FrameGrid(0.4);
  assert.equal(grid.offer(0), true);
  assert.equal(grid.offer(0.1), false);
  grid.reset(1.0);
  assert.equal(grid.intervalS, 1.0);
  assert.equal(grid.offer(0.2), true);
  assert.equal(grid.offer(0.6), false);
  assert.equal(grid.offer(1.2), true);
  assert.throws(() => grid.reset(0), /interval must be > 0/);
  assert.throws(() => new FrameGrid(Number.NaN), /interval must be > 0/);
});

test("a stamp that goes back (a camera clock set back) starts the grid again instead of stalling it", () => {
  const stamps = [10, 10.4, 10.8, 5, 5.1, 5.4, 5.8];
  assert.deepEqual(taken(0.4, stamps), [0, 1, 2, 3, 5, 6]);
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { DIRECTION_CLASSES, cosine, directionClass, directionClassIndex, moves } from "../src/eval/direction.js";
import { DEFAULT_METRIC_PARAMS, computeRunMetrics, poolMetrics } from "../src/eval/metrics.js";
import { percentile } from "../src/util/percentile.js";
import type { ChunkSample, RunSeries, Tick, Vec2 } from "../src/eval/types.js";

function run(ticks: Tick[], extra: Partial<RunSeries> = {}): RunSeries {
  return {
    model: "m",
    source: "s.mcap",
    sourceKind: "bag",
    ticks,
    chunks: [],
    latenciesMs: [],
    sampledFrames: 0,
    backboneRuns: 0,
    decodeErrors: 0,
    ...extra,
  };
}

const tick = (t: number, pred: Vec2, truth: Vec2): Tick => ({ t, pred, truth });

const close = (a: number | null, b: number, msg?: string) => {
  assert.ok(a !== null, msg ?? "value is null");
  assert.ok(Math.abs(a - b) < 1e-12, `${msg ?? ""} expected ${b}, got ${a}`);
};

// Four ticks worked out by hand:
//  1. pred moves forward, teleop stopped        dx = 1,  dy = 0
//  2. pred left, teleop right (opposite)        dx = 0,  dy = 1
//  3. pred 45 deg, teleop 18.4 deg (cos 0.894)  dx = -1, dy = 0
//  4. both stopped                              dx = 0,  dy = 0
const HAND: Tick[] = [tick(0, [1, 0], [0, 0]), tick(0.05, [0, 0.5], [0, -0.5]), tick(0.1, [0.5, 0.5], [1.5, 0.5]), tick(0.15, [0, 0], [0, 0])];

test("MAE and RMSE per axis on a hand-computed series", () => {
  const m = computeRunMetrics(run(HAND));
  assert.equal(m.ticks, 4);
  close(m.maeX, 0.5, "maeX");
  close(m.maeY, 0.25, "maeY");
  close(m.rmseX, Math.sqrt(0.5), "rmseX");
  close(m.rmseY, 0.5, "rmseY");
});

test("direction agreement counts only ticks where either moves, and needs both to move", () => {
  const m = computeRunMetrics(run(HAND));
  assert.equal(m.movingTicks, 3);
  // Only tick 3 agrees (cos 0.894 > 0.7); tick 1 has a stopped teleop, tick 2 is opposite.
  close(m.directionAgreement, 1 / 3, "directionAgreement");
});

test("stop/move agreement and direction-class accuracy with the confusion matrix", () => {
  const m = computeRunMetrics(run(HAND));
  close(m.stopMoveAgreement, 3 / 4, "stopMoveAgreement");
  // Only the stopped pair shares a class: 18.4 deg is still "forward", 45 deg is "forward_left".
  close(m.directionAccuracy, 1 / 4, "directionAccuracy");
  const idx = (c: string) => DIRECTION_CLASSES.indexOf(c as (typeof DIRECTION_CLASSES)[number]);
  const expected = DIRECTION_CLASSES.map(() => DIRECTION_CLASSES.map(() => 0));
  expected[idx("stop")][idx("forward")] = 1;
  expected[idx("right")][idx("left")] = 1;
  expected[idx("forward")][idx("forward_left")] = 1;
  expected[idx("stop")][idx("stop")] = 1;
  assert.deepEqual(m.confusion, expected);
});

test("the eight teleop keys map to their own classes", () => {
  const v = 1.15;
  const cases: [Vec2, string][] = [
    [[v, 0], "forward"],
    [[v, v], "forward_left"],
    [[0, v], "left"],
    [[-v, v], "back_left"],
    [[-v, 0], "back"],
    [[-v, -v], "back_right"],
    [[0, -v], "right"],
    [[v, -v], "forward_right"],
    [[0, 0], "stop"],
  ];
  for (const [vec, name] of cases) assert.equal(directionClass(vec), name, `class of [${vec.join(", ")}]`);
  assert.equal(DIRECTION_CLASSES.length, 9);
});

test("direction classes at sector boundaries and at the deadzone", () => {
  const at = (deg: number, r = 1): Vec2 => [r * Math.cos((deg * Math.PI) / 180), r * Math.sin((deg * Math.PI) / 180)];
  assert.equal(directionClass(at(22.4)), "forward");
  assert.equal(directionClass(at(22.6)), "forward_left");
  assert.equal(directionClass(at(-22.4)), "forward");
  assert.equal(directionClass(at(-22.6)), "forward_right");
  assert.equal(directionClass(at(67.4)), "forward_left");
  assert.equal(directionClass(at(67.6)), "left");
  assert.equal(directionClass(at(179.9)), "back");
  assert.equal(directionClass(at(-179.9)), "back");
  assert.equal(directionClass([-1, -0]), "back");
  assert.equal(directionClass(at(-112.6)), "back_right");
  assert.equal(directionClass(at(-112.4)), "right");
  // Exactly at the deadzone does not move; just above does.
  assert.equal(directionClass([0.15, 0]), "stop");
  assert.equal(directionClass([0.1501, 0]), "forward");
  assert.equal(directionClass([0.1, 0.1]), "stop"); // |v| = 0.141
  assert.equal(directionClass([0.11, 0.11]), "forward_left"); // |v| = 0.156
  assert.equal(moves([0.15, 0]), false);
  assert.equal(moves([0, -0.16]), true);
  // The threshold is a parameter.
  assert.equal(directionClassIndex([0.4, 0], 0.5), 0);
  assert.equal(directionClassIndex([0.6, 0], 0.5), 1);
});

test("cosine and the strict cosine threshold", () => {
  assert.equal(cosine([0, 0], [1, 0]), null);
  assert.equal(cosine([1, 0], [0, 2]), 0);
  assert.equal(cosine([2, 0], [-3, 0]), -1);
  const params = { ...DEFAULT_METRIC_PARAMS, cosThreshold: 0 };
  // Perpendicular: cosine exactly 0 is not above the threshold.
  assert.equal(computeRunMetrics(run([tick(0, [1, 0], [0, 1])]), params).directionAgreement, 0);
  assert.equal(computeRunMetrics(run([tick(0, [1, 0.01], [0, 1])]), params).directionAgreement, 1);
});

test("a pred inside the deadzone never agrees in direction, even pointing the right way", () => {
  const m = computeRunMetrics(run([tick(0, [0.1, 0], [1, 0])]));
  assert.equal(m.movingTicks, 1);
  assert.equal(m.directionAgreement, 0);
  assert.equal(m.stopMoveAgreement, 0);
});

test("nearest-rank percentiles (the textbook example) and linear ones", () => {
  const v = [35, 20, 15, 50, 40];
  assert.equal(percentile(v, 0), 15);
  assert.equal(percentile(v, 5), 15);
  assert.equal(percentile(v, 30), 20);
  assert.equal(percentile(v, 40), 20);
  assert.equal(percentile(v, 50), 35);
  assert.equal(percentile(v, 100), 50);
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(hundred, 99), 99);
  assert.equal(percentile(hundred, 50), 50);
  assert.equal(percentile([1, 2, 3, 4], 50, "linear"), 2.5);
  assert.equal(percentile([1, 2, 3, 4], 25, "linear"), 1.75);
  assert.equal(percentile([1, 2, 3, 4], 100, "linear"), 4);
  assert.equal(percentile([7], 99, "linear"), 7);
  assert.equal(percentile([], 50), null);
  assert.equal(percentile([NaN, 3, Infinity], 50), 3);
  assert.throws(() => percentile([1], 101), RangeError);
});

test("latency p50/p99 and backbone passes per frame", () => {
  const latenciesMs = Array.from({ length: 200 }, (_, i) => i + 1); // 1..200
  const m = computeRunMetrics(run([], { latenciesMs, sampledFrames: 40, backboneRuns: 50 }));
  assert.equal(m.latencyP50Ms, 100);
  assert.equal(m.latencyP99Ms, 198);
  assert.equal(m.latencySamples, 200);
  assert.equal(m.backbonePerFrame, 1.25);
});

test("chunk error averages |pred - truth| over the steps both have", () => {
  const chunks: ChunkSample[] = [
    // |1-0| + |0-0| + |0-0| + |0-1| = 2 over 4 elements
    {
      t: 0,
      pred: [
        [1, 0],
        [0, 0],
      ],
      truth: [
        [0, 0],
        [0, 1],
      ],
    },
    // truth has one step left: only it counts, |0.5| + |0.5| = 1 over 2 elements
    {
      t: 1,
      pred: [
        [0.5, -0.5],
        [9, 9],
        [9, 9],
      ],
      truth: [[0, 0]],
    },
    // nothing to compare: skipped
    { t: 2, pred: [[1, 1]], truth: [] },
  ];
  const m = computeRunMetrics(run([], { chunks }));
  close(m.chunkMae, 3 / 6, "chunkMae");
  assert.equal(m.chunkSamples, 2);
});

test("empty inputs give null metrics that serialise, never a crash", () => {
  const m = computeRunMetrics(run([]));
  assert.equal(m.ticks, 0);
  for (const k of [
    "maeX",
    "maeY",
    "rmseX",
    "rmseY",
    "directionAgreement",
    "directionAccuracy",
    "stopMoveAgreement",
    "chunkMae",
    "latencyP50Ms",
    "latencyP99Ms",
    "backbonePerFrame",
  ] as const) {
    assert.equal(m[k], null, k);
  }
  assert.deepEqual(m.confusion.flat(), new Array(81).fill(0));
  const json = JSON.parse(JSON.stringify(m)) as Record<string, unknown>;
  assert.equal(json.maeX, null);
  // Only stopped ticks: errors defined, direction agreement has no denominator.
  const still = computeRunMetrics(run([tick(0, [0, 0], [0, 0])]));
  assert.equal(still.directionAgreement, null);
  assert.equal(still.maeX, 0);
  assert.equal(still.directionAccuracy, 1);
});

test("non-finite ticks are counted and kept out of the sums", () => {
  const m = computeRunMetrics(run([tick(0, [NaN, 0], [0, 0]), tick(1, [0.5, 0], [0, 0]), tick(2, [0, 0], [Infinity, 0])]));
  assert.equal(m.ticks, 1);
  assert.equal(m.nonFiniteTicks, 2);
  assert.equal(m.maeX, 0.5);
});

test("pooling is tick-weighted and sums the counters", () => {
  const a = run([tick(0, [1, 0], [0, 0])], { latenciesMs: [10], sampledFrames: 1, backboneRuns: 1, decodeErrors: 1 });
  const b = run([tick(0, [0, 0], [0, 0]), tick(1, [0, 0], [0, 0]), tick(2, [0, 0], [0, 0])], {
    latenciesMs: [20, 30, 40],
    sampledFrames: 3,
    backboneRuns: 9,
    decodeErrors: 2,
  });
  const m = poolMetrics([a, b]);
  // Mean of per-run means would be 0.5.
  assert.equal(m.maeX, 0.25);
  assert.equal(m.ticks, 4);
  assert.equal(m.latencyP50Ms, 20);
  assert.equal(m.backbonePerFrame, 10 / 4);
  assert.equal(m.decodeErrors, 3);
});

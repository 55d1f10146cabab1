import { test } from "node:test";
import assert from "node:assert/strict";
import { blockUnits, checkAligned, mulberry32, verdict } from "../src/eval/bootstrap.js";
import { compareModels } from "../src/eval/compare.js";
import { DEFAULT_METRIC_PARAMS } from "../src/eval/metrics.js";
import type { Comparison, MetricDiff, MetricKey, RunSeries, Tick } from "../src/eval/types.js";

const HZ = 20;

function run(model: string, source: string, ticks: Tick[], extra: Partial<RunSeries> = {}): RunSeries {
  return {
    model,
    source,
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

/** n ticks at 20 Hz with pred.x = truth.x + err(i); truth a fixed forward command. */
function series(n: number, err: (i: number) => number, t0 = 100): Tick[] {
  return Array.from({ length: n }, (_, i) => ({ t: t0 + i / HZ, pred: [1 + err(i), 0], truth: [1, 0] }));
}

function diff(c: Comparison, key: MetricKey, pair = 0): MetricDiff {
  const d = c.pairs[pair].diffs.find((x) => x.key === key);
  assert.ok(d, `no diff for ${key}`);
  return d;
}

test("mulberry32 is deterministic per seed and uniform-looking in [0, 1)", () => {
  const a = mulberry32(7);
  const b = mulberry32(7);
  const c = mulberry32(8);
  const xa = Array.from({ length: 1000 }, a);
  assert.deepEqual(xa, Array.from({ length: 1000 }, b));
  assert.notDeepEqual(xa, Array.from({ length: 1000 }, c));
  assert.ok(xa.every((x) => x >= 0 && x < 1));
  const mean = xa.reduce((s, x) => s + x, 0) / xa.length;
  assert.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);
});

test("B's error exactly 0.1 below A's on every tick: degenerate CI at -0.1, B better", () => {
  const rng = mulberry32(3);
  const errs = Array.from({ length: 400 }, () => 0.2 + rng()); // all >= 0.2, so |e - 0.1| = |e| - 0.1
  const a = run(
    "A",
    "one.mcap",
    series(400, (i) => errs[i]),
  );
  const b = run(
    "B",
    "one.mcap",
    series(400, (i) => errs[i] - 0.1),
  );
  const c = compareModels([a, b], { bootstrap: { replicates: 500 } });
  const pair = c.pairs[0];
  assert.equal(pair.scheme, "blocks");
  assert.equal(pair.units, 10); // 20 s in 2 s blocks
  const d = diff(c, "maeX");
  assert.ok(d.diff !== null && Math.abs(d.diff + 0.1) < 1e-12, `diff ${d.diff}`);
  assert.ok(d.ciLow !== null && Math.abs(d.ciLow + 0.1) < 1e-12, `ciLow ${d.ciLow}`);
  assert.ok(d.ciHigh !== null && Math.abs(d.ciHigh + 0.1) < 1e-12, `ciHigh ${d.ciHigh}`);
  assert.equal(d.verdict, "B better");
  assert.equal(d.validReplicates, 500);
  // linear_y is identical in both: no difference.
  assert.equal(diff(c, "maeY").verdict, "no significant difference");
});

test("identical models: the CI is [0, 0], contains 0, no significant difference", () => {
  const rng = mulberry32(5);
  const ticks = Array.from({ length: 300 }, (_, i) => ({
    t: i / HZ,
    pred: [rng() * 2 - 1, rng() * 2 - 1] as [number, number],
    truth: [rng() * 2 - 1, rng() * 2 - 1] as [number, number],
  }));
  const chunks = [{ t: 1, pred: [[0.3, 0.2]], truth: [[0, 0]] }];
  const c = compareModels([run("A", "s", ticks, { chunks }), run("B", "s", structuredClone(ticks), { chunks })], {
    bootstrap: { replicates: 300 },
  });
  for (const d of c.pairs[0].diffs) {
    if (d.ciLow === null) continue;
    assert.ok(d.ciLow <= 0 && d.ciHigh !== null && d.ciHigh >= 0, `${d.key}: [${d.ciLow}, ${d.ciHigh}]`);
    assert.equal(d.verdict, "no significant difference", d.key);
  }
  assert.ok(c.pairs[0].diffs.filter((d) => d.ciLow !== null).length >= 8);
});

test("noisy case: the CI covers the true mean difference and shrinks as n grows", () => {
  // A: |error| uniform in [0.3, 0.7] (mean 0.5); B: uniform in [0.1, 0.7] (mean 0.4). True MAE difference -0.1.
  const ciFor = (n: number, seed: number) => {
    const rng = mulberry32(seed);
    const a = series(n, () => 0.3 + 0.4 * rng());
    const b = series(n, () => 0.1 + 0.6 * rng());
    const c = compareModels([run("A", "s", a), run("B", "s", b)], { bootstrap: { replicates: 1000, seed: 11 } });
    const d = diff(c, "maeX");
    assert.ok(d.ciLow !== null && d.ciHigh !== null);
    return { lo: d.ciLow, hi: d.ciHigh, verdict: d.verdict };
  };
  const small = ciFor(2000, 21);
  const large = ciFor(20000, 22);
  for (const ci of [small, large]) {
    assert.ok(ci.lo <= -0.1 && -0.1 <= ci.hi, `CI [${ci.lo}, ${ci.hi}] misses -0.1`);
    assert.equal(ci.verdict, "B better");
  }
  const ws = small.hi - small.lo;
  const wl = large.hi - large.lo;
  // Ten times the data: about 1/sqrt(10) = 0.32 of the width.
  assert.ok(wl < 0.5 * ws && wl > 0.15 * ws, `widths ${ws} -> ${wl}`);
});

test("blocks matter: correlated ticks give a wider CI with 2 s blocks than with per-tick units", () => {
  // The error difference is constant over each 2 s stretch and random between stretches,
  // so only 30 independent values exist, not 1200.
  const rng = mulberry32(9);
  const level = Array.from({ length: 30 }, () => rng() * 0.4);
  const n = 30 * 2 * HZ;
  const a = run(
    "A",
    "s",
    series(n, () => 0.5),
  );
  const b = run(
    "B",
    "s",
    series(n, (i) => 0.3 + level[Math.floor(i / (2 * HZ))]),
  );
  const width = (blockSeconds: number) => {
    const d = diff(compareModels([a, b], { blockSeconds, bootstrap: { replicates: 500 } }), "maeX");
    assert.ok(d.ciLow !== null && d.ciHigh !== null);
    return d.ciHigh - d.ciLow;
  };
  const wBlocks = width(2);
  const wTicks = width(1 / HZ);
  assert.ok(wBlocks > 3 * wTicks, `block width ${wBlocks} vs per-tick width ${wTicks}`);
});

test("five or more sources: whole sources are resampled; the CI stays inside the per-source differences", () => {
  const runs: RunSeries[] = [];
  for (let s = 0; s < 5; s++) {
    runs.push(
      run(
        "A",
        `ep${s}.h5`,
        series(18, () => 0.5),
      ),
    );
    // B is better on every source, by 0.05 .. 0.25.
    runs.push(
      run(
        "B",
        `ep${s}.h5`,
        series(18, () => 0.45 - 0.05 * s),
      ),
    );
  }
  const c = compareModels(runs, { bootstrap: { replicates: 1000 } });
  assert.equal(c.pairs[0].scheme, "sources");
  assert.equal(c.pairs[0].units, 5);
  const d = diff(c, "maeX");
  assert.ok(d.diff !== null && Math.abs(d.diff + 0.15) < 1e-12);
  assert.ok(d.ciLow !== null && d.ciHigh !== null);
  assert.ok(d.ciLow >= -0.25 - 1e-12 && d.ciHigh <= -0.05 + 1e-12, `[${d.ciLow}, ${d.ciHigh}]`);
  assert.ok(d.ciLow < d.ciHigh, "sources differ, so the CI must not be degenerate");
  assert.equal(d.verdict, "B better");

  const four = compareModels(
    runs.filter((r) => r.source !== "ep4.h5"),
    { bootstrap: { replicates: 50 } },
  );
  assert.equal(four.pairs[0].scheme, "blocks");
});

test("the bootstrap is deterministic for a seed and changes with it", () => {
  const rng = mulberry32(1);
  const a = run(
    "A",
    "s",
    series(600, () => rng()),
  );
  const b = run(
    "B",
    "s",
    series(600, () => rng()),
  );
  const ci = (seed: number) => {
    const d = diff(compareModels([a, b], { bootstrap: { replicates: 200, seed } }), "maeX");
    return [d.ciLow, d.ciHigh];
  };
  assert.deepEqual(ci(4), ci(4));
  assert.notDeepEqual(ci(4), ci(5));
});

test("verdicts follow the metric's direction and need the CI to exclude 0", () => {
  assert.equal(verdict("higher", 0.01, 0.2), "B better");
  assert.equal(verdict("higher", -0.2, -0.01), "A better");
  assert.equal(verdict("lower", 0.01, 0.2), "A better");
  assert.equal(verdict("lower", -0.2, -0.01), "B better");
  assert.equal(verdict("lower", -0.2, 0.01), "no significant difference");
  assert.equal(verdict("higher", 0, 0), "no significant difference");
  assert.equal(verdict("higher", 1e-17, 3e-17), "no significant difference");
  assert.equal(verdict(null, 0.1, 0.2), "n/a");
  assert.equal(verdict("lower", null, null), "n/a");
});

test("a higher-is-better metric: B agreeing in direction more often is 'B better'", () => {
  const n = 400;
  // Teleop always forward; A points sideways on every 4th tick, B never.
  const a = run(
    "A",
    "s",
    Array.from({ length: n }, (_, i) => ({ t: i / HZ, pred: i % 4 === 0 ? [0, 1] : [1, 0], truth: [1, 0] })),
  );
  const b = run(
    "B",
    "s",
    Array.from({ length: n }, (_, i) => ({ t: i / HZ, pred: [1, 0], truth: [1, 0] })),
  );
  const c = compareModels([a, b], { bootstrap: { replicates: 300 } });
  const d = diff(c, "directionAgreement");
  assert.ok(d.diff !== null && Math.abs(d.diff - 0.25) < 1e-12);
  assert.equal(d.verdict, "B better");
  const row = c.rows.find((r) => r.key === "directionAgreement");
  assert.deepEqual(row?.best, [1]);
  assert.deepEqual(c.rows.find((r) => r.key === "maeX")?.best, [1]);
});

test("misaligned tick series are refused with a message naming the source and tick", () => {
  const a = run(
    "A",
    "x.mcap",
    series(10, () => 0),
  );
  assert.throws(
    () =>
      checkAligned(
        a,
        run(
          "B",
          "x.mcap",
          series(9, () => 0),
        ),
      ),
    /different tick counts \(10 vs 9\)/,
  );
  const shifted = series(10, () => 0);
  shifted[3] = { ...shifted[3], t: shifted[3].t + 0.02 };
  assert.throws(() => compareModels([a, run("B", "x.mcap", shifted)]), /"x\.mcap".*not aligned at tick 3/);
  const otherTeleop = series(10, () => 0);
  otherTeleop[5] = { ...otherTeleop[5], truth: [0, 1] };
  assert.throws(() => checkAligned(a, run("B", "x.mcap", otherTeleop)), /teleop command at tick 5/);
  assert.throws(() => compareModels([a, a]), /two runs of model "A"/);
});

test("failed or missing sources are excluded from pooling and comparison, with reasons", () => {
  const runs = [
    run(
      "A",
      "ok.mcap",
      series(40, () => 0.1),
    ),
    run(
      "B",
      "ok.mcap",
      series(40, () => 0.2),
    ),
    run(
      "A",
      "bad.mcap",
      series(40, () => 5),
    ),
    run("B", "bad.mcap", [], { error: "decode failed" }),
    run(
      "A",
      "only-a.mcap",
      series(40, () => 5),
    ),
  ];
  const c = compareModels(runs, { bootstrap: { replicates: 50 } });
  assert.deepEqual(c.sources, ["ok.mcap"]);
  assert.deepEqual(
    c.excludedSources.map((e) => e.source),
    ["bad.mcap", "only-a.mcap"],
  );
  assert.match(c.excludedSources[0].reason, /model B failed: decode failed/);
  assert.match(c.excludedSources[1].reason, /no run for model B/);
  const maeA = c.pooled[0].metrics.maeX;
  assert.ok(maeA !== null && Math.abs(maeA - 0.1) < 1e-12, `A pooled over ok.mcap only, got ${maeA}`);
});

test("time blocks follow the clock, never span sources, and drop gaps", () => {
  const params = DEFAULT_METRIC_PARAMS;
  const five = series(5 * HZ, () => 0);
  const units = blockUnits([{ a: run("A", "s", five), b: run("B", "s", five) }], params, 2);
  assert.deepEqual(
    units.map((u) => u.a.n),
    [40, 40, 20],
  );
  const gap: Tick[] = [...series(HZ, () => 0, 0), ...series(HZ, () => 0, 10)];
  const other = series(HZ, () => 0, 0);
  const two = blockUnits(
    [
      { a: run("A", "g", gap), b: run("B", "g", gap) },
      { a: run("A", "h", other), b: run("B", "h", other) },
    ],
    params,
    2,
  );
  assert.deepEqual(
    two.map((u) => [u.label, u.a.n]),
    [
      ["g#0", 20],
      ["g#5", 20],
      ["h#0", 20],
    ],
  );
});

test("with a single resampling unit there is no CI and the comparison says why", () => {
  const a = run(
    "A",
    "s",
    series(10, () => 0.5),
  );
  const b = run(
    "B",
    "s",
    series(10, () => 0.1),
  );
  const c = compareModels([a, b]);
  assert.equal(c.pairs[0].units, 1);
  assert.match(c.pairs[0].note ?? "", /only 1 resampling unit/);
  const d = diff(c, "maeX");
  assert.equal(d.ciLow, null);
  assert.equal(d.verdict, "n/a");
  assert.ok(d.diff !== null && Math.abs(d.diff + 0.4) < 1e-12);
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { ChunkQueue, chunkEnd, stepIndex } from "../src/control/chunk-queue.js";
import type { ActionChunk } from "../src/policy/chunk.js";

const STEP = 0.4;

function chunk(stamp: number, rows: number[][], invalid = false): ActionChunk {
  return { stamp, stepS: STEP, actions: rows, invalid };
}

/** n rows where row k is f(k). */
function rows(n: number, f: (k: number) => number[]): number[][] {
  return Array.from({ length: n }, (_, k) => f(k));
}

function close(actual: number, expected: number, tol = 1e-4): void {
  assert.ok(Math.abs(actual - expected) <= tol, `expected ${expected} ± ${tol}, got ${actual}`);
}

test("step k covers [stamp + k*step, stamp + (k+1)*step), with float boundaries where a human puts them", () => {
  const c = chunk(
    1.0,
    rows(3, (k) => [k]),
  );
  assert.equal(stepIndex(c, 0.99), null);
  assert.equal(stepIndex(c, 1.0), 0);
  assert.equal(stepIndex(c, 1.39), 0);
  // 1.4 - 1.0 is 0.3999999999999999 in binary floating point.
  assert.equal(stepIndex(c, 1.4), 1);
  assert.equal(stepIndex(c, 1.0 + 0.1 + 0.2 + 0.5), 2);
  assert.equal(stepIndex(c, 2.19), 2);
  assert.equal(stepIndex(c, 2.2), null);
  close(chunkEnd(c), 2.2, 1e-12);
});

test("latest: the action is indexed by time, so steps that passed during inference are skipped", () => {
  const q = new ChunkQueue({ aggregation: "latest", ensembleK: 0.01 });
  // Stamped with its frame's time 0; the inference took 1.5 s, so it arrives at 1.5.
  q.push(
    chunk(
      0,
      rows(10, (k) => [k / 10, -k / 10]),
    ),
  );
  const a = q.actionAt(1.5);
  assert.equal(a.kind, "action");
  if (a.kind !== "action") return;
  assert.equal(a.step, 3);
  assert.deepEqual(a.action, [0.3, -0.3]);
  assert.equal(a.stamp, 0);
  assert.equal(a.used, 1);
});

test("latest: the newest chunk covering t wins, even when pushed out of order", () => {
  const q = new ChunkQueue({ aggregation: "latest", ensembleK: 0.01 });
  q.push(
    chunk(
      0.4,
      rows(10, () => [0.8, 0]),
    ),
  );
  q.push(
    chunk(
      0.0,
      rows(10, () => [0.2, 0]),
    ),
  );
  const a = q.actionAt(0.5);
  assert.ok(a.kind === "action", 'a.kind === "action"');
  assert.deepEqual(a.action, [0.8, 0]);
  assert.equal(a.stamp, 0.4);
  // Before the newer chunk's stamp only the older one covers t.
  const q2 = new ChunkQueue({ aggregation: "latest", ensembleK: 0.01 });
  q2.push(
    chunk(
      0.0,
      rows(10, () => [0.2, 0]),
    ),
  );
  q2.push(
    chunk(
      0.4,
      rows(10, () => [0.8, 0]),
    ),
  );
  const b = q2.actionAt(0.3);
  assert.ok(b.kind === "action", 'b.kind === "action"');
  assert.deepEqual(b.action, [0.2, 0]);
});

test("ensemble on two overlapping chunks, k = 0.5: hand-computed weights 1 (older) and exp(-0.5) (newer)", () => {
  const q = new ChunkQueue({ aggregation: "ensemble", ensembleK: 0.5 });
  q.push(
    chunk(
      0.0,
      rows(10, () => [0.2, 0]),
    ),
  );
  q.push(
    chunk(
      0.4,
      rows(10, () => [0.8, 0]),
    ),
  );
  const a = q.actionAt(0.5);
  assert.ok(a.kind === "action", 'a.kind === "action"');
  // exp(-0.5) = 0.60653; (0.2*1 + 0.8*0.60653) / 1.60653 = 0.68522 / 1.60653 = 0.42652
  close(a.action[0], 0.42652);
  close(a.action[1], 0);
  assert.equal(a.used, 2);
  assert.equal(a.stamp, 0.4, "stamp names the newest chunk used");
  const latest = new ChunkQueue({ aggregation: "latest", ensembleK: 0.5 });
  latest.push(
    chunk(
      0.0,
      rows(10, () => [0.2, 0]),
    ),
  );
  latest.push(
    chunk(
      0.4,
      rows(10, () => [0.8, 0]),
    ),
  );
  const b = latest.actionAt(0.5);
  assert.ok(b.kind === "action", 'b.kind === "action"');
  assert.deepEqual(b.action, [0.8, 0]);
});

test("ensemble on three chunks at different steps, k = 1: each chunk contributes the step covering t", () => {
  const q = new ChunkQueue({ aggregation: "ensemble", ensembleK: 1 });
  q.push(
    chunk(
      0.0,
      rows(10, (k) => [0.1 * (k + 1), 1]),
    ),
  );
  q.push(
    chunk(
      0.4,
      rows(10, (k) => [0.2 * (k + 1), 0]),
    ),
  );
  q.push(
    chunk(
      0.8,
      rows(10, () => [-0.5, -1]),
    ),
  );
  const a = q.actionAt(0.9);
  assert.ok(a.kind === "action", 'a.kind === "action"');
  // t = 0.9: oldest at step 2 -> (0.3, 1), middle at step 1 -> (0.4, 0), newest at step 0 -> (-0.5, -1).
  // weights 1, e^-1 = 0.36788, e^-2 = 0.13534, sum 1.50321
  // x = (0.3 + 0.14715 - 0.06767) / 1.50321 = 0.25245; y = (1 - 0.13534) / 1.50321 = 0.57521
  close(a.action[0], 0.25245);
  close(a.action[1], 0.57521);
  assert.equal(a.step, 0);
  assert.equal(a.used, 3);
});

test("ensemble follows ACT: the OLDEST chunk gets weight exp(0); a large k returns the oldest chunk's action", () => {
  const q = new ChunkQueue({ aggregation: "ensemble", ensembleK: 50 });
  q.push(
    chunk(
      0.4,
      rows(10, () => [0.8, 0]),
    ),
  );
  q.push(
    chunk(
      0.0,
      rows(10, () => [0.2, 0]),
    ),
  );
  const a = q.actionAt(0.5);
  assert.ok(a.kind === "action", 'a.kind === "action"');
  close(a.action[0], 0.2, 1e-9);
  const plain = new ChunkQueue({ aggregation: "ensemble", ensembleK: 0 });
  plain.push(
    chunk(
      0.0,
      rows(10, () => [0.2, 0]),
    ),
  );
  plain.push(
    chunk(
      0.4,
      rows(10, () => [0.8, 0]),
    ),
  );
  const b = plain.actionAt(0.5);
  assert.ok(b.kind === "action", 'b.kind === "action"');
  close(b.action[0], 0.5, 1e-12);
});

test("expired chunks are dropped and the queue stays bounded; after the last step there is no action", () => {
  const q = new ChunkQueue({ aggregation: "latest", ensembleK: 0.01 });
  for (let i = 0; i < 1000; i++) {
    const t = i * 0.4;
    q.push(
      chunk(
        t,
        rows(10, () => [0.5, 0]),
      ),
    );
    assert.equal(q.actionAt(t + 0.1).kind, "action");
    // 10 steps of 0.4 s = 4 s of coverage, one chunk every 0.4 s.
    assert.ok(q.size <= 10, `size ${q.size} at chunk ${i}`);
  }
  const end = 999 * 0.4 + 4.0;
  assert.equal(q.actionAt(end - 0.01).kind, "action");
  assert.deepEqual(q.actionAt(end), { kind: "none" });
  assert.equal(q.size, 0);
});

test("a caller that never asks for actions still cannot grow the queue without bound", () => {
  const q = new ChunkQueue({ aggregation: "latest", ensembleK: 0.01, maxChunks: 5 });
  for (let i = 0; i < 50; i++)
    q.push(
      chunk(
        i,
        rows(10, () => [0.1, 0]),
      ),
    );
  assert.equal(q.size, 5);
  assert.deepEqual(
    q.chunks().map((c) => c.stamp),
    [45, 46, 47, 48, 49],
  );
});

test("a chunk that expired before it arrived is refused", () => {
  const q = new ChunkQueue({ aggregation: "latest", ensembleK: 0.01 });
  q.actionAt(10);
  assert.equal(
    q.push(
      chunk(
        5,
        rows(10, () => [0.1, 0]),
      ),
    ),
    false,
  );
  assert.equal(q.size, 0);
  assert.equal(
    q.push(
      chunk(
        6.5,
        rows(10, () => [0.1, 0]),
      ),
    ),
    true,
  );
});

test("an invalid chunk is never used and hides the older chunks it supersedes", () => {
  const q = new ChunkQueue({ aggregation: "latest", ensembleK: 0.01 });
  q.push(
    chunk(
      0.0,
      rows(10, () => [0.5, 0]),
    ),
  );
  q.push(
    chunk(
      0.4,
      rows(3, () => [0.9, 0]),
      true,
    ),
  );
  assert.deepEqual(q.actionAt(0.5), { kind: "invalid", stamp: 0.4 });
  // Once the invalid chunk's steps are over, the older valid chunk does not take over again.
  assert.deepEqual(q.actionAt(1.7), { kind: "none" });
  // Pushed out of order, a newer invalid chunk still hides an older valid one while it covers t.
  const q1 = new ChunkQueue({ aggregation: "latest", ensembleK: 0.01 });
  q1.push(
    chunk(
      0.4,
      rows(10, () => [0.9, 0]),
      true,
    ),
  );
  q1.push(
    chunk(
      0.0,
      rows(10, () => [0.5, 0]),
    ),
  );
  assert.deepEqual(q1.actionAt(0.5), { kind: "invalid", stamp: 0.4 });
  // A newer valid chunk is used again.
  const q2 = new ChunkQueue({ aggregation: "ensemble", ensembleK: 0 });
  q2.push(
    chunk(
      0.0,
      rows(10, () => [0.5, 0]),
    ),
  );
  q2.push(
    chunk(
      0.4,
      rows(10, () => [0.9, 0]),
      true,
    ),
  );
  q2.push(
    chunk(
      0.8,
      rows(10, () => [0.1, 0]),
    ),
  );
  const c = q2.actionAt(0.9);
  assert.ok(c.kind === "action", 'c.kind === "action"');
  assert.deepEqual(c.action, [0.1, 0], "only chunks newer than the invalid one are averaged");
  assert.equal(c.used, 1);
});

test("NaN/Inf values make a chunk invalid even when the policy did not flag it", () => {
  for (const bad of [NaN, Infinity, -Infinity]) {
    const q = new ChunkQueue({ aggregation: "latest", ensembleK: 0.01 });
    q.push(
      chunk(
        0,
        rows(10, (k) => (k === 7 ? [bad, 0] : [0.5, 0])),
      ),
    );
    assert.equal(q.actionAt(0.1).kind, "invalid", `value ${bad}`);
  }
});

test("the queue keeps its own copy of a chunk", () => {
  const q = new ChunkQueue({ aggregation: "latest", ensembleK: 0.01 });
  const c = chunk(
    0,
    rows(10, () => [0.5, 0]),
  );
  q.push(c);
  c.actions[0][0] = 99;
  const a = q.actionAt(0.1);
  assert.ok(a.kind === "action", 'a.kind === "action"');
  assert.deepEqual(a.action, [0.5, 0]);
});

test("clear forgets every chunk", () => {
  const q = new ChunkQueue({ aggregation: "latest", ensembleK: 0.01 });
  q.push(
    chunk(
      0,
      rows(10, () => [0.5, 0]),
    ),
  );
  q.clear();
  assert.deepEqual(q.actionAt(0.1), { kind: "none" });
});

test("malformed chunks and options are refused loudly", () => {
  const q = new ChunkQueue({ aggregation: "latest", ensembleK: 0.01 });
  assert.throws(() => q.push({ stamp: 0, stepS: 0, actions: [[0, 0]], invalid: false }), /stepS > 0/);
  assert.throws(() => q.push({ stamp: NaN, stepS: 0.4, actions: [[0, 0]], invalid: false }), /finite stamp/);
  assert.throws(() => q.push({ stamp: 0, stepS: 0.4, actions: [], invalid: false }), /at least one step/);
  assert.throws(() => new ChunkQueue({ aggregation: "ensemble", ensembleK: -1 }), /ensembleK/);
});

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { writeSampleBag } from "../synthetic/sample-bag.js";
import { makeTinyModel } from "../synthetic/tiny-model.js";
import { cli, showRun } from "./fixtures/cli.js";

let root: string;
let modelA: string;
let modelB: string;
let bag: string;

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "vla-cli-"));
  modelA = path.join(root, "a");
  modelB = path.join(root, "b");
  bag = path.join(root, "bag");
  await makeTinyModel(modelA, { seed: 1 });
  await makeTinyModel(modelB, { seed: 2 });
  await writeSampleBag(bag, { durationS: 3, width: 64, height: 48, rateHz: 10 });
});

after(async () => rm(root, { recursive: true, force: true }));

test("eval, replay, bag info and model inspect run end to end from the command line", async () => {
  const out = path.join(root, "report");
  const [evalRun, replay, info, inspect] = await Promise.all([
    cli("eval", "--model", modelA, "--model", modelB, "--bag", bag, "--out", out, "--aggregation", "ensemble", "--max_linear_x", "0.5"),
    cli("replay", "--model", modelA, "--bag", bag, "--every", "10"),
    cli("bag", "info", bag),
    cli("model", "inspect", modelA, "--threads", "1"),
  ]);
  assert.equal(evalRun.code, 0, showRun(evalRun));
  assert.match(evalRun.stdout, /MAE linear_x\s+lower/);
  assert.match(evalRun.stdout, /b - a \[95% CI\]/);
  for (const f of ["report.json", "report.html", "report.png"]) assert.ok(existsSync(path.join(out, f)), `${f} missing`);

  assert.equal(replay.code, 0, showRun(replay));
  const lines = replay.stdout.trim().split("\n");
  assert.equal(lines[0], "t_s\tlinear_x\tlinear_y\treason");
  assert.match(lines[lines.length - 1]!, /\t0\.000\t0\.000\tshutdown$/);
  assert.ok(
    lines.slice(1, -1).every((l) => /^\d+\.\d\d\t-?\d\.\d{3}\t-?\d\.\d{3}\t[a-z_]+$/.test(l)),
    showRun(replay),
  );

  assert.equal(info.code, 0, showRun(info));
  assert.match(info.stdout, /\/camera\/image_raw/);
  assert.equal(inspect.code, 0, showRun(inspect));
  assert.match(inspect.stdout, /head window axis: dynamic/);
});

test("bad arguments exit non-zero with a message naming what is wrong", async () => {
  const [badParam, noSource, missingBag] = await Promise.all([
    cli("eval", "--model", modelA, "--bag", bag, "--max_linear_x", "-1", "--out", path.join(root, "x")),
    cli("eval", "--model", modelA),
    cli("eval", "--model", modelA, "--bag", path.join(root, "nope"), "--out", path.join(root, "y")),
  ]);
  assert.notEqual(badParam.code, 0, showRun(badParam));
  assert.match(badParam.stderr, /max_linear_x/);
  assert.equal(noSource.code, 2, showRun(noSource));
  assert.match(noSource.stderr, /give at least one --bag or --episodes/);
  assert.equal(missingBag.code, 1, showRun(missingBag));
  assert.match(missingBag.stderr, /nope/);
});

// Exit codes (issue 16, A.4) and writes that never replace what is there (A.3):
// a bad option value is a usage error (exit 2) found before any part of the job
// runs; an existing bag or model folder is refused (exit 1) and left untouched.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { cli, showRun, type CliRun } from "./fixtures/cli.js";

let root: string;

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "vla-cli-usage-"));
});

after(async () => rm(root, { recursive: true, force: true }));

/** Runs the cases two at a time (the CI machine has two cores). */
async function runAll(cases: string[][]): Promise<CliRun[]> {
  const out: CliRun[] = new Array<CliRun>(cases.length);
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const i = next++;
      out[i] = await cli(...cases[i]!);
    }
  };
  await Promise.all([worker(), worker()]);
  return out;
}

test("every bad option value exits 2 naming the option and its bound, before any work", async () => {
  const missing = path.join(root, "never-read");
  const cases: [string[], RegExp][] = [
    [["eval", "--model", missing, "--bag", missing, "--control_rate_hz", "0"], /--control_rate_hz: expected a number > 0, got 0/],
    [["eval", "--model", missing, "--bag", missing, "--deadband", "-1"], /--deadband: expected a number >= 0, got -1/],
    [["eval", "--model", missing, "--bag", missing, "--latency", "abc"], /--latency: expected a number of seconds in \[0, 10\] or "measured", got "abc"/],
    [["eval", "--model", missing, "--bag", missing, "--chunk-offset", "0.5"], /--chunk-offset: expected an integer number of frames >= 0, got 0\.5/],
    [["eval", "--model", missing, "--bag", missing, "--chunk-offset", "5000"], /--chunk-offset: expected at most 1000 frames, got 5000/],
    [["eval", "--model", missing, "--bag", missing, "--teleop-hold-s", "0"], /--teleop-hold-s: expected a number in \(0, 60\], got 0/],
    [["eval", "--model", missing, "--bag", missing, "--instruction", ""], /--instruction: expected a non-empty instruction, got ""/],
    [["eval", "--model", missing, "--episodes", missing, "--instruction-map", "left"], /--instruction-map: expected word=instruction pairs/],
    [["replay", "--model", missing, "--bag", missing, "--every", "0"], /--every: expected an integer in \[1, inf\), got 0/],
    [["eval", "--model", missing, "--bag", missing, "--image-topic", ""], /--image-topic: expected a non-empty value, got ""/],
    [["model", "inspect", missing, "--threads", "100000"], /--threads: expected an integer <= 1024, got 100000/],
    [["bag2episodes", "--bag", missing, "--out", missing, "--gzip", "10"], /--gzip: gzip level 10 is not an integer in 0\.\.9/],
    [["bag2episodes", "--bag", missing, "--out", missing, "--scenario", "../../escape"], /--scenario: scenario "\.\.\/\.\.\/escape" must be letters/],
    [
      ["bag2episodes", "--bag", missing, "--out", missing, "--capture-interval-s", "1e-9"],
      /--capture-interval-s: expected a number of seconds >= 0\.01, got 1e-9/,
    ],
    [["sample-bag", path.join(root, "bag-rate"), "--rate", "1e9"], /--rate: expected a number in \(0, 120\], got 1000000000/],
    [["sample-bag", path.join(root, "bag-width"), "--width", "100000"], /--width: expected an integer in \[16, 4096\], got 100000/],
    [
      ["demo", "--duration", "-1", "--models-dir", path.join(root, "demo-models"), "--out", path.join(root, "demo-out")],
      /--duration: expected a number in \(0, 3600\], got -1/,
    ],
    [["model", "make-tiny", path.join(root, "tiny-seed"), "--seed", "1.5"], /--seed: expected an integer/],
  ];
  const runs = await runAll(cases.map((c) => c[0]));
  runs.forEach((r, i) => {
    const [args, message] = cases[i]!;
    assert.equal(r.code, 2, `${args.join(" ")}: a usage error\n${showRun(r)}`);
    assert.match(r.stderr, message, `${args.join(" ")}: names the option and its bound\n${showRun(r)}`);
    assert.match(r.stderr, /Run with --help for usage/, args.join(" "));
  });
  for (const made of ["bag-rate", "bag-width", "demo-models", "demo-out", "tiny-seed"]) {
    assert.equal(fs.existsSync(path.join(root, made)), false, `${made}: nothing was written before the option was refused`);
  }
});

test("sample-bag and model make-tiny refuse a folder that already holds something, and leave it untouched", async () => {
  const bag = path.join(root, "existing-bag");
  const model = path.join(root, "existing-model");
  for (const dir of [bag, model]) {
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "metadata.yaml"), "precious\n");
  }
  const [bagRun, modelRun] = await runAll([
    ["sample-bag", bag, "--duration", "1", "--width", "32", "--height", "24"],
    ["model", "make-tiny", model],
  ]);
  for (const [r, dir] of [
    [bagRun!, bag],
    [modelRun!, model],
  ] as const) {
    assert.equal(r.code, 1, showRun(r));
    assert.match(r.stderr, new RegExp(`${dir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: already holds 1 entry \\(metadata\\.yaml\\)`), showRun(r));
    assert.deepEqual(fs.readdirSync(dir), ["metadata.yaml"], `${dir}: nothing added`);
    assert.equal(fs.readFileSync(path.join(dir, "metadata.yaml"), "utf8"), "precious\n", `${dir}: nothing replaced`);
  }
});

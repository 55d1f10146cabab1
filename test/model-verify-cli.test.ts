// `mobile-vla model verify` and `model inspect --precision` from the command line.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { makeTinyModel } from "../synthetic/tiny-model.js";
import { cli, showRun } from "./fixtures/cli.js";
import { writeGolden } from "./fixtures/golden.js";

let root: string;
let dir: string;

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "vla-verify-cli-"));
  dir = path.join(root, "tiny");
  await makeTinyModel(dir, { seed: 3, int8: true });
  await writeGolden(dir);
});

after(async () => rm(root, { recursive: true, force: true }));

test("model verify prints the stage table and exits 0; inspect opens the int8 backbone and prints the instruction probe", async () => {
  const [verify, int8, inspect] = await Promise.all([
    cli("model", "verify", dir, "--threads", "1"),
    cli("model", "verify", dir, "--precision", "int8", "--threads", "1"),
    cli("model", "inspect", dir, "--precision", "int8", "--threads", "1"),
  ]);
  assert.equal(verify.code, 0, showRun(verify));
  assert.match(verify.stdout, /^tokenizer \(ids, mask\)\s+3 instructions\s+0 of 3 differ\s+exact\s+PASS$/m);
  assert.match(verify.stdout, /^chunk \(end to end from the raw frames\)\s+1 window x w = 1\.\.8\s+0\s+<= 1e-4\s+PASS$/m);
  assert.match(verify.stdout, /result: PASS/);
  assert.equal(int8.code, 0, showRun(int8));
  assert.match(int8.stdout, /int8 is compared with the fp32 PyTorch golden values/);
  assert.equal(inspect.code, 0, showRun(inspect));
  assert.match(inspect.stdout, /^precision: int8 \(backbone\.int8\.onnx\); the folder has: fp32, int8$/m);
  assert.match(inspect.stdout, /^backbone \(backbone\.int8\.onnx\) inputs:/m);
  assert.match(inspect.stdout, /instruction probe/);
});

test("model verify: a bad --precision is a usage error (2); a folder without golden.json fails the run (1)", async () => {
  const plain = path.join(root, "plain");
  await makeTinyModel(plain, { seed: 3 });
  const [bad, none] = await Promise.all([cli("model", "verify", dir, "--precision", "fp16"), cli("model", "verify", plain)]);
  assert.equal(bad.code, 2, showRun(bad));
  assert.match(bad.stderr, /precision/);
  assert.equal(none.code, 1, showRun(none));
  assert.match(none.stderr, /no golden\.json: verification needs the exporter's golden vectors/);
});

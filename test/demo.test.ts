import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { runDemo } from "../src/cli/demo.js";

test("the demo (the README's main job) makes its models and bag, evaluates both, prints the table and writes the report", async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), "vla-demo-"));
  try {
    let printed = "";
    const result = await runDemo({ modelsDir: path.join(root, "models"), outDir: path.join(root, "out"), durationS: 4, write: (t) => (printed += t) });
    for (const m of ["tiny-a", "tiny-b"]) assert.ok(existsSync(path.join(root, "models", m, "manifest.json")), `model ${m} was not made`);
    assert.ok(existsSync(path.join(root, "out", "sample-bag-4s", "metadata.yaml")), "the sample bag was not written");
    assert.equal(result.failed.length, 0, result.failed.map((f) => f.error).join("; "));
    assert.match(printed, /tiny-a's cmd_vel on the bag/);
    assert.match(printed, /MAE linear_x\s+lower/);
    assert.match(printed, /tiny-b - tiny-a \[95% CI\]/);
    const report = JSON.parse(await readFile(result.files.json, "utf8"));
    assert.deepEqual(report.models, ["tiny-a", "tiny-b"]);
    assert.ok((await stat(result.files.html)).size > 10_000, "report.html is suspiciously small");
    // A second run reuses what is there instead of regenerating it.
    const again = await runDemo({ modelsDir: path.join(root, "models"), outDir: path.join(root, "out"), durationS: 4, write: () => {} });
    // Wall-clock latencies differ run to run; every agreement metric must not.
    const quality = (r: typeof result) => r.report.comparison.rows.filter((row) => !/^latency/.test(row.key));
    assert.deepEqual(quality(again), quality(result), "the demo's metrics are not deterministic");
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { paramsMarkdown } from "../src/params/markdown.js";
import { RECORDER_TABLE } from "../src/params/recorder-table.js";
import { POLICY_TABLE } from "../src/params/table.js";
import { TELEOP_TABLE } from "../src/params/teleop-table.js";
import { repoPath } from "./fixtures/repo-path.js";

test("the README's parameter tables are the ones generated from the nodes' parameter tables", async () => {
  const readme = await readFile(repoPath("README.md"), "utf8");
  for (const [key, table] of [
    ["params", POLICY_TABLE],
    ["recorder-params", RECORDER_TABLE],
    ["teleop-params", TELEOP_TABLE],
  ] as const) {
    const m = readme.match(new RegExp(`<!-- ${key}:start[^>]*-->\\n([\\s\\S]*?)<!-- ${key}:end -->`));
    assert.ok(m, `README.md has no ${key}:start/${key}:end block`);
    assert.equal(m[1]!.trim(), paramsMarkdown(table).trim(), `README ${key} table is stale: regenerate it from paramsMarkdown()`);
  }
});

test("the README gives the two set-up commands, and CI runs its test command", async () => {
  const readme = await readFile(repoPath("README.md"), "utf8");
  assert.match(readme, /^npm install && npm run demo\b/m);
  assert.match(readme, /^npm test\b/m);
  const ci = await readFile(repoPath(".ci", "run"), "utf8");
  assert.match(ci, /^npm test$/m);
});

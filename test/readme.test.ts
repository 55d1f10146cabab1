import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { paramsMarkdown } from "../src/params/markdown.js";
import { repoPath } from "./fixtures/repo-path.js";

test("the README's parameter table is the one generated from the parameter table", async () => {
  const readme = await readFile(repoPath("README.md"), "utf8");
  const m = readme.match(/<!-- params:start[^>]*-->\n([\s\S]*?)<!-- params:end -->/);
  assert.ok(m, "README.md has no params:start/params:end block");
  assert.equal(m[1]!.trim(), paramsMarkdown().trim(), "README parameter table is stale: regenerate it from paramsMarkdown()");
});

test("the README gives the two set-up commands, and CI runs its test command", async () => {
  const readme = await readFile(repoPath("README.md"), "utf8");
  assert.match(readme, /^npm install && npm run demo\b/m);
  assert.match(readme, /^npm test\b/m);
  const ci = await readFile(repoPath(".ci", "run"), "utf8");
  assert.match(ci, /^npm test$/m);
});

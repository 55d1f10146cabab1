// Writes never lose the previous file and every write error names its file
// (issue 16, A.3): a report rewritten on a full disk used to leave report.json
// truncated, and Node's ENOSPC from write() names no path.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { FileWriteError, refuseNonEmptyTarget, writeFileAtomic } from "../src/util/safe-write.js";

function tmp(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Fails like a full disk halfway through: some bytes written, then ENOSPC without a path. */
const fullDisk = {
  async writeAll(handle: import("node:fs/promises").FileHandle, data: string | Uint8Array): Promise<void> {
    if (typeof data === "string") await handle.write(data.slice(0, 5));
    else await handle.write(data.subarray(0, 5));
    throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
  },
};

test("a failed rewrite leaves the old file whole, no temporary file behind, and the error names the file", async () => {
  const dir = tmp("safe-write-");
  const file = path.join(dir, "report.json");
  fs.writeFileSync(file, '{"old": true}\n');
  await assert.rejects(writeFileAtomic(file, '{"new": "a much longer report"}\n', fullDisk), (e: unknown) => {
    assert.ok(e instanceof FileWriteError, `a FileWriteError, got ${String(e)}`);
    assert.equal(e.code, "ENOSPC");
    assert.equal(e.file, file);
    assert.ok(e.message.startsWith(`${file}: `), `the message starts with the path: ${e.message}`);
    assert.match(e.message, /no space left on device/);
    return true;
  });
  assert.equal(fs.readFileSync(file, "utf8"), '{"old": true}\n', "the earlier report is intact");
  assert.deepEqual(fs.readdirSync(dir), ["report.json"], "no temporary file left");
  await writeFileAtomic(file, '{"new": true}\n');
  assert.equal(fs.readFileSync(file, "utf8"), '{"new": true}\n', "a successful rewrite replaces it");
  assert.deepEqual(fs.readdirSync(dir), ["report.json"]);
});

test("a folder that cannot be written names itself", async () => {
  const dir = tmp("safe-write-missing-");
  const file = path.join(dir, "no", "such", "report.json");
  await assert.rejects(writeFileAtomic(file, "x"), (e: unknown) => e instanceof FileWriteError && e.message.startsWith(`${file}: `) && e.code === "ENOENT");
});

test("a target folder is refused when it holds anything, and accepted when missing or empty", async () => {
  const dir = tmp("safe-write-target-");
  await refuseNonEmptyTarget(path.join(dir, "new"), "a bag");
  fs.mkdirSync(path.join(dir, "empty"));
  await refuseNonEmptyTarget(path.join(dir, "empty"), "a bag");
  fs.writeFileSync(path.join(dir, "file"), "x");
  await assert.rejects(refuseNonEmptyTarget(path.join(dir, "file"), "a bag"), /file: already exists and is not a folder/);
  await assert.rejects(
    refuseNonEmptyTarget(dir, "a bag"),
    (e: unknown) => e instanceof FileWriteError && /already holds 2 entries \(empty, file\); a bag is never written over/.test(e.message),
  );
});

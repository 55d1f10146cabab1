// The recorder must never lose or corrupt an episode: a recorder killed mid-episode
// or a disk that fills up leaves every earlier episode intact, and never a file that
// looks complete but is not.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { openEpisode } from "../src/episodes/episode-reader.js";
import { checkEpisodes } from "../src/episodes/episode-check.js";
import { readWithH5py, spawnRecorderChild } from "./fixtures/episode-fixtures.js";

/** Calls onLine for each JSON line the child prints; resolves with its exit. */
function watch(
  child: ChildProcess,
  onLine: (msg: Record<string, unknown>) => void,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  let buf = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8");
  child.stderr!.setEncoding("utf8");
  child.stdout!.on("data", (d: string) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.trim()) onLine(JSON.parse(line) as Record<string, unknown>);
    }
  });
  child.stderr!.on("data", (d: string) => (stderr += d));
  // A hung child must not hang the test run: it is killed, and the test then fails
  // on the missing progress messages.
  const guard = setTimeout(() => child.kill("SIGKILL"), 15_000);
  return new Promise((resolve) =>
    child.on("exit", (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stderr });
    }),
  );
}

function assertIntact(file: string, frames: number): void {
  const ep = openEpisode(file);
  try {
    assert.equal(ep.numFrames, frames);
    for (let i = 0; i < ep.numFrames; i++) ep.frame(i);
  } finally {
    ep.close();
  }
  const py = readWithH5py(file);
  assert.equal(py.images.shape[0], frames);
  assert.equal(py.attrs.num_frames.value, frames);
  assert.equal(py.action_event_types.values.length, frames);
}

// One recorder process does both: fills its disk limit in fullDir, then records in
// killDir until it is killed in the middle of its second episode.
const fullDir = fs.mkdtempSync(path.join(os.tmpdir(), "episode-full-"));
const killDir = fs.mkdtempSync(path.join(os.tmpdir(), "episode-kill-"));
interface DiskFullResult {
  first: string;
  third: string;
  bigWritten: number;
  bigError: { code: string; file: string; message: string; name: string } | null;
  bigClose: string;
}
let diskfull: DiskFullResult | null = null;
let saved: string | null = null;
let recording = false;
let exit: { code: number | null; signal: NodeJS.Signals | null; stderr: string };

before(async () => {
  // 2000 blocks of 1 KiB per file: the small episodes fit, the 320x240 one does not.
  const child = spawnRecorderChild([fullDir, killDir], { fileSizeLimitBlocks: 2000 });
  exit = await watch(child, (msg) => {
    if (msg.diskfull) diskfull = msg.diskfull as DiskFullResult;
    if (typeof msg.saved === "string") saved = msg.saved;
    if (msg.recording === true) {
      recording = true;
      child.kill("SIGKILL");
    }
  });
});

test("a recorder killed with SIGKILL mid-episode leaves the earlier episode intact and only a .h5.partial", () => {
  assert.equal(exit.signal, "SIGKILL", exit.stderr);
  assert.ok(recording, `the child never reported the second episode in progress: ${exit.stderr}`);
  assert.ok(saved, "the first episode was not saved");
  const savedPath: string = saved;

  const files = fs.readdirSync(killDir).sort();
  const complete = files.filter((f) => f.endsWith(".h5"));
  const partial = files.filter((f) => f.endsWith(".h5.partial"));
  assert.deepEqual(complete, [path.basename(savedPath)], `files: ${files.join(", ")}`);
  assert.equal(partial.length, 1, `files: ${files.join(", ")}`);
  assert.equal(files.length, 2);
  assertIntact(savedPath, 3);

  const report = checkEpisodes(killDir, { deep: true });
  assert.equal(report.ok, false);
  assert.deepEqual(
    report.episodes.map((e) => path.basename(e.file)),
    complete,
  );
  assert.deepEqual(
    report.problems.map((p) => [path.basename(p.file), p.kind]),
    [[partial[0], "partial"]],
  );
});

test("a write error (disk full) is a clear error naming the file; earlier and later episodes are intact", () => {
  const r = diskfull;
  assert.ok(r, `no result from the disk-full run: ${exit.stderr}`);
  const bigPartial = path.join(fullDir, "episode_20251203_090100_big.h5.partial");
  assert.ok(r.bigError, "filling the disk raised no error");
  assert.equal(r.bigError.name, "EpisodeError");
  assert.equal(r.bigError.code, "write");
  assert.equal(r.bigError.file, bigPartial);
  assert.ok(r.bigError.message.startsWith(bigPartial + ": "), r.bigError.message);
  assert.match(r.bigError.message, /writing frame \d+ failed: .*File too large/);
  // The limit is ~8 frames of 230 kB: the error came at the frame that crossed it, not at the end.
  assert.ok(r.bigWritten > 0 && r.bigWritten < 20, `error after ${r.bigWritten} frames`);
  assert.equal(r.bigClose, r.bigError.message, "close after a write error must fail with that error");

  assert.deepEqual(
    fs.readdirSync(fullDir).sort(),
    ["episode_20251203_090000_small.h5", "episode_20251203_090100_big.h5.partial", "episode_20251203_090200_small.h5"],
    "the failed episode's partial file is kept, as its error says, even after discard()",
  );
  assertIntact(r.first, 3);
  assertIntact(r.third, 3);
});

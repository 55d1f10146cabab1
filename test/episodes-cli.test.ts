import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { cli, showRun, CLI_ROOT } from "./fixtures/cli.js";
import { writeSampleBag } from "../synthetic/sample-bag.js";
import { EpisodeWriter } from "../src/episodes/episode-writer.js";
import { checkEpisodes } from "../src/episodes/episode-check.js";
import { bagToEpisodes } from "../src/episodes/bag-to-episodes.js";
import { h5wasm } from "../src/episodes/h5.js";

const ROOT = CLI_ROOT;
const show = showRun;

function tmp(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** An HDF5 file that opens fine but is no episode: what `episodes check` must not let through. */
function writeNonEpisode(file: string): void {
  const f = new h5wasm.File(file, "w");
  f.create_dataset({ name: "calibration", data: new Float32Array([1, 2, 3]) });
  f.close();
}

test("episodes check: a good episode, a .h5.partial and a non-episode .h5 -> not ok, each flagged", async () => {
  const dir = tmp("ep-check-");
  const w = EpisodeWriter.open(dir, { scenario: "left", startTime: new Date(2025, 11, 3, 12, 0, 0) });
  for (let i = 0; i < 3; i++)
    w.append(
      { width: 4, height: 2, data: new Uint8Array(24).fill(i) },
      [i === 1 ? 1.15 : 0, 0, 0],
      i === 0 ? "episode_start" : i === 1 ? "start_action" : "stop_action",
    );
  const good = await w.close({ endTime: new Date(2025, 11, 3, 12, 0, 5) });
  // A recorder that died mid-episode leaves its partial file.
  const crashed = EpisodeWriter.open(dir, { scenario: "right", startTime: new Date(2025, 11, 3, 12, 1, 0) });
  crashed.append({ width: 4, height: 2, data: new Uint8Array(24) }, [0, 0, 0], "episode_start");
  writeNonEpisode(path.join(dir, "calibration.h5"));
  try {
    const r = checkEpisodes(dir);
    assert.equal(r.ok, false);
    assert.deepEqual(
      r.episodes.map((e) => e.file),
      [good],
    );
    assert.deepEqual(
      r.problems.map((p) => [path.basename(p.file), p.kind]),
      [
        ["calibration.h5", "layout"],
        [path.basename(crashed.partialPath), "partial"],
      ],
    );
  } finally {
    await crashed.discard();
  }
});

// Every CLI start costs seconds of CPU (the whole command tree, and h5wasm,
// which is slow to load under tsx), so there are three runs, all at once: a
// conversion into an empty folder, one into a folder that already holds this
// bag's episode (converted here through the API), and a check of that folder
// with bad files beside the episode. A missing topic's message is tested on the
// API (bag-to-episodes.test.ts).
test("CLI: bag2episodes converts (exit 0) and refuses a folder that already holds the episode (exit 1); episodes check flags bad files (exit 1)", async () => {
  const bag = path.join(tmp("ep-cli-bag-"), "sample");
  await writeSampleBag(bag, { durationS: 3, width: 64, height: 48, rateHz: 10 });
  const fresh = path.join(tmp("ep-cli-out-"), "episodes");
  const seeded = tmp("ep-cli-seeded-");
  const done = await bagToEpisodes(bag, seeded, { scenario: "1box_hori_left" });
  assert.equal(done.episodes.length, 1, done.errors.join("; "));
  const name = path.basename(done.episodes[0]!);
  const bytes = fs.readFileSync(done.episodes[0]!);
  // A crashed recording and a stray HDF5 file beside the episode.
  const partial = "episode_20251203_120100_right.h5.partial";
  fs.writeFileSync(path.join(seeded, partial), "");
  writeNonEpisode(path.join(seeded, "calibration.h5"));

  const [first, again, check] = await Promise.all([
    cli("bag2episodes", "--bag", bag, "--out", fresh, "--scenario", "1box_hori_left", "--gzip", "1"),
    cli("bag2episodes", "--bag", bag, "--out", seeded, "--scenario", "1box_hori_left"),
    cli("episodes", "check", seeded, "--deep"),
  ]);

  assert.equal(first.code, 0, show(first));
  assert.match(first.stdout, /^wrote .*episode_\d{8}_\d{6}_1box_hori_left\.h5$/m, show(first));
  assert.match(first.stdout, /^1 episode\(s\), \d+ frame\(s\) in /m, show(first));
  assert.deepEqual(fs.readdirSync(fresh), [name], "the CLI names the episode as the API does");

  assert.equal(again.code, 1, show(again));
  assert.ok(again.stdout.includes(`ERROR: ${path.join(seeded, name)}: already exists`), `the existing file is named:\n${show(again)}`);
  assert.match(again.stdout, /already converted into/, show(again));
  assert.match(again.stdout, /^0 episode\(s\)/m, show(again));
  assert.deepEqual(fs.readFileSync(path.join(seeded, name)), bytes, "the refused run changes nothing");
  assert.deepEqual(fs.readdirSync(seeded).sort(), [name, "calibration.h5", partial].sort(), "and adds nothing");

  assert.equal(check.code, 1, show(check));
  assert.match(check.stdout, /1 episode\(s\), 2 problem\(s\)/, show(check));
  assert.ok(check.stdout.includes(`  ${name}  `), `the episode is listed:\n${show(check)}`);
  assert.match(check.stdout, / 64x48 bgr .*instruction "Navigate to the gray basket on the left"/, show(check));
  assert.match(check.stdout, /LAYOUT calibration\.h5: images: missing/, show(check));
  assert.match(check.stdout, /PARTIAL episode_20251203_120100_right\.h5\.partial: /, show(check));
  assert.match(check.stdout, /\nNOT OK\n$/, show(check));
});

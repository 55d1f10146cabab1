import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { EpisodeWriter } from "../src/episodes/episode-writer.js";
import { checkEpisodes, formatCheckReport } from "../src/episodes/episode-check.js";
import { h5wasm } from "../src/episodes/h5.js";

const f32 = Math.fround(1.15);

async function record(
  dir: string,
  scenario: string,
  start: Date,
  actions: [number, number, number][],
  opts: { instruction?: string; channelOrder?: "rgb" | "bgr" } = {},
): Promise<string> {
  const w = EpisodeWriter.open(dir, { scenario, startTime: start, ...opts });
  actions.forEach((a, i) =>
    w.append({ width: 4, height: 2, data: new Uint8Array(24).fill(i) }, a, i === 0 ? "episode_start" : a.some((v) => v !== 0) ? "start_action" : "stop_action"),
  );
  return w.close({ endTime: new Date(start.getTime() + 6500) });
}

test("a clean folder: every episode listed with frames, duration, action ranges and channel order; ok", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "episode-check-ok-"));
  await record(dir, "1box_hori_left_core_medium", new Date(2025, 11, 3, 12, 0, 0), [
    [0, 0, 0],
    [1.15, 0, 0],
    [1.15, 1.15, 0],
    [0, 0, 0],
  ]);
  const right = await record(
    dir,
    "1box_hori_right_core_far",
    new Date(2025, 11, 3, 12, 1, 0),
    [
      [0, 0, 0],
      [0, -1.15, 0],
    ],
    { instruction: "go right", channelOrder: "rgb" },
  );
  fs.writeFileSync(path.join(dir, "scenario_progress.json"), "{}");
  // Renamed by hand: still an episode, but the trainer's left/right rule has no name to read.
  fs.copyFileSync(right, path.join(dir, "renamed.h5"));

  const r = checkEpisodes(dir);
  assert.equal(r.ok, true);
  assert.deepEqual(r.problems, []);
  assert.equal(r.episodes.length, 3);
  const [a, b, renamed] = r.episodes;
  assert.deepEqual(renamed.warnings, ["name is not episode_YYYYMMDD_HHMMSS[_tags]"]);
  assert.equal(path.basename(a.file), "episode_20251203_120000_1box_hori_left_core_medium.h5");
  assert.equal(a.layout, "mobile_vla_2025");
  assert.equal(a.numFrames, 4);
  assert.equal(a.durationS, 6.5);
  assert.equal(a.channelOrder, "bgr");
  assert.deepEqual(a.actionMin, [0, 0, 0]);
  assert.deepEqual(a.actionMax, [f32, f32, 0]);
  assert.deepEqual(a.eventTypes, { episode_start: 1, start_action: 2, stop_action: 1 });
  assert.deepEqual(a.warnings, []);
  assert.equal(b.channelOrder, "rgb");
  assert.equal(b.instruction, "go right");
  assert.deepEqual(b.actionMin, [0, -f32, 0]);

  const text = formatCheckReport(r);
  assert.match(text, /3 episode\(s\), 0 problem\(s\)/);
  assert.match(text, /renamed\.h5 .*\n {4}warning: name is not episode_/);
  assert.match(
    text,
    /episode_20251203_120000_1box_hori_left_core_medium\.h5 {2}4 frames {2}4x2 bgr {2}6\.5 s {2}actions \[0\.\.1\.150, 0\.\.1\.150, 0\.\.0\] {2}events: episode_start 1, start_action 2, stop_action 1/,
  );
  assert.match(text, /4x2 rgb .*instruction "go right"/);
  assert.match(text, /\nok$/);
});

test("partial files, unreadable files and files off the layout are flagged and make the check fail", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "episode-check-bad-"));
  const good = await record(dir, "left", new Date(2025, 11, 3, 1, 0, 0), [
    [0, 0, 0],
    [1.15, 0, 0],
  ]);
  // A crash between publishing and cleaning up leaves the partial as a second name of the complete file.
  fs.linkSync(good, good + ".partial");
  const open = EpisodeWriter.open(dir, { scenario: "crashed", startTime: new Date(2025, 11, 3, 2, 0, 0) });
  open.append({ width: 4, height: 2, data: new Uint8Array(24) }, [0, 0, 0], "episode_start");
  fs.writeFileSync(path.join(dir, "episode_20251203_030000_garbage.h5"), "not hdf5");
  const noActions = new h5wasm.File(path.join(dir, "episode_20251203_040000_noactions.h5"), "w");
  noActions.create_dataset({ name: "images", data: new Uint8Array(12), shape: [1, 2, 2, 3], dtype: "<B" });
  noActions.close();
  const v2026 = new h5wasm.File(path.join(dir, "robot_run_7.h5"), "w");
  v2026.create_group("observations");
  v2026.create_dataset({ name: "observations/images", data: new Uint8Array(24), shape: [2, 2, 2, 3], dtype: "<B" });
  v2026.create_dataset({ name: "actions", data: new Float32Array([0.5, -0.25, 0.75, 0.1]), shape: [2, 2], dtype: "<f" });
  v2026.create_dataset({ name: "timestamps", data: new Float64Array([3, 3.4]) });
  v2026.close();

  const r = checkEpisodes(dir, { deep: true });
  assert.equal(r.ok, false);
  assert.deepEqual(
    r.problems.map((p) => [path.basename(p.file), p.kind]),
    [
      ["episode_20251203_010000_left.h5.partial", "partial"],
      ["episode_20251203_020000_crashed.h5.partial", "partial"],
      ["episode_20251203_030000_garbage.h5", "unreadable"],
      ["episode_20251203_040000_noactions.h5", "layout"],
    ],
  );
  assert.match(r.problems[0].detail, /left over next to the complete episode_20251203_010000_left\.h5/);
  assert.match(r.problems[1].detail, /never finished/);
  assert.match(r.problems[3].detail, /^actions: missing/);
  assert.deepEqual(
    r.episodes.map((e) => [path.basename(e.file), e.layout]),
    [
      ["episode_20251203_010000_left.h5", "mobile_vla_2025"],
      ["robot_run_7.h5", "mobile_vla_2026"],
    ],
  );
  const v = r.episodes[1];
  assert.equal(v.channelOrder, "rgb");
  assert.ok(Math.abs(v.durationS! - 0.4) < 1e-9, `duration ${v.durationS}`);
  assert.deepEqual(v.actionMin, [0.5, -0.25]);
  assert.deepEqual(v.actionMax, [Math.fround(0.75), Math.fround(0.1)]);

  const text = formatCheckReport(r);
  assert.match(text, /2 episode\(s\), 4 problem\(s\)/);
  assert.match(text, /PARTIAL episode_20251203_020000_crashed\.h5\.partial: /);
  assert.match(text, /UNREADABLE episode_20251203_030000_garbage\.h5: file: cannot open as HDF5/);
  assert.match(text, /LAYOUT episode_20251203_040000_noactions\.h5: actions: missing/);
  assert.match(text, /robot_run_7\.h5 .*mobile_vla_2026/);
  assert.match(text, /\nNOT OK$/);
  await open.discard();
});

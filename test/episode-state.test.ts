import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ImageMessage } from "../src/msgs/image.js";
import { CommandHold } from "../src/mobile-vla/command-hold.js";
import type { Action3 } from "../src/episodes/episode-writer.js";
import {
  EpisodeStateMachine,
  type CapturedFrame,
  type EpisodeSink,
  type EpisodeSinkFactory,
  type EpisodeStartInfo,
  type EpisodeStateOptions,
} from "../src/episodes/episode-state.js";
import { writerSinkFactory } from "../src/episodes/episode-sink.js";
import { openEpisode } from "../src/episodes/episode-reader.js";
import { rgb8Message } from "./fixtures/episode-fixtures.js";

class FakeSink implements EpisodeSink {
  frames: CapturedFrame[] = [];
  closedAt: Date | null = null;
  discarded = false;
  append(frame: CapturedFrame): void {
    this.frames.push(frame);
  }
  async close(endTime: Date): Promise<string> {
    this.closedAt = endTime;
    return "fake.h5";
  }
  async discard(): Promise<void> {
    this.discarded = true;
  }
}

class FakeFactory implements EpisodeSinkFactory {
  sinks: FakeSink[] = [];
  starts: EpisodeStartInfo[] = [];
  failWith: Error | null = null;
  open(start: EpisodeStartInfo): EpisodeSink {
    if (this.failWith) throw this.failWith;
    this.starts.push(start);
    const s = new FakeSink();
    this.sinks.push(s);
    return s;
  }
  get last(): FakeSink {
    return this.sinks[this.sinks.length - 1];
  }
}

// Images carry their own time in `format` so a test can tell which camera frame was stored;
// the bytes start like a JPEG, which is all the state machine checks before spending a capture.
const img = (t: number): ImageMessage => ({ kind: "compressed", format: `jpeg t=${t.toFixed(3)}`, data: Uint8Array.from([0xff, 0xd8, 0xff]) });
const shot = (f: CapturedFrame): [string, string, number[]] => [f.eventType, (f.image as { format: string }).format.replace(/^jpeg /, ""), [...f.action]];

/** Camera frames every `dt` from t0 (exclusive) to t1 (inclusive), like a 30 fps camera. */
function camera(sm: EpisodeStateMachine, t0: number, t1: number, dt = 0.1): void {
  for (let k = 1; t0 + k * dt <= t1 + 1e-9; k++) {
    const t = Math.round((t0 + k * dt) * 1000) / 1000;
    sm.onImage(t, img(t));
  }
}

function machine(opts: EpisodeStateOptions = {}): { sm: EpisodeStateMachine; f: FakeFactory } {
  const f = new FakeFactory();
  return { sm: new EpisodeStateMachine(f, opts), f };
}

const W: [number, number, number] = [1.15, 0, 0];
const D: [number, number, number] = [0, -1.15, 0];
const STOP: [number, number, number] = [0, 0, 0];

test("on_action: episode_start at rest, one frame per key just after it, space within the hold -> stop_action", async () => {
  const { sm, f } = machine({ scenario: "1box_hori_left_core_medium", instruction: "go" });
  camera(sm, 99, 100); // before the episode: ignored
  assert.equal(sm.onEpisodeCommand(100, "start").kind, "started");
  assert.deepEqual(f.starts[0], { t: 100, startTime: new Date(100_000), scenario: "1box_hori_left_core_medium", instruction: "go" });
  camera(sm, 100, 101);
  sm.onCommand(101.05, W);
  camera(sm, 101, 101.4);
  sm.onCommand(101.46, STOP); // the teleop's own auto-stop, 0.41 s later: no frame
  camera(sm, 101.4, 102);
  sm.onCommand(102.02, D);
  camera(sm, 102, 102.2);
  sm.onCommand(102.25, STOP); // space while d is still active
  sm.onCommand(102.3, STOP); // repeated stop: nothing more
  camera(sm, 102.2, 103);
  const tr = sm.onEpisodeCommand(103.05, "stop");
  assert.equal(tr.kind, "stopped");
  if (tr.kind === "stopped") assert.equal(await tr.result, "fake.h5");
  assert.deepEqual(f.last.frames.map(shot), [
    ["episode_start", "t=100.100", STOP],
    ["start_action", "t=101.100", W],
    ["start_action", "t=102.100", D],
    // stop_capture_delay_s (0.35): the first camera frame at or after 102.6
    ["stop_action", "t=102.600", STOP],
  ]);
  assert.deepEqual(f.last.closedAt, new Date(103_050));
  assert.deepEqual(sm.episodeStats, { frames: 4, dropped: 0, skipped: 0 });
  assert.equal(sm.recording, false);
});

test("on_action: a zero a few ms short of the hold is the teleop's auto-stop (no frame); a stop key earlier in the hold takes one", () => {
  // Live, the auto-stop published one hold after the key can arrive 0.397 s after the key's command.
  const { sm, f } = machine();
  sm.onEpisodeCommand(0, "start");
  camera(sm, 0, 1);
  sm.onCommand(1.01, W);
  camera(sm, 1, 1.3);
  sm.onCommand(1.407, STOP); // auto-stop, 3 ms early: no frame
  camera(sm, 1.3, 2);
  sm.onCommand(2.01, D);
  camera(sm, 2, 2.2);
  sm.onCommand(2.29, STOP); // space 0.28 s after d: a stop_action frame
  camera(sm, 2.2, 3);
  assert.deepEqual(f.last.frames.map(shot), [
    ["episode_start", "t=0.100", STOP],
    ["start_action", "t=1.100", W],
    ["start_action", "t=2.100", D],
    ["stop_action", "t=2.700", STOP],
  ]);
});

test("the active command is the last one within its hold time, else zero", () => {
  const h = new CommandHold<Action3>([0, 0, 0], 0.4);
  assert.deepEqual(h.activeAt(5), [0, 0, 0]);
  h.push(10, W);
  assert.deepEqual(h.activeAt(9.99), [0, 0, 0]);
  assert.deepEqual(h.activeAt(10), W);
  assert.deepEqual(h.activeAt(10.39), W);
  assert.deepEqual(h.activeAt(10.4), [0, 0, 0]);
  h.push(10.3, D);
  assert.deepEqual(h.activeAt(10.65), D);
  assert.deepEqual(h.activeAt(10.2), W, "a late camera frame still sees the command of its time");
  h.push(10.5, STOP);
  assert.deepEqual(h.activeAt(10.55), [0, 0, 0]);
  const long = new CommandHold<Action3>([0, 0, 0], 1.5);
  long.push(0, W);
  assert.deepEqual(long.activeAt(1.4), W);
  assert.throws(() => new CommandHold<Action3>([0, 0, 0], 0), /hold time 0/);
});

test("a camera frame older than the command is not used for it", () => {
  const { sm, f } = machine();
  sm.onEpisodeCommand(0, "start");
  sm.onImage(0.05, img(0.05));
  sm.onCommand(1.0, W);
  // Arrives after the command but was taken before it (camera latency).
  sm.onImage(0.98, img(0.98));
  sm.onImage(1.02, img(1.02));
  assert.deepEqual(f.last.frames.map(shot), [
    ["episode_start", "t=0.050", STOP],
    ["start_action", "t=1.020", W],
  ]);
});

test("a frame still waiting when the next command comes is taken from the newest unused camera frame, or dropped", () => {
  const { sm, f } = machine();
  sm.onEpisodeCommand(0, "start");
  sm.onImage(0.1, img(0.1));
  // w then d with no camera frame in between: w's frame cannot be taken honestly.
  sm.onCommand(1.0, W);
  sm.onCommand(1.1, D);
  sm.onImage(1.15, img(1.15));
  // space, then w before the stop's 0.35 s settle time: the stop frame comes from
  // the newest camera frame after the stop instead of being lost.
  sm.onCommand(1.3, STOP);
  sm.onImage(1.4, img(1.4));
  sm.onImage(1.5, img(1.5));
  sm.onCommand(1.55, W);
  sm.onImage(1.6, img(1.6));
  assert.deepEqual(f.last.frames.map(shot), [
    ["episode_start", "t=0.100", STOP],
    ["start_action", "t=1.150", D],
    ["stop_action", "t=1.500", STOP],
    ["start_action", "t=1.600", W],
  ]);
  assert.deepEqual(sm.episodeStats, { frames: 4, dropped: 1, skipped: 0 });
});

test("a key pressed before the first camera frame of the episode waits behind episode_start", () => {
  const { sm, f } = machine();
  sm.onEpisodeCommand(0, "start");
  sm.onCommand(0.2, W);
  sm.onImage(0.3, img(0.3));
  sm.onImage(0.4, img(0.4));
  assert.deepEqual(f.last.frames.map(shot), [
    ["episode_start", "t=0.300", W],
    ["start_action", "t=0.400", W],
  ]);
});

test("interval capture: one frame every capture_interval_s with the command active then", () => {
  const { sm, f } = machine({ capture: "interval", captureIntervalS: 0.5 });
  sm.onEpisodeCommand(0, "start");
  camera(sm, 0, 0.4);
  sm.onCommand(0.45, W);
  camera(sm, 0.4, 2.0);
  sm.onEpisodeCommand(2.1, "stop");
  assert.deepEqual(f.last.frames.map(shot), [
    ["episode_start", "t=0.100", STOP],
    ["start_action", "t=0.600", W],
    ["stop_action", "t=1.100", STOP],
    ["stop_action", "t=1.600", STOP],
  ]);
});

test("too short, discard, and commands that do not apply", async () => {
  const { sm, f } = machine();
  assert.equal(sm.onEpisodeCommand(0, "stop").kind, "ignored");
  assert.equal(sm.onEpisodeCommand(0, "discard").kind, "ignored");
  sm.onEpisodeCommand(1, "start");
  assert.equal(sm.onEpisodeCommand(1.1, "start").kind, "ignored");
  sm.onImage(1.2, img(1.2));
  const short = sm.onEpisodeCommand(2, "stop");
  assert.equal(short.kind, "too_short");
  if (short.kind === "too_short") await short.result;
  assert.equal(f.last.discarded, true);
  assert.equal(f.last.closedAt, null);

  sm.onEpisodeCommand(3, "start");
  camera(sm, 3, 4);
  sm.onCommand(3.5, W);
  camera(sm, 4, 4.5);
  const d = sm.onEpisodeCommand(5, "discard");
  assert.equal(d.kind, "discarded");
  if (d.kind === "discarded") {
    assert.equal(d.frames, 2);
    await d.result;
  }
  assert.equal(f.last.discarded, true);
  assert.equal(f.last.closedAt, null);
  assert.equal(sm.recording, false);
  // Images and commands between episodes go nowhere.
  camera(sm, 5, 6);
  assert.equal(f.sinks.length, 2);
  assert.equal(f.last.frames.length, 2);

  f.failWith = new Error("exists");
  const failed = sm.onEpisodeCommand(7, "start");
  assert.equal(failed.kind, "failed");
  if (failed.kind === "failed") assert.equal(failed.error.message, "exists");
  assert.equal(sm.recording, false);
});

test("with the real writer: the state machine's episode lands on disk with the collector's name and content", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "episode-state-"));
  const errors: Error[] = [];
  const saved: string[] = [];
  const sm = new EpisodeStateMachine(writerSinkFactory(dir, { onError: (e) => errors.push(e), onSaved: (p) => saved.push(p) }), {
    scenario: "2box_right",
    instruction: "Navigate to the gray basket on the right",
    toDate: (t) => new Date(2025, 11, 3, 18, 0, 0, t * 1000),
  });
  const frame = (v: number): ImageMessage => rgb8Message(8, 4, [v, v + 1, v + 2]);
  sm.onEpisodeCommand(0, "start");
  sm.onImage(0.1, frame(10));
  sm.onCommand(1, [1.15, 1.15, 0]);
  sm.onImage(1.1, frame(20));
  // The camera switches resolution: that frame is refused, the episode goes on.
  sm.onCommand(2, [0, 0, -1.15]);
  sm.onImage(2.1, rgb8Message(16, 4, [1, 1, 1]));
  sm.onCommand(3, [-1.15, 0, 0]);
  sm.onImage(3.1, frame(30));
  sm.onCommand(3.2, STOP);
  sm.onImage(3.6, frame(40));
  const tr = sm.onEpisodeCommand(4.5, "stop");
  assert.equal(tr.kind, "stopped");
  const file = tr.kind === "stopped" ? await tr.result : "";
  assert.equal(path.basename(file), "episode_20251203_180000_2box_right.h5");
  assert.deepEqual(saved, [file]);
  assert.equal(errors.length, 1);
  assert.match(errors[0].message, /frame 2 is 16x4 but this episode's frames are 8x4/);
  const ep = openEpisode(file);
  try {
    assert.equal(ep.numFrames, 4);
    assert.deepEqual(ep.eventTypes, ["episode_start", "start_action", "start_action", "stop_action"]);
    const f = Math.fround(1.15);
    assert.deepEqual(Array.from(ep.actions), [0, 0, 0, f, f, 0, -f, 0, 0, 0, 0, 0]);
    assert.deepEqual(Array.from(ep.frame(3).data.subarray(0, 3)), [42, 41, 40]);
    assert.equal(ep.attrs.total_duration, 4.5);
    assert.equal(ep.attrs.time_period, "night");
    assert.equal(ep.instruction, "Navigate to the gray basket on the right");
  } finally {
    ep.close();
  }
});

test("a failed save reaches onError even when nobody awaits the result, and the result still rejects", async () => {
  const errors: Error[] = [];
  const f = new FakeFactory();
  const sm = new EpisodeStateMachine(f, { onError: (e) => errors.push(e) });
  sm.onEpisodeCommand(0, "start");
  f.last.close = () => Promise.reject(new Error("disk full"));
  camera(sm, 0, 0.2);
  sm.onCommand(0.25, W);
  camera(sm, 0.2, 0.4);
  const tr = sm.onEpisodeCommand(1, "stop");
  assert.equal(tr.kind, "stopped");
  if (tr.kind === "stopped") await assert.rejects(tr.result, /disk full/);
  assert.deepEqual(
    errors.map((e) => e.message),
    ["disk full"],
  );
});

test("a broken camera frame does not use up a key press: the next good frame is captured for it", () => {
  const errors: Error[] = [];
  const { sm, f } = machine({ onError: (e) => errors.push(e) });
  sm.onEpisodeCommand(0, "start");
  sm.onImage(0.05, img(0.05));
  sm.onCommand(0.2, W);
  sm.onImage(0.3, { kind: "raw", width: 4, height: 2, encoding: "bgr8", step: 12, isBigEndian: false, data: new Uint8Array(10) });
  sm.onImage(0.35, { kind: "compressed", format: "jpeg", data: Uint8Array.from([1, 2, 3]) });
  sm.onImage(0.4, img(0.4));
  assert.deepEqual(f.last.frames.map(shot), [
    ["episode_start", "t=0.050", STOP],
    ["start_action", "t=0.400", W],
  ]);
  assert.equal(errors.length, 2, `two skipped frames reported: ${errors.map((e) => e.message).join(" | ")}`);
  assert.match(errors[0]!.message, /skipped \(image\.data: 10 bytes is shorter than step\*height/);
  assert.equal(sm.episodeStats.skipped, 2);
});

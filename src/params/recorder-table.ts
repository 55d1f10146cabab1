// The episode_recorder parameters, in one table (param-table.ts), as vla_policy's are.
// The capture and writer settings' value rules are episode-options.ts's (the one check
// behind the state machine, the writer, bag2episodes and this node), so the specs
// here read the types and the relations hand the values to those rules.
import type { ChannelOrder } from "../model/manifest.js";
import { captureOptionProblems, writerOptionProblems } from "../episodes/episode-options.js";
import type { CapturePolicy } from "../episodes/episode-state.js";
import { TELEOP_HOLD_S } from "../mobile-vla/teleop.js";
import { ParamTable } from "./param-table.js";
import { boolParam, numberParam, stringParam } from "./spec.js";

const RECORDER_PARAMS = {
  output_dir: stringParam({
    applies: "configure",
    default: "",
    check: (s) => (s.trim() === "" ? "a folder path (output_dir:=/data/episodes)" : null),
    description: "Folder for `episode_YYYYMMDD_HHMMSS[_<scenario>].h5` files; created if missing. Required.",
  }),
  capture: stringParam({
    applies: "configure",
    default: "on_action",
    description: "on_action: one frame per teleop key press (how the Mobile-VLA data was collected); interval: one frame every capture_interval_s.",
  }),
  capture_interval_s: numberParam({ applies: "configure", unit: "s", default: 1.0, description: "Frame spacing for capture: interval, at least 0.01." }),
  hold_s: numberParam({ applies: "configure", unit: "s", default: TELEOP_HOLD_S, description: "How long one key's command lasts (the teleop's auto-stop)." }),
  scenario: stringParam({
    applies: "live",
    default: "",
    description:
      "Scenario tags for file names (letters, digits, _ and -); empty: none. `start <tags>` on the episode topic overrides it per episode; set on a running node, it names the next episode started.",
  }),
  channel_order: stringParam({ applies: "configure", default: "bgr", description: "Channel order of stored frames: bgr (the reference data) or rgb." }),
  gzip: numberParam({
    applies: "configure",
    unit: "",
    default: 0,
    integer: true,
    description: "gzip level 0..9 for the images dataset (0 = off: fastest to write).",
  }),
  autostart: boolParam({
    applies: "start",
    default: true,
    description: "Configure and activate at start; false waits for `ros2 lifecycle set` or nav2's lifecycle manager.",
  }),
};

/** The one check of episode_recorder's parameters: at configure and on `ros2 param set`. */
export const RECORDER_TABLE = new ParamTable(RECORDER_PARAMS, (p, ok) => [
  ...captureOptionProblems({
    capture: ok("capture") ? (p.capture as CapturePolicy) : undefined,
    captureIntervalS: ok("capture_interval_s") ? p.capture_interval_s : undefined,
    holdS: ok("hold_s") ? p.hold_s : undefined,
  }),
  ...writerOptionProblems(
    {
      scenario: ok("scenario") && p.scenario !== "" ? p.scenario : undefined,
      channelOrder: ok("channel_order") ? (p.channel_order as ChannelOrder) : undefined,
      gzip: ok("gzip") ? p.gzip : undefined,
    },
    { scenario: "scenario", channelOrder: "channel_order", gzip: "gzip", flushEvery: "flush_every" },
  ),
]);

export interface RecorderParams {
  output_dir: string;
  capture: CapturePolicy;
  capture_interval_s: number;
  hold_s: number;
  /** Scenario tags for file names ("" = none). */
  scenario: string;
  channel_order: ChannelOrder;
  /** gzip level 0..9 for images (0 = off). */
  gzip: number;
  /** Configure and activate at start. */
  autostart: boolean;
}

/** The recorder's parameters, checked; throws one ParamsError naming every bad one. */
export function parseRecorderParams(raw: Record<string, unknown>): RecorderParams {
  const p = RECORDER_TABLE.parse(raw);
  // The relations above checked both against episode-options' rules.
  return { ...p, capture: p.capture as CapturePolicy, channel_order: p.channel_order as ChannelOrder };
}

// pipeline.diagnostics() -> diagnostic_msgs/msg/DiagnosticArray, and the node
// logger adapter. The level follows what an operator must act on: ERROR when the
// model fails or emits garbage, WARN when the robot is held still by the camera
// or the e-stop, OK otherwise (waiting for an instruction is a normal state).
import type { PipelineDiagnostics, PipelineLogger } from "../control/pipeline.js";
import type { Reason } from "../control/command.js";
import { stampFromSeconds, type HeaderMsg } from "./msg-convert.js";
import type { RosLogger } from "./rclnodejs-api.js";

/** diagnostic_msgs/msg/DiagnosticStatus levels (a `byte`: plain numbers in rclnodejs). */
export const DIAG_LEVEL = { OK: 0, WARN: 1, ERROR: 2, STALE: 3 } as const;

export interface KeyValueMsg {
  key: string;
  value: string;
}

export interface DiagnosticStatusMsg {
  level: number;
  name: string;
  message: string;
  hardware_id: string;
  values: KeyValueMsg[];
}

export interface DiagnosticArrayMsg {
  header: HeaderMsg;
  status: DiagnosticStatusMsg[];
}

const MESSAGES: Record<Reason, string> = {
  ok: "driving",
  no_action: "waiting for the first chunk",
  no_instruction: "waiting for an instruction",
  estop: "e-stop engaged",
  stale_camera: "camera stale: stopped",
  invalid_output: "model output invalid: stopped",
  policy_error: "policy step failed: stopped",
  shutdown: "shut down",
};

function levelOf(d: PipelineDiagnostics): number {
  if (!d.running) return DIAG_LEVEL.STALE;
  switch (d.safety_state) {
    case "policy_error":
    case "invalid_output":
      return DIAG_LEVEL.ERROR;
    case "stale_camera":
    case "estop":
      return DIAG_LEVEL.WARN;
    default:
      return DIAG_LEVEL.OK;
  }
}

function show(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toFixed(4);
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/** One DiagnosticStatus named `<node>: pipeline` with every diagnostics field as a key/value. */
export function diagnosticArray(d: PipelineDiagnostics, nodeName: string, stampS: number): DiagnosticArrayMsg {
  const values: KeyValueMsg[] = [];
  for (const [key, v] of Object.entries(d)) {
    if (key === "last_command") {
      const c = d.last_command;
      values.push({ key: "last_linear_x", value: c ? show(c.linear_x) : "" }, { key: "last_linear_y", value: c ? show(c.linear_y) : "" });
      continue;
    }
    values.push({ key, value: show(v) });
  }
  const message = d.running ? (d.safety_state ? MESSAGES[d.safety_state] : "starting") : "not running";
  return {
    header: { stamp: stampFromSeconds(stampS), frame_id: "" },
    status: [{ level: levelOf(d), name: `${nodeName}: pipeline`, message, hardware_id: "", values }],
  };
}

/** The pipeline's logger interface on top of the node's rclnodejs logger (one string per line). */
export function rosLogger(l: RosLogger): PipelineLogger {
  const fmt = (message: string, meta?: Record<string, unknown>): string =>
    meta && Object.keys(meta).length ? `${message} ${JSON.stringify(meta)}` : message;
  return {
    debug: (m, meta) => l.debug(fmt(m, meta)),
    info: (m, meta) => l.info(fmt(m, meta)),
    warn: (m, meta) => l.warn(fmt(m, meta)),
    error: (m, meta) => l.error(fmt(m, meta)),
  };
}

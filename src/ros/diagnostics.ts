// The vla_policy node's state -> diagnostic_msgs/msg/DiagnosticArray, and the node
// logger adapter. The level follows what an operator must act on: ERROR when the
// model fails, emits garbage or would not configure; WARN when the camera is stale
// (frames too old, or the camera service gone or silent), when inference is slower
// than frame_interval_s (the window then holds frames further apart than in
// training), or when the e-stop holds the robot; OK otherwise (waiting for an
// instruction, or a node not yet active, is a normal state). STALE once finalized.
import type { PipelineDiagnostics, PipelineLogger } from "../control/pipeline.js";
import type { Reason, StopReason } from "../control/command.js";
import type { ImageServiceStatus } from "./image-service-source.js";
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
  shutdown: "stopped",
};

/** Everything the policy node reports; null where the node has no such thing in its current state. */
export interface PolicyStatus {
  /** Lifecycle state label (unconfigured, inactive, active, ...). */
  lifecycle: string;
  /** Why the last configure or activate failed; null after a success. */
  startError: string | null;
  pipeline: PipelineDiagnostics | null;
  watchdogTimeoutS: number | null;
  camera: { source: "topic" | "service"; service: ImageServiceStatus | null } | null;
  model: { name: string; precision: string } | null;
  stops: Record<StopReason, number>;
  chunkAgeS: number | null;
  backbonePassesPerFrame: number | null;
  callbackErrors: number;
}

interface Finding {
  level: number;
  message: string;
}

function show(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toFixed(4);
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/** Every condition worth a level, most severe first is not required: the status takes the highest. */
function findings(s: PolicyStatus): Finding[] {
  if (s.lifecycle === "finalized") return [{ level: DIAG_LEVEL.STALE, message: "finalized" }];
  if (s.lifecycle !== "active") {
    return s.startError
      ? [{ level: DIAG_LEVEL.ERROR, message: `${s.lifecycle}: ${s.startError}` }]
      : [{ level: DIAG_LEVEL.OK, message: `${s.lifecycle}: not driving` }];
  }
  const d = s.pipeline;
  if (!d) return [{ level: DIAG_LEVEL.OK, message: "starting" }];
  const out: Finding[] = [];
  const reason = d.safety_state;
  if (reason === "policy_error" || reason === "invalid_output") out.push({ level: DIAG_LEVEL.ERROR, message: MESSAGES[reason] });
  const svc = s.camera?.service;
  const serviceTrouble = svc !== null && svc !== undefined && svc.detail !== "" && svc.state !== "ok";
  const tooOld = d.frame_age_s !== null && s.watchdogTimeoutS !== null && d.frame_age_s > s.watchdogTimeoutS;
  if (reason === "stale_camera" || tooOld || serviceTrouble) {
    const parts = [reason === "stale_camera" ? MESSAGES.stale_camera : "camera stale"];
    if (serviceTrouble) parts.push(svc.detail);
    else if (d.frame_age_s === null) parts.push("no frame received yet");
    else parts.push(`newest frame ${d.frame_age_s.toFixed(2)} s old (watchdog_timeout_s ${s.watchdogTimeoutS})`);
    out.push({ level: DIAG_LEVEL.WARN, message: parts.join(": ") });
  }
  const p50 = d.inference_latency_p50_s;
  if (p50 !== null && p50 > d.frame_interval_s) {
    out.push({
      level: DIAG_LEVEL.WARN,
      message: `inference p50 ${p50.toFixed(2)} s is slower than frame_interval_s ${d.frame_interval_s} s: the window holds frames further apart than in training`,
    });
  }
  if (d.estop) out.push({ level: DIAG_LEVEL.WARN, message: MESSAGES.estop });
  if (out.length === 0) out.push({ level: DIAG_LEVEL.OK, message: reason ? MESSAGES[reason] : "starting" });
  return out;
}

/** One DiagnosticStatus named `<node>: pipeline`: the level and message above, and every figure as a key/value. */
export function policyDiagnostics(s: PolicyStatus, nodeName: string, stampS: number): DiagnosticArrayMsg {
  const f = findings(s);
  const level = Math.max(...f.map((x) => x.level));
  const d = s.pipeline;
  const values: KeyValueMsg[] = [];
  const add = (key: string, v: unknown): void => void values.push({ key, value: show(v) });
  add("lifecycle_state", s.lifecycle);
  add("model_name", s.model?.name);
  add("model_precision", s.model?.precision);
  add("camera_source", s.camera?.source);
  add("camera_age_s", d?.frame_age_s);
  if (s.camera?.service) {
    const svc = s.camera.service;
    add("image_service_state", svc.state);
    add("image_service_requests", svc.requests);
    add("image_service_timeouts", svc.timeouts);
    add("image_service_unavailable", svc.unavailable);
    add("image_service_round_trip_s", svc.last_round_trip_s);
  }
  add("inference_latency_p50_s", d?.inference_latency_p50_s);
  add("inference_latency_p99_s", d?.inference_latency_p99_s);
  add("backbone_passes_per_frame", s.backbonePassesPerFrame);
  add("chunk_age_s", s.chunkAgeS);
  add("estop", d?.estop);
  for (const [reason, n] of Object.entries(s.stops)) add(`stops_${reason}`, n);
  add("callback_errors", s.callbackErrors);
  if (d) {
    const shown = new Set(["frame_age_s", "inference_latency_p50_s", "inference_latency_p99_s", "estop"]);
    for (const [key, v] of Object.entries(d)) {
      if (shown.has(key)) continue;
      if (key === "last_command") {
        const c = d.last_command;
        add("last_linear_x", c?.linear_x);
        add("last_linear_y", c?.linear_y);
        continue;
      }
      add(key, v);
    }
  }
  return {
    header: { stamp: stampFromSeconds(stampS), frame_id: "" },
    status: [{ level, name: `${nodeName}: pipeline`, message: f.map((x) => x.message).join("; "), hardware_id: "", values }],
  };
}

/** The pipeline's logger interface on top of the node's rclnodejs logger (one string per line). */
export function rosLogger(l: RosLogger): PipelineLogger {
  const fmt = (message: string, meta?: Record<string, unknown>): string => (meta && Object.keys(meta).length ? `${message} ${JSON.stringify(meta)}` : message);
  return {
    debug: (m, meta) => l.debug(fmt(m, meta)),
    info: (m, meta) => l.info(fmt(m, meta)),
    warn: (m, meta) => l.warn(fmt(m, meta)),
    error: (m, meta) => l.error(fmt(m, meta)),
  };
}

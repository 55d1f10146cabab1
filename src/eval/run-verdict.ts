// Whether a run produced a result at all. A source on which the policy never
// produced an action (no camera frame reached the model, every output NaN/Inf, no
// instruction, every frame stale) still yields a full table of zeros that looks
// like a model that never moves; such a run is a failed source instead, with the
// reason named. Partial problems are not failures: they are counted in the table.
import type { RunSeries } from "./types.js";

/** Seconds after which a frame is given up on (the watchdog), for the message. */
export interface VerdictContext {
  watchdogTimeoutS?: number;
}

function firstError(run: RunSeries): string {
  const first = run.outcome?.firstErrors[0];
  return first ? ` (first: ${first})` : "";
}

/**
 * Why the run has no result, or null when it has one. Runs without counts (built
 * by hand, not by the replay) are judged by their ticks only.
 */
export function noResultReason(run: RunSeries, ctx: VerdictContext = {}): string | null {
  if (run.error !== undefined) return null;
  const o = run.outcome;
  if (o && o.actions === 0) {
    const never = "the policy never produced an action";
    if (o.framesReceived === 0) {
      const undecodable = run.decodeErrors > 0 ? `; ${run.decodeErrors} message(s) could not be decoded` : "";
      return `${never}: no camera frame reached the model (0 frames received${undecodable})`;
    }
    if (o.steps === 0) {
      if (!o.instructed)
        return `${never}: no instruction (every instruction was empty, and none was given with --instruction); ${o.framesReceived} frame(s) received`;
      const watchdog = ctx.watchdogTimeoutS !== undefined ? ` (${ctx.watchdogTimeoutS} s)` : "";
      return (
        `${never}: none of the ${o.framesReceived} frame(s) received was given to the model, each was older than watchdog_timeout_s${watchdog} ` +
        `when its turn came (with --header-stamps: are the header stamps on the bag's clock?)`
      );
    }
    if (o.decodeErrors === o.steps) return `${never}: none of the ${o.steps} frame(s) given to the model could be decoded${firstError(run)}`;
    if (o.invalidOutputs > 0 && o.invalidOutputs + o.decodeErrors === o.steps) {
      return `${never}: every model output was NaN/Inf (${o.invalidOutputs} of ${o.steps} step(s); ${o.decodeErrors} undecodable)${firstError(run)}`;
    }
    if (o.decodeErrors + o.invalidOutputs + o.otherErrors === 0)
      return `${never} in ${o.steps} step(s): the window never held enough frames (window_fill wait?)`;
    return `${never} in ${o.steps} step(s): ${o.decodeErrors} undecodable, ${o.invalidOutputs} NaN/Inf, ${o.otherErrors} failed${firstError(run)}`;
  }
  if (run.ticks.length > 0 && run.ticks.every((t) => !isFiniteVec(t.pred) || !isFiniteVec(t.truth))) {
    return `no tick could be scored: the ground truth or the prediction was NaN/Inf on all ${run.ticks.length} tick(s)`;
  }
  return null;
}

function isFiniteVec(v: readonly number[]): boolean {
  return Number.isFinite(v[0]) && Number.isFinite(v[1]);
}

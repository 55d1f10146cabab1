// What the published commands say over time, for /diagnostics: how often the
// robot was stopped, by reason, and how old the chunk behind the last moving
// command was. A stop is counted when it begins (a command with a stop reason
// after one with another reason), not per control tick, so "stale_camera: 3"
// means three camera outages, whatever their length.
import { REASONS, type Command, type StopReason } from "../control/command.js";

const STOP_REASONS = REASONS.filter((r): r is StopReason => r !== "ok");

export class CommandStats {
  private readonly stops = new Map<StopReason, number>(STOP_REASONS.map((r) => [r, 0]));
  private lastReason: Command["reason"] | null = null;
  private chunkAge: number | null = null;

  observe(cmd: Command): void {
    if (cmd.reason !== "ok" && cmd.reason !== this.lastReason) this.stops.set(cmd.reason, (this.stops.get(cmd.reason) ?? 0) + 1);
    this.lastReason = cmd.reason;
    // Age of the chunk at the moment it was used; only moving commands use one.
    this.chunkAge = cmd.reason === "ok" && cmd.chunk_stamp !== null ? cmd.t - cmd.chunk_stamp : null;
  }

  /** Stops begun so far, by reason (every reason listed, zeros included). */
  stopCounts(): Record<StopReason, number> {
    return Object.fromEntries(this.stops) as Record<StopReason, number>;
  }

  /** Seconds between the last command and the frame its chunk answered; null when the last command used no chunk. */
  get chunkAgeS(): number | null {
    return this.chunkAge;
  }
}

// Progress for long evaluations: a redrawn bar on a terminal, plain lines in logs and CI.
import path from "node:path";

type Writable = { write(s: string): unknown; isTTY?: boolean; columns?: number };

export function progressReporter(out: Writable, totalRuns: number): (model: string, source: string, fraction: number, done: boolean) => void {
  let finished = 0;
  let lastDrawn = "";
  return (model, source, fraction, done) => {
    const label = `${model} on ${path.basename(source)}`;
    if (done) {
      finished++;
      if (out.isTTY) out.write("\r\x1b[K");
      out.write(`[${finished}/${totalRuns}] ${label}: done\n`);
      lastDrawn = "";
      return;
    }
    if (!out.isTTY) return;
    const width = Math.max(10, Math.min(40, (out.columns ?? 80) - label.length - 20));
    const filled = Math.round(fraction * width);
    const line = `[${finished + 1}/${totalRuns}] ${label} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${Math.round(fraction * 100)}%`;
    if (line !== lastDrawn) out.write(`\r\x1b[K${line}`);
    lastDrawn = line;
  };
}

// Plain-text comparison table for the terminal. Shared number formatting lives
// here too so the HTML table shows the same digits as the terminal.
import { METRICS } from "./metrics.js";
import type { MetricSpec } from "./metrics.js";
import type { Comparison, MetricKey, PairComparison } from "./types.js";

export function metricSpec(key: MetricKey): MetricSpec {
  const spec = METRICS.find((m) => m.key === key);
  if (!spec) throw new Error(`unknown metric ${key}`);
  return spec;
}

export function formatValue(v: number | null, digits: number): string {
  if (v === null || !Number.isFinite(v)) return "n/a";
  return v.toFixed(digits);
}

export function formatSigned(v: number | null, digits: number): string {
  if (v === null || !Number.isFinite(v)) return "n/a";
  const s = v.toFixed(digits);
  // toFixed keeps the sign of tiny negatives ("-0.0000"), which reads as a real difference.
  if (Number(s) === 0) return (0).toFixed(digits);
  return v > 0 ? `+${s}` : s;
}

/** "+0.0123 [+0.0050, +0.0200]", or just the difference when there is no CI. */
export function formatDiffWithCi(pair: PairComparison, key: MetricKey): string {
  const d = pair.diffs.find((x) => x.key === key);
  if (!d) return "n/a";
  const digits = metricSpec(key).digits;
  const diff = formatSigned(d.diff, digits);
  if (d.ciLow === null || d.ciHigh === null) return diff;
  return `${diff} [${formatSigned(d.ciLow, digits)}, ${formatSigned(d.ciHigh, digits)}]`;
}

export function metricLabel(spec: MetricSpec): string {
  return spec.unit ? `${spec.label} (${spec.unit})` : spec.label;
}

/** Model names and paths come from users; keep terminal control sequences out. */
export function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?");
}

export function schemeDescription(pair: PairComparison): string {
  const pct = Math.round(pair.confidence * 100);
  const units = pair.scheme === "sources" ? `${pair.units} sources resampled` : `${pair.units} contiguous ${pair.blockSeconds} s blocks resampled`;
  return `${pct}% paired bootstrap CI of ${printable(pair.b)} - ${printable(pair.a)}: ${units}, ${pair.replicates} replicates, seed ${pair.seed}`;
}

export function formatTable(comparison: Comparison): string {
  const header = ["metric", "better", ...comparison.models.map(printable)];
  for (const p of comparison.pairs) {
    const pct = Math.round(p.confidence * 100);
    header.push(`${printable(p.b)} - ${printable(p.a)} [${pct}% CI]`, "verdict");
  }
  const body = comparison.rows.map((row) => {
    const spec = metricSpec(row.key);
    const cells = [metricLabel(spec), row.better ?? "-"];
    row.values.forEach((v, i) => cells.push(formatValue(v, spec.digits) + (row.best.includes(i) ? "*" : " ")));
    for (const p of comparison.pairs) {
      const d = p.diffs.find((x) => x.key === row.key);
      cells.push(formatDiffWithCi(p, row.key), d && d.verdict !== "n/a" ? d.verdict : "");
    }
    return cells;
  });
  const all = [header, ...body];
  const widths = header.map((_, c) => Math.max(...all.map((r) => r[c].length)));
  const modelCols = new Set(comparison.models.map((_, i) => i + 2));
  const line = (r: string[]) =>
    r
      .map((cell, c) => (modelCols.has(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join("  ")
      .trimEnd();
  const out = [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)];
  out.push("", `* best per metric (better: higher/lower); ${comparison.sources.length} source(s) pooled`);
  for (const p of comparison.pairs) {
    out.push(schemeDescription(p) + (p.note ? ` (${p.note})` : ""));
  }
  for (const e of comparison.excludedSources) out.push(`excluded ${printable(e.source)}: ${printable(e.reason)}`);
  return out.join("\n") + "\n";
}

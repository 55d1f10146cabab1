// report.json (the data) and report.html (a self-contained page: inline CSS and
// SVG only, so it can be mailed or archived and still open offline).
import { compareModels } from "./compare.js";
import type { CompareOptions } from "./compare.js";
import { computeRunMetrics } from "./metrics.js";
import { commandPlotSvg, confusionSvg, escapeXml, histogramSvg, modelColor } from "./svg-plots.js";
import { formatDiffWithCi, formatValue, metricLabel, metricSpec, schemeDescription } from "./table.js";
import { trainerLossSummaries } from "./trainer-loss.js";
import type { EvalReport, MetricParams, ReportRun, RunSeries, SourceKind, Tick } from "./types.js";

export interface BuildReportOptions extends CompareOptions {
  /** Report time; default now. Fixed in tests for reproducible output. */
  generated?: Date | string;
}

export function buildReport(runs: readonly RunSeries[], opts: BuildReportOptions = {}): EvalReport {
  const comparison = compareModels(runs, opts);
  const params: MetricParams = comparison.params;
  const sources: { source: string; kind: SourceKind }[] = [];
  const seen = new Set<string>();
  for (const r of runs) {
    if (seen.has(r.source)) continue;
    seen.add(r.source);
    sources.push({ source: r.source, kind: r.sourceKind });
  }
  const generated = opts.generated === undefined ? new Date() : opts.generated;
  const reportRuns: ReportRun[] = runs.map((r) => {
    const out: ReportRun = {
      model: r.model,
      source: r.source,
      sourceKind: r.sourceKind,
      metrics: computeRunMetrics(r, params),
      // Copies, so later edits of the runner's arrays cannot change a built report.
      series: r.ticks.map((k) => ({ t: k.t, pred: [k.pred[0], k.pred[1]], truth: [k.truth[0], k.truth[1]] })),
    };
    if (r.error !== undefined) out.error = r.error;
    return out;
  });
  return {
    generated: typeof generated === "string" ? generated : generated.toISOString(),
    models: comparison.models,
    sources,
    runs: reportRuns,
    comparison,
    trainer_loss: trainerLossSummaries(runs, comparison.models),
  };
}

/**
 * JSON text of a report: indented, but number arrays (the [x, y] pairs, the
 * confusion rows) on one line each, so a 2400-tick series stays readable.
 * NaN/Infinity become null, as JSON.stringify does.
 */
export function reportToJson(report: EvalReport): string {
  return (
    JSON.stringify(report, null, 2).replace(
      /\[\s*((?:-?[\d.eE+-]+|null)(?:,\s*(?:-?[\d.eE+-]+|null))*)\s*\]/g,
      (_m, inner: string) => `[${inner.split(/,\s*/).join(", ")}]`,
    ) + "\n"
  );
}

const esc = escapeXml;

const CSS = `
body{font-family:"DejaVu Sans",Verdana,Arial,sans-serif;margin:24px auto;max-width:1140px;color:#222;line-height:1.4;padding:0 12px}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:19px;margin:32px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:15px;margin:20px 0 6px;word-break:break-all}
.meta{color:#555;font-size:13px;margin:2px 0}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:right;white-space:nowrap}
th{background:#f4f4f4}
td.l,th.l{text-align:left}
td.best{font-weight:bold;background:#e6f4ea}
.v-b{color:#0a6b2d;font-weight:bold}.v-a{color:#a0321e;font-weight:bold}.v-n{color:#666}
.note{background:#f7f7f2;border:1px solid #e4e4d8;padding:8px 14px;font-size:13px}
.note li{margin:3px 0}
.plots{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
svg{max-width:100%;height:auto}
.err{color:#a0321e}
.src{word-break:break-all;white-space:normal;text-align:left;max-width:420px}
`;

function verdictClass(v: string): string {
  return v === "B better" ? "v-b" : v === "A better" ? "v-a" : "v-n";
}

function summaryTable(report: EvalReport): string {
  const c = report.comparison;
  const head = [
    `<th class="l">metric</th><th class="l">better</th>`,
    ...c.models.map((m, i) => `<th style="border-bottom:3px solid ${modelColor(i)}">${esc(m)}</th>`),
    ...c.pairs.map((p) => `<th>${esc(p.b)} &minus; ${esc(p.a)} [${Math.round(p.confidence * 100)}% CI]</th><th class="l">verdict</th>`),
  ].join("");
  const rows = c.rows.map((row) => {
    const spec = metricSpec(row.key);
    const better = row.better === "higher" ? "&uarr; higher" : row.better === "lower" ? "&darr; lower" : "&ndash;";
    const cells = [`<td class="l">${esc(metricLabel(spec))}</td><td class="l">${better}</td>`];
    row.values.forEach((v, i) => {
      const best = row.best.includes(i);
      cells.push(`<td${best ? ` class="best"` : ""}>${esc(formatValue(v, spec.digits))}${best ? " *" : ""}</td>`);
    });
    for (const p of c.pairs) {
      const d = p.diffs.find((x) => x.key === row.key);
      const v = d?.verdict ?? "n/a";
      cells.push(`<td>${esc(formatDiffWithCi(p, row.key))}</td><td class="l ${verdictClass(v)}">${v === "n/a" ? "" : esc(v)}</td>`);
    }
    return `<tr>${cells.join("")}</tr>`;
  });
  return `<table><thead><tr>${head}</tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function howToRead(report: EvalReport): string {
  const p = report.comparison.params;
  return `<div class="note"><b>How to read this</b><ul>
<li>Each tick compares the command the pipeline sent (after safety) with the teleop command active at that moment. Metrics are pooled over the compared sources, weighted by ticks.</li>
<li>A command <i>moves</i> the base when its speed exceeds ${esc(String(p.moveThreshold))} (the hardware deadzone); the hardware uses only its direction. <b>Direction agreement</b>: among ticks where either command moves, the share where both move and their cosine exceeds ${esc(String(p.cosThreshold))}. <b>Direction-class accuracy</b>: the share of all ticks where both fall in the same teleop class (stop or one of 8 sectors of 45&deg;).</li>
<li><b>*</b> and green mark the best model per metric (the <i>better</i> column says whether higher or lower wins). The CI column is the difference B &minus; A with a paired bootstrap interval; a verdict is given only when the interval excludes 0, otherwise the difference may be noise.</li>
<li>Latency and backbone passes have no interval: they describe compute, not agreement with the teleop.</li>
<li><b>Trainer loss</b> (episodes only): the validation loss as the training code computes it: every window start 0 .. len&minus;(W+N) of an episode, the head over W frames from a fresh state, Huber (delta 1) of the raw head output against the next actions clamped to [&minus;1, 1], over all W positions &times; N steps &times; 2 axes; averaged over windows. Not defined for discrete heads.</li>
</ul></div>`;
}

function truthFor(runs: readonly ReportRun[]): Tick[] {
  const withTicks = runs.find((r) => r.error === undefined && r.series.length > 0) ?? runs.find((r) => r.series.length > 0);
  return withTicks ? withTicks.series : [];
}

function sourceSection(report: EvalReport, source: string, kind: SourceKind): string {
  const runs = report.runs.filter((r) => r.source === source);
  const models = report.models
    .map((name, i) => ({ name, color: modelColor(i), run: runs.find((r) => r.model === name) }))
    .filter((m) => m.run !== undefined && m.run.series.length > 0)
    .map((m) => ({ name: m.name, color: m.color, ticks: m.run!.series }));
  const truth = truthFor(runs);
  const svg = models.length > 0 || truth.length > 0 ? commandPlotSvg({ title: `${kind}: ${source}`, models, truth }) : `<p class="meta">No ticks to plot.</p>`;
  const errors = runs
    .filter((r) => r.error !== undefined)
    .map((r) => `<p class="err">${esc(r.model)} failed on this source: ${esc(r.error ?? "")}</p>`)
    .join("");
  return `<h3>${esc(source)} <span class="meta">(${esc(kind)})</span></h3>${errors}<div class="plots">${svg}</div>`;
}

function trainerLossSection(report: EvalReport): string {
  const entries = Object.entries(report.trainer_loss);
  if (entries.length === 0) return "";
  const items = entries.map(([model, s]) => {
    if (!s.applicable) return `<li><b>${esc(model)}</b>: not applicable (${esc(s.reason)})</li>`;
    const notes = s.episodes.filter((e) => e.note).map((e) => `<li class="meta"><span class="src">${esc(e.source)}</span>: ${esc(e.note ?? "")}</li>`);
    return `<li><b>${esc(model)}</b>: ${esc(formatValue(s.mean, 4))} over ${s.windows} window(s) of ${s.episodes.length} episode(s)${
      notes.length ? `<ul>${notes.join("")}</ul>` : ""
    }</li>`;
  });
  return `<h2>Trainer loss</h2><p class="meta">The training log's val_loss recomputed on these episodes (per episode in the table below; report.json <code>trainer_loss</code>).</p><ul>${items.join("")}</ul>`;
}

function perRunTable(report: EvalReport): string {
  const head = `<tr><th class="l">source</th><th class="l">model</th><th>ticks</th><th>MAE x</th><th>MAE y</th><th>dir. agree</th><th>class acc.</th><th>stop/move</th><th>chunk MAE</th><th>trainer loss</th><th>trainer windows</th><th>p50 ms</th><th class="l">error</th></tr>`;
  const rows = report.runs.map((r) => {
    const m = r.metrics;
    const f = (v: number | null, d = 4) => esc(formatValue(v, d));
    return `<tr><td class="src">${esc(r.source)}</td><td class="l">${esc(r.model)}</td><td>${m.ticks}</td><td>${f(m.maeX)}</td><td>${f(m.maeY)}</td><td>${f(m.directionAgreement)}</td><td>${f(m.directionAccuracy)}</td><td>${f(m.stopMoveAgreement)}</td><td>${f(m.chunkMae)}</td><td>${f(m.trainerLoss)}</td><td>${r.sourceKind === "episode" ? m.trainerWindows : "&ndash;"}</td><td>${f(m.latencyP50Ms, 1)}</td><td class="l err">${esc(r.error ?? "")}</td></tr>`;
  });
  return `<table><thead>${head}</thead><tbody>${rows.join("")}</tbody></table>`;
}

export interface HtmlOptions {
  /** Sources that get a time-series plot (the rest appear in the tables only). Default 12. */
  maxSourcePlots?: number;
}

export function renderReportHtml(report: EvalReport, opts: HtmlOptions = {}): string {
  const c = report.comparison;
  const maxPlots = opts.maxSourcePlots ?? 12;
  const compared = new Set(c.sources);
  const params = c.params;

  const errorSeries = report.models.map((name, i) => {
    const values: number[] = [];
    for (const r of report.runs) {
      if (r.model !== name || !compared.has(r.source)) continue;
      for (const k of r.series) values.push(Math.hypot(k.pred[0] - k.truth[0], k.pred[1] - k.truth[1]));
    }
    return { name, color: modelColor(i), values };
  });
  const hist = histogramSvg({
    title: "Per-tick command error |pred \u2212 teleop|",
    xLabel: "error magnitude (command units)",
    series: errorSeries,
  });
  const confusions = c.pooled.map((p) => confusionSvg({ title: `${p.model}: direction classes`, matrix: p.metrics.confusion })).join("");

  const plotted = report.sources.slice(0, maxPlots);
  const sections = plotted.map((s) => sourceSection(report, s.source, s.kind)).join("");
  const more =
    report.sources.length > plotted.length
      ? `<p class="meta">Plots for the first ${plotted.length} of ${report.sources.length} sources; every source is in the metrics and the table below.</p>`
      : "";
  const excluded =
    c.excludedSources.length > 0
      ? `<h2>Excluded from the comparison</h2><ul>${c.excludedSources
          .map((e) => `<li><span class="src">${esc(e.source)}</span>: <span class="err">${esc(e.reason)}</span></li>`)
          .join("")}</ul>`
      : "";
  const schemes = c.pairs.map((p) => `<p class="meta">${esc(schemeDescription(p))}${p.note ? ` (${esc(p.note)})` : ""}</p>`).join("");

  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Mobile-VLA evaluation: ${esc(report.models.join(" vs "))}</title>
<style>${CSS}</style></head><body>
<h1>Mobile-VLA evaluation</h1>
<p class="meta">generated ${esc(report.generated)} &middot; models: ${report.models
    .map((m, i) => `<b style="color:${modelColor(i)}">${esc(m)}</b>`)
    .join(", ")} &middot; ${c.sources.length} of ${report.sources.length} source(s) compared &middot; deadzone ${esc(
    String(params.moveThreshold),
  )}, cosine &gt; ${esc(String(params.cosThreshold))}</p>
<h2>Summary</h2>
${summaryTable(report)}
${schemes}
${howToRead(report)}
${excluded}
<h2>Predicted vs teleop over time</h2>
<p class="meta">Teleop in black, each model in its colour; long runs are drawn min/max-downsampled (metrics use every tick).</p>
${sections}${more}
<h2>Error distribution and direction classes</h2>
<div class="plots">${hist}</div>
<div class="plots">${confusions}</div>
${trainerLossSection(report)}
<h2>Per run</h2>
${perRunTable(report)}
</body></html>
`;
}

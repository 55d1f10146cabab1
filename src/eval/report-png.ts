// report.png: the headline plot (first source, every model, both axes) as a
// raster for places that cannot show HTML (issue comments, chat). librsvg inside
// sharp rasterises the same SVG the HTML embeds.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { renderReportHtml, reportToJson } from "./report-html.js";
import type { HtmlOptions } from "./report-html.js";
import { commandPlotSvg, modelColor } from "./svg-plots.js";
import type { EvalReport, Tick } from "./types.js";
import { namedWriteError, writeFileAtomic } from "../util/safe-write.js";

export interface PngOptions {
  width?: number;
  height?: number;
}

export const DEFAULT_PNG_SIZE = { width: 1200, height: 720 } as const;

/** The SVG behind report.png: predicted vs teleop on the first source that has ticks. */
export function mainPlotSvg(report: EvalReport, opts: PngOptions = {}): string {
  const width = opts.width ?? DEFAULT_PNG_SIZE.width;
  const height = opts.height ?? DEFAULT_PNG_SIZE.height;
  const first = report.sources.find((s) => report.runs.some((r) => r.source === s.source && r.series.length > 0)) ?? report.sources[0];
  const runs = first ? report.runs.filter((r) => r.source === first.source) : [];
  const models = report.models
    .map((name, i) => ({ name, color: modelColor(i), ticks: runs.find((r) => r.model === name)?.series ?? [] }))
    .filter((m) => m.ticks.length > 0);
  const truthRun = runs.find((r) => r.error === undefined && r.series.length > 0) ?? runs.find((r) => r.series.length > 0);
  const truth: Tick[] = truthRun ? truthRun.series : [];
  const title = first ? `Predicted vs teleop, ${first.kind}: ${first.source}` : "Predicted vs teleop (no sources)";
  return commandPlotSvg({ title, models, truth, width, height });
}

export async function svgToPng(svg: string): Promise<Buffer> {
  // density 72 keeps 1 SVG px = 1 PNG px, so the declared size is the image size.
  return sharp(Buffer.from(svg), { density: 72 }).png().toBuffer();
}

export async function renderReportPng(report: EvalReport, opts: PngOptions = {}): Promise<Buffer> {
  return svgToPng(mainPlotSvg(report, opts));
}

export interface ReportFiles {
  json: string;
  html: string;
  png: string;
}

/**
 * Writes report.json, report.html and report.png into dir (created if missing).
 * Everything is rendered first, then each file replaced atomically: a full disk
 * leaves an earlier report's files whole, and the error names the file.
 */
export async function writeReportFiles(dir: string, report: EvalReport, opts: HtmlOptions & PngOptions = {}): Promise<ReportFiles> {
  const files: ReportFiles = { json: join(dir, "report.json"), html: join(dir, "report.html"), png: join(dir, "report.png") };
  const contents: [string, string | Uint8Array][] = [
    [files.json, reportToJson(report)],
    [files.html, renderReportHtml(report, opts)],
    [files.png, await renderReportPng(report, opts)],
  ];
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    throw namedWriteError(dir, e, "cannot create the report folder");
  }
  for (const [file, data] of contents) await writeFileAtomic(file, data);
  return files;
}

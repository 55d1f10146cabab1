// Hand-written SVG plots for the report. The same SVG goes inline into the HTML
// and through sharp/librsvg into the PNG, so it must be valid standalone XML,
// carry its own white background and name a font librsvg can find.
import { DIRECTION_CLASSES, TELEOP_KEY } from "./direction.js";
import type { Tick } from "./types.js";

export const FONT_FAMILY = "DejaVu Sans, Verdana, Arial, sans-serif";
/** Okabe-Ito: distinguishable with common colour-vision deficiencies; black is kept for the truth. */
export const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442"] as const;
export const TRUTH_COLOR = "#000000";

export function modelColor(i: number): string {
  return PALETTE[i % PALETTE.length];
}

/**
 * Escapes text for XML and HTML alike. Characters XML 1.0 forbids (C0 controls,
 * lone surrogates, U+FFFE/U+FFFF) become U+FFFD: even escaped, they would make
 * librsvg reject the whole SVG, and a file name may contain them.
 */
export function escapeXml(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

const fmt = (v: number) => (Math.round(v * 10) / 10).toString();

/** About `count` round tick values (1, 2, 5 x 10^k steps) covering [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (max < min) [min, max] = [max, min];
  if (max === min) return [min];
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  const out: number[] = [];
  for (let v = Math.ceil(min / step - 1e-9) * step; v <= max + step * 1e-9; v += step) {
    out.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
  }
  return out;
}

function tickLabel(v: number): string {
  return Number(v.toPrecision(6)).toString();
}

/**
 * Keeps at most about 2 * buckets points by taking the min and the max of each
 * index bucket (in time order), so short spikes and steps survive downsampling.
 */
export function downsampleMinMax(points: readonly (readonly [number, number])[], buckets: number): [number, number][] {
  const finite = points.filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1])) as [number, number][];
  if (buckets < 1 || finite.length <= 2 * buckets) return finite.map((p) => [p[0], p[1]]);
  const out: [number, number][] = [];
  const size = finite.length / buckets;
  for (let b = 0; b < buckets; b++) {
    const start = Math.floor(b * size);
    const end = Math.floor((b + 1) * size);
    if (end <= start) continue;
    let lo = start;
    let hi = start;
    for (let i = start + 1; i < end; i++) {
      if (finite[i][1] < finite[lo][1]) lo = i;
      if (finite[i][1] > finite[hi][1]) hi = i;
    }
    if (lo === hi) out.push(finite[lo]);
    else if (lo < hi) out.push(finite[lo], finite[hi]);
    else out.push(finite[hi], finite[lo]);
  }
  return out;
}

function svgOpen(width: number, height: number, label: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `font-family="${FONT_FAMILY}" font-size="12" role="img" aria-label="${escapeXml(label)}">` +
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`
  );
}

function text(x: number, y: number, s: string, attrs = ""): string {
  return `<text x="${fmt(x)}" y="${fmt(y)}"${attrs ? " " + attrs : ""}>${escapeXml(s)}</text>`;
}

/** Shortens long labels (paths) from the left, where the distinguishing part usually is not. */
export function ellipsizeStart(s: string, max: number): string {
  const chars = [...s];
  return chars.length <= max ? s : "\u2026" + chars.slice(chars.length - max + 1).join("");
}

export interface CommandSeries {
  name: string;
  color: string;
  ticks: readonly Tick[];
}

export interface CommandPlotOptions {
  title: string;
  /** Each model's predictions. */
  models: readonly CommandSeries[];
  /** The teleop commands (truth) to draw in black. */
  truth: readonly Tick[];
  width?: number;
  height?: number;
  /** Plot points per panel before min/max downsampling kicks in (~2 per bucket). */
  buckets?: number;
}

/** Predicted vs teleop over time: linear_x on top, linear_y below, shared time axis. */
export function commandPlotSvg(opts: CommandPlotOptions): string {
  const width = opts.width ?? 1100;
  const height = opts.height ?? 560;
  const left = 70;
  const right = 20;
  const top = 66;
  const bottom = 46;
  const gap = 40;
  const plotW = width - left - right;
  const panelH = (height - top - bottom - gap) / 2;
  const buckets = opts.buckets ?? Math.max(50, Math.floor(plotW / 2));

  const allTicks = [opts.truth, ...opts.models.map((m) => m.ticks)];
  let t0 = Infinity;
  let t1 = -Infinity;
  for (const ts of allTicks) {
    for (const k of ts) {
      if (Number.isFinite(k.t)) {
        t0 = Math.min(t0, k.t);
        t1 = Math.max(t1, k.t);
      }
    }
  }
  if (!Number.isFinite(t0)) {
    t0 = 0;
    t1 = 1;
  }
  const span = t1 - t0 > 0 ? t1 - t0 : 1;
  const xOf = (t: number) => left + ((t - t0) / span) * plotW;

  const parts: string[] = [svgOpen(width, height, opts.title)];
  parts.push(text(left, 22, ellipsizeStart(opts.title, Math.floor(plotW / 7.5)), `font-size="15" font-weight="bold" fill="#222"`));

  // Legend: truth first, then models in order.
  const legend: { name: string; color: string; w: number }[] = [
    { name: "teleop (truth)", color: TRUTH_COLOR, w: 2.5 },
    ...opts.models.map((m) => ({ name: m.name, color: m.color, w: 2 })),
  ];
  let lx = left;
  for (const item of legend) {
    parts.push(`<line x1="${fmt(lx)}" y1="44" x2="${fmt(lx + 24)}" y2="44" stroke="${item.color}" stroke-width="${item.w}"/>`);
    const label = ellipsizeStart(item.name, 40);
    parts.push(text(lx + 30, 48, label, `fill="#222"`));
    lx += 30 + label.length * 7.2 + 22;
  }

  const axes: { name: string; axis: 0 | 1 }[] = [
    { name: "linear_x", axis: 0 },
    { name: "linear_y", axis: 1 },
  ];
  axes.forEach(({ name, axis }, p) => {
    const y0 = top + p * (panelH + gap);
    let vmin = 0;
    let vmax = 0;
    const include = (v: number) => {
      if (Number.isFinite(v)) {
        vmin = Math.min(vmin, v);
        vmax = Math.max(vmax, v);
      }
    };
    for (const k of opts.truth) include(k.truth[axis]);
    for (const m of opts.models) for (const k of m.ticks) include(k.pred[axis]);
    if (vmax - vmin < 1e-9) {
      vmin = -1;
      vmax = 1;
    }
    const pad = (vmax - vmin) * 0.06;
    vmin -= pad;
    vmax += pad;
    const yOf = (v: number) => y0 + panelH - ((v - vmin) / (vmax - vmin)) * panelH;

    parts.push(`<g>`);
    for (const v of niceTicks(vmin, vmax, 7)) {
      const y = yOf(v);
      parts.push(`<line x1="${left}" y1="${fmt(y)}" x2="${left + plotW}" y2="${fmt(y)}" stroke="${v === 0 ? "#888" : "#e3e3e3"}" stroke-width="1"/>`);
      parts.push(text(left - 8, y + 4, tickLabel(v), `text-anchor="end" fill="#444" font-size="11"`));
    }
    for (const v of niceTicks(0, span, 10)) {
      const x = xOf(t0 + v);
      parts.push(`<line x1="${fmt(x)}" y1="${fmt(y0)}" x2="${fmt(x)}" y2="${fmt(y0 + panelH)}" stroke="#f0f0f0" stroke-width="1"/>`);
      parts.push(text(x, y0 + panelH + 16, tickLabel(v), `text-anchor="middle" fill="#444" font-size="11"`));
    }
    parts.push(`<rect x="${left}" y="${fmt(y0)}" width="${plotW}" height="${fmt(panelH)}" fill="none" stroke="#999"/>`);
    parts.push(text(18, y0 + panelH / 2, name, `transform="rotate(-90 18 ${fmt(y0 + panelH / 2)})" text-anchor="middle" fill="#222" font-size="13"`));
    const line = (ticks: readonly Tick[], get: (k: Tick) => number, color: string, w: number, opacity: number) => {
      const pts = downsampleMinMax(
        ticks.map((k) => [k.t, get(k)] as const),
        buckets,
      );
      if (pts.length === 0) return;
      const d = pts.map(([t, v]) => `${fmt(xOf(t))},${fmt(yOf(v))}`).join(" ");
      parts.push(`<polyline points="${d}" fill="none" stroke="${color}" stroke-width="${w}" stroke-opacity="${opacity}" stroke-linejoin="round"/>`);
    };
    // Truth last: it is piecewise constant and thin enough not to hide the models, while
    // noisy predictions drawn over it would hide it.
    for (const m of opts.models) line(m.ticks, (k) => k.pred[axis], m.color, 1.4, 0.85);
    line(opts.truth, (k) => k.truth[axis], TRUTH_COLOR, 2, 1);
    parts.push(`</g>`);
  });
  parts.push(text(left + plotW / 2, height - 10, "time since first tick (s)", `text-anchor="middle" fill="#222" font-size="12"`));
  parts.push(`</svg>`);
  return parts.join("");
}

export interface HistogramSeries {
  name: string;
  color: string;
  values: readonly number[];
}

export interface HistogramOptions {
  title: string;
  xLabel: string;
  series: readonly HistogramSeries[];
  bins?: number;
  width?: number;
  height?: number;
}

/** Overlaid step histograms, y = fraction of each series' values (models may have different counts). */
export function histogramSvg(opts: HistogramOptions): string {
  const width = opts.width ?? 540;
  const height = opts.height ?? 320;
  const bins = opts.bins ?? 30;
  const left = 56;
  const right = 16;
  const top = 52;
  const bottom = 44;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const parts: string[] = [svgOpen(width, height, opts.title)];
  parts.push(text(left, 20, opts.title, `font-size="14" font-weight="bold" fill="#222"`));

  let vmax = 0;
  for (const s of opts.series) for (const v of s.values) if (Number.isFinite(v)) vmax = Math.max(vmax, v);
  const xt = niceTicks(0, vmax > 0 ? vmax : 1, 6);
  const xmax = Math.max(xt[xt.length - 1] ?? 1, vmax > 0 ? vmax : 1);
  const binW = xmax / bins;
  const fractions = opts.series.map((s) => {
    const counts = new Array<number>(bins).fill(0);
    let n = 0;
    for (const v of s.values) {
      if (!Number.isFinite(v)) continue;
      counts[Math.min(bins - 1, Math.max(0, Math.floor(v / binW)))]++;
      n++;
    }
    return counts.map((c) => (n > 0 ? c / n : 0));
  });
  const fmax = Math.max(0.01, ...fractions.flat());
  const yt = niceTicks(0, fmax, 4);
  const ymax = Math.max(fmax, yt[yt.length - 1] ?? fmax);
  const xOf = (v: number) => left + (v / xmax) * plotW;
  const yOf = (f: number) => top + plotH - (f / ymax) * plotH;

  let lx = left;
  opts.series.forEach((s) => {
    parts.push(`<rect x="${fmt(lx)}" y="30" width="14" height="10" fill="${s.color}" fill-opacity="0.35" stroke="${s.color}"/>`);
    const label = ellipsizeStart(s.name, 30);
    parts.push(text(lx + 19, 39, label, `fill="#222" font-size="11"`));
    lx += 19 + label.length * 6.6 + 16;
  });
  for (const v of yt) {
    parts.push(`<line x1="${left}" y1="${fmt(yOf(v))}" x2="${left + plotW}" y2="${fmt(yOf(v))}" stroke="#e3e3e3"/>`);
    parts.push(text(left - 6, yOf(v) + 4, tickLabel(v), `text-anchor="end" fill="#444" font-size="11"`));
  }
  for (const v of xt) {
    parts.push(text(xOf(v), top + plotH + 16, tickLabel(v), `text-anchor="middle" fill="#444" font-size="11"`));
  }
  fractions.forEach((fr, i) => {
    const color = opts.series[i].color;
    const pts: string[] = [`${fmt(xOf(0))},${fmt(yOf(0))}`];
    fr.forEach((f, b) => {
      pts.push(`${fmt(xOf(b * binW))},${fmt(yOf(f))}`, `${fmt(xOf((b + 1) * binW))},${fmt(yOf(f))}`);
    });
    pts.push(`${fmt(xOf(xmax))},${fmt(yOf(0))}`);
    parts.push(`<polygon points="${pts.join(" ")}" fill="${color}" fill-opacity="0.18" stroke="${color}" stroke-width="1.6" stroke-linejoin="round"/>`);
  });
  parts.push(`<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`);
  parts.push(text(left + plotW / 2, height - 8, opts.xLabel, `text-anchor="middle" fill="#222"`));
  parts.push(
    text(14, top + plotH / 2, "fraction of ticks", `transform="rotate(-90 14 ${fmt(top + plotH / 2)})" text-anchor="middle" fill="#222" font-size="11"`),
  );
  parts.push(`</svg>`);
  return parts.join("");
}

const SHORT_CLASS: Readonly<Record<(typeof DIRECTION_CLASSES)[number], string>> = {
  stop: "stop",
  forward: "fwd",
  forward_left: "fwd-left",
  left: "left",
  back_left: "back-left",
  back: "back",
  back_right: "back-right",
  right: "right",
  forward_right: "fwd-right",
};

export function classLabel(i: number): string {
  const c = DIRECTION_CLASSES[i];
  return `${SHORT_CLASS[c]} (${TELEOP_KEY[c]})`;
}

export interface ConfusionOptions {
  title: string;
  /** matrix[truth][pred] counts in DIRECTION_CLASSES order. */
  matrix: readonly (readonly number[])[];
  cell?: number;
}

/** Heatmap of counts; colour is the row-normalised share, so each teleop class reads as "where did it go". */
export function confusionSvg(opts: ConfusionOptions): string {
  const cell = opts.cell ?? 40;
  const k = DIRECTION_CLASSES.length;
  const left = 128;
  const top = 118;
  // Room on the right for the last column label, which is rotated over it.
  const width = left + k * cell + 70;
  const height = top + k * cell + 34;
  const parts: string[] = [svgOpen(width, height, opts.title)];
  parts.push(text(10, 20, ellipsizeStart(opts.title, 60), `font-size="14" font-weight="bold" fill="#222"`));
  parts.push(text(left + (k * cell) / 2, 40, "predicted", `text-anchor="middle" fill="#222"`));
  parts.push(text(14, top + (k * cell) / 2, "teleop (truth)", `transform="rotate(-90 14 ${fmt(top + (k * cell) / 2)})" text-anchor="middle" fill="#222"`));
  for (let i = 0; i < k; i++) {
    const cx = left + i * cell + cell / 2;
    parts.push(text(cx, top - 8, classLabel(i), `transform="rotate(-50 ${fmt(cx)} ${top - 8})" fill="#333" font-size="11"`));
    parts.push(text(left - 6, top + i * cell + cell / 2 + 4, classLabel(i), `text-anchor="end" fill="#333" font-size="11"`));
  }
  for (let r = 0; r < k; r++) {
    const row = opts.matrix[r] ?? [];
    const total = row.reduce((a, b) => a + (b ?? 0), 0);
    for (let c = 0; c < k; c++) {
      const n = row[c] ?? 0;
      const f = total > 0 ? n / total : 0;
      // White to dark blue.
      const mix = (a: number, b: number) => Math.round(a + (b - a) * f);
      const fill = `rgb(${mix(255, 8)},${mix(255, 69)},${mix(255, 148)})`;
      const x = left + c * cell;
      const y = top + r * cell;
      parts.push(`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${fill}" stroke="#ccc"/>`);
      if (n > 0) {
        parts.push(text(x + cell / 2, y + cell / 2 + 4, String(n), `text-anchor="middle" font-size="11" fill="${f > 0.5 ? "#fff" : "#111"}"`));
      }
    }
  }
  for (let i = 0; i < k; i++) {
    parts.push(`<rect x="${left + i * cell}" y="${top + i * cell}" width="${cell}" height="${cell}" fill="none" stroke="#222" stroke-width="1.5"/>`);
  }
  parts.push(text(left, height - 10, "cell colour: share of the teleop row; diagonal outlined = agreement", `fill="#555" font-size="10"`));
  parts.push(`</svg>`);
  return parts.join("");
}

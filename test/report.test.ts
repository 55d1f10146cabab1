import { test } from "node:test";
import assert from "node:assert/strict";
import sharp from "sharp";
import { mulberry32 } from "../src/eval/bootstrap.js";
import { buildReport, renderReportHtml, reportToJson } from "../src/eval/report-html.js";
import { DEFAULT_PNG_SIZE, renderReportPng, svgToPng } from "../src/eval/report-png.js";
import { downsampleMinMax, escapeXml, niceTicks } from "../src/eval/svg-plots.js";
import { formatTable } from "../src/eval/table.js";
import type { EvalReport, RunSeries, Tick, Vec2 } from "../src/eval/types.js";

const EVIL = `bags/<script>alert("x")</script>&'\u0007.mcap`;
const GENERATED = "2026-01-02T03:04:05.000Z";

/** Two models over two sources, the first a 2-minute 20 Hz bag with a hostile name. */
function fixture(): RunSeries[] {
  const rng = mulberry32(42);
  const v = 1.15;
  const moves: Vec2[] = [
    [0, 0],
    [v, 0],
    [v, v],
    [0, v],
    [-v, 0],
    [0, -v],
    [v, -v],
  ];
  const runs: RunSeries[] = [];
  [
    { source: EVIL, n: 2400 },
    { source: "bags/second.mcap", n: 400 },
  ].forEach(({ source, n }) => {
    const truth: Vec2[] = [];
    while (truth.length < n) {
      const m = moves[Math.floor(rng() * moves.length)];
      for (let i = 0; i < 40 && truth.length < n; i++) truth.push(m);
    }
    for (const [model, noise] of [
      ["model-a", 0.3],
      ["model-b", 0.1],
    ] as const) {
      const ticks: Tick[] = truth.map((tr, i) => ({
        t: 1_733_200_000 + i * 0.05,
        pred: [tr[0] * 0.9 + noise * (rng() - 0.5), tr[1] * 0.9 + noise * (rng() - 0.5)],
        truth: tr,
      }));
      runs.push({
        model,
        source,
        sourceKind: "bag",
        ticks,
        chunks: [{ t: ticks[0].t, pred: [[0.1, 0]], truth: [[0, 0]] }],
        latenciesMs: [40, 45, 50],
        sampledFrames: 30,
        backboneRuns: 30,
        decodeErrors: 0,
      });
    }
  });
  runs.push({
    model: "model-a",
    source: "bags/broken.db3",
    sourceKind: "bag",
    ticks: [],
    chunks: [],
    latenciesMs: [],
    sampledFrames: 0,
    backboneRuns: 0,
    decodeErrors: 1,
    error: "no such table: messages",
  });
  return runs;
}

let cached: EvalReport | undefined;
function report(): EvalReport {
  cached ??= buildReport(fixture(), { generated: GENERATED, bootstrap: { replicates: 200 } });
  return cached;
}

test("report.json has the documented shape and survives a JSON round trip", () => {
  const r = report();
  const parsed = JSON.parse(reportToJson(r)) as EvalReport;
  assert.equal(parsed.generated, GENERATED);
  assert.deepEqual(parsed.models, ["model-a", "model-b"]);
  assert.deepEqual(parsed.sources, [
    { source: EVIL, kind: "bag" },
    { source: "bags/second.mcap", kind: "bag" },
    { source: "bags/broken.db3", kind: "bag" },
  ]);
  assert.equal(parsed.runs.length, 5);
  const first = parsed.runs[0];
  assert.equal(first.model, "model-a");
  assert.equal(first.source, EVIL);
  assert.equal(first.series.length, 2400);
  assert.deepEqual(Object.keys(first.series[0]).sort(), ["pred", "t", "truth"]);
  assert.equal(first.series[0].pred.length, 2);
  assert.equal(first.metrics.ticks, 2400);
  const broken = parsed.runs[4];
  assert.equal(broken.error, "no such table: messages");
  // Undefined metrics are null in JSON, not missing and not a crash.
  assert.equal(broken.metrics.maeX, null);
  assert.equal(broken.metrics.latencyP50Ms, null);
  assert.deepEqual(parsed.comparison.sources, [EVIL, "bags/second.mcap"]);
  assert.equal(parsed.comparison.pairs.length, 1);
  assert.equal(parsed.comparison.pairs[0].a, "model-a");
  assert.equal(parsed.comparison.pairs[0].b, "model-b");
  assert.deepEqual(parsed, JSON.parse(JSON.stringify(r)));
  // [x, y] pairs stay on one line.
  assert.match(reportToJson(r), /"pred": \[-?[\d.e-]+, -?[\d.e-]+\]/);
});

test("the terminal table aligns columns, marks the best with * and shows the CI and verdict", () => {
  const text = formatTable(report().comparison);
  const lines = text.split("\n");
  assert.match(lines[0], /^metric\s+better\s+model-a\s+model-b\s+model-b - model-a \[95% CI\]\s+verdict$/);
  const mae = lines.find((l) => l.startsWith("MAE linear_x"));
  assert.ok(mae);
  // model-b (less noise) is best; its value carries the star, model-a's does not.
  assert.match(mae, /^MAE linear_x\s+lower\s+\d\.\d{4}\s+\d\.\d{4}\*\s+-\d\.\d{4} \[-\d\.\d{4}, -\d\.\d{4}\]\s+B better$/);
  // The dashes under the header give the column spans; every row's model values are
  // right-aligned within them, ending in the star slot.
  const spans = [...lines[1].matchAll(/-+/g)].map((m) => [m.index, m.index + m[0].length] as const);
  assert.equal(spans.length, 6);
  const body = lines.slice(2, 2 + report().comparison.rows.length);
  assert.equal(body.length, 13);
  for (const l of body) {
    assert.match(l.slice(spans[1][0], spans[1][1]), /^(lower|higher|-)\s*$/, l);
    for (const [start, end] of [spans[2], spans[3]]) {
      assert.match(l.slice(start, end), /^\s*(\d+(\.\d+)?|n\/a)[* ]$/, `model column in: ${l}`);
    }
  }
  assert.match(text, /contiguous 2 s blocks resampled, 200 replicates, seed 1/);
  assert.match(text, /excluded bags\/broken\.db3: model model-a failed: no such table: messages; no run for model model-b/);
  // The bell character in the hostile name does not reach the terminal.
  assert.ok(!text.includes("\u0007"));
});

test("report.html is self-contained, has the plots, and escapes a hostile source name", () => {
  const html = renderReportHtml(report());
  assert.ok(html.startsWith("<!DOCTYPE html>"));
  // Two source plots, the histogram, two confusion matrices.
  assert.equal(html.match(/<svg /g)?.length, 5);
  assert.ok(!/<script/i.test(html), "no script element at all");
  assert.ok(!/<link|@import|url\(|src=|href=/i.test(html), "no external resources");
  assert.ok(html.includes("bags/&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;\ufffd.mcap"));
  assert.ok(!html.includes("\u0007"));
  assert.match(html, /How to read this/);
  assert.match(html, /class="best">0\.\d{4} \*</);
  assert.match(html, /B better/);
  assert.match(html, /no such table: messages/);
  // Truth in black; downsampling keeps a 2400-tick series well under 2400 points.
  const polylines = [...html.matchAll(/<polyline points="([^"]*)"[^>]*stroke="([^"]*)"/g)];
  assert.ok(polylines.some((m) => m[2] === "#000000"));
  const longest = Math.max(...polylines.map((m) => m[1].split(" ").length));
  assert.ok(longest < 1200, `longest polyline has ${longest} points`);
});

test("every SVG in the HTML is well-formed XML that librsvg renders", async () => {
  const svgs = [...renderReportHtml(report()).matchAll(/<svg [\s\S]*?<\/svg>/g)].map((m) => m[0]);
  assert.equal(svgs.length, 5);
  for (const svg of svgs) {
    const meta = await sharp(await svgToPng(svg)).metadata();
    assert.ok((meta.width ?? 0) > 100);
  }
});

test("report.png has the requested size and really draws the plot and its text", async () => {
  const png = await renderReportPng(report());
  const meta = await sharp(png).metadata();
  assert.equal(meta.format, "png");
  assert.equal(meta.width, DEFAULT_PNG_SIZE.width);
  assert.equal(meta.height, DEFAULT_PNG_SIZE.height);
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const px = (x: number, y: number) => {
    const i = (y * info.width + x) * info.channels;
    return [data[i], data[i + 1], data[i + 2]];
  };
  let blue = 0;
  let orange = 0;
  let titleDark = 0;
  for (let y = 0; y < info.height; y++) {
    for (let x = 0; x < info.width; x++) {
      const [r, g, b] = px(x, y);
      if (r < 60 && g > 80 && g < 150 && b > 140) blue++; // model-a, #0072B2
      if (r > 170 && g > 60 && g < 130 && b < 60) orange++; // model-b, #D55E00
      if (y < 30 && r < 100 && g < 100 && b < 100) titleDark++;
    }
  }
  assert.ok(blue > 2000, `model-a colour pixels: ${blue}`);
  assert.ok(orange > 2000, `model-b colour pixels: ${orange}`);
  // Glyphs in the title band: with no usable font this band stays white.
  assert.ok(titleDark > 300, `dark pixels in the title: ${titleDark}`);
  const small = await sharp(await renderReportPng(report(), { width: 640, height: 400 })).metadata();
  assert.deepEqual([small.width, small.height], [640, 400]);
});

test("a report of failed runs only still renders everywhere", async () => {
  const r = buildReport(
    [
      {
        model: "m",
        source: "gone.mcap",
        sourceKind: "bag",
        ticks: [],
        chunks: [],
        latenciesMs: [],
        sampledFrames: 0,
        backboneRuns: 0,
        decodeErrors: 0,
        error: "ENOENT",
      },
    ],
    { generated: GENERATED },
  );
  assert.deepEqual(r.comparison.sources, []);
  assert.match(renderReportHtml(r), /ENOENT/);
  assert.match(formatTable(r.comparison), /MAE linear_x\s+lower\s+n\/a/);
  const meta = await sharp(await renderReportPng(r)).metadata();
  assert.equal(meta.width, DEFAULT_PNG_SIZE.width);
});

test("escapeXml covers markup characters and characters XML forbids", () => {
  assert.equal(escapeXml(`<a href="x">'&'</a>`), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  assert.equal(escapeXml("a\u0000b\u001fc\td\ne"), "a\ufffdb\ufffdc\td\ne");
  assert.equal(escapeXml("x\ud800y"), "x\ufffdy");
  assert.equal(escapeXml("\ud83d\ude00"), "\ud83d\ude00");
});

test("min/max downsampling keeps spikes and bounds the point count", () => {
  const pts = Array.from({ length: 2400 }, (_, i) => [i * 0.05, i === 1234 ? 5 : i === 77 ? -3 : 0] as const);
  const out = downsampleMinMax(pts, 300);
  assert.ok(out.length <= 600, `${out.length} points`);
  assert.ok(out.some(([t, v]) => v === 5 && t === 1234 * 0.05));
  assert.ok(out.some(([, v]) => v === -3));
  for (let i = 1; i < out.length; i++) assert.ok(out[i][0] > out[i - 1][0], "time order kept");
  assert.equal(downsampleMinMax(pts.slice(0, 10), 300).length, 10);
});

test("axis ticks are round numbers covering the range", () => {
  assert.deepEqual(niceTicks(0, 120, 10), [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120]);
  assert.deepEqual(niceTicks(-1.3, 1.3, 5), [-1, -0.5, 0, 0.5, 1]);
  assert.deepEqual(niceTicks(0, 0.26, 4), [0, 0.05, 0.1, 0.15, 0.2, 0.25]);
});

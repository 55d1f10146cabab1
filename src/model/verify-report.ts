// The text `model verify` prints: a header saying what was compared with what, one row
// per stage, the details of each failure, the verdict, then the instruction probe.
import { probeLines } from "./instruction-probe.js";
import { INT8_MAX_CHUNK_ERROR, INT8_MIN_COSINE, type VerifyReport } from "./verify.js";

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join("  "));
}

export function formatVerifyReport(r: VerifyReport): string {
  const out: string[] = [];
  out.push(`model verify ${r.dir}: precision ${r.precision} (${r.backboneFile}), provider ${r.provider}`);
  out.push(`golden.json from: ${r.generator}`);
  if (r.precision !== "fp32") {
    out.push(
      `${r.precision} is compared with the fp32 PyTorch golden values, so its features pass at cosine >= ${INT8_MIN_COSINE} ` +
        `(min over features) and its end-to-end chunk at max abs error <= ${INT8_MAX_CHUNK_ERROR}; the head is fp32 and keeps golden.json's tolerance.`,
    );
  }
  out.push("");
  out.push(
    ...table([
      ["stage", "compared", "max abs error", "tolerance", "result"],
      ...r.stages.map((s) => [s.stage, s.compared, s.measured, s.tolerance, s.pass ? "PASS" : "FAIL"]),
    ]),
  );
  const failed = r.stages.filter((s) => !s.pass);
  for (const s of failed) {
    out.push("", `FAIL ${s.stage}:`, ...s.details.map((d) => (d.startsWith(" ") ? d : `  ${d}`)));
  }
  out.push("");
  out.push(
    failed.length === 0
      ? `result: PASS, every stage within tolerance (${r.stages.length} stages)`
      : `result: FAIL, ${failed.length} of ${r.stages.length} stages beyond tolerance: ${failed.map((s) => s.stage).join("; ")}`,
  );
  if (r.probe) out.push("", ...probeLines(r.probe, r.trainedCounts));
  return out.join("\n") + "\n";
}

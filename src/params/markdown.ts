// The parameter table as markdown, for the README's parameter section
// (test/readme.test.ts keeps the README in step with it).
import { PARAM_NAMES, paramSpec } from "./table.js";

function fmtDefault(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "string") return v === "" ? '`""`' : `\`${v}\``;
  return `\`${String(v)}\``;
}

export function paramsMarkdown(): string {
  const esc = (s: string) => s.replace(/\|/g, "\\|");
  const rows = PARAM_NAMES.map((n) => {
    const s = paramSpec(n);
    return `| \`${n}\` | ${s.type} | ${s.unit ? esc(s.unit) : "-"} | ${fmtDefault(s.default)} | ${esc(s.description)} |`;
  });
  return `${["| name | type | unit | default | description |", "| --- | --- | --- | --- | --- |", ...rows].join("\n")}\n`;
}

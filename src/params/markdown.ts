// A parameter table as markdown, for the README's parameter sections
// (test/readme.test.ts keeps the README in step with the tables).
import type { AnyParamTable } from "./param-table.js";
import { POLICY_TABLE } from "./table.js";

function fmtDefault(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "string") return v === "" ? '`""`' : `\`${v}\``;
  return `\`${String(v)}\``;
}

export function paramsMarkdown(table: AnyParamTable = POLICY_TABLE): string {
  const esc = (s: string) => s.replace(/\|/g, "\\|");
  const rows = table.names.map((n) => {
    const s = table.spec(n);
    return `| \`${n}\` | ${s.type} | ${s.unit ? esc(s.unit) : "-"} | ${fmtDefault(s.default)} | ${s.applies} | ${esc(s.description)} |`;
  });
  return `${["| name | type | unit | default | applies | description |", "| --- | --- | --- | --- | --- | --- |", ...rows].join("\n")}\n`;
}

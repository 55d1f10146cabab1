// `mobile-vla model export ...`: the Python exporter (export/, run in the project's
// .venv) behind the same binary as everything else. Its own argparse owns the options,
// so they pass through untouched; its exit code (2 usage, 1 failed run) is ours.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root, from dist/src/cli/ (compiled) where this file runs. */
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const EXPORT_PYTHON = path.join(REPO, ".venv", "bin", "python");

/** Everything after `model export` on the command line. */
export function exportArgs(argv: readonly string[]): string[] {
  const i = argv.findIndex((a, k) => a === "export" && argv[k - 1] === "model");
  return i < 0 ? [] : argv.slice(i + 1);
}

export async function runExporter(args: readonly string[]): Promise<number> {
  if (!existsSync(EXPORT_PYTHON)) {
    process.stderr.write(
      `mobile-vla model export: the exporter's Python environment is missing (${EXPORT_PYTHON}); create it once with: npm run setup:export\n`,
    );
    return 1;
  }
  const child = spawn(EXPORT_PYTHON, ["-m", "mobile_vla_export", "export", ...args], {
    stdio: "inherit",
    env: { ...process.env, PYTHONPATH: path.join(REPO, "export"), PYTHONUNBUFFERED: "1" },
  });
  return await new Promise<number>((resolve) => {
    child.on("error", (e) => {
      process.stderr.write(`mobile-vla model export: cannot start ${EXPORT_PYTHON}: ${e.message}\n`);
      resolve(1);
    });
    // A signal (Ctrl-C) ends the export; the exporter removes its partial folder itself.
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

#!/usr/bin/env node
// One binary, `mobile-vla`, with a subcommand per job; each command lives in its own file.
import yargs, { type Argv } from "yargs";
import { hideBin } from "yargs/helpers";
import { setLogLevel, log, type LogLevel } from "../util/log.js";
import { commands } from "./commands.js";
import { isUsageError } from "./usage.js";
import { errorText } from "../util/errors.js";

function usageExit(message: string): never {
  process.stderr.write(`mobile-vla: ${message}\nRun with --help for usage.\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  let cli: Argv = yargs(hideBin(process.argv))
    .scriptName("mobile-vla")
    .option("log-level", { choices: ["error", "warn", "info", "debug"] as const, default: "info" as LogLevel, describe: "logging threshold" })
    .middleware((argv) => setLogLevel(argv["log-level"] as LogLevel))
    .strict()
    .demandCommand(1, "name a command (see --help)")
    .recommendCommands()
    .help()
    .wrap(Math.min(110, process.stdout.columns || 100));
  for (const c of commands) cli = c(cli);
  await cli
    .fail((msg, err) => {
      // Errors thrown by a command's work propagate (exit 1); yargs' own usage
      // failures (bad or missing arguments, failed checks) print usage help (exit 2).
      if (err instanceof Error && err.name !== "YError" && !isUsageError(err)) throw err;
      usageExit(msg ?? String(err));
    })
    .parseAsync();
}

main().catch((e: unknown) => {
  // A bad value a command found itself (a parameter, an option) is still a usage error.
  if (isUsageError(e)) usageExit(e.message);
  log.error(errorText(e));
  if (process.env.MOBILE_VLA_DEBUG && e instanceof Error) console.error(e.stack);
  process.exitCode = 1;
});

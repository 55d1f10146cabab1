#!/usr/bin/env node
// One binary, `mobile-vla`, with a subcommand per job; each command lives in its own file.
import yargs, { type Argv } from "yargs";
import { hideBin } from "yargs/helpers";
import { setLogLevel, log, type LogLevel } from "../util/log.js";
import { commands } from "./commands.js";

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
      if (err) throw err;
      process.stderr.write(`mobile-vla: ${msg}\nRun with --help for usage.\n`);
      process.exit(2);
    })
    .parseAsync();
}

main().catch((e: unknown) => {
  const err = e as Error;
  log.error(err.message);
  if (process.env.MOBILE_VLA_DEBUG) console.error(err.stack);
  process.exitCode = 1;
});

// The command registry: adding a command means adding its file and one line here.
import type { Argv } from "yargs";
import { modelCommand } from "./model-command.js";
import { demoCommand } from "./demo-command.js";

export type CommandModule = (y: Argv) => Argv;

export const commands: CommandModule[] = [modelCommand, demoCommand];

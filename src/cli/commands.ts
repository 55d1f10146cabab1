// The command registry: adding a command means adding its file and one line here.
import type { Argv } from "yargs";
import { modelCommand } from "./model-command.js";
import { demoCommand } from "./demo-command.js";
import { evalCommand } from "./eval-command.js";
import { bagCommand } from "./bag-command.js";
import { episodesCommand } from "./episodes-command.js";
import { replayCommand } from "./replay-command.js";

export type CommandModule = (y: Argv) => Argv;

export const commands: CommandModule[] = [demoCommand, evalCommand, replayCommand, bagCommand, episodesCommand, modelCommand];

// The episode commands on the episode topic (std_msgs/String), as the teleop's
// n / m keys and an operator's `ros2 topic pub` send them: "start",
// "start <scenario>", "stop", "discard". One parser, so the live recorder and the
// bag converter read a recording the same way.
import { checkScenario } from "../episodes/episode-name.js";
import { errorText } from "../util/errors.js";

export type EpisodeCommand = "start" | "stop" | "discard";

export interface ParsedEpisodeCommand {
  command: EpisodeCommand;
  /** Scenario tags for the file name, from "start <scenario>" (words joined by "_"). */
  scenario?: string;
}

export class EpisodeCommandError extends Error {
  override name = "EpisodeCommandError";

  constructor(
    message: string,
    /** A start whose scenario is refused: the episode after it is not recorded (worse than unknown text). */
    readonly refusedStart: boolean,
  ) {
    super(message);
  }
}

/**
 * Parses one message. Throws EpisodeCommandError naming the text when it is not a
 * command, or when its scenario would not make a valid file name (the episode
 * must then not start under another name than the operator asked for).
 */
export function parseEpisodeCommand(text: string): ParsedEpisodeCommand {
  const [first = "", ...rest] = text.trim().split(/\s+/);
  const word = first.toLowerCase();
  if (word === "start") {
    if (rest.length === 0) return { command: "start" };
    const scenario = rest.join("_");
    try {
      return { command: "start", scenario: checkScenario(scenario) };
    } catch (e) {
      throw new EpisodeCommandError(`episode command ${JSON.stringify(text)}: ${errorText(e)}`, true);
    }
  }
  if ((word === "stop" || word === "discard") && rest.length === 0) return { command: word };
  throw new EpisodeCommandError(`episode command ${JSON.stringify(text)}: expected start, start <scenario>, stop or discard`, false);
}

/** The message text for a command (what the teleop publishes). */
export function formatEpisodeCommand(c: ParsedEpisodeCommand): string {
  return c.scenario ? `${c.command} ${c.scenario}` : c.command;
}

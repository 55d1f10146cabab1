// One winston logger for the package, so the CLI's --log-level and the ROS nodes
// configure the same thing.
import winston from "winston";

export type LogLevel = "error" | "warn" | "info" | "debug";

export const log = winston.createLogger({
  level: process.env.MOBILE_VLA_LOG_LEVEL ?? "info",
  format: winston.format.combine(
    winston.format.timestamp(),
    winston.format.printf(({ timestamp, level, message, ...meta }) => {
      const rest = Object.keys(meta).length ? " " + JSON.stringify(meta) : "";
      return `${String(timestamp)} ${level} ${String(message)}${rest}`;
    }),
  ),
  // stderr keeps stdout free for tables and JSON that users pipe.
  transports: [new winston.transports.Console({ stderrLevels: ["error", "warn", "info", "debug", "verbose", "silly"] })],
});

export function setLogLevel(level: LogLevel): void {
  log.level = level;
}

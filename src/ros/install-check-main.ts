#!/usr/bin/env node
// `npm install`'s check that rclnodejs installed where ROS 2 is sourced
// (package.json prepare: after tsc). Exit 1 makes the install fail loudly instead
// of leaving a robot without its nodes. The work is in install-check.ts.
import { spawnSync } from "node:child_process";
import { checkRclnodejsInstall } from "./install-check.js";
import { errorText } from "../util/errors.js";

/**
 * npm's effective `yes` setting. It comes from any npmrc or the environment, and npm
 * does not pass a value set in an npmrc to scripts, so npm itself is asked (the npm
 * running this script when there is one).
 */
function npmYes(): string | null {
  const execpath = process.env.npm_execpath;
  const r = execpath
    ? spawnSync(process.execPath, [execpath, "config", "get", "yes"], { encoding: "utf8", timeout: 20_000 })
    : spawnSync("npm", ["config", "get", "yes"], { encoding: "utf8", timeout: 20_000 });
  return r.status === 0 ? r.stdout.trim() : null;
}

const sourced = Boolean(process.env.ROS_DISTRO || process.env.AMENT_PREFIX_PATH);
checkRclnodejsInstall(process.env, sourced ? npmYes() : null).then(
  (r) => {
    for (const line of r.lines) (r.ok ? process.stdout : process.stderr).write(`${line}\n`);
    process.exit(r.ok ? 0 : 1);
  },
  (e: unknown) => {
    process.stderr.write(`mobile_vla_ros: the rclnodejs check itself failed: ${errorText(e)}\n`);
    process.exit(1);
  },
);

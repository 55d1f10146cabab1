// rclnodejs is loaded only here and only when a node starts: it is an optional
// dependency (its install compiles against a sourced ROS 2, so npm leaves it out
// where there is none), so the CLI, the tests and CI never touch it. Whatever goes wrong, the user gets one message
// saying what to do on the robot.
//
// It is never imported without a sourced ROS 2: a prefix on AMENT_PREFIX_PATH
// that holds librcl. rclnodejs 2.x, when its native binding does not load (librcl
// not on the library path: ROS 2 not sourced), runs `npm run rebuild`, whose first
// step deletes its build; without ROS 2 the rebuild then fails, so one start from
// an unsourced shell (a systemd unit, a cron job, a test that sets only
// ROS_DISTRO) leaves an install that no longer starts even when sourced (seen on a
// live Humble graph).
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import type { Rclnodejs } from "./rclnodejs-api.js";
import { errorText } from "../util/errors.js";

export class RclnodejsMissingError extends Error {
  override name = "RclnodejsMissingError";
}

/**
 * What installs rclnodejs again: the whole install (rclnodejs stays an optional
 * dependency), with npm's `yes` on, because rclnodejs' build runs `npx` and a `yes`
 * of false stops it ("npx canceled due to missing packages"), and in the foreground
 * so a real build error is shown instead of npm dropping the package silently.
 */
export const RCLNODEJS_FIX = "npm_config_yes=true npm install --foreground-scripts";

const HOW_TO =
  `on the robot, source /opt/ros/<distro>/setup.bash and run \`${RCLNODEJS_FIX}\` in the mobile_vla_ros package folder ` +
  "(the rclnodejs release must match the ROS 2 distro: see https://github.com/RobotWebTools/rclnodejs#compatibility), then start the node again";

/** The environment variables that say a ROS 2 setup file was sourced. */
export interface RosEnv {
  ROS_DISTRO?: string;
  AMENT_PREFIX_PATH?: string;
}

/** How the environment shows ROS 2 sourced ("ROS_DISTRO=humble"), or null when it does not. */
export function rosSourcedAs(env: RosEnv): string | null {
  if (env.ROS_DISTRO) return `ROS_DISTRO=${env.ROS_DISTRO}`;
  if (env.AMENT_PREFIX_PATH) return `AMENT_PREFIX_PATH=${env.AMENT_PREFIX_PATH}`;
  return null;
}

/** The import itself, separate so tests can simulate a missing or broken module. */
export type ModuleImporter = (specifier: string) => Promise<unknown>;

const defaultImporter: ModuleImporter = (specifier) => import(specifier);

/** The AMENT_PREFIX_PATH prefix whose lib/ holds librcl (what rclnodejs' binding links), or null. */
export function rclPrefix(env: RosEnv, exists: (p: string) => boolean = existsSync): string | null {
  for (const prefix of (env.AMENT_PREFIX_PATH ?? "").split(path.delimiter)) {
    if (prefix && exists(path.join(prefix, "lib", "librcl.so"))) return prefix;
  }
  return null;
}

/** Whether the module is installed, found without loading it. */
function installed(specifier: string): boolean {
  try {
    createRequire(import.meta.url).resolve(specifier);
    return true;
  } catch {
    return false;
  }
}

function looksLikeRclnodejs(m: unknown): m is Rclnodejs {
  if (typeof m !== "object" && typeof m !== "function") return false;
  if (m === null) return false;
  const r = m as Record<string, unknown>;
  return typeof r.init === "function" && typeof r.createNode === "function" && typeof r.Parameter === "function";
}

/**
 * The real rclnodejs module. Throws RclnodejsMissingError when it is not
 * installed, when ROS 2 is not sourced (without importing it), when it fails to
 * load, or when it does not look like rclnodejs. A test's importer stands in for
 * the module, installed or not.
 */
export async function loadRclnodejs(
  importer: ModuleImporter = defaultImporter,
  env: RosEnv = process.env,
  exists: (p: string) => boolean = existsSync,
): Promise<Rclnodejs> {
  // A variable specifier keeps TypeScript from resolving a module that is not installed.
  const specifier = "rclnodejs";
  if (importer === defaultImporter && !installed(specifier)) throw new RclnodejsMissingError(`rclnodejs is not installed: ${HOW_TO}.`);
  if (!rclPrefix(env, exists)) {
    const seen = env.AMENT_PREFIX_PATH ? `no lib/librcl.so under AMENT_PREFIX_PATH=${env.AMENT_PREFIX_PATH}` : "AMENT_PREFIX_PATH is unset";
    throw new RclnodejsMissingError(
      `ROS 2 is not sourced (${seen}): source /opt/ros/<distro>/setup.bash (and your workspace's install/setup.bash) in the shell or unit that starts the node. ` +
        "rclnodejs is not loaded without it: it would delete its own build trying to rebuild itself.",
    );
  }
  let mod: unknown;
  try {
    mod = await importer(specifier);
  } catch (e) {
    const code = (e as { code?: unknown } | null)?.code;
    const detail = errorText(e);
    if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") {
      throw new RclnodejsMissingError(`rclnodejs is not installed: ${HOW_TO}.`, { cause: e });
    }
    throw new RclnodejsMissingError(`rclnodejs failed to load (${rosSourcedAs(env)}): ${detail}; ${HOW_TO}.`, { cause: e });
  }
  // rclnodejs is CommonJS: from ESM its module.exports arrives as the default export.
  const candidate = (mod as { default?: unknown }).default ?? mod;
  if (!looksLikeRclnodejs(candidate)) {
    throw new RclnodejsMissingError(`the module "rclnodejs" was found but has no init/createNode/Parameter: ${HOW_TO}.`);
  }
  return candidate;
}

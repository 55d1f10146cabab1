// rclnodejs is loaded only here and only when a node starts: it is an optional
// dependency (its install compiles against a sourced ROS 2, so npm leaves it out
// where there is none), so the CLI, the tests and CI never touch it. Whatever goes wrong, the user gets one message
// saying what to do on the robot.
import type { Rclnodejs } from "./rclnodejs-api.js";

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

/** The import itself, separate so tests can simulate a missing or broken module. */
export type ModuleImporter = (specifier: string) => Promise<unknown>;

const defaultImporter: ModuleImporter = (specifier) => import(specifier);

function looksLikeRclnodejs(m: unknown): m is Rclnodejs {
  if (typeof m !== "object" && typeof m !== "function") return false;
  if (m === null) return false;
  const r = m as Record<string, unknown>;
  return typeof r.init === "function" && typeof r.createNode === "function" && typeof r.Parameter === "function";
}

/**
 * The real rclnodejs module. Throws RclnodejsMissingError when it is not
 * installed, fails to load (usually: ROS 2 not sourced, so its native binding
 * cannot find librcl), or does not look like rclnodejs.
 */
export async function loadRclnodejs(importer: ModuleImporter = defaultImporter): Promise<Rclnodejs> {
  let mod: unknown;
  try {
    // A variable specifier keeps TypeScript from resolving a module that is not installed.
    const specifier = "rclnodejs";
    mod = await importer(specifier);
  } catch (e) {
    const code = (e as { code?: unknown } | null)?.code;
    const detail = e instanceof Error ? e.message : String(e);
    if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") {
      throw new RclnodejsMissingError(`rclnodejs is not installed: ${HOW_TO}.`, { cause: e });
    }
    const sourced = process.env.ROS_DISTRO ? `ROS_DISTRO=${process.env.ROS_DISTRO}` : "ROS 2 does not look sourced (ROS_DISTRO is unset)";
    throw new RclnodejsMissingError(`rclnodejs failed to load (${sourced}): ${detail}; ${HOW_TO}.`, { cause: e });
  }
  // rclnodejs is CommonJS: from ESM its module.exports arrives as the default export.
  const candidate = (mod as { default?: unknown }).default ?? mod;
  if (!looksLikeRclnodejs(candidate)) {
    throw new RclnodejsMissingError(`the module "rclnodejs" was found but has no init/createNode/Parameter: ${HOW_TO}.`);
  }
  return candidate;
}

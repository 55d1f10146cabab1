// The install-time check behind `npm install` (package.json's prepare step): with
// ROS 2 sourced, rclnodejs must have installed. It is an optional dependency, so
// when its build fails npm leaves it out and still exits 0, and the nodes fail
// only later, on the robot, with a missing module. The commonest cause is npm's
// `yes` setting being false: rclnodejs' build runs `npx`, which then stops with
// "npx canceled due to missing packages". Without ROS 2 sourced there is nothing
// to check: the offline tools never load rclnodejs.
import { loadRclnodejs, RCLNODEJS_FIX, RclnodejsMissingError, rosSourcedAs, type ModuleImporter, type RosEnv } from "./load-rclnodejs.js";

export interface InstallReport {
  ok: boolean;
  /** Lines for the terminal; none when ROS 2 is not sourced. */
  lines: string[];
}

/** Whether rclnodejs loads, when ROS 2 is sourced; what went wrong and the command that fixes it when not. */
export async function checkRclnodejsInstall(
  env: RosEnv,
  /** `npm config get yes` ("true", "false", "null"); null when it could not be read. */
  npmYes: string | null,
  importer?: ModuleImporter,
): Promise<InstallReport> {
  const sourced = rosSourcedAs(env);
  if (!sourced) return { ok: true, lines: [] };
  try {
    await loadRclnodejs(importer, env);
    return { ok: true, lines: [`mobile_vla_ros: rclnodejs loads (${sourced}); the ROS nodes can start.`] };
  } catch (e) {
    if (!(e instanceof RclnodejsMissingError)) throw e;
    const missing = /^rclnodejs is not installed/.test(e.message);
    const why = !missing
      ? `it is installed but does not load: ${e.message}`
      : npmYes === "false"
        ? "npm's `yes` setting is false here, which stops rclnodejs' build at its `npx` step (\"npx canceled due to missing packages\"), and npm then leaves an optional dependency out without failing"
        : "its build failed and npm left the optional dependency out without failing; the usual cause is npm's `yes` setting being false (rclnodejs' build runs `npx`: \"npx canceled due to missing packages\"), and the command below shows the build's own output either way";
    return {
      ok: false,
      lines: [
        `mobile_vla_ros: ROS 2 is sourced (${sourced}) but rclnodejs ${missing ? "did not install" : "is broken"}, so the ROS nodes cannot start.`,
        `  why: ${why}.`,
        `  fix: in this folder, with the same ROS 2 sourced: ${RCLNODEJS_FIX}`,
      ],
    };
  }
}

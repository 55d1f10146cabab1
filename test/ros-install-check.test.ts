// npm install's rclnodejs check: silent without ROS 2; with ROS 2 sourced, a
// missing or broken rclnodejs fails the install with the reason and the fix.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { VirtualClock } from "../src/control/clock.js";
import { checkRclnodejsInstall } from "../src/ros/install-check.js";
import { FakeRcl } from "./ros-fake-rclnodejs.js";
import { fakeRosPrefix } from "./fixtures/ros-prefix.js";
import { rclnodejsInstalled, unsourcedEnv } from "./fixtures/rclnodejs-presence.js";

const PREFIX = fakeRosPrefix();
const HUMBLE = { ROS_DISTRO: "humble", AMENT_PREFIX_PATH: PREFIX };

const notFound = async (): Promise<never> => {
  throw Object.assign(new Error("Cannot find package 'rclnodejs'"), { code: "ERR_MODULE_NOT_FOUND" });
};
const FIX = "npm_config_yes=true npm install --foreground-scripts";

test("without ROS 2 sourced there is nothing to check", async () => {
  let imported = false;
  const r = await checkRclnodejsInstall({}, null, async () => ((imported = true), {}));
  assert.deepEqual(r, { ok: true, lines: [] });
  assert.equal(imported, false, "rclnodejs is not even looked for");
});

test("ROS 2 sourced and rclnodejs missing: the install fails, saying why (npm's yes) and the command that fixes it", async () => {
  const r = await checkRclnodejsInstall(HUMBLE, "false", notFound);
  assert.equal(r.ok, false);
  const text = r.lines.join("\n");
  assert.match(text, /^mobile_vla_ros: ROS 2 is sourced \(ROS_DISTRO=humble\) but rclnodejs did not install, so the ROS nodes cannot start\./);
  assert.match(text, /npm's `yes` setting is false here, which stops rclnodejs' build at its `npx` step \("npx canceled due to missing packages"\)/);
  assert.ok(text.includes(`fix: in this folder, with the same ROS 2 sourced: ${FIX}`), text);
  const other = await checkRclnodejsInstall({ AMENT_PREFIX_PATH: PREFIX }, "true", notFound);
  assert.ok(other.lines[0]!.includes(`(AMENT_PREFIX_PATH=${PREFIX})`), other.lines[0]);
  assert.match(other.lines.join("\n"), /its build failed .*the usual cause is npm's `yes` setting being false/s);
});

test("ROS 2 sourced and rclnodejs broken or fine", async () => {
  const broken = await checkRclnodejsInstall(HUMBLE, "true", async () => {
    throw Object.assign(new Error("librcl.so: cannot open shared object file"), { code: "ERR_DLOPEN_FAILED" });
  });
  assert.equal(broken.ok, false);
  assert.match(broken.lines.join("\n"), /rclnodejs is broken.*does not load: rclnodejs failed to load .*librcl\.so/s);
  const fake = new FakeRcl(new VirtualClock());
  const fine = await checkRclnodejsInstall(HUMBLE, "true", async () => ({ default: fake }));
  assert.deepEqual(fine, { ok: true, lines: ["mobile_vla_ros: rclnodejs loads (ROS_DISTRO=humble); the ROS nodes can start."] });
});

test("as npm's prepare step: exit 1 with the message when ROS 2 looks sourced but rclnodejs cannot start, silent exit 0 otherwise", () => {
  const main = path.join(path.dirname(fileURLToPath(import.meta.url)), "../src/ros/install-check-main.js");
  const base = unsourcedEnv();
  const quiet = spawnSync(process.execPath, [main], { encoding: "utf8", env: base, timeout: 60_000 });
  assert.deepEqual([quiet.status, quiet.stdout, quiet.stderr], [0, "", ""]);
  // ROS_DISTRO alone (no ROS 2 install on AMENT_PREFIX_PATH): rclnodejs is missing (CI), or
  // present and refused unloaded (a robot's checkout; loading it here would delete its build).
  const loud = spawnSync(process.execPath, [main], { encoding: "utf8", env: { ...base, ROS_DISTRO: "humble" }, timeout: 60_000 });
  assert.equal(loud.status, 1, loud.stderr);
  assert.match(
    loud.stderr,
    rclnodejsInstalled()
      ? /ROS 2 is sourced \(ROS_DISTRO=humble\) but rclnodejs is broken.*ROS 2 is not sourced \(AMENT_PREFIX_PATH is unset\)/s
      : /ROS 2 is sourced \(ROS_DISTRO=humble\) but rclnodejs did not install/,
  );
  assert.ok(loud.stderr.includes(FIX), loud.stderr);
});

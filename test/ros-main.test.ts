// The entry point without ROS: rclnodejs absent (CI), or present without a sourced ROS 2
// (a robot's checkout), must give one clear message and never load a real rclnodejs;
// with a fake rclnodejs a node runs, stops on SIGINT and releases ROS.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { VirtualClock } from "../src/control/clock.js";
import { loadRclnodejs, RclnodejsMissingError } from "../src/ros/load-rclnodejs.js";
import { runNode } from "../src/ros/run.js";
import { FakeRcl, override } from "./ros-fake-rclnodejs.js";
import { fakeRosPrefix } from "./fixtures/ros-prefix.js";
import { rclnodejsInstalled, UNSOURCED_MESSAGE, unsourcedEnv } from "./fixtures/rclnodejs-presence.js";

const HOW_TO = /source \/opt\/ros\/<distro>\/setup\.bash and run `npm_config_yes=true npm install --foreground-scripts`/;

test("the lazy loader, without a sourced ROS 2: rclnodejs not installed (CI) or not loaded (a robot's checkout), and how to fix it", async () => {
  await assert.rejects(loadRclnodejs(undefined, {}), (e: unknown) => {
    assert.ok(e instanceof RclnodejsMissingError, `a RclnodejsMissingError, got ${String(e)}`);
    assert.match(e.message, UNSOURCED_MESSAGE);
    if (!rclnodejsInstalled()) assert.match(e.message, HOW_TO);
    return true;
  });
});

const PREFIX = fakeRosPrefix();
const SOURCED = { ROS_DISTRO: "humble", AMENT_PREFIX_PATH: PREFIX };

test("the loader names a broken install and a module that is not rclnodejs", async () => {
  const native = Object.assign(new Error("librcl.so: cannot open shared object file"), { code: "ERR_DLOPEN_FAILED" });
  await assert.rejects(
    loadRclnodejs(async () => {
      throw native;
    }, SOURCED),
    (e: unknown) => {
      assert.ok(e instanceof RclnodejsMissingError, "a RclnodejsMissingError");
      assert.match(e.message, /rclnodejs failed to load .*librcl\.so/);
      assert.match(e.message, HOW_TO);
      return true;
    },
  );
  await assert.rejects(
    loadRclnodejs(async () => ({ default: { hello: 1 } }), SOURCED),
    /no init\/createNode\/Parameter/,
  );
  const fake = new FakeRcl(new VirtualClock());
  assert.equal(await loadRclnodejs(async () => ({ default: fake }), SOURCED), fake, "the CommonJS module arrives as the default export");
  assert.equal(await loadRclnodejs(async () => ({ default: fake }), { AMENT_PREFIX_PATH: `/nonexistent${path.delimiter}${PREFIX}` }), fake);
});

test("without a sourced ROS 2 the loader refuses before importing rclnodejs (whose failed load deletes its own build)", async () => {
  let imported = false;
  const importer = async () => ((imported = true), { default: new FakeRcl(new VirtualClock()) });
  for (const [env, seen] of [
    [{}, "AMENT_PREFIX_PATH is unset"],
    [{ ROS_DISTRO: "humble" }, "AMENT_PREFIX_PATH is unset"],
    [{ AMENT_PREFIX_PATH: "/nonexistent/ros" }, "no lib/librcl.so under AMENT_PREFIX_PATH=/nonexistent/ros"],
  ] as const) {
    await assert.rejects(loadRclnodejs(importer, env), (e: unknown) => {
      assert.ok(e instanceof RclnodejsMissingError, "a RclnodejsMissingError");
      assert.ok(e.message.startsWith(`ROS 2 is not sourced (${seen}): source /opt/ros/<distro>/setup.bash`), e.message);
      return true;
    });
  }
  assert.equal(imported, false, "rclnodejs was not imported");
});

test("runNode: unknown node name -> usage, 2; missing rclnodejs -> the message, 1", async () => {
  const lines: string[] = [];
  assert.equal(await runNode(["vla_pilot"], { stderr: (l) => lines.push(l) }), 2);
  assert.match(lines.join("\n"), /unknown node "vla_pilot"\nusage: .*vla_policy \| episode_recorder \| vla_teleop/);
  lines.length = 0;
  assert.equal(await runNode([], { stderr: (l) => lines.push(l) }), 2);
  lines.length = 0;
  assert.equal(await runNode(["vla_policy"], { load: () => loadRclnodejs(undefined, {}), stderr: (l) => lines.push(l), onSignal: () => {} }), 1);
  assert.match(lines.join("\n"), /^vla_policy: /);
  assert.match(lines.join("\n"), UNSOURCED_MESSAGE);
});

test("runNode: bad policy parameters -> refused by name, ROS shut down, 1", async () => {
  const rcl = new FakeRcl(new VirtualClock(), [override("model", "/nowhere"), override("control_rate_hz", 0)]);
  const lines: string[] = [];
  const code = await runNode(["vla_policy"], { load: async () => rcl, stderr: (l) => lines.push(l), onSignal: () => {} });
  assert.equal(code, 1);
  assert.match(lines.join("\n"), /refusing to start: .*control_rate_hz/s);
  assert.ok(rcl.initialized && rcl.shutdownCalled, "init, then shutdown on the failure");
});

test("runNode: autostart false leaves the policy unconfigured and waiting (bad parameters are not read yet); SIGINT ends it cleanly", async () => {
  const rcl = new FakeRcl(new VirtualClock(), [override("model", "/nowhere"), override("control_rate_hz", 0), override("autostart", false)]);
  const handlers = new Map<string, () => void>();
  const lines: string[] = [];
  const running = runNode(["vla_policy"], { load: async () => rcl, stderr: (l) => lines.push(l), onSignal: (s, h) => void handlers.set(s, h) });
  let ended = false;
  void running.finally(() => (ended = true));
  while (rcl.spun.length === 0 && !ended) await new Promise((r) => setImmediate(r));
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  assert.ok(!ended, "still running: nothing was configured, so nothing failed");
  const node = rcl.nodes[0]!;
  assert.deepEqual(await node.call("~/get_state"), { current_state: { id: 1, label: "unconfigured" } });
  assert.equal(node.publishers.has("cmd_vel"), false, "no cmd_vel before configure");
  handlers.get("SIGINT")!();
  assert.equal(await running, 0);
  assert.deepEqual(lines, [], "nothing to report");
  assert.ok(node.destroyed && rcl.shutdownCalled);
});

test("runNode: the recorder runs until SIGINT, saves nothing when idle, destroys its node and shuts ROS down", async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "ros-main-"));
  try {
    const rcl = new FakeRcl(new VirtualClock({ start: 1_764_764_710 }), [override("output_dir", dir)]);
    const handlers = new Map<string, () => void>();
    const running = runNode(["episode_recorder"], { load: async () => rcl, onSignal: (s, h) => void handlers.set(s, h) });
    // Start-up is promise chains only: wait until the node is spinning, however long that takes.
    let ended = false;
    void running.finally(() => (ended = true));
    while (rcl.spun.length === 0 && !ended) await new Promise((r) => setImmediate(r));
    assert.ok(!ended, "runNode is still running (it did not fail at start)");
    assert.ok(rcl.initialized, "rclnodejs initialised");
    assert.equal(rcl.nodes.length, 1);
    assert.equal(rcl.nodes[0]!.name(), "episode_recorder");
    assert.equal(rcl.spun[0], rcl.nodes[0], "the recorder's node is spinning");
    assert.ok(!rcl.nodes[0]!.destroyed, "running");
    assert.deepEqual([...handlers.keys()].sort(), ["SIGINT", "SIGTERM"]);
    handlers.get("SIGINT")!();
    assert.equal(await running, 0);
    assert.ok(rcl.nodes[0]!.destroyed && rcl.shutdownCalled, "node destroyed, rclnodejs shut down");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("main.js as a process without a sourced ROS 2 -> exit 1 with the message on stderr", () => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const ts = path.join(here, "../src/ros/main.ts");
  const js = path.join(here, "../src/ros/main.js");
  // From test/ (tsx) run the TypeScript entry through tsx; from dist/test/ run the compiled one.
  const args = existsSync(ts) ? ["--import", "tsx", ts, "vla_policy"] : [js, "vla_policy"];
  const r = spawnSync(process.execPath, args, { encoding: "utf8", timeout: 20_000, env: unsourcedEnv() });
  assert.equal(r.status, 1, `exit 1, got ${r.status}; stderr: ${r.stderr}`);
  assert.match(r.stderr, UNSOURCED_MESSAGE);
});

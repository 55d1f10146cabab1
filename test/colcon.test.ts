// An independent check that the repo builds as a ROS 2 package: colcon and
// ament_cmake (Debian packages here; .ci/run installs them in CI) build it in a
// throw-away workspace, and catkin_pkg (what rosdep and bloom use) parses
// package.xml. No ROS 2 distro is needed for either.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, readFileSync } from "node:fs";
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { repoPath } from "./fixtures/repo-path.js";

const REPO = repoPath();
const ENV = { ...process.env, PATH: `/usr/bin:${process.env.PATH ?? ""}` };

let ws: string;
let build: ReturnType<typeof spawnSync>;

before(async () => {
  ws = await mkdtemp(path.join(os.tmpdir(), "colcon-ws-"));
  await mkdir(path.join(ws, "src"));
  await symlink(REPO, path.join(ws, "src", "mobile_vla_ros"));
  build = spawnSync(
    "colcon",
    ["build", "--symlink-install", "--base-paths", path.join(ws, "src"), "--build-base", path.join(ws, "build"), "--install-base", path.join(ws, "install")],
    { cwd: ws, env: ENV, encoding: "utf8", timeout: 120_000 },
  );
});

after(async () => {
  await rm(ws, { recursive: true, force: true });
});

const share = (...p: string[]) => path.join(ws, "install", "mobile_vla_ros", "share", "mobile_vla_ros", ...p);
const lib = (...p: string[]) => path.join(ws, "install", "mobile_vla_ros", "lib", "mobile_vla_ros", ...p);

test("colcon build --symlink-install succeeds", () => {
  assert.equal(build.error, undefined, `colcon could not run: ${String(build.error)}`);
  assert.equal(build.status, 0, `colcon build failed:\n${String(build.stdout)}\n${String(build.stderr)}`);
  assert.match(String(build.stdout), /1 package finished/);
});

test("the install has the ros2 run executables, launch files and params", () => {
  for (const exe of ["vla_policy", "episode_recorder", "vla_teleop"]) assert.ok(existsSync(lib(exe)), `lib/mobile_vla_ros/${exe} installed`);
  for (const f of ["launch/vla.launch.xml", "launch/record.launch.xml", "config/vla_policy.yaml", "config/episode_recorder.yaml", "package.xml"]) {
    assert.ok(existsSync(share(f)), `share/mobile_vla_ros/${f} installed`);
  }
  assert.ok(existsSync(path.join(ws, "install", "mobile_vla_ros", "share", "ament_index", "resource_index", "packages", "mobile_vla_ros")), "registered in the ament index (ros2 pkg / launch find it)");
  assert.ok(lstatSync(share("launch", "vla.launch.xml")).isSymbolicLink(), "--symlink-install links instead of copying");
});

test("an installed wrapper runs dist/src/ros/main.js from share/ with its node name and arguments", async () => {
  // A stand-in `node` that prints its arguments: the wrapper's path logic is what is checked, not ROS.
  const bin = path.join(ws, "fakebin");
  await mkdir(bin, { recursive: true });
  await writeFile(path.join(bin, "node"), '#!/bin/sh\nprintf "%s\\n" "$@"\n');
  await chmod(path.join(bin, "node"), 0o755);
  for (const exe of ["vla_policy", "episode_recorder", "vla_teleop"]) {
    const r = spawnSync(lib(exe), ["--ros-args", "-p", "model:=/m"], { env: { ...ENV, PATH: `${bin}:/usr/bin:/bin` }, encoding: "utf8" });
    assert.equal(r.status, 0, `${exe}: ${r.stderr}`);
    const args = r.stdout.trim().split("\n");
    assert.equal(path.normalize(args[0]!), share("dist", "src", "ros", "main.js"), `${exe} runs the installed main.js`);
    assert.deepEqual(args.slice(1), [exe, "--ros-args", "-p", "model:=/m"]);
  }
});

test("package.xml parses with catkin_pkg and names the runtime message packages", () => {
  const r = spawnSync(
    "/usr/bin/python3",
    ["-c", "import sys; from catkin_pkg.package import parse_package; p = parse_package(sys.argv[1]); print(p.name); print(' '.join(d.name for d in p.exec_depends))", REPO],
    { encoding: "utf8" },
  );
  assert.equal(r.status, 0, `catkin_pkg refused package.xml: ${r.stderr}`);
  const [name, deps] = r.stdout.trim().split("\n");
  assert.equal(name, "mobile_vla_ros");
  for (const d of ["std_msgs", "sensor_msgs", "geometry_msgs", "diagnostic_msgs"]) assert.ok(deps!.split(" ").includes(d), `exec_depend ${d}`);
});

test("the launch files are well-formed XML naming this package's executables", () => {
  const r = spawnSync(
    "/usr/bin/python3",
    ["-c", "import sys, xml.etree.ElementTree as ET\nfor f in sys.argv[1:]:\n  for n in ET.parse(f).getroot().iter('node'): print(n.get('pkg'), n.get('exec'))", repoPath("launch", "vla.launch.xml"), repoPath("launch", "record.launch.xml")],
    { encoding: "utf8" },
  );
  assert.equal(r.status, 0, `launch XML does not parse: ${r.stderr}`);
  const nodes = new Set(r.stdout.trim().split("\n"));
  assert.deepEqual([...nodes].sort(), ["mobile_vla_ros episode_recorder", "mobile_vla_ros vla_policy", "mobile_vla_ros vla_teleop"]);
  const text = readFileSync(repoPath("launch", "vla.launch.xml"), "utf8");
  for (const topic of ["image", "image/compressed", "instruction", "estop", "cmd_vel"]) assert.match(text, new RegExp(`<remap from="${topic}"`), `vla.launch.xml remaps ${topic}`);
});

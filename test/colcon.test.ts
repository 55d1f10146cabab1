// An independent check that the repo builds as a ROS 2 package: colcon and
// ament_cmake (Debian packages here; .ci/run installs them in CI) build it in
// throw-away workspaces, and catkin_pkg (what rosdep and bloom use) parses
// package.xml. No ROS 2 distro is needed for either. Besides the repo itself
// (--symlink-install), two copies of it are built: one where npm install never ran
// (the build must refuse with the command to run) and one where dist/ was never
// built (a plain build must compile it and install production dependencies only).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { cpSync, existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync } from "node:fs";
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { repoPath } from "./fixtures/repo-path.js";

const REPO = repoPath();
const ENV = { ...process.env, PATH: `/usr/bin:${process.env.PATH ?? ""}` };

let tmp: string;
let ws: string;
let build: SpawnSyncReturns<string>;

/** colcon build of the packages under `ws`/src into `ws`/build and `ws`/install. */
function colcon(workspace: string, symlinkInstall: boolean): SpawnSyncReturns<string> {
  return spawnSync(
    "colcon",
    [
      "build",
      ...(symlinkInstall ? ["--symlink-install"] : []),
      "--event-handlers",
      "console_direct+",
      "--base-paths",
      path.join(workspace, "src"),
      "--build-base",
      path.join(workspace, "build"),
      "--install-base",
      path.join(workspace, "install"),
    ],
    { cwd: workspace, env: ENV, encoding: "utf8", timeout: 300_000 },
  );
}

/** A copy of the package's source tree without node_modules/ and dist/, as a fresh clone is. */
function cloneTree(dest: string): void {
  for (const f of [
    "CMakeLists.txt",
    "package.xml",
    "package.json",
    "package-lock.json",
    "tsconfig.json",
    "tsconfig.build.json",
    "src",
    "synthetic",
    "scripts",
    "launch",
    "config",
    "models/README.md",
  ]) {
    cpSync(path.join(REPO, f), path.join(dest, f), { recursive: true, preserveTimestamps: true });
  }
}

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "colcon-"));
  ws = path.join(tmp, "ws");
  await mkdir(path.join(ws, "src"), { recursive: true });
  await symlink(REPO, path.join(ws, "src", "mobile_vla_ros"));
  build = colcon(ws, true);
});

after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const share = (...p: string[]) => path.join(ws, "install", "mobile_vla_ros", "share", "mobile_vla_ros", ...p);
const lib = (...p: string[]) => path.join(ws, "install", "mobile_vla_ros", "lib", "mobile_vla_ros", ...p);

test("colcon build --symlink-install succeeds", () => {
  assert.equal(build.error, undefined, `colcon could not run: ${String(build.error)}`);
  assert.equal(build.status, 0, `colcon build failed:\n${build.stdout}\n${build.stderr}`);
  assert.match(build.stdout, /1 package finished/);
});

test("the install has the ros2 run executables, launch files, params, the program and a link to node_modules", () => {
  for (const exe of ["vla_policy", "episode_recorder", "vla_teleop", "mobile-vla"]) assert.ok(existsSync(lib(exe)), `lib/mobile_vla_ros/${exe} installed`);
  for (const f of [
    "launch/vla.launch.xml",
    "launch/record.launch.xml",
    "config/vla_policy.yaml",
    "config/episode_recorder.yaml",
    "package.xml",
    "dist/src/ros/main.js",
    "dist/src/cli/main.js",
    "scripts/node-entry.bash",
    "scripts/teleop-terminal",
  ]) {
    assert.ok(existsSync(share(f)), `share/mobile_vla_ros/${f} installed`);
  }
  assert.ok(
    existsSync(path.join(ws, "install", "mobile_vla_ros", "share", "ament_index", "resource_index", "packages", "mobile_vla_ros")),
    "registered in the ament index (ros2 pkg / launch find it)",
  );
  assert.ok(lstatSync(share("launch", "vla.launch.xml")).isSymbolicLink(), "--symlink-install links instead of copying");
  assert.ok(lstatSync(share("node_modules")).isSymbolicLink(), "node_modules is one link, not a copy");
  assert.equal(realpathSync(share("node_modules")), realpathSync(repoPath("node_modules")));
  assert.equal(
    readFileSync(share("SOURCE_DIR"), "utf8"),
    path.join(ws, "src", "mobile_vla_ros"),
    "the install names its source tree for the wrappers' messages",
  );
});

test("an installed wrapper runs dist/src/ros/main.js from share/ with its node name and arguments", async () => {
  // A stand-in `node` that prints its arguments: the wrapper's path logic is what is checked, not ROS.
  const bin = path.join(tmp, "fakebin");
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
  const cli = spawnSync(lib("mobile-vla"), ["bag", "info"], { env: { ...ENV, PATH: `${bin}:/usr/bin:/bin` }, encoding: "utf8" });
  assert.deepEqual(
    cli.stdout
      .trim()
      .split("\n")
      .map((a, i) => (i === 0 ? path.normalize(a) : a)),
    [share("dist", "src", "cli", "main.js"), "bag", "info"],
  );
});

test("installed executables say in one line what is missing: node, dist/ or node_modules/", async () => {
  const prefix = path.join(tmp, "broken-install");
  const exe = path.join(prefix, "lib", "mobile_vla_ros", "vla_policy");
  const pkg = path.join(prefix, "share", "mobile_vla_ros");
  await mkdir(path.dirname(exe), { recursive: true });
  await mkdir(path.join(pkg, "scripts"), { recursive: true });
  cpSync(repoPath("scripts", "vla_policy"), exe);
  cpSync(repoPath("scripts", "node-entry.bash"), path.join(pkg, "scripts", "node-entry.bash"));
  await writeFile(path.join(pkg, "SOURCE_DIR"), "/home/robot/ws/src/mobile_vla_ros");
  const run = (env: NodeJS.ProcessEnv) => spawnSync(exe, [], { env, encoding: "utf8" });
  const one = (r: SpawnSyncReturns<string>) => {
    assert.equal(r.stdout, "");
    assert.equal(r.stderr.trim().split("\n").length, 1, `one line: ${r.stderr}`);
    return r.stderr.trim();
  };
  const fix = "cd /home/robot/ws/src/mobile_vla_ros && npm install, then colcon build --packages-select mobile_vla_ros in your workspace";
  const noDist = run(ENV);
  assert.equal(noDist.status, 1);
  assert.equal(one(noDist), `vla_policy: ${pkg}/dist/src/ros/main.js is missing (the TypeScript was never built): ${fix}`);
  await mkdir(path.join(pkg, "dist", "src", "ros"), { recursive: true });
  await writeFile(path.join(pkg, "dist", "src", "ros", "main.js"), "");
  const noModules = run(ENV);
  assert.equal(noModules.status, 1);
  assert.equal(one(noModules), `vla_policy: ${pkg}/node_modules is missing (npm install never ran): ${fix}`);
  // A PATH with bash and nothing else: no node.
  const bashOnly = path.join(tmp, "bash-only");
  await mkdir(bashOnly, { recursive: true });
  await symlink("/bin/bash", path.join(bashOnly, "bash"));
  const noNode = run({ PATH: bashOnly });
  assert.equal(noNode.status, 127);
  assert.match(one(noNode), /^vla_policy: node is not on PATH: install Node\.js >= 20\.19/);
});

test("a tree where npm install never ran: the build stops with the exact command", async () => {
  const w = path.join(tmp, "no-npm");
  const src = path.join(w, "src", "mobile_vla_ros");
  cloneTree(src);
  const r = colcon(w, true);
  assert.notEqual(r.status, 0, "the build fails");
  const out = `${r.stdout}\n${r.stderr}`;
  // CMake re-wraps a message's first paragraph; the indented command line it prints as it is.
  assert.match(out.replace(/\s+/g, " "), /mobile_vla_ros: npm install has not run in \S*no-npm\/src\/mobile_vla_ros \(node_modules\/ is missing\)/);
  assert.ok(out.includes(`cd ${src} && npm install`), `the command names the folder:\n${out}`);
  assert.equal(existsSync(path.join(w, "install", "mobile_vla_ros", "lib", "mobile_vla_ros", "vla_policy")), false, "no wrapper that would crash is installed");
});

test("a plain build compiles a missing dist/ and installs production dependencies only, this platform's binaries only", async () => {
  const w = path.join(tmp, "no-dist");
  const src = path.join(w, "src", "mobile_vla_ros");
  cloneTree(src);
  await symlink(repoPath("node_modules"), path.join(src, "node_modules"));
  const r = colcon(w, false);
  assert.equal(r.status, 0, `colcon build failed:\n${r.stdout}\n${r.stderr}`);
  assert.ok(existsSync(path.join(src, "dist", "src", "ros", "main.js")), "the build compiled dist/");
  const pkg = path.join(w, "install", "mobile_vla_ros", "share", "mobile_vla_ros");
  assert.ok(lstatSync(path.join(pkg, "dist", "src", "ros", "main.js")).isFile(), "copied, not linked");
  assert.equal(existsSync(path.join(pkg, "dist", "test")), false, "tests are not installed");
  const nm = path.join(pkg, "node_modules");
  assert.ok(lstatSync(nm).isDirectory() && !lstatSync(nm).isSymbolicLink(), "node_modules is copied");
  for (const prod of ["onnxruntime-node", "better-sqlite3", "yargs", "h5wasm"])
    assert.ok(existsSync(path.join(nm, prod, "package.json")), `${prod} (a dependency) is installed`);
  for (const dev of ["typescript", "@biomejs", "knip", "tsx", "@types/yargs"])
    assert.equal(existsSync(path.join(nm, dev)), false, `${dev} (a dev dependency) is left out`);
  const napi = path.join(nm, "onnxruntime-node", "bin", "napi-v6");
  for (const platform of readdirSync(napi)) {
    const arches = readdirSync(path.join(napi, platform));
    assert.deepEqual(arches, platform === process.platform ? [process.arch] : [], `onnxruntime-node binaries for ${platform}: ${arches.join(", ")}`);
  }
  assert.match(
    r.stdout,
    /mobile_vla_ros: node_modules: \d+ production packages \(\d+ MB\) copied .*; \d+ dev-only packages and \d+ other platforms' prebuilt binaries left out/,
  );
  // The real node on the installed tree: the production dependencies are enough to run the CLI.
  const cli = spawnSync(path.join(w, "install", "mobile_vla_ros", "lib", "mobile_vla_ros", "mobile-vla"), ["--help"], {
    env: ENV,
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(cli.status, 0, `installed mobile-vla --help: ${cli.stderr}`);
  assert.match(cli.stdout, /eval/);
  assert.equal(readlinkSync(path.join(src, "node_modules")), repoPath("node_modules"), "the source tree is left as it was");
});

test("record.launch.xml's teleop terminal: a terminal window when there is one, else one line saying how to drive", async () => {
  const script = repoPath("scripts", "teleop-terminal");
  const bin = path.join(tmp, "termbin");
  await mkdir(bin, { recursive: true });
  const noDisplay = spawnSync("/bin/bash", [script, "vla_teleop", "--ros-args"], { env: { PATH: bin }, encoding: "utf8" });
  assert.equal(noDisplay.status, 0, "launch sees a clean exit, not a traceback");
  assert.match(
    noDisplay.stderr,
    /^vla_teleop: not started: no display \(DISPLAY and WAYLAND_DISPLAY are unset\); the recorder is running: drive it from a terminal of your own with `ros2 run mobile_vla_ros vla_teleop`/,
  );
  const noTerminal = spawnSync("/bin/bash", [script, "vla_teleop"], { env: { PATH: bin, DISPLAY: ":0" }, encoding: "utf8" });
  assert.equal(noTerminal.status, 0);
  assert.match(noTerminal.stderr, /not started: no terminal emulator found \(xterm, x-terminal-emulator, gnome-terminal or konsole\)/);
  await writeFile(path.join(bin, "xterm"), '#!/bin/sh\necho "xterm $*"\n');
  await chmod(path.join(bin, "xterm"), 0o755);
  const xterm = spawnSync("/bin/bash", [script, "/lib/vla_teleop", "--ros-args", "-r", "cmd_vel:=/cmd_vel"], {
    env: { PATH: `${bin}:/bin`, DISPLAY: ":0" },
    encoding: "utf8",
  });
  assert.equal(xterm.stdout.trim(), "xterm -e /lib/vla_teleop --ros-args -r cmd_vel:=/cmd_vel");
  const launch = readFileSync(repoPath("launch", "record.launch.xml"), "utf8");
  assert.match(launch, /<arg name="teleop_terminal" default="\$\(find-pkg-share mobile_vla_ros\)\/scripts\/teleop-terminal"/);
});

test("package.xml parses with catkin_pkg and names the runtime message packages", () => {
  const r = spawnSync(
    "/usr/bin/python3",
    [
      "-c",
      "import sys; from catkin_pkg.package import parse_package; p = parse_package(sys.argv[1]); print(p.name); print(' '.join(d.name for d in p.exec_depends))",
      REPO,
    ],
    { encoding: "utf8" },
  );
  assert.equal(r.status, 0, `catkin_pkg refused package.xml: ${r.stderr}`);
  const [name, deps] = r.stdout.trim().split("\n");
  assert.equal(name, "mobile_vla_ros");
  for (const d of ["std_msgs", "sensor_msgs", "geometry_msgs", "diagnostic_msgs", "lifecycle_msgs", "bond"])
    assert.ok(deps!.split(" ").includes(d), `exec_depend ${d}`);
});

test("the launch files are well-formed XML naming this package's executables", () => {
  const r = spawnSync(
    "/usr/bin/python3",
    [
      "-c",
      "import sys, xml.etree.ElementTree as ET\nfor f in sys.argv[1:]:\n  for n in ET.parse(f).getroot().iter('node'): print(n.get('pkg'), n.get('exec'))",
      repoPath("launch", "vla.launch.xml"),
      repoPath("launch", "record.launch.xml"),
    ],
    { encoding: "utf8" },
  );
  assert.equal(r.status, 0, `launch XML does not parse: ${r.stderr}`);
  const nodes = new Set(r.stdout.trim().split("\n"));
  assert.deepEqual([...nodes].sort(), ["mobile_vla_ros episode_recorder", "mobile_vla_ros vla_policy", "mobile_vla_ros vla_teleop"]);
  const text = readFileSync(repoPath("launch", "vla.launch.xml"), "utf8");
  for (const topic of ["image", "image/compressed", "instruction", "estop", "cmd_vel"])
    assert.match(text, new RegExp(`<remap from="${topic}"`), `vla.launch.xml remaps ${topic}`);
  for (const f of ["vla.launch.xml", "record.launch.xml"]) {
    assert.match(readFileSync(repoPath("launch", f), "utf8"), /<param name="autostart" value="\$\(var autostart\)"\/>/, `${f} passes autostart on`);
  }
});

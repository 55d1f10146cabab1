#!/usr/bin/env node
// @ts-check
// colcon's install step for node_modules (CMakeLists.txt runs it at install time).
// A plain install gets the production dependencies only, as package-lock.json lists
// them (entries marked "dev" stay behind: typescript, biome, knip, ...), and of
// onnxruntime-node's prebuilt binaries only this machine's (it ships darwin, win32
// and both linux architectures). A --symlink-install gets one link to the source
// tree's node_modules, as it gets links for everything else.
//
// usage: install-node-modules.mjs <copy|link> <package source dir> <destination node_modules>
import { cpSync, existsSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import path from "node:path";

/** Directories of a package that hold one prebuilt binary per platform/arch: only this machine's is kept. */
const PER_PLATFORM_BINARIES = {
  "onnxruntime-node": /^bin\/napi-v\d+\/([^/]+)\/([^/]+)(\/|$)/,
};

/** @param {string} message */
function fail(message) {
  process.stderr.write(`mobile_vla_ros: ${message}\n`);
  process.exit(1);
}

const [mode, srcDir, dest] = process.argv.slice(2);
if ((mode !== "copy" && mode !== "link") || !srcDir || !dest) fail("usage: install-node-modules.mjs <copy|link> <package source dir> <destination node_modules>");
const modules = path.join(srcDir, "node_modules");
if (!existsSync(modules)) fail(`${modules} is missing: run npm install in ${srcDir}, then colcon build again`);

rmSync(dest, { recursive: true, force: true });
mkdirSync(path.dirname(dest), { recursive: true });

if (mode === "link") {
  symlinkSync(modules, dest, "dir");
  process.stdout.write(`mobile_vla_ros: node_modules linked to ${modules}\n`);
  process.exit(0);
}

/** @type {{ lockfileVersion?: number, packages?: Record<string, { dev?: boolean, link?: boolean }> }} */
const lock = JSON.parse(readFileSync(path.join(srcDir, "package-lock.json"), "utf8"));
if (!lock.packages || (lock.lockfileVersion ?? 0) < 2) fail("package-lock.json has no \"packages\" map (lockfileVersion >= 2, npm >= 7): run npm install with a current npm");

let kept = 0;
let devOnly = 0;
let bytes = 0;
let otherPlatforms = 0;
for (const [key, entry] of Object.entries(lock.packages ?? {})) {
  if (key === "" || !key.startsWith("node_modules/")) continue;
  if (entry.dev) {
    devOnly++;
    continue;
  }
  const from = path.join(srcDir, key);
  // An optional dependency for another platform (or one whose build failed) is not there.
  if (!existsSync(from)) continue;
  const to = path.join(dest, key.slice("node_modules/".length));
  const name = key.slice(key.lastIndexOf("node_modules/") + "node_modules/".length);
  const perPlatform = PER_PLATFORM_BINARIES[/** @type {keyof typeof PER_PLATFORM_BINARIES} */ (name)];
  cpSync(from, to, {
    recursive: true,
    verbatimSymlinks: true,
    preserveTimestamps: true,
    filter: (file) => {
      const rel = path.relative(from, file).split(path.sep).join("/");
      // Nested packages are lock entries of their own, copied (or left out) on their own.
      if (rel === "node_modules" || rel.startsWith("node_modules/")) return false;
      const m = perPlatform?.exec(rel);
      if (m && (m[1] !== process.platform || m[2] !== process.arch)) {
        if (m[3] === "") otherPlatforms++;
        return false;
      }
      const st = lstatSync(file);
      if (st.isFile()) bytes += st.size;
      return true;
    },
  });
  kept++;
}
process.stdout.write(
  `mobile_vla_ros: node_modules: ${kept} production packages (${(bytes / 1e6).toFixed(0)} MB) copied to ${dest}; ` +
    `${devOnly} dev-only packages and ${otherPlatforms} other platforms' prebuilt binaries left out\n`,
);

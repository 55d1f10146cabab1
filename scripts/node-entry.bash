#!/usr/bin/env bash
# Starts one of the package's Node programs for the wrappers next to it (vla_policy,
# episode_recorder, vla_teleop, mobile-vla). It finds the package root
# (share/mobile_vla_ros when installed, the source tree otherwise) and checks what a
# run needs, so a missing piece is ONE line saying what to do instead of Node's
# "Cannot find module" stack trace.
# usage: node-entry.bash <name for messages> <program under dist/> [arguments...]
name=$1
program=$2
shift 2
# Shell builtins only (no dirname, no cat): the checks must work on any PATH.
here=${BASH_SOURCE[0]%/*}
[ "$here" = "${BASH_SOURCE[0]}" ] && here=.
root=$(cd "$here/.." && pwd)
# An install knows its source tree (CMakeLists.txt writes SOURCE_DIR); a source tree is its own.
if [ -f "$root/SOURCE_DIR" ]; then
  rebuild="cd $(<"$root/SOURCE_DIR") && npm install, then colcon build --packages-select mobile_vla_ros in your workspace"
else
  rebuild="cd $root && npm install"
fi
if ! command -v node >/dev/null 2>&1; then
  echo "$name: node is not on PATH: install Node.js >= 20.19 (nodejs.org, or NodeSource's packages for Ubuntu)" >&2
  exit 127
fi
if [ ! -f "$root/dist/$program" ]; then
  echo "$name: $root/dist/$program is missing (the TypeScript was never built): $rebuild" >&2
  exit 1
fi
if [ ! -d "$root/node_modules" ]; then
  echo "$name: $root/node_modules is missing (npm install never ran): $rebuild" >&2
  exit 1
fi
exec node "$root/dist/$program" "$@"

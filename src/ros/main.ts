#!/usr/bin/env node
// Entry point of the ROS nodes: `node dist/src/ros/main.js <vla_policy | episode_recorder | vla_teleop> [--ros-args ...]`
// (scripts/<node> wraps this for ros2 run and launch). The work is in run.ts.
import { runNode } from "./run.js";

runNode(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);

// What `ros2 run mobile_vla_ros <node>` does (main.ts is only the entry point, so
// this stays importable by tests): load rclnodejs, init with the process's
// --ros-args, build the node, spin, bring a managed node up when its autostart
// parameter says so (a failure ends the process with the reason, as a node that
// cannot start should under `ros2 launch`), and on SIGINT / SIGTERM / the teleop's
// quit shut the node down cleanly BEFORE rclnodejs (its own SIGINT handler would
// shut the context down first and the final zero command would never leave).
import { loadRclnodejs } from "./load-rclnodejs.js";
import { PolicyNode } from "./policy-node.js";
import type { Rclnodejs, RosNode } from "./rclnodejs-api.js";
import { RecorderNode } from "./recorder-node.js";
import { TeleopNode } from "./teleop-node.js";
import { errorText } from "../util/errors.js";

export const NODE_NAMES = ["vla_policy", "episode_recorder", "vla_teleop"] as const;
export type NodeName = (typeof NODE_NAMES)[number];

export const USAGE = `usage: main.js <${NODE_NAMES.join(" | ")}> [--ros-args ...]`;

export interface RunDeps {
  load?: () => Promise<Rclnodejs>;
  /** Signal registration (process.once by default). */
  onSignal?: (signal: "SIGINT" | "SIGTERM", handler: () => void) => void;
  stderr?: (line: string) => void;
}

/** A created node: the rclnodejs node to spin, its autostart (managed nodes), and how to stop it. */
interface Started {
  node: RosNode;
  /** configure + activate, when the node is managed and its autostart parameter is true. */
  startup: (() => Promise<void>) | null;
  stop(): Promise<void>;
}

function startNode(name: NodeName, rcl: Rclnodejs, requestExit: () => void): Started {
  switch (name) {
    case "vla_policy": {
      const n = new PolicyNode({ rcl });
      return { node: n.node, startup: n.autostart ? () => n.startup() : null, stop: () => n.shutdown() };
    }
    case "episode_recorder": {
      const n = new RecorderNode({ rcl });
      return { node: n.node, startup: n.autostart ? () => n.startup() : null, stop: () => n.shutdown() };
    }
    case "vla_teleop": {
      const n = new TeleopNode({ rcl, onQuit: requestExit });
      n.start();
      return { node: n.node, startup: null, stop: async () => n.shutdown() };
    }
  }
}

/**
 * Runs one node until a signal (or the teleop's quit); resolves to the process
 * exit code. Start failures (rclnodejs missing, bad parameters, a model that
 * does not load) are printed as one message and give 1.
 */
export async function runNode(argv: readonly string[], deps: RunDeps = {}): Promise<number> {
  const err = deps.stderr ?? ((l: string) => process.stderr.write(l + "\n"));
  const name = argv[0];
  if (!(NODE_NAMES as readonly string[]).includes(name ?? "")) {
    err(`${name === undefined ? "no node name given" : `unknown node ${JSON.stringify(name)}`}\n${USAGE}`);
    return 2;
  }
  const node = name as NodeName;
  let rcl: Rclnodejs;
  try {
    rcl = await (deps.load ?? loadRclnodejs)();
  } catch (e) {
    err(`${node}: ${errorText(e)}`);
    return 1;
  }
  rcl.removeSignalHandlers?.();
  let exitRequested!: () => void;
  const exit = new Promise<void>((r) => (exitRequested = r));
  const onSignal = deps.onSignal ?? ((sig, h) => void process.once(sig, h));
  onSignal("SIGINT", () => exitRequested());
  onSignal("SIGTERM", () => exitRequested());
  let started: Started;
  try {
    await rcl.init();
    started = startNode(node, rcl, () => exitRequested());
  } catch (e) {
    err(errorText(e));
    try {
      rcl.shutdown();
    } catch {
      // Already down: nothing to release.
    }
    return 1;
  }
  // Spinning before autostart lets ~/get_state answer "configuring" while a model loads.
  // rclnodejs >= 0.18 spins from the node; older versions from the module.
  if (typeof started.node.spin === "function") started.node.spin();
  else rcl.spin(started.node);
  let code = 0;
  if (started.startup) {
    const startup = started.startup().then(
      () => true,
      (e: unknown) => (err(errorText(e)), false),
    );
    // A signal during a long configure ends the wait; shutdown below waits for the transition itself.
    const ok = await Promise.race([startup, exit.then(() => true)]);
    if (!ok) {
      code = 1;
      exitRequested();
    }
  }
  await exit;
  try {
    await started.stop();
  } catch (e) {
    err(`${node}: shutdown failed: ${errorText(e)}`);
    code = 1;
  }
  try {
    started.node.destroy();
    rcl.shutdown();
  } catch (e) {
    err(`${node}: rclnodejs shutdown failed: ${errorText(e)}`);
  }
  return code;
}

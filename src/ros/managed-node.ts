// What every managed node of this package shares, the way nav2_util::LifecycleNode
// gives it to nav2's servers: the state machine with its ROS services, the bond
// to a lifecycle manager while active, autostart (configure + activate at start,
// so a plain `ros2 launch` runs the node), and the lifecycle phase the parameter
// rule (node-params.ts) decides a `ros2 param set` by.
import type { Scheduler } from "../control/clock.js";
import { Bond } from "./bond.js";
import { LifecycleInterface } from "./lifecycle-interface.js";
import { LifecycleStateMachine, STATE, type CallbackResult, type LifecycleCallbacks, type StateId } from "./lifecycle.js";
import type { NodePhase } from "./node-params.js";
import type { RosNode } from "./rclnodejs-api.js";
import { errorText } from "../util/errors.js";

export interface ManagedNodeLogger {
  info(message: string): unknown;
  warn(message: string): unknown;
  error(message: string): unknown;
}

/** A start-up transition failed; the message names the transition and why. */
export class StartupError extends Error {
  override name = "StartupError";
}

export class ManagedNode {
  readonly machine: LifecycleStateMachine;
  private readonly iface: LifecycleInterface;
  private readonly bond: Bond;

  constructor(
    private readonly node: RosNode,
    scheduler: Scheduler,
    private readonly log: ManagedNodeLogger,
    callbacks: LifecycleCallbacks,
  ) {
    this.bond = new Bond(node, scheduler, log);
    const bond = this.bond;
    // The bond follows the active state: it starts once activation succeeded and
    // ends before anything that leaves active runs.
    const wrapped: LifecycleCallbacks = {
      onConfigure: () => callbacks.onConfigure(),
      onCleanup: () => callbacks.onCleanup(),
      onActivate: async () => {
        const r = await callbacks.onActivate();
        if (r === "success") bond.start();
        return r;
      },
      onDeactivate: () => (bond.stop(), callbacks.onDeactivate()),
      onShutdown: (from: StateId) => (bond.stop(), callbacks.onShutdown(from)),
      onError: (from: StateId) => (bond.stop(), callbacks.onError(from)),
    };
    this.machine = new LifecycleStateMachine(wrapped, { log, onTransition: (e) => this.iface.publish(e) });
    this.iface = new LifecycleInterface(node, this.machine, log);
  }

  /** The lifecycle state's label (diagnostics, logs). */
  get stateLabel(): string {
    return this.machine.state.label;
  }

  get isActive(): boolean {
    return this.machine.id === STATE.ACTIVE;
  }

  /**
   * autostart: configure, then activate. Throws StartupError with `reason()`
   * (the node's own account of what failed) when either transition fails.
   */
  async startup(reason: () => string): Promise<void> {
    for (const step of ["configure", "activate"] as const) {
      const r = await this.machine[step]();
      if (!r.success) throw new StartupError(`${this.node.name()}: refusing to start: ${step} failed: ${r.refused ?? reason()}`);
    }
  }

  /** Leaves the node finalized from whatever state it is in (process exit). */
  async shutdown(): Promise<void> {
    await this.machine.shutdownFromAnyState();
  }

  /** Where the node is for a parameter change: unconfigured, configured (inactive / active), or busy in a transition or finalized. */
  paramPhase(): NodePhase {
    const id = this.machine.id;
    if (id === STATE.UNCONFIGURED) return { kind: "unconfigured" };
    if (id === STATE.INACTIVE || id === STATE.ACTIVE) return { kind: "configured", label: this.stateLabel };
    return { kind: "busy", label: this.stateLabel };
  }

  destroy(): void {
    this.bond.destroy();
    this.iface.destroy();
  }
}

/**
 * A transition callback's body: SUCCESS unless it throws; a throw is logged and
 * gives `result` (FAILURE by default: back to the start state; ERROR sends the
 * node through on_error, for transitions that must not leave it half done).
 */
export async function attempt(
  log: ManagedNodeLogger,
  what: string,
  fn: () => Promise<void> | void,
  opts: { onFailure?: (message: string) => void; result?: Exclude<CallbackResult, "success"> } = {},
): Promise<CallbackResult> {
  try {
    await fn();
    return "success";
  } catch (e) {
    const message = errorText(e);
    log.error(`${what} failed: ${message}`);
    opts.onFailure?.(message);
    return opts.result ?? "failure";
  }
}

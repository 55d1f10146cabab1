// The ROS 2 managed-node state machine (design.ros2.org/articles/node_lifecycle.html),
// written out here instead of using rclnodejs' LifecycleNode: rclnodejs (2.2's
// lib/lifecycle.js) calls a transition callback synchronously and reads its return
// code at once, so on_configure cannot await a model load (onnxruntime only opens
// sessions asynchronously). This machine awaits its callbacks, and keeps rcl's
// state and transition ids and labels (rcl_lifecycle/src/default_state_machine.c)
// so `ros2 lifecycle` and nav2's lifecycle manager see a standard node
// (lifecycle-interface.ts serves it as the ~/change_state, ~/get_state, ... services).
//
// The semantics are rclcpp_lifecycle's change_state(): a transition not valid from
// the current state is refused and the state stays; the callback's SUCCESS /
// FAILURE / ERROR picks the next state; ERROR (or a throw) runs on_error from
// errorprocessing, which ends in unconfigured (SUCCESS) or finalized. While a
// callback runs the node is in the transition state (configuring, ...), from which
// rcl offers no user transition, so a second request is refused, as in rclcpp.
import { errorText } from "../util/errors.js";

/** lifecycle_msgs/msg/State ids. */
export const STATE = {
  UNKNOWN: 0,
  UNCONFIGURED: 1,
  INACTIVE: 2,
  ACTIVE: 3,
  FINALIZED: 4,
  CONFIGURING: 10,
  CLEANINGUP: 11,
  SHUTTINGDOWN: 12,
  ACTIVATING: 13,
  DEACTIVATING: 14,
  ERRORPROCESSING: 15,
} as const;

/** lifecycle_msgs/msg/Transition ids. */
export const TRANSITION = {
  CONFIGURE: 1,
  CLEANUP: 2,
  ACTIVATE: 3,
  DEACTIVATE: 4,
  UNCONFIGURED_SHUTDOWN: 5,
  INACTIVE_SHUTDOWN: 6,
  ACTIVE_SHUTDOWN: 7,
  ON_CONFIGURE_SUCCESS: 10,
  ON_CONFIGURE_FAILURE: 11,
  ON_CONFIGURE_ERROR: 12,
  ON_CLEANUP_SUCCESS: 20,
  ON_CLEANUP_FAILURE: 21,
  ON_CLEANUP_ERROR: 22,
  ON_SHUTDOWN_SUCCESS: 30,
  ON_SHUTDOWN_FAILURE: 31,
  ON_SHUTDOWN_ERROR: 32,
  ON_ACTIVATE_SUCCESS: 40,
  ON_ACTIVATE_FAILURE: 41,
  ON_ACTIVATE_ERROR: 42,
  ON_DEACTIVATE_SUCCESS: 50,
  ON_DEACTIVATE_FAILURE: 51,
  ON_DEACTIVATE_ERROR: 52,
  ON_ERROR_SUCCESS: 60,
  ON_ERROR_FAILURE: 61,
  ON_ERROR_ERROR: 62,
} as const;

export type StateId = (typeof STATE)[keyof typeof STATE];

/** lifecycle_msgs/msg/State and Transition as messages carry them. */
export interface LifecycleStateMsg {
  id: number;
  label: string;
}

export interface TransitionDescriptionMsg {
  transition: LifecycleStateMsg;
  start_state: LifecycleStateMsg;
  goal_state: LifecycleStateMsg;
}

const STATE_LABELS: Record<StateId, string> = {
  [STATE.UNKNOWN]: "unknown",
  [STATE.UNCONFIGURED]: "unconfigured",
  [STATE.INACTIVE]: "inactive",
  [STATE.ACTIVE]: "active",
  [STATE.FINALIZED]: "finalized",
  [STATE.CONFIGURING]: "configuring",
  [STATE.CLEANINGUP]: "cleaningup",
  [STATE.SHUTTINGDOWN]: "shuttingdown",
  [STATE.ACTIVATING]: "activating",
  [STATE.DEACTIVATING]: "deactivating",
  [STATE.ERRORPROCESSING]: "errorprocessing",
};

/** How a transition callback ended (TRANSITION_CALLBACK_SUCCESS / FAILURE / ERROR). */
export type CallbackResult = "success" | "failure" | "error";

const RESULT_LABEL: Record<CallbackResult, string> = {
  success: "transition_success",
  failure: "transition_failure",
  error: "transition_error",
};

interface TransitionRow {
  id: number;
  label: string;
  start: StateId;
  goal: StateId;
}

const S = STATE;
const T = TRANSITION;
// rcl's default state machine, row for row.
const TRANSITIONS: readonly TransitionRow[] = [
  { id: T.CONFIGURE, label: "configure", start: S.UNCONFIGURED, goal: S.CONFIGURING },
  { id: T.ON_CONFIGURE_SUCCESS, label: RESULT_LABEL.success, start: S.CONFIGURING, goal: S.INACTIVE },
  { id: T.ON_CONFIGURE_FAILURE, label: RESULT_LABEL.failure, start: S.CONFIGURING, goal: S.UNCONFIGURED },
  { id: T.ON_CONFIGURE_ERROR, label: RESULT_LABEL.error, start: S.CONFIGURING, goal: S.ERRORPROCESSING },
  { id: T.CLEANUP, label: "cleanup", start: S.INACTIVE, goal: S.CLEANINGUP },
  { id: T.ON_CLEANUP_SUCCESS, label: RESULT_LABEL.success, start: S.CLEANINGUP, goal: S.UNCONFIGURED },
  { id: T.ON_CLEANUP_FAILURE, label: RESULT_LABEL.failure, start: S.CLEANINGUP, goal: S.INACTIVE },
  { id: T.ON_CLEANUP_ERROR, label: RESULT_LABEL.error, start: S.CLEANINGUP, goal: S.ERRORPROCESSING },
  { id: T.ACTIVATE, label: "activate", start: S.INACTIVE, goal: S.ACTIVATING },
  { id: T.ON_ACTIVATE_SUCCESS, label: RESULT_LABEL.success, start: S.ACTIVATING, goal: S.ACTIVE },
  { id: T.ON_ACTIVATE_FAILURE, label: RESULT_LABEL.failure, start: S.ACTIVATING, goal: S.INACTIVE },
  { id: T.ON_ACTIVATE_ERROR, label: RESULT_LABEL.error, start: S.ACTIVATING, goal: S.ERRORPROCESSING },
  { id: T.DEACTIVATE, label: "deactivate", start: S.ACTIVE, goal: S.DEACTIVATING },
  { id: T.ON_DEACTIVATE_SUCCESS, label: RESULT_LABEL.success, start: S.DEACTIVATING, goal: S.INACTIVE },
  { id: T.ON_DEACTIVATE_FAILURE, label: RESULT_LABEL.failure, start: S.DEACTIVATING, goal: S.ACTIVE },
  { id: T.ON_DEACTIVATE_ERROR, label: RESULT_LABEL.error, start: S.DEACTIVATING, goal: S.ERRORPROCESSING },
  { id: T.UNCONFIGURED_SHUTDOWN, label: "shutdown", start: S.UNCONFIGURED, goal: S.SHUTTINGDOWN },
  { id: T.INACTIVE_SHUTDOWN, label: "shutdown", start: S.INACTIVE, goal: S.SHUTTINGDOWN },
  { id: T.ACTIVE_SHUTDOWN, label: "shutdown", start: S.ACTIVE, goal: S.SHUTTINGDOWN },
  { id: T.ON_SHUTDOWN_SUCCESS, label: RESULT_LABEL.success, start: S.SHUTTINGDOWN, goal: S.FINALIZED },
  { id: T.ON_SHUTDOWN_FAILURE, label: RESULT_LABEL.failure, start: S.SHUTTINGDOWN, goal: S.FINALIZED },
  { id: T.ON_SHUTDOWN_ERROR, label: RESULT_LABEL.error, start: S.SHUTTINGDOWN, goal: S.ERRORPROCESSING },
  { id: T.ON_ERROR_SUCCESS, label: RESULT_LABEL.success, start: S.ERRORPROCESSING, goal: S.UNCONFIGURED },
  { id: T.ON_ERROR_FAILURE, label: RESULT_LABEL.failure, start: S.ERRORPROCESSING, goal: S.FINALIZED },
  { id: T.ON_ERROR_ERROR, label: RESULT_LABEL.error, start: S.ERRORPROCESSING, goal: S.FINALIZED },
];

export function stateMsg(id: StateId): LifecycleStateMsg {
  return { id, label: STATE_LABELS[id] };
}

function describe(row: TransitionRow): TransitionDescriptionMsg {
  return { transition: { id: row.id, label: row.label }, start_state: stateMsg(row.start), goal_state: stateMsg(row.goal) };
}

/**
 * What the node does in each transition. `from` is the primary state the
 * transition started in (shutdown and error processing start from several).
 * A callback that throws counts as ERROR, as in rclcpp.
 */
export interface LifecycleCallbacks {
  onConfigure(): Promise<CallbackResult>;
  onActivate(): Promise<CallbackResult>;
  onDeactivate(): Promise<CallbackResult>;
  onCleanup(): Promise<CallbackResult>;
  onShutdown(from: StateId): Promise<CallbackResult>;
  /** Runs after a callback returned ERROR: release everything; SUCCESS leads to unconfigured, anything else to finalized. */
  onError(from: StateId): Promise<CallbackResult>;
}

/** One state change, as lifecycle_msgs/msg/TransitionEvent carries it (rcl publishes one per step). */
export interface TransitionEvent {
  transition: LifecycleStateMsg;
  start_state: LifecycleStateMsg;
  goal_state: LifecycleStateMsg;
}

export interface ChangeResult {
  /** ChangeState's `success`: the callback returned SUCCESS. */
  success: boolean;
  state: LifecycleStateMsg;
  /** Why a request was refused before any callback ran (null when it ran). */
  refused: string | null;
}

export interface LifecycleLogger {
  info(message: string): unknown;
  warn(message: string): unknown;
  error(message: string): unknown;
}

export class LifecycleStateMachine {
  private current: StateId = STATE.UNCONFIGURED;
  private running: Promise<ChangeResult> | null = null;

  constructor(
    private readonly callbacks: LifecycleCallbacks,
    private readonly opts: { log: LifecycleLogger; onTransition?: (e: TransitionEvent) => void },
  ) {}

  get state(): LifecycleStateMsg {
    return stateMsg(this.current);
  }

  get id(): StateId {
    return this.current;
  }

  /** True while a transition callback runs. */
  get busy(): boolean {
    return this.running !== null;
  }

  /** Every state of the machine (GetAvailableStates). */
  availableStates(): LifecycleStateMsg[] {
    return (Object.values(STATE) as StateId[]).map(stateMsg);
  }

  /** Transitions valid from the current state (GetAvailableTransitions; `ros2 lifecycle list`). */
  availableTransitions(): TransitionDescriptionMsg[] {
    return TRANSITIONS.filter((r) => r.start === this.current).map(describe);
  }

  /** Every transition (GetTransitionGraph). */
  transitionGraph(): TransitionDescriptionMsg[] {
    return TRANSITIONS.map(describe);
  }

  /**
   * ChangeState: a transition by id, or by label when one is given (the label
   * wins, as in rclcpp: `ros2 service call` leaves the id 0). Resolves when the
   * node is in a primary state again.
   */
  change(request: { id: number; label?: string }): Promise<ChangeResult> {
    const row = request.label
      ? TRANSITIONS.find((r) => r.start === this.current && r.label === request.label)
      : TRANSITIONS.find((r) => r.start === this.current && r.id === request.id);
    // Only user transitions may be requested; success/failure/error are the machine's own.
    if (!row || row.id >= TRANSITION.ON_CONFIGURE_SUCCESS) {
      const what = request.label ? `"${request.label}"` : String(request.id);
      const reason = `transition ${what} is not available from state ${STATE_LABELS[this.current]}`;
      this.opts.log.warn(`lifecycle: ${reason}`);
      return Promise.resolve({ success: false, state: this.state, refused: reason });
    }
    const run = this.run(row).finally(() => {
      this.running = null;
    });
    this.running = run;
    return run;
  }

  configure(): Promise<ChangeResult> {
    return this.change({ id: TRANSITION.CONFIGURE });
  }

  activate(): Promise<ChangeResult> {
    return this.change({ id: TRANSITION.ACTIVATE });
  }

  deactivate(): Promise<ChangeResult> {
    return this.change({ id: TRANSITION.DEACTIVATE });
  }

  cleanup(): Promise<ChangeResult> {
    return this.change({ id: TRANSITION.CLEANUP });
  }

  /** Shutdown from whichever primary state the node is in (the three shutdown transitions share the label). */
  shutdown(): Promise<ChangeResult> {
    return this.change({ id: 0, label: "shutdown" });
  }

  /**
   * Waits for a transition in progress, then shuts down unless already finalized:
   * what a process exit does (SIGINT must not lose the final zero to a configure
   * that is still loading the model).
   */
  async shutdownFromAnyState(): Promise<LifecycleStateMsg> {
    while (this.running) await this.running.catch(() => undefined);
    if (this.current !== STATE.FINALIZED) await this.shutdown();
    return this.state;
  }

  private async run(row: TransitionRow): Promise<ChangeResult> {
    const from = this.current;
    this.step(row);
    let result = await this.invoke(row.goal, from);
    this.finish(result);
    if (result === "error") {
      const errorResult = await this.invoke(STATE.ERRORPROCESSING, from);
      this.finish(errorResult);
      // The request failed whatever on_error did: the node did not reach its goal.
      result = "error";
    }
    return { success: result === "success", state: this.state, refused: null };
  }

  private async invoke(transitionState: StateId, from: StateId): Promise<CallbackResult> {
    const cb = this.callbacks;
    const name = STATE_LABELS[transitionState];
    try {
      switch (transitionState) {
        case STATE.CONFIGURING:
          return await cb.onConfigure();
        case STATE.ACTIVATING:
          return await cb.onActivate();
        case STATE.DEACTIVATING:
          return await cb.onDeactivate();
        case STATE.CLEANINGUP:
          return await cb.onCleanup();
        case STATE.SHUTTINGDOWN:
          return await cb.onShutdown(from);
        case STATE.ERRORPROCESSING:
          return await cb.onError(from);
        default:
          throw new Error(`no callback for state ${name}`);
      }
    } catch (e) {
      this.opts.log.error(`lifecycle: ${name} callback threw: ${errorText(e)}`);
      return "error";
    }
  }

  /** Leaves the current transition state by its success / failure / error transition. */
  private finish(result: CallbackResult): void {
    const row = TRANSITIONS.find((r) => r.start === this.current && r.label === RESULT_LABEL[result]);
    if (!row) throw new Error(`lifecycle: no ${RESULT_LABEL[result]} from ${STATE_LABELS[this.current]}`);
    this.step(row);
  }

  private step(row: TransitionRow): void {
    const start = this.current;
    this.current = row.goal;
    if (row.id >= TRANSITION.ON_CONFIGURE_SUCCESS) this.opts.log.info(`lifecycle: ${STATE_LABELS[start]} -> ${STATE_LABELS[row.goal]}`);
    try {
      this.opts.onTransition?.({ transition: { id: row.id, label: row.label }, start_state: stateMsg(start), goal_state: stateMsg(row.goal) });
    } catch (e) {
      this.opts.log.warn(`lifecycle: transition_event listener threw: ${errorText(e)}`);
    }
  }
}

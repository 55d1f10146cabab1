// The managed node's communication interface, as rcl_lifecycle's com_interface.c
// offers it: ~/change_state, ~/get_state, ~/get_available_states,
// ~/get_available_transitions and ~/get_transition_graph, and every state change on
// ~/transition_event. `ros2 lifecycle nodes|get|list|set` and nav2's lifecycle
// manager (change_state, then get_state) use nothing else.
import type { LifecycleStateMachine, TransitionEvent } from "./lifecycle.js";
import { QOS_DEFAULT, type RosNode, type RosPublisher, type RosService, type RosServiceResponse } from "./rclnodejs-api.js";
import { errorText } from "../util/errors.js";

export const LIFECYCLE_SERVICES = {
  changeState: { name: "~/change_state", type: "lifecycle_msgs/srv/ChangeState" },
  getState: { name: "~/get_state", type: "lifecycle_msgs/srv/GetState" },
  getAvailableStates: { name: "~/get_available_states", type: "lifecycle_msgs/srv/GetAvailableStates" },
  getAvailableTransitions: { name: "~/get_available_transitions", type: "lifecycle_msgs/srv/GetAvailableTransitions" },
  getTransitionGraph: { name: "~/get_transition_graph", type: "lifecycle_msgs/srv/GetAvailableTransitions" },
} as const;

export const TRANSITION_EVENT = { topic: "~/transition_event", type: "lifecycle_msgs/msg/TransitionEvent" } as const;

/** The transition asked for in a ChangeState request (a malformed one asks for nothing valid). */
function requestedTransition(request: unknown): { id: number; label: string } {
  const t = (request as { transition?: { id?: unknown; label?: unknown } } | null)?.transition;
  return { id: typeof t?.id === "number" ? t.id : -1, label: typeof t?.label === "string" ? t.label : "" };
}

export class LifecycleInterface {
  private readonly services: RosService[] = [];
  private readonly events: RosPublisher;

  constructor(
    private readonly node: RosNode,
    machine: LifecycleStateMachine,
    log: { error(message: string): unknown },
  ) {
    this.events = node.createPublisher(TRANSITION_EVENT.type, TRANSITION_EVENT.topic, { qos: QOS_DEFAULT });
    // Answers are sent explicitly (not returned) so a transition that takes seconds
    // (a model load) answers when it ends, on every rclnodejs version.
    const serve = (s: { name: string; type: string }, answer: (request: unknown) => object | Promise<object>): void => {
      this.services.push(
        node.createService(s.type, s.name, { qos: QOS_DEFAULT }, (request: unknown, response: RosServiceResponse) => {
          Promise.resolve()
            .then(() => answer(request))
            .then(
              (r) => response.send(r),
              (e: unknown) => log.error(`${s.name} failed: ${errorText(e)}`),
            );
        }),
      );
    };
    serve(LIFECYCLE_SERVICES.changeState, async (request) => ({ success: (await machine.change(requestedTransition(request))).success }));
    serve(LIFECYCLE_SERVICES.getState, () => ({ current_state: machine.state }));
    serve(LIFECYCLE_SERVICES.getAvailableStates, () => ({ available_states: machine.availableStates() }));
    serve(LIFECYCLE_SERVICES.getAvailableTransitions, () => ({ available_transitions: machine.availableTransitions() }));
    serve(LIFECYCLE_SERVICES.getTransitionGraph, () => ({ available_transitions: machine.transitionGraph() }));
  }

  /** lifecycle_msgs/msg/TransitionEvent; timestamp is left to its default, as rcl leaves it 0. */
  publish(e: TransitionEvent): void {
    this.events.publish({ transition: e.transition, start_state: e.start_state, goal_state: e.goal_state });
  }

  destroy(): void {
    for (const s of this.services.splice(0)) this.node.destroyService(s);
    this.node.destroyPublisher(this.events);
  }
}

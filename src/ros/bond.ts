// The server side of a bond (ros/bond_core), as nav2's lifecycle nodes keep one
// while active: nav2_lifecycle_manager activates a node, then waits up to half its
// bond_timeout (default 4 s) for the node's heartbeats on /bond and fails the whole
// bring-up without them. Heartbeats are bond/msg/Status with the node's name as the
// bond id and a random instance id; leaving active publishes active: false, which
// the manager reads as an orderly end. Like nav2's servers, this side never times
// out the manager, so it does not listen.
//
// bond/msg/Status is not in every ROS 2 install (it comes with bond_core, which
// nav2 pulls in): without it the node runs on and says what the manager needs.
import { randomUUID } from "node:crypto";
import type { Scheduler, Timer } from "../control/clock.js";
import { stampFromSeconds } from "./msg-convert.js";
import { QOS_DEFAULT, type RosNode, type RosPublisher } from "./rclnodejs-api.js";
import { errorText } from "../util/errors.js";

export const BOND = {
  topic: "bond",
  type: "bond/msg/Status",
  /** nav2's servers: bond_heartbeat_period 0.25 s, heartbeat_timeout 4 s (bond/msg/Constants DEFAULT_HEARTBEAT_TIMEOUT). */
  heartbeatPeriodS: 0.25,
  heartbeatTimeoutS: 4.0,
} as const;

export interface BondStatusMsg {
  header: { stamp: { sec: number; nanosec: number }; frame_id: string };
  id: string;
  instance_id: string;
  active: boolean;
  heartbeat_timeout: number;
  heartbeat_period: number;
}

export class Bond {
  private readonly pub: RosPublisher | null;
  private readonly instanceId = randomUUID();
  private timer: Timer | null = null;

  constructor(
    private readonly node: RosNode,
    private readonly scheduler: Scheduler,
    log: { warn(message: string): unknown },
  ) {
    let pub: RosPublisher | null = null;
    try {
      // Reliable and volatile, as bondcpp publishes (it keeps 5; the default profile's 10 matches the same subscribers).
      pub = node.createPublisher(BOND.type, BOND.topic, { qos: QOS_DEFAULT });
    } catch (e) {
      log.warn(
        `no bond to a lifecycle manager (${BOND.type} unavailable: ${errorText(e)}); ` +
          "nav2's lifecycle manager needs bond_timeout: 0.0 to manage this node, or bond_core installed and rclnodejs' messages regenerated",
      );
    }
    this.pub = pub;
  }

  /** Heartbeats from now on (called on activate). */
  start(): void {
    if (!this.pub || this.timer) return;
    this.publish(true);
    this.timer = this.scheduler.every(BOND.heartbeatPeriodS, () => this.publish(true));
  }

  /** One active: false, then silence (called when leaving active). */
  stop(): void {
    if (!this.timer) return;
    this.timer.cancel();
    this.timer = null;
    this.publish(false);
  }

  destroy(): void {
    this.stop();
    if (this.pub) this.node.destroyPublisher(this.pub);
  }

  private publish(active: boolean): void {
    const msg: BondStatusMsg = {
      header: { stamp: stampFromSeconds(this.scheduler.now()), frame_id: "" },
      id: this.node.name(),
      instance_id: this.instanceId,
      active,
      heartbeat_timeout: BOND.heartbeatTimeoutS,
      heartbeat_period: BOND.heartbeatPeriodS,
    };
    this.pub?.publish(msg);
  }
}

// An in-memory rclnodejs for the node tests: publishers record what they publish,
// subscriptions are triggered by the test, parameters follow rclnodejs 1.x rules
// (overrides replace the declared parameter, integers must be BigInt, node.now()
// returns BigInt nanoseconds), so a node that works here handles those traps.
import type { Clock } from "../src/control/clock.js";
import type {
  Rclnodejs,
  RosLogger,
  RosNode,
  RosParameter,
  RosPubSubOptions,
  RosPublisher,
  RosTime,
} from "../src/ros/rclnodejs-api.js";
import { PARAMETER_TYPE } from "../src/ros/rclnodejs-api.js";

export class FakeParameter implements RosParameter {
  readonly value: unknown;

  constructor(
    readonly name: string,
    readonly type: number,
    value?: unknown,
  ) {
    this.value = value;
    const v = value;
    const ok =
      type === PARAMETER_TYPE.BOOL ? typeof v === "boolean"
      : type === PARAMETER_TYPE.INTEGER ? typeof v === "bigint"
      : type === PARAMETER_TYPE.DOUBLE ? typeof v === "number"
      : type === PARAMETER_TYPE.STRING ? typeof v === "string"
      : type === PARAMETER_TYPE.NOT_SET;
    // rclnodejs' Parameter.validate() throws a TypeError on a value of the wrong type.
    if (!ok) throw new TypeError(`Parameter ${name}: invalid value for type ${type}`);
  }
}

/** An override as `ros2 run ... -p name:=value` would give it: the type follows the value. */
export function override(name: string, value: boolean | number | bigint | string): FakeParameter {
  if (typeof value === "boolean") return new FakeParameter(name, PARAMETER_TYPE.BOOL, value);
  if (typeof value === "bigint") return new FakeParameter(name, PARAMETER_TYPE.INTEGER, value);
  if (typeof value === "number") return Number.isInteger(value) ? new FakeParameter(name, PARAMETER_TYPE.INTEGER, BigInt(value)) : new FakeParameter(name, PARAMETER_TYPE.DOUBLE, value);
  return new FakeParameter(name, PARAMETER_TYPE.STRING, value);
}

export interface Published {
  type: string;
  topic: string;
  options?: RosPubSubOptions;
  messages: unknown[];
}

export interface Subscribed {
  type: string;
  topic: string;
  options: RosPubSubOptions;
  callback: (message: unknown) => void;
}

export class FakeNode implements RosNode {
  readonly publishers = new Map<string, Published>();
  readonly subscriptions = new Map<string, Subscribed>();
  readonly params = new Map<string, RosParameter>();
  readonly logs: { level: string; message: string }[] = [];
  destroyed = false;

  constructor(
    private readonly nodeName: string,
    private readonly clock: Clock,
    private readonly overrides: RosParameter[] = [],
  ) {}

  name(): string {
    return this.nodeName;
  }

  getLogger(): RosLogger {
    const push = (level: string) => (message: string) => void this.logs.push({ level, message });
    return { debug: push("debug"), info: push("info"), warn: push("warn"), error: push("error") };
  }

  now(): RosTime {
    return { nanoseconds: BigInt(Math.round(this.clock.now() * 1e9)) };
  }

  createPublisher(type: string, topic: string, options?: RosPubSubOptions): RosPublisher {
    if (this.publishers.has(topic)) throw new Error(`fake: second publisher on ${topic}`);
    const p: Published = { type, topic, options, messages: [] };
    this.publishers.set(topic, p);
    return {
      publish: (m: object) => {
        if (this.destroyed) throw new Error("fake: publish on a destroyed node");
        checkNoBigInt(m, topic);
        // A deep copy: a node that reuses and mutates a message object must not rewrite history.
        p.messages.push(structuredClone(m));
      },
    };
  }

  createSubscription(type: string, topic: string, options: RosPubSubOptions, callback: (message: unknown) => void): object {
    if (this.subscriptions.has(topic)) throw new Error(`fake: second subscription on ${topic}`);
    this.subscriptions.set(topic, { type, topic, options, callback });
    return {};
  }

  declareParameter(parameter: RosParameter): RosParameter {
    if (this.params.has(parameter.name)) throw new Error(`Parameter(${parameter.name}) already declared.`);
    const o = this.overrides.find((p) => p.name === parameter.name);
    const p = o ?? parameter;
    this.params.set(p.name, p);
    return p;
  }

  getParameter(name: string): RosParameter {
    return this.params.get(name) ?? new FakeParameter(name, PARAMETER_TYPE.NOT_SET, undefined);
  }

  getParameterOverrides(): RosParameter[] {
    return [...this.overrides];
  }

  destroy(): void {
    this.destroyed = true;
  }

  /** Delivers a message to the subscription on `topic` as rclnodejs would (synchronously, in the callback). */
  deliver(topic: string, message: unknown): void {
    const s = this.subscriptions.get(topic);
    if (!s) throw new Error(`fake: nobody subscribed to ${topic}; subscribed: ${[...this.subscriptions.keys()].join(", ")}`);
    s.callback(message);
  }

  published(topic: string): unknown[] {
    return this.publishers.get(topic)?.messages ?? [];
  }
}

/** rclnodejs' native layer aborts on a BigInt in a message field: fail the test instead. */
function checkNoBigInt(v: unknown, where: string): void {
  if (typeof v === "bigint") throw new TypeError(`fake: BigInt in a published message on ${where}`);
  if (v && typeof v === "object" && !ArrayBuffer.isView(v)) for (const [k, x] of Object.entries(v)) checkNoBigInt(x, `${where}.${k}`);
}

export class FakeRcl implements Rclnodejs {
  readonly nodes: FakeNode[] = [];
  initialized = false;
  shutdownCalled = false;
  readonly Parameter = FakeParameter;

  constructor(
    private readonly clock: Clock,
    private readonly overrides: RosParameter[] = [],
  ) {}

  async init(): Promise<void> {
    this.initialized = true;
  }

  createNode(name: string): FakeNode {
    const n = new FakeNode(name, this.clock, this.overrides);
    this.nodes.push(n);
    return n;
  }

  /** Nodes handed to spin(), in order. */
  readonly spun: RosNode[] = [];

  spin(node: RosNode): void {
    this.spun.push(node);
  }

  shutdown(): void {
    this.shutdownCalled = true;
  }
}

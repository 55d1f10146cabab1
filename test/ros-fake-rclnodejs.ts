// An in-memory rclnodejs for the node tests: publishers record what they publish,
// subscriptions are triggered by the test, parameters follow rclnodejs 1.x/2.x rules
// (overrides replace the declared parameter, integers must be BigInt, node.now()
// returns BigInt nanoseconds, set-parameters callbacks run for declarations and
// for every set), so a node that works here handles those traps.
//
// Services and clients form one graph per FakeRcl, as on a ROS graph: a client
// reaches the service of the same resolved name AND type on any node ("~/x" is
// /<node>/x, "x" is /x), a request nobody serves is never answered, and a response
// arrives later, never inside sendRequest (rclnodejs delivers it in a later spin).
// With a Scheduler as the clock (a VirtualClock) that "later" is a timer at the
// same virtual time, so replies keep their place among the pipeline's timers.
import type { Clock, Scheduler } from "../src/control/clock.js";
import type {
  Rclnodejs,
  RosClient,
  RosLogger,
  RosNode,
  RosParameter,
  RosPubSubOptions,
  RosPublisher,
  RosService,
  RosServiceCallback,
  RosSetParametersCallback,
  RosSetParametersResult,
  RosSubscription,
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
      type === PARAMETER_TYPE.BOOL
        ? typeof v === "boolean"
        : type === PARAMETER_TYPE.INTEGER
          ? typeof v === "bigint"
          : type === PARAMETER_TYPE.DOUBLE
            ? typeof v === "number"
            : type === PARAMETER_TYPE.STRING
              ? typeof v === "string"
              : type === PARAMETER_TYPE.NOT_SET;
    // rclnodejs' Parameter.validate() throws a TypeError on a value of the wrong type.
    if (!ok) throw new TypeError(`Parameter ${name}: invalid value for type ${type}`);
  }
}

/** An override as `ros2 run ... -p name:=value` (or `ros2 param set`) would give it: the type follows the value. */
export function override(name: string, value: boolean | number | bigint | string): FakeParameter {
  if (typeof value === "boolean") return new FakeParameter(name, PARAMETER_TYPE.BOOL, value);
  if (typeof value === "bigint") return new FakeParameter(name, PARAMETER_TYPE.INTEGER, value);
  if (typeof value === "number")
    return Number.isInteger(value) ? new FakeParameter(name, PARAMETER_TYPE.INTEGER, BigInt(value)) : new FakeParameter(name, PARAMETER_TYPE.DOUBLE, value);
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

interface Served {
  type: string;
  name: string;
  node: FakeNode;
  callback: RosServiceCallback;
}

/** The graph's services, shared by the nodes of one FakeRcl. */
export class FakeGraph {
  readonly services = new Map<string, Served>();

  constructor(private readonly clock: Clock) {}

  /** Runs fn "in a later spin": a timer at the current time on a Scheduler clock, else a macrotask. */
  later(fn: () => void): void {
    const s = this.clock as Partial<Scheduler>;
    if (typeof s.at === "function") s.at.call(this.clock, this.clock.now(), fn);
    else setImmediate(fn);
  }
}

/** rcl's name expansion for the root namespace: "~/x" -> /<node>/x, "x" -> /x. */
function resolve(nodeName: string, name: string): string {
  if (name.startsWith("~/")) return `/${nodeName}/${name.slice(2)}`;
  return name.startsWith("/") ? name : `/${name}`;
}

/** rclnodejs' native layer aborts on a BigInt in a message field: fail the test instead. */
function checkNoBigInt(v: unknown, where: string): void {
  if (typeof v === "bigint") throw new TypeError(`fake: BigInt in a published message on ${where}`);
  if (v && typeof v === "object" && !ArrayBuffer.isView(v)) for (const [k, x] of Object.entries(v)) checkNoBigInt(x, `${where}.${k}`);
}

class FakeClient implements RosClient {
  destroyed = false;
  /** Requests sent, in order. */
  readonly requests: unknown[] = [];

  constructor(
    readonly type: string,
    readonly name: string,
    private readonly graph: FakeGraph,
  ) {}

  private server(): Served | undefined {
    const s = this.graph.services.get(this.name);
    return s && s.type === this.type && !s.node.destroyed ? s : undefined;
  }

  isServiceServerAvailable(): boolean {
    return this.server() !== undefined;
  }

  sendRequest(request: object, callback: (response: unknown) => void): void {
    if (this.destroyed) throw new Error(`fake: sendRequest on a destroyed client of ${this.name}`);
    this.requests.push(structuredClone(request));
    const s = this.server();
    if (!s) return; // nobody serves it: no answer, ever
    const req = structuredClone(request);
    this.graph.later(() => {
      let sent = false;
      s.callback(req, {
        send: (response: object) => {
          if (sent) throw new Error(`fake: ${this.name} answered twice`);
          sent = true;
          checkNoBigInt(response, `${this.name} response`);
          const copy = structuredClone(response);
          this.graph.later(() => {
            if (!this.destroyed) callback(copy);
          });
        },
      });
    });
  }
}

export class FakeNode implements RosNode {
  readonly publishers = new Map<string, Published>();
  readonly subscriptions = new Map<string, Subscribed>();
  readonly clients: FakeClient[] = [];
  readonly params = new Map<string, RosParameter>();
  readonly logs: { level: string; message: string }[] = [];
  /** Every message published on a topic, across publishers destroyed and made again. */
  private readonly history = new Map<string, unknown[]>();
  private readonly setParameterCallbacks: RosSetParametersCallback[] = [];
  destroyed = false;

  constructor(
    private readonly nodeName: string,
    private readonly clock: Clock,
    private readonly overrides: RosParameter[] = [],
    readonly graph: FakeGraph = new FakeGraph(clock),
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
    const messages = this.history.get(topic) ?? [];
    this.history.set(topic, messages);
    const p: Published = { type, topic, options, messages };
    this.publishers.set(topic, p);
    const handle = {
      publish: (m: object) => {
        if (this.destroyed) throw new Error("fake: publish on a destroyed node");
        if (this.publishers.get(topic) !== p) throw new Error(`fake: publish on a destroyed publisher of ${topic}`);
        checkNoBigInt(m, topic);
        // A deep copy: a node that reuses and mutates a message object must not rewrite history.
        messages.push(structuredClone(m));
      },
    };
    this.publisherOf.set(handle, topic);
    return handle;
  }

  private readonly publisherOf = new Map<RosPublisher, string>();
  private readonly subscriptionOf = new Map<RosSubscription, string>();
  private readonly serviceOf = new Map<RosService, string>();

  destroyPublisher(publisher: RosPublisher): void {
    const topic = this.publisherOf.get(publisher);
    if (topic === undefined) throw new Error("fake: destroyPublisher of an unknown publisher");
    this.publisherOf.delete(publisher);
    this.publishers.delete(topic);
  }

  createSubscription(type: string, topic: string, options: RosPubSubOptions, callback: (message: unknown) => void): RosSubscription {
    if (this.subscriptions.has(topic)) throw new Error(`fake: second subscription on ${topic}`);
    this.subscriptions.set(topic, { type, topic, options, callback });
    const handle = {};
    this.subscriptionOf.set(handle, topic);
    return handle;
  }

  destroySubscription(subscription: RosSubscription): void {
    const topic = this.subscriptionOf.get(subscription);
    if (topic === undefined) throw new Error("fake: destroySubscription of an unknown subscription");
    this.subscriptionOf.delete(subscription);
    this.subscriptions.delete(topic);
  }

  createService(type: string, serviceName: string, _options: RosPubSubOptions, callback: RosServiceCallback): RosService {
    const name = resolve(this.nodeName, serviceName);
    if (this.graph.services.has(name)) throw new Error(`fake: a second server for ${name}`);
    this.graph.services.set(name, { type, name, node: this, callback });
    const handle = {};
    this.serviceOf.set(handle, name);
    return handle;
  }

  destroyService(service: RosService): void {
    const name = this.serviceOf.get(service);
    if (name === undefined) throw new Error("fake: destroyService of an unknown service");
    this.serviceOf.delete(service);
    this.graph.services.delete(name);
  }

  createClient(type: string, serviceName: string): RosClient {
    const c = new FakeClient(type, resolve(this.nodeName, serviceName), this.graph);
    this.clients.push(c);
    return c;
  }

  destroyClient(client: RosClient): void {
    const c = this.clients.find((x) => x === client);
    if (!c) throw new Error("fake: destroyClient of an unknown client");
    c.destroyed = true;
    this.clients.splice(this.clients.indexOf(c), 1);
  }

  addOnSetParametersCallback(callback: RosSetParametersCallback): void {
    // rclnodejs puts a new callback first.
    this.setParameterCallbacks.unshift(callback);
  }

  private readonly preSetCallbacks: ((parameters: RosParameter[]) => RosParameter[])[] = [];

  addPreSetParametersCallback(callback: (parameters: RosParameter[]) => RosParameter[]): void {
    this.preSetCallbacks.push(callback);
  }

  private vetoed(parameters: RosParameter[]): RosSetParametersResult | null {
    for (const cb of this.setParameterCallbacks) {
      const r = cb(parameters);
      if (!r.successful) return r;
    }
    return null;
  }

  declareParameter(parameter: RosParameter): RosParameter {
    if (this.params.has(parameter.name)) throw new Error(`Parameter(${parameter.name}) already declared.`);
    const o = this.overrides.find((p) => p.name === parameter.name);
    const p = o ?? parameter;
    const veto = this.vetoed([p]);
    if (veto) throw new Error(`Parameter(${p.name}) declaration vetoed: ${veto.reason}`);
    this.params.set(p.name, p);
    return p;
  }

  getParameter(name: string): RosParameter {
    return this.params.get(name) ?? new FakeParameter(name, PARAMETER_TYPE.NOT_SET, undefined);
  }

  getParameterOverrides(): RosParameter[] {
    return [...this.overrides];
  }

  /**
   * What `ros2 param set` reaches: rclnodejs' setParameters, one result per
   * parameter, as rclnodejs 2.2 runs it: the pre-set callbacks, then the declared
   * type check (with rclnodejs' own wording), then the set-parameters callbacks.
   */
  setParameters(parameters: RosParameter[]): RosSetParametersResult[] {
    return parameters.map((given) => {
      let p = given;
      for (const cb of this.preSetCallbacks) p = cb([p])[0]!;
      const declared = this.params.get(p.name);
      if (!declared) return { successful: false, reason: `parameter ${p.name} is not declared` };
      if (p.type !== PARAMETER_TYPE.NOT_SET && p.type !== declared.type) return { successful: false, reason: `Parameter ${p.name} does not  readonly` };
      const veto = this.vetoed([p]);
      if (veto) return veto;
      this.params.set(p.name, p);
      return { successful: true, reason: "" };
    });
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
    return this.history.get(topic) ?? [];
  }

  /** What `ros2 service call` / `ros2 lifecycle set` do: one request to this node's service, the response when it is sent. */
  call(serviceName: string, request: object = {}): Promise<unknown> {
    const name = resolve(this.nodeName, serviceName);
    const s = this.graph.services.get(name);
    if (!s || s.node !== this)
      return Promise.reject(new Error(`fake: ${this.nodeName} serves no ${name}; served: ${[...this.graph.services.keys()].join(", ")}`));
    return new Promise((resolveCall) => {
      s.callback(structuredClone(request), { send: (response: object) => resolveCall(structuredClone(response)) });
    });
  }

  /** The type a service of this node is offered as. */
  serviceType(serviceName: string): string | undefined {
    return this.graph.services.get(resolve(this.nodeName, serviceName))?.type;
  }
}

export class FakeRcl implements Rclnodejs {
  readonly nodes: FakeNode[] = [];
  readonly graph: FakeGraph;
  initialized = false;
  shutdownCalled = false;
  readonly Parameter = FakeParameter;

  constructor(
    private readonly clock: Clock,
    private readonly overrides: RosParameter[] = [],
  ) {
    this.graph = new FakeGraph(clock);
  }

  async init(): Promise<void> {
    this.initialized = true;
  }

  /** Overrides apply to every node created, as a "/**" params entry would. */
  createNode(name: string): FakeNode {
    const n = new FakeNode(name, this.clock, this.overrides, this.graph);
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

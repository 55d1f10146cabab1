// The part of rclnodejs this package uses, written by hand: rclnodejs is an optional
// dependency (it builds against a sourced ROS 2 at install time, so on CI and laptops
// npm leaves it out), so the nodes are typed against this interface and the real
// module is loaded lazily (load-rclnodejs.ts). Tests pass an in-memory fake.
//
// Checked against rclnodejs' own types/ and lib/ (RobotWebTools/rclnodejs, 0.2x and
// 1.x): createSubscription(type, topic, options, callback) with options
// {enableTypedArray?, isRaw?, qos?} where qos may be a profile name such as
// "qos_profile_sensor_data"; createPublisher(type, topic, options?);
// declareParameter(parameter, descriptor?, ignoreOverride?) where a
// parameter-override given on the command line or in a params file REPLACES the
// parameter, type included; Parameter integer values are BigInt from 1.x on (plain
// numbers before); node.now() returns a Time whose `nanoseconds` is a BigInt in
// 1.x (a number or a decimal string before); the module installs its own SIGINT
// handler that shuts every context down at once unless removeSignalHandlers() is
// called. Services and clients (rclnodejs 2.2, lib/service.js and lib/client.js):
// createService(type, name, options, callback(request, response)) where the
// callback may answer later with response.send(); createClient(type, name,
// options) with sendRequest(request, callback) and isServiceServerAvailable();
// destroySubscription / destroyPublisher / destroyClient / destroyService;
// addOnSetParametersCallback(cb) where cb(parameters) returns {successful, reason}
// and is also called while parameters are being declared.

/** A ROS 2 parameter as rclnodejs represents it. */
export interface RosParameter {
  readonly name: string;
  /** rcl_interfaces/msg/ParameterType (see PARAMETER_TYPE). */
  readonly type: number;
  /** boolean, bigint (integers in rclnodejs 1.x) or number, string, arrays. */
  readonly value: unknown;
}

/** rcl_interfaces/msg/ParameterType values (the same numbers in every ROS 2 distro). */
export const PARAMETER_TYPE = {
  NOT_SET: 0,
  BOOL: 1,
  INTEGER: 2,
  DOUBLE: 3,
  STRING: 4,
} as const;

/** What each PARAMETER_TYPE is called in messages. */
export const PARAMETER_TYPE_NAMES: Readonly<Record<number, string>> = { 0: "unset value", 1: "bool", 2: "integer", 3: "double", 4: "string" };

export interface RosTime {
  /** BigInt in rclnodejs 1.x; a number (or a decimal string past 2^53) in 0.x. */
  readonly nanoseconds: bigint | number | string;
}

/** rclnodejs' Logging: one string per call. */
export interface RosLogger {
  debug(message: string): unknown;
  info(message: string): unknown;
  warn(message: string): unknown;
  error(message: string): unknown;
}

/** rclnodejs publishes plain JS objects shaped like the message. */
export interface RosPublisher {
  publish(message: object): void;
}

export type RosSubscription = object;

/** The handle createService returns (only passed back to destroyService). */
export type RosService = object;

/** What a service callback gets to answer with. */
export interface RosServiceResponse {
  /** Sends the response; rclnodejs serialises the plain object into the service's Response type. */
  send(response: object): void;
}

export type RosServiceCallback = (request: unknown, response: RosServiceResponse) => unknown;

export interface RosClient {
  /** The callback gets the plain response object, in a later spin; a request nobody answers never calls back. */
  sendRequest(request: object, callback: (response: unknown) => void): void;
  /** Whether a server for the service is on the graph now. */
  isServiceServerAvailable(): boolean;
}

/** rcl_interfaces/msg/SetParametersResult. */
export interface RosSetParametersResult {
  successful: boolean;
  reason: string;
}

export type RosSetParametersCallback = (parameters: RosParameter[]) => RosSetParametersResult;

/** A QoS profile name ("qos_profile_sensor_data", ...) or a QoS object. */
export type RosQos = string | object;

export interface RosPubSubOptions {
  /** Uint8Array etc. for numeric arrays (rclnodejs' default is true). */
  enableTypedArray?: boolean;
  /** Deliver the serialized CDR buffer instead of a message object. */
  isRaw?: boolean;
  qos?: RosQos;
}

export interface RosNode {
  name(): string;
  /** "/" for the root namespace (after any __ns remap). */
  namespace?(): string;
  getLogger(): RosLogger;
  now(): RosTime;
  createPublisher(typeClass: string, topic: string, options?: RosPubSubOptions): RosPublisher;
  createSubscription(typeClass: string, topic: string, options: RosPubSubOptions, callback: (message: unknown) => void): RosSubscription;
  createService(typeClass: string, serviceName: string, options: RosPubSubOptions, callback: RosServiceCallback): RosService;
  createClient(typeClass: string, serviceName: string, options?: RosPubSubOptions): RosClient;
  destroyPublisher(publisher: RosPublisher): void;
  destroySubscription(subscription: RosSubscription): void;
  destroyService(service: RosService): void;
  destroyClient(client: RosClient): void;
  /** Vetoes (or accepts) every parameter change, `ros2 param set` included. */
  addOnSetParametersCallback?(callback: RosSetParametersCallback): void;
  /**
   * rclnodejs >= 2: may rewrite a change before rclnodejs checks it against the
   * declared type (which refuses any other type, saying only "Parameter <name>
   * does not  readonly") and before the set-parameters callbacks see it.
   */
  addPreSetParametersCallback?(callback: (parameters: RosParameter[]) => RosParameter[]): void;
  /** ignoreOverride: declare `parameter` as given, whatever rclnodejs' own override for its name. */
  declareParameter(parameter: RosParameter, descriptor?: unknown, ignoreOverride?: boolean): RosParameter;
  getParameter(name: string): RosParameter;
  /** Overrides from the command line / params files, declared or not (rclnodejs >= 0.16). */
  getParameterOverrides?(): RosParameter[];
  /** rclnodejs >= 0.18; older versions only have the module-level spin(node). */
  spin?(timeout?: number): void;
  destroy(): void;
}

/** The rclnodejs module object (its default export when imported from ESM). */
export interface Rclnodejs {
  init(): Promise<void>;
  createNode(name: string, namespace?: string): RosNode;
  Parameter: new (name: string, type: number, value?: unknown) => RosParameter;
  spin(node: RosNode, timeout?: number): void;
  shutdown(): void;
  isShutdown?(): boolean;
  /** Removes rclnodejs' SIGINT handler, which would shut down before our final zero command is out. */
  removeSignalHandlers?(): void;
}

/** rclnodejs' name for the sensor-data QoS profile (best effort, keep last 5). */
export const QOS_SENSOR_DATA = "qos_profile_sensor_data";
/** rclnodejs' name for the default QoS profile (reliable, keep last 10). */
export const QOS_DEFAULT = "qos_profile_default";

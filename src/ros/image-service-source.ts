// Camera frames pulled from the robot's camera service (image_source: service):
// the Mobile-VLA robots serve the camera as camera_interfaces/srv/GetImage on
// get_image_service, answering with the newest frame in `image` (a
// sensor_msgs/Image, or a CompressedImage in later versions of that node; both
// are read).
//
// One request per frame_interval_s, never two in flight: a camera that answers
// slowly must not pile requests up. The pipeline samples frames as they arrive, one
// per interval by their stamps (control/frame-grid.ts), so each answer goes into the
// window the moment it lands, not up to an interval later. A request unanswered
// after watchdog_timeout_s is abandoned (by then the watchdog has stopped the robot
// for the missing frames) and a service that has left the graph is not called at
// all; both are reported, as the camera's state, in the diagnostics.
import type { Scheduler, Timer } from "../control/clock.js";
import type { PipelineLogger } from "../control/pipeline.js";
import type { CameraFrame } from "../msgs/image.js";
import { cameraFrameFromRos } from "./msg-convert.js";
import type { RosClient, RosNode } from "./rclnodejs-api.js";
import { errorText } from "../util/errors.js";

/** The response field that carries the frame (camera_interfaces/srv/GetImage). */
export const IMAGE_RESPONSE_FIELD = "image";

export type ImageServiceState = "starting" | "ok" | "unavailable" | "timed_out" | "bad_response" | "stopped";

export interface ImageServiceStatus {
  state: ImageServiceState;
  /** One sentence for an operator; "" when all is well. */
  detail: string;
  requests: number;
  responses: number;
  timeouts: number;
  /** Times a request was due while the previous one was still unanswered. */
  skipped: number;
  unavailable: number;
  bad_responses: number;
  /** Seconds the last answered request took. */
  last_round_trip_s: number | null;
}

export interface ImageServiceOptions {
  node: RosNode;
  scheduler: Scheduler;
  /** Service name (image_service) and type (image_service_type). */
  service: string;
  type: string;
  intervalS: number;
  /** A request unanswered this long is given up (watchdog_timeout_s). */
  timeoutS: number;
  /** Each frame with its receipt time on the scheduler's clock. */
  onImage: (frame: CameraFrame, stamp: number) => void;
  log: PipelineLogger;
}

/** The frame in a GetImage response: raw or compressed, told apart by their fields. */
export function imageFromResponse(response: unknown): CameraFrame {
  const img = (response as Record<string, unknown> | null)?.[IMAGE_RESPONSE_FIELD];
  if (typeof img !== "object" || img === null) throw new Error(`the response has no ${IMAGE_RESPONSE_FIELD} field`);
  return cameraFrameFromRos(img, "format" in img && !("encoding" in img));
}

export class ImageServiceSource {
  private readonly client: RosClient;
  private timer: Timer | null = null;
  private origin = 0;
  private tick = 0;
  private seq = 0;
  private inFlight: { seq: number; sentAt: number; timeout: Timer } | null = null;
  private state: ImageServiceState = "stopped";
  private detail = "";
  private readonly n = { requests: 0, responses: 0, timeouts: 0, skipped: 0, unavailable: 0, badResponses: 0 };
  private lastRoundTrip: number | null = null;

  constructor(private o: ImageServiceOptions) {
    this.client = o.node.createClient(o.type, o.service);
  }

  /**
   * A new frame interval or request timeout (live parameters). A new interval
   * starts the requests again from now, one per new interval; a request in flight
   * keeps the timeout it was sent with.
   */
  retime(intervalS: number, timeoutS: number): void {
    const restart = intervalS !== this.o.intervalS && this.timer !== null;
    this.o = { ...this.o, intervalS, timeoutS };
    if (!restart) return;
    this.timer?.cancel();
    this.origin = this.o.scheduler.now();
    this.tick = 0;
    this.scheduleNext();
  }

  /** Asks at once, then once per interval from now on. */
  start(): void {
    if (this.timer) return;
    this.origin = this.o.scheduler.now();
    this.tick = 0;
    this.setState("starting", "");
    this.request();
    this.scheduleNext();
  }

  /** No more requests; an answer still on its way is ignored. */
  stop(): void {
    this.timer?.cancel();
    this.timer = null;
    this.abandon();
    this.setState("stopped", "");
  }

  destroy(): void {
    this.stop();
    this.o.node.destroyClient(this.client);
  }

  status(): ImageServiceStatus {
    const n = this.n;
    return {
      state: this.state,
      detail: this.detail,
      requests: n.requests,
      responses: n.responses,
      timeouts: n.timeouts,
      skipped: n.skipped,
      unavailable: n.unavailable,
      bad_responses: n.badResponses,
      last_round_trip_s: this.lastRoundTrip,
    };
  }

  private scheduleNext(): void {
    this.tick += 1;
    const due = this.origin + this.tick * this.o.intervalS;
    this.timer = this.o.scheduler.at(Math.max(due, this.o.scheduler.now()), () => {
      if (!this.timer) return;
      this.request();
      this.scheduleNext();
    });
  }

  private request(): void {
    if (this.inFlight) {
      this.n.skipped++;
      return;
    }
    if (!this.client.isServiceServerAvailable()) {
      this.n.unavailable++;
      this.setState("unavailable", `image service ${this.o.service} is not available`);
      return;
    }
    const seq = ++this.seq;
    const sentAt = this.o.scheduler.now();
    const timeout = this.o.scheduler.at(sentAt + this.o.timeoutS, () => this.onTimeout(seq));
    this.inFlight = { seq, sentAt, timeout };
    this.n.requests++;
    // rclnodejs keeps the callback of a request nobody answers; one small closure per
    // abandoned request, at most one per timeoutS, is the price of the callback API
    // that every rclnodejs version has.
    this.client.sendRequest({}, (response) => this.onResponse(seq, response));
  }

  private onTimeout(seq: number): void {
    if (this.inFlight?.seq !== seq) return;
    this.inFlight = null;
    this.n.timeouts++;
    this.setState("timed_out", `image service ${this.o.service} did not answer within ${this.o.timeoutS} s`);
  }

  private onResponse(seq: number, response: unknown): void {
    const f = this.inFlight;
    // An answer after its timeout, or after stop(), describes a view already given up on.
    if (f?.seq !== seq) return;
    f.timeout.cancel();
    this.inFlight = null;
    const now = this.o.scheduler.now();
    this.lastRoundTrip = now - f.sentAt;
    let frame: CameraFrame;
    try {
      frame = imageFromResponse(response);
    } catch (e) {
      this.n.badResponses++;
      this.setState("bad_response", `image service ${this.o.service} answered without a usable frame: ${errorText(e)}`);
      return;
    }
    this.n.responses++;
    this.setState("ok", "");
    this.o.onImage(frame, now);
  }

  private abandon(): void {
    this.inFlight?.timeout.cancel();
    this.inFlight = null;
  }

  private setState(state: ImageServiceState, detail: string): void {
    const changed = state !== this.state || detail !== this.detail;
    this.state = state;
    this.detail = detail;
    if (!changed) return;
    // Logged on change only: a dead camera service must not log at the frame rate.
    if (state === "ok" || state === "starting" || state === "stopped") {
      if (state === "ok") this.o.log.info(`image service ${this.o.service} answering`);
    } else {
      this.o.log.warn(detail);
    }
  }
}

// Which camera frames go into the policy's window: one per frame interval, chosen by
// the frames' own stamps, never by a timer's phase.
//
// The grid is anchored at the first frame offered after a reset and steps by the
// interval; a frame is taken when its stamp reaches the next grid point, less half
// the camera's frame period (the second smallest of recent stamp gaps: lost frames
// only lengthen gaps, and one short outlier is passed over), so the frame nearest
// the grid point is taken on arrival and a few milliseconds of transport jitter do
// not move the choice to the next frame. A timer sampling "the newest frame" instead
// picked frames by the phase between the timer and the camera, which depends on
// when the node was activated: a replay of the same bag took other frames (live vs replay MAE 0.07 / 0.14 on the sample bag, 0.05 median chunk
// difference). With the grid, the frames chosen depend only on the frame stream.
//
// Grid points that pass without a frame (frames lost on a best-effort topic, a
// short camera pause) are skipped, and the grid keeps its phase: the first frame
// after them takes the slot it falls in. Re-anchoring at that frame instead put
// every later sample off the replay's: `ros2 bag play` loses frames in its start
// burst, and only the first of the run's 75 chunks then equalled the replay's. Only reset()
// (a new window: activation, a stale camera, a new instruction or interval) and a
// stamp earlier than the frame before it start the grid again.

/** How many recent stamp gaps estimate the camera's frame period. */
const PERIOD_SAMPLES = 9;

export class FrameGrid {
  private next: number | null = null;
  private last: number | null = null;
  private readonly gaps: number[] = [];

  constructor(private interval: number) {
    if (!(interval > 0)) throw new RangeError(`FrameGrid: interval must be > 0 s, got ${interval}`);
  }

  get intervalS(): number {
    return this.interval;
  }

  /** Forgets the anchor and the frame period; the next frame offered starts the grid (at a new interval, if given). */
  reset(interval: number = this.interval): void {
    if (!(interval > 0)) throw new RangeError(`FrameGrid: interval must be > 0 s, got ${interval}`);
    this.interval = interval;
    this.next = null;
    this.last = null;
    this.gaps.length = 0;
  }

  /** Whether the frame with this stamp (seconds) is the one to sample now. */
  offer(stamp: number): boolean {
    // A stamp that does not increase (a camera clock set back) would hold the grid
    // point out of reach: start again from this frame.
    if (this.last !== null && !(stamp > this.last)) this.reset();
    if (this.last !== null) {
      this.gaps.push(stamp - this.last);
      if (this.gaps.length > PERIOD_SAMPLES) this.gaps.shift();
    }
    this.last = stamp;
    if (this.next === null) {
      this.next = stamp + this.interval;
      return true;
    }
    const tol = this.tolerance();
    if (stamp < this.next - tol) return false;
    const skipped = Math.floor((stamp - (this.next - tol)) / this.interval);
    this.next += (skipped + 1) * this.interval;
    return true;
  }

  /** Half the camera's frame period, at most half the interval; 0 before two frames. */
  private tolerance(): number {
    if (this.gaps.length === 0) return 0;
    const sorted = [...this.gaps].sort((a, b) => a - b);
    const period = sorted[Math.min(1, sorted.length - 1)]!;
    return Math.min(period, this.interval) / 2;
  }
}

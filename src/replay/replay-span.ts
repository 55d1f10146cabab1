// A replay runs the control loop on a virtual clock through every second of the
// bag's span, messages or not, so its cost is the span times the control rate:
// a bag whose few messages lie far apart would tick for minutes and run out of
// memory. The bag layer already leaves out messages cut off from the recording
// by a day or more (bags/time-span.ts); what remains is refused here when the
// ticks it needs do not follow from the messages it holds.
import { BagError, type Bag, type BagTopic } from "../bags/index.js";

/** Control ticks a replay may simulate for each message on its topics, beyond MIN_TICKS. */
export const TICKS_PER_MESSAGE = 100;
/** Ticks any replay may simulate: about 28 h at 20 Hz. */
export const MIN_TICKS = 2_000_000;

/** Throws BagError before any work when replaying `bag` at `controlRateHz` would take implausibly many ticks. */
export function checkReplaySpan(bag: Pick<Bag, "path" | "startTime" | "endTime">, topics: readonly BagTopic[], controlRateHz: number): void {
  const spanS = bag.endTime - bag.startTime;
  const ticks = spanS * controlRateHz;
  const messages = topics.reduce((n, t) => n + t.count, 0);
  const limit = MIN_TICKS + TICKS_PER_MESSAGE * messages;
  if (!(ticks <= limit)) {
    throw new BagError(
      bag.path,
      `its ${messages} messages on ${topics.map((t) => t.name).join(", ")} span ${spanS.toFixed(3)} s ` +
        `(from ${bag.startTime.toFixed(3)} s to ${bag.endTime.toFixed(3)} s): at control_rate_hz ${controlRateHz} a replay would run ${ticks.toExponential(2)} control ticks, ` +
        `more than the ${limit} (${MIN_TICKS} + ${TICKS_PER_MESSAGE} per message) a replay of this many messages may; cut the bag to the part to evaluate (\`ros2 bag convert\` with start and end times)`,
    );
  }
}

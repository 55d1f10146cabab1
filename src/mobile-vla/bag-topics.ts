// Which topics of a recorded bag carry the camera, the teleop commands, the
// instruction, the episode commands and the e-stop. One resolver for every command
// that reads a Mobile-VLA recording (eval, replay, bag2episodes), so a bag one of
// them accepts the others accept too.
import { missingTopicError, type Bag, type BagTopic } from "../bags/index.js";
import { BOOL_TYPE, COMPRESSED_IMAGE_TYPE, IMAGE_TYPE, STRING_TYPE, TWIST_STAMPED_TYPE, TWIST_TYPE, fullTypeName } from "../msgs/type-names.js";
import { BAG_TOPICS } from "./topics.js";

/** Topic names asked for on the command line; each defaults to BAG_TOPICS. */
export interface WantedTopics {
  /** Image or CompressedImage; default /camera/image_raw, else the bag's only image topic. */
  image?: string;
  /** Twist or TwistStamped; default /cmd_vel. */
  cmdVel?: string;
  /** std_msgs/String; default /instruction, when the bag has it. */
  instruction?: string;
  /** std_msgs/String start [scenario] / stop / discard; default /episode, when the bag has it. */
  episode?: string;
  /** std_msgs/Bool; default /estop, when the bag has it. */
  estop?: string;
}

export type OptionalTopic = "instruction" | "episode" | "estop";

export interface BagTopics {
  image: BagTopic;
  cmdVel: BagTopic;
  instruction: BagTopic | null;
  episode: BagTopic | null;
  estop: BagTopic | null;
}

export const IMAGE_TYPES: readonly string[] = [IMAGE_TYPE, COMPRESSED_IMAGE_TYPE];
export const TWIST_TYPES: readonly string[] = [TWIST_TYPE, TWIST_STAMPED_TYPE];
const OPTIONAL_TYPES: Readonly<Record<OptionalTopic, readonly string[]>> = {
  instruction: [STRING_TYPE],
  episode: [STRING_TYPE],
  estop: [BOOL_TYPE],
};

// ROS 1 style names (no "/msg/") appear in bags converted from ROS 1; the message
// decoder reads both spellings.
const typeIn = (t: BagTopic, types: readonly string[]): boolean => types.includes(fullTypeName(t.type));

/**
 * The topics to read. A missing camera or command topic, a topic named on the
 * command line that is absent or of another type, and a default-named optional
 * topic of the wrong type each fail with the bag's topic list. `optional` names
 * the optional topics the caller reads; the others stay null.
 */
export function resolveBagTopics(
  bag: Pick<Bag, "path" | "topics">,
  wanted: WantedTopics = {},
  optional: readonly OptionalTopic[] = ["instruction", "episode", "estop"],
): BagTopics {
  const topics = bag.topics();
  const typed = (name: string, types: readonly string[]): BagTopic | undefined => {
    const t = topics.find((x) => x.name === name);
    return t && typeIn(t, types) ? t : undefined;
  };

  let image = wanted.image !== undefined ? typed(wanted.image, IMAGE_TYPES) : typed(BAG_TOPICS.image, IMAGE_TYPES);
  if (!image && wanted.image === undefined) {
    const images = topics.filter((t) => typeIn(t, IMAGE_TYPES));
    if (images.length === 1) image = images[0];
  }
  if (!image) throw missingTopicError(bag, wanted.image ?? `${BAG_TOPICS.image} (or a single image topic; choose one with --image-topic)`, IMAGE_TYPES);

  const cmdName = wanted.cmdVel ?? BAG_TOPICS.cmdVel;
  const cmdVel = typed(cmdName, TWIST_TYPES);
  if (!cmdVel) throw missingTopicError(bag, `${cmdName} (the teleop commands; choose one with --cmd-vel-topic)`, TWIST_TYPES);

  // Optional topics: absent is fine when defaulted, but one that exists with the
  // wrong type, or was named explicitly and is absent, is a mistake to report.
  const resolveOptional = (role: OptionalTopic): BagTopic | null => {
    if (!optional.includes(role)) return null;
    const explicit = wanted[role];
    const name = explicit ?? BAG_TOPICS[role];
    const t = typed(name, OPTIONAL_TYPES[role]);
    if (t) return t;
    if (explicit !== undefined || topics.some((x) => x.name === name)) throw missingTopicError(bag, name, OPTIONAL_TYPES[role]);
    return null;
  };
  return {
    image,
    cmdVel,
    instruction: resolveOptional("instruction"),
    episode: resolveOptional("episode"),
    estop: resolveOptional("estop"),
  };
}

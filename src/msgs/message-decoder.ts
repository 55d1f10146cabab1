// Stored bytes -> typed message, in one place. A storage backend (MCAP, sqlite3)
// says only what it holds: the type, how the payload is serialized and whatever
// definition it stored (MessageSchema). Here the definition is chosen (the
// stored ros2msg text, else the built-in Humble one), the CDR is read and the
// typed shape built, and it is decided whether an image's leading fields can be
// read from its first bytes.

import { errorText } from "../util/errors.js";
import { cdrDecoder } from "./cdr.js";
import { toDecodedMessage, type DecodedMessage } from "./decoded.js";
import { builtinDefinitions, parseRos2Msg, type MessageDefinitions } from "./definitions.js";
import { imageLayoutOf, type ImageLayout } from "./image-head.js";

/** What a storage backend knows about the messages of one topic. */
export interface MessageSchema {
  /** ROS type name, e.g. "sensor_msgs/msg/Image". */
  type: string;
  /** How payloads are serialized (rosbag2's serialization_format / MCAP's message encoding); only "cdr" decodes. */
  messageEncoding: string;
  /** How `definition` is written: "ros2msg", "ros2idl", ... or "" when none is stored. */
  definitionEncoding: string;
  /** The stored definition text ("" when none: Humble sqlite3 bags, rosbag2's "unknown" schema). */
  definition: string;
}

export interface MessageDecoder {
  readonly type: string;
  /** Reads one payload; throws a message naming the type and field on a malformed one. */
  decode(data: Uint8Array): DecodedMessage;
  /** Set when the type is a sensor_msgs Image / CompressedImage with the standard layout (see image-head.ts). */
  readonly imageLayout: ImageLayout | undefined;
}

function failing(type: string, why: string): MessageDecoder {
  // A topic that cannot be decoded fails per message, so the consumer counts and
  // skips its messages instead of losing the rest of the bag.
  return {
    type,
    imageLayout: undefined,
    decode: () => {
      throw new Error(`cannot decode ${type}: ${why}`);
    },
  };
}

function fromDefinitions(type: string, defs: MessageDefinitions): MessageDecoder {
  const read = cdrDecoder(defs);
  return { type, imageLayout: imageLayoutOf(type, defs), decode: (data) => toDecodedMessage(type, read(data)) };
}

/** The decoder for one topic's messages. */
export function decoderForSchema(schema: MessageSchema): MessageDecoder {
  const { type, messageEncoding, definitionEncoding, definition } = schema;
  if (messageEncoding !== "cdr") return failing(type, `serialization format "${messageEncoding}" is not supported (only cdr)`);
  const builtin = (why: string): MessageDecoder => {
    const defs = builtinDefinitions(type);
    return defs === undefined ? failing(type, why) : fromDefinitions(type, defs);
  };
  if (definition === "") return builtin("the bag carries no definition and it is not a built-in Humble type");
  if (definitionEncoding !== "ros2msg") {
    // rosbag2 writes ros2idl when it finds no .msg file.
    return builtin(`schema encoding "${definitionEncoding || "none"}" is not supported and it is not a built-in Humble type`);
  }
  let defs: MessageDefinitions;
  try {
    defs = parseRos2Msg(definition);
  } catch (err) {
    return builtin(`its ros2msg schema does not parse (${errorText(err)})`);
  }
  return fromDefinitions(type, defs);
}

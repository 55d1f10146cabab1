// CDR (de)serialisation of ROS 2 messages, with definitions from a bag's
// schema or from the built-in Humble set.

import { MessageReader, MessageWriter } from "@foxglove/rosmsg2-serialization";
import {
  builtinDefinitions,
  fullDefinitionText,
  parseRos2Msg,
  type MessageDefinitions,
} from "./msg-definitions.js";

export type CdrDecode = (data: Uint8Array) => unknown;

/**
 * A decoder for one topic. Where no usable definition exists the decoder
 * throws on every message, so that the failure is reported per message
 * (counted and skipped by the consumer) rather than aborting the bag.
 */
export function makeDecoder(type: string, definitions: MessageDefinitions | undefined, why?: string): CdrDecode {
  const defs = definitions ?? builtinDefinitions(type);
  if (defs === undefined) {
    const reason = why ?? "the bag carries no definition and it is not a built-in Humble type";
    return () => {
      throw new Error(`cannot decode ${type}: ${reason}`);
    };
  }
  const reader = new MessageReader(defs);
  return (data) => reader.readMessage(data);
}

/**
 * Decoder for an MCAP channel: the schema text when it is `ros2msg`, else the
 * built-in definition of the type (rosbag2 writes `ros2idl` or an empty
 * "unknown" schema when it finds no .msg file).
 */
export function decoderForSchema(type: string, schemaEncoding: string, schemaData: Uint8Array): CdrDecode {
  if (schemaEncoding === "ros2msg" && schemaData.byteLength > 0) {
    let defs: MessageDefinitions;
    try {
      defs = parseRos2Msg(new TextDecoder().decode(schemaData));
    } catch (err) {
      return makeDecoder(type, builtinDefinitions(type), `its ros2msg schema does not parse (${(err as Error).message})`);
    }
    return makeDecoder(type, defs);
  }
  return makeDecoder(type, undefined, `schema encoding "${schemaEncoding || "none"}" is not supported and it is not a built-in Humble type`);
}

/** An encoder for a type whose .msg text is known (see msg-definitions.ts). */
export function makeEncoder(type: string): (message: unknown) => Uint8Array {
  const writer = new MessageWriter(parseRos2Msg(fullDefinitionText(type)));
  return (message) => writer.writeMessage(message);
}

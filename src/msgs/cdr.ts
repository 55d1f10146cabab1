// CDR (de)serialisation of ROS 2 messages from parsed definitions, as
// @foxglove/rosmsg2-serialization does it; which definitions a stored message
// gets is decided in message-decoder.ts.

import { MessageReader, MessageWriter } from "@foxglove/rosmsg2-serialization";
import { fullDefinitionText, parseRos2Msg, type MessageDefinitions } from "./definitions.js";

/** Serialized CDR -> the plain object the definitions describe; throws on bytes that do not fit. */
export type CdrDecode = (data: Uint8Array) => unknown;

/** A CDR decoder for definitions (root first). */
export function cdrDecoder(definitions: MessageDefinitions): CdrDecode {
  const reader = new MessageReader(definitions);
  return (data) => reader.readMessage(data);
}

/** An encoder for a type whose .msg text is known (see definitions.ts). */
export function makeEncoder(type: string): (message: unknown) => Uint8Array {
  const writer = new MessageWriter(parseRos2Msg(fullDefinitionText(type)));
  return (message) => writer.writeMessage(message);
}

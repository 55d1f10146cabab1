// Message definitions for the types this package reads and writes.
//
// Two sources, for two different needs:
// - `.msg` texts (as shipped by ROS 2 Humble) for writing MCAP schemas the way
//   rosbag2 does, so a bag written here is indistinguishable in structure from
//   one written by `ros2 bag record -s mcap`;
// - @foxglove/rosmsg-msgs-common's parsed Humble definitions for decoding
//   sqlite3 bags, which (before Iron) carry no definitions of their own, and
//   MCAP channels whose schema is not ros2msg text.

import { parse } from "@foxglove/rosmsg";
import { ros2humble } from "@foxglove/rosmsg-msgs-common";
import { shortTypeName } from "./type-names.js";

/** A parsed message definition list as @foxglove/rosmsg2-serialization takes it (root first). */
export type MessageDefinitions = ReturnType<typeof parse>;

interface MsgSpec {
  text: string;
  /** Field types this definition refers to, in the spelling the .msg text uses them. */
  deps: string[];
}

const MSG: Record<string, MsgSpec> = {
  "builtin_interfaces/Time": {
    deps: [],
    text: `# This message communicates ROS Time defined here:
# https://design.ros2.org/articles/clock_and_time.html

# The seconds component, valid over all int32 values.
int32 sec

# The nanoseconds component, valid in the range [0, 1e9).
uint32 nanosec
`,
  },
  "std_msgs/Header": {
    deps: ["builtin_interfaces/Time"],
    text: `# Standard metadata for higher-level stamped data types.
# This is generally used to communicate timestamped data
# in a particular coordinate frame.

# Two-integer timestamp that is expressed as seconds and nanoseconds.
builtin_interfaces/Time stamp

# Transform frame with which this data is associated.
string frame_id
`,
  },
  "std_msgs/String": {
    deps: [],
    text: `# This was originally provided as an example message.
# It is deprecated as of Foxy
# It is recommended to create your own semantically meaningful message.
# However if you would like to continue using this please use the equivalent in example_msgs.

string data
`,
  },
  "std_msgs/Bool": {
    deps: [],
    text: `# This was originally provided as an example message.
# It is deprecated as of Foxy
# It is recommended to create your own semantically meaningful message.
# However if you would like to continue using this please use the equivalent in example_msgs.

bool data
`,
  },
  "geometry_msgs/Vector3": {
    deps: [],
    text: `# This represents a vector in free space.

# This is semantically different than a point.
# A vector is always anchored at the origin.
# When a transform is applied to a vector, only the rotational component is applied.

float64 x
float64 y
float64 z
`,
  },
  "geometry_msgs/Twist": {
    deps: ["geometry_msgs/Vector3"],
    text: `# This expresses velocity in free space broken into its linear and angular parts.

Vector3  linear
Vector3  angular
`,
  },
  "geometry_msgs/TwistStamped": {
    deps: ["geometry_msgs/Twist", "std_msgs/Header"],
    text: `# A twist with reference coordinate frame and timestamp

std_msgs/Header header
Twist twist
`,
  },
  "sensor_msgs/Image": {
    deps: ["std_msgs/Header"],
    text: `# This message contains an uncompressed image
# (0, 0) is at top-left corner of image

std_msgs/Header header # Header timestamp should be acquisition time of image
                             # Header frame_id should be optical frame of camera
                             # origin of frame should be optical center of cameara
                             # +x should point to the right in the image
                             # +y should point down in the image
                             # +z should point into to plane of the image
                             # If the frame_id here and the frame_id of the CameraInfo
                             # message associated with the image conflict
                             # the behavior is undefined

uint32 height                # image height, that is, number of rows
uint32 width                 # image width, that is, number of columns

# The legal values for encoding are in file include/sensor_msgs/image_encodings.hpp
# If you want to standardize a new string format, join
# ros-users@lists.ros.org and send an email proposing a new encoding.

string encoding       # Encoding of pixels -- channel meaning, ordering, size
                      # taken from the list of strings in include/sensor_msgs/image_encodings.hpp

uint8 is_bigendian    # is this data bigendian?
uint32 step           # Full row length in bytes
uint8[] data          # actual matrix data, size is (step * rows)
`,
  },
  "sensor_msgs/CompressedImage": {
    deps: ["std_msgs/Header"],
    text: `# This message contains a compressed image.

std_msgs/Header header # Header timestamp should be acquisition time of image
                             # Header frame_id should be optical frame of camera
                             # origin of frame should be optical center of cameara
                             # +x should point to the right in the image
                             # +y should point down in the image
                             # +z should point into to plane of the image

string format                # Specifies the format of the data
                             #   Acceptable values:
                             #     jpeg, png, tiff

uint8[] data                 # Compressed image buffer
`,
  },
};

const DELIMITER = "=".repeat(80) + "\n";

/**
 * The complete `ros2msg` definition of a type, assembled the way rosbag2's
 * LocalMessageDefinitionSource does: the root text, then each dependency not
 * yet seen (depth first, in sorted order) after a blank line, 80 '=' and a
 * `MSG: pkg/Type` line.
 */
export function fullDefinitionText(type: string): string {
  const root = shortTypeName(type);
  if (!(root in MSG)) {
    throw new Error(`no .msg text known for ${type}; known: ${Object.keys(MSG).join(", ")}`);
  }
  const seen = new Set<string>();
  const append = (name: string): string => {
    const spec = MSG[name];
    if (spec === undefined) throw new Error(`no .msg text known for dependency ${name} of ${type}`);
    let out = spec.text;
    for (const dep of [...spec.deps].sort()) {
      if (seen.has(dep)) continue;
      seen.add(dep);
      out += "\n" + DELIMITER + `MSG: ${dep}\n` + append(dep);
    }
    return out;
  };
  return append(root);
}

/** Parses a `ros2msg` schema text (as found in an MCAP file) into definitions, root first. */
export function parseRos2Msg(text: string): MessageDefinitions {
  return parse(text, { ros2: true });
}

/**
 * Definitions for a type from the Humble message set, root first, or undefined
 * when the type is not in it. Used where a bag carries no definitions.
 */
export function builtinDefinitions(type: string): MessageDefinitions | undefined {
  const defs = ros2humble as Record<string, MessageDefinitions[number] | undefined>;
  const root = defs[shortTypeName(type)];
  if (root === undefined) return undefined;
  const rest = Object.entries(defs)
    .filter(([name, def]) => name !== root.name && def !== undefined)
    .map(([, def]) => def as MessageDefinitions[number]);
  return [root, ...rest];
}

// The ROS 2 message types this package reads and writes, by the full names rosbag2
// and rclnodejs use. Bags converted from ROS 1 spell the same types without "/msg/";
// shortTypeName / fullTypeName convert between the two spellings.

export const IMAGE_TYPE = "sensor_msgs/msg/Image";
export const COMPRESSED_IMAGE_TYPE = "sensor_msgs/msg/CompressedImage";
export const STRING_TYPE = "std_msgs/msg/String";
export const BOOL_TYPE = "std_msgs/msg/Bool";
export const TWIST_TYPE = "geometry_msgs/msg/Twist";
export const TWIST_STAMPED_TYPE = "geometry_msgs/msg/TwistStamped";

/** "sensor_msgs/msg/Image" -> "sensor_msgs/Image"; already short names pass through. */
export function shortTypeName(type: string): string {
  const parts = type.split("/");
  return parts.length === 3 && parts[1] === "msg" ? `${parts[0]}/${parts[2]}` : type;
}

/** "sensor_msgs/Image" -> "sensor_msgs/msg/Image"; full names pass through. */
export function fullTypeName(type: string): string {
  const parts = type.split("/");
  return parts.length === 2 ? `${parts[0]}/msg/${parts[1]}` : type;
}

// The topic names of a Mobile-VLA setup, in one place: the names the nodes use
// (relative, remapped by the launch files) and the absolute names a recording of
// such a robot holds, which eval, replay and bag2episodes look for by default.

/** Topic names inside the nodes; launch files remap them (`image:=/camera/image`). */
export const NODE_TOPICS = {
  image: "image",
  compressedImage: "image/compressed",
  instruction: "instruction",
  estop: "estop",
  cmdVel: "cmd_vel",
  episode: "episode",
} as const;

/**
 * Default topics of a recorded bag: the camera driver's usual raw topic, and the
 * names record.launch.xml / vla.launch.xml remap the nodes' topics to.
 */
export const BAG_TOPICS = {
  image: "/camera/image_raw",
  compressedImage: "/camera/image_raw/compressed",
  instruction: "/instruction",
  estop: "/estop",
  cmdVel: "/cmd_vel",
  episode: "/episode",
} as const;

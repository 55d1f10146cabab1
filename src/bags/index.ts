// The bag layer's public surface: reading rosbag2 bags, their summary, and
// writing rosbag2-style MCAP bags (including the synthetic sample bag).

export {
  openBag,
  missingTopicError,
  requireTopic,
  BagError,
  type Bag,
  type BagMessage,
  type BagTopic,
  type LazyBagMessage,
  type LazyMessagesOptions,
  type LoadOptions,
  type MessagesOptions,
  type OpenBagOptions,
  type StorageId,
} from "./bag-reader.js";
export { bagInfo, formatBagInfo, type BagInfo, type BagFileInfo } from "./bag-info.js";
export {
  toDecodedMessage,
  toImageMessage,
  toStampedImage,
  bytesPerPixel,
  IMAGE_TYPE,
  COMPRESSED_IMAGE_TYPE,
  STRING_TYPE,
  BOOL_TYPE,
  TWIST_TYPE,
  TWIST_STAMPED_TYPE,
  type DecodedMessage,
  type Header,
  type Vector3,
  type ImageMsg,
  type CompressedImageMsg,
  type StringMsg,
  type BoolMsg,
  type TwistMsg,
  type OtherMsg,
} from "./messages.js";
export { RosbagMcapWriter, qosProfileYaml, type WriterTopic, type BagWriterOptions, type WrittenBag } from "./mcap-writer.js";
export {
  writeSampleBag,
  renderScene,
  projectObject,
  teleopCommand,
  SCENE_OBJECTS,
  METERS_PER_UNIT,
  DEFAULT_INSTRUCTION,
  SAMPLE_TOPICS,
  TELEOP_SPEED,
  ACTION_PERIOD_S,
  type SampleBagOptions,
  type SampleBagResult,
  type TargetSide,
  type Pose,
} from "./sample-bag.js";

// The bag layer's public surface: storage only. Reading rosbag2 bags (MCAP and
// sqlite3) as typed messages in log-time order, their summary, and writing
// rosbag2-style MCAP bags. What the messages are lives in src/msgs/.

export { openBag, missingTopicError, requireTopic, type OpenBagOptions } from "./bag-reader.js";
export type { Bag, BagMessage, BagTopic, LazyBagMessage, LazyMessagesOptions, LoadOptions, MessagesOptions } from "./bag.js";
export { BagError, type StorageId } from "./source.js";
export { bagInfo, formatBagInfo, type BagInfo, type BagFileInfo } from "./bag-info.js";
export { RosbagMcapWriter, qosProfileYaml, type WriterTopic, type BagWriterOptions, type WrittenBag } from "./mcap-writer.js";

// The bag layer's public surface: storage only. Reading rosbag2 bags (MCAP and
// sqlite3) as typed messages in log-time order, their summary, and writing
// rosbag2-style MCAP bags. What the messages are lives in src/msgs/.

export { openBag, missingTopicError, requireTopic } from "./bag-reader.js";
export type { Bag, BagMessage, BagTopic, LazyBagMessage, MessagesOptions } from "./bag.js";
export { BagError } from "./source.js";
export { bagInfo, formatBagInfo } from "./bag-info.js";
export { RosbagMcapWriter, type WriterTopic } from "./mcap-writer.js";

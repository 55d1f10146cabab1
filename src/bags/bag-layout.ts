// Which files make up a bag and in which storage: a rosbag2 directory (its
// metadata.yaml, or its files when the recording crashed before writing one),
// the metadata.yaml itself, or a single .mcap / .db3 file.

import { readdir, readFile, realpath, stat, open } from "node:fs/promises";
import { basename, dirname, extname, join, resolve } from "node:path";
import { hasMcapPrefix } from "@mcap/core";
import { parse as parseYaml } from "yaml";
import { BagError, type StorageId } from "./source.js";
import { errorText } from "../util/errors.js";

export interface BagLayout {
  storage: StorageId;
  files: string[];
  /** Counts from metadata.yaml, used only where a file keeps none. */
  metadataCounts: Map<string, number>;
  /** What is odd about the layout but did not stop it from being read. */
  warnings: string[];
}

const SQLITE_MAGIC = new TextEncoder().encode("SQLite format 3\0");

async function sniff(file: string): Promise<StorageId | undefined> {
  const handle = await open(file, "r");
  try {
    const head = new Uint8Array(16);
    const { bytesRead } = await handle.read(head, 0, 16, 0);
    const got = head.subarray(0, bytesRead);
    if (hasMcapPrefix(new DataView(got.buffer, got.byteOffset, got.byteLength))) return "mcap";
    if (bytesRead >= SQLITE_MAGIC.length && SQLITE_MAGIC.every((b, i) => head[i] === b)) return "sqlite3";
    return undefined;
  } finally {
    await handle.close();
  }
}

export function storageOfExtension(file: string): StorageId | undefined {
  const ext = extname(file).toLowerCase();
  if (ext === ".mcap") return "mcap";
  if (ext === ".db3") return "sqlite3";
  return undefined;
}

/** Split index of `name_12.mcap` -> 12, for ordering files when there is no metadata.yaml. */
function splitIndex(file: string): number {
  const m = /_(\d+)\.[^.]+$/.exec(basename(file));
  return m === null ? -1 : Number(m[1]);
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

async function readMetadata(dir: string): Promise<BagLayout> {
  const path = join(dir, "metadata.yaml");
  let doc: unknown;
  try {
    // Large integers (ns since epoch) are kept exact as bigint.
    doc = parseYaml(await readFile(path, "utf8"), { intAsBigInt: true });
  } catch (err) {
    throw new BagError(path, `cannot parse: ${errorText(err)}`, {}, { cause: err });
  }
  const info = obj(obj(doc)?.["rosbag2_bagfile_information"]);
  if (info === undefined) throw new BagError(path, "no rosbag2_bagfile_information section: not a rosbag2 metadata file");
  const storageId = String(info["storage_identifier"] ?? "");
  if (storageId !== "mcap" && storageId !== "sqlite3") {
    throw new BagError(path, `storage_identifier "${storageId}" is not supported (mcap or sqlite3)`);
  }
  const mode = String(info["compression_mode"] ?? "");
  if (mode !== "" && mode.toLowerCase() !== "none") {
    throw new BagError(
      path,
      `the bag is ${mode}-compressed with ${String(info["compression_format"] ?? "?")}; decompress it first (\`ros2 bag convert\` with no compression)`,
    );
  }
  let rel: string[] = [];
  const paths = info["relative_file_paths"];
  if (Array.isArray(paths) && paths.length > 0) rel = paths.map(String);
  else if (Array.isArray(info["files"])) rel = info["files"].map((f) => String(obj(f)?.["path"] ?? ""));
  if (rel.length === 0) throw new BagError(path, "lists no files (relative_file_paths is empty)");
  const isFile = (f: string): Promise<boolean> =>
    stat(f).then(
      (s) => s.isFile(),
      () => false,
    );
  const present: string[] = [];
  const warnings: string[] = [];
  // The same file listed twice (or under two spellings) would be read twice: every message doubled.
  const listedAt = new Map<string, number>();
  for (const [i, r] of rel.entries()) {
    const direct = resolve(dir, r);
    // Foxy wrote paths that start with the bag directory's own name.
    const alt = join(dir, basename(r));
    let file: string;
    if (await isFile(direct)) file = direct;
    else if (await isFile(alt)) file = alt;
    else throw new BagError(path, `lists ${r}, which is not in ${dir}`);
    const real = await realpath(file);
    const first = listedAt.get(real);
    if (first !== undefined) {
      warnings.push(`${path}: lists ${basename(file)} more than once (entries ${first + 1} and ${i + 1} of its files); it is read once`);
      continue;
    }
    listedAt.set(real, i);
    present.push(file);
  }
  const metadataCounts = new Map<string, number>();
  const topics = info["topics_with_message_count"];
  if (Array.isArray(topics)) {
    for (const t of topics) {
      const name = obj(obj(t)?.["topic_metadata"])?.["name"];
      const count = obj(t)?.["message_count"];
      if (typeof name === "string" && (typeof count === "bigint" || typeof count === "number")) {
        metadataCounts.set(name, Number(count));
      }
    }
  }
  return { storage: storageId, files: present, metadataCounts, warnings };
}

/** The files of the bag at `path`, in split order. */
export async function layoutOf(path: string): Promise<BagLayout> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    throw new BagError(path, `no such bag: ${errorText(err)}`, {}, { cause: err });
  }
  if (st.isDirectory()) {
    if (
      await stat(join(path, "metadata.yaml")).then(
        () => true,
        () => false,
      )
    )
      return readMetadata(path);
    // A bag whose recording crashed has no metadata.yaml; its files are still readable.
    const names = (await readdir(path)).filter((n) => storageOfExtension(n) !== undefined);
    if (names.length === 0) throw new BagError(path, "not a bag: no metadata.yaml and no .mcap or .db3 files");
    const kinds = new Set(names.map((n) => storageOfExtension(n)));
    if (kinds.size > 1) throw new BagError(path, "has both .mcap and .db3 files and no metadata.yaml to say which are the bag");
    const files = names.sort((a, b) => splitIndex(a) - splitIndex(b) || a.localeCompare(b)).map((n) => join(path, n));
    return { storage: storageOfExtension(names[0]!)!, files, metadataCounts: new Map(), warnings: [] };
  }
  if (basename(path) === "metadata.yaml") return readMetadata(dirname(path));
  const storage = storageOfExtension(path) ?? (await sniff(path));
  if (storage === undefined) throw new BagError(path, "not a bag: neither an MCAP nor a sqlite3 file (by name or content)");
  return { storage, files: [resolve(path)], metadataCounts: new Map(), warnings: [] };
}

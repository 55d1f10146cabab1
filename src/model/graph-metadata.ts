// The mobile_vla.* metadata_props an exporter writes into both graphs, and the check that
// they agree with manifest.json. A hand-edited manifest (window 9 for a model trained with
// 8) loads and runs without complaint when the head's window axis is dynamic; the graphs'
// own record of what they were exported as is what catches it. Graphs without these keys
// (older or hand-made folders) load as before.
import path from "node:path";
import { MANIFEST_FILE, ManifestError, headOutputWidth, type Manifest, type Precision } from "./manifest.js";
import { readOnnxMetadata } from "./onnx-metadata.js";

/** The keys of the model-folder contract (notes: both graphs; precision on backbones only). */
export const META_KEYS = {
  window: "mobile_vla.window",
  chunk: "mobile_vla.chunk",
  featureDim: "mobile_vla.feature_dim",
  actionDim: "mobile_vla.action_dim",
  headKind: "mobile_vla.head_kind",
  checkpointSha256: "mobile_vla.checkpoint_sha256",
  exporterVersion: "mobile_vla.exporter_version",
  precision: "mobile_vla.precision",
} as const;

export type GraphRole = { role: "backbone"; precision: Precision } | { role: "head" };

/**
 * The metadata a graph of this manifest should carry, as tiny-model writes it. The export
 * fields are included when the manifest has them; the head carries no precision (it is
 * always fp32).
 */
export function manifestMetadata(m: Manifest, graph: GraphRole): Record<string, string> {
  const out: Record<string, string> = {
    [META_KEYS.window]: String(m.window),
    [META_KEYS.chunk]: String(m.chunk),
    [META_KEYS.featureDim]: String(m.feature_dim),
    [META_KEYS.actionDim]: String(headOutputWidth(m)),
    [META_KEYS.headKind]: m.head.kind,
  };
  if (m.export?.checkpoint_sha256) out[META_KEYS.checkpointSha256] = m.export.checkpoint_sha256;
  if (m.export?.exporter_version) out[META_KEYS.exporterVersion] = m.export.exporter_version;
  if (graph.role === "backbone") out[META_KEYS.precision] = graph.precision;
  return out;
}

export interface GraphFile {
  /** Path relative to the model folder, as the manifest names it. */
  file: string;
  graph: GraphRole;
}

/**
 * Reads each graph's metadata and checks every mobile_vla.* key present against the
 * manifest; the graphs' checkpoint hashes must also agree with each other. Throws one
 * ManifestError listing every disagreement, each naming the field, the file, the key
 * and both values.
 */
export async function checkGraphMetadata(dir: string, m: Manifest, graphs: GraphFile[]): Promise<void> {
  const problems: string[] = [];
  const metas = await Promise.all(graphs.map((g) => readOnnxMetadata(path.join(dir, g.file))));
  const shas: { file: string; sha: string }[] = [];
  graphs.forEach((g, i) => {
    const meta = metas[i]!;
    const said = (field: string, manifestValue: string | number, key: string, value: string) =>
      `${field}: ${MANIFEST_FILE} says ${manifestValue} but ${g.file} metadata ${key} says ${value}`;
    const int = (field: string, key: string, expected: number, what = "") => {
      const v = meta.get(key);
      if (v === undefined) return;
      if (!/^\d+$/.test(v.trim())) problems.push(`${g.file} metadata ${key}: expected a positive integer, got ${JSON.stringify(v)}`);
      else if (Number(v) !== expected) problems.push(said(field, `${expected}${what}`, key, v.trim()));
    };
    int("window", META_KEYS.window, m.window);
    int("chunk", META_KEYS.chunk, m.chunk);
    int("feature_dim", META_KEYS.featureDim, m.feature_dim);
    const C = headOutputWidth(m);
    int("action_dim", META_KEYS.actionDim, C, m.head.kind === "continuous" ? ` (action_axes of a continuous head)` : ` (head.classes of a discrete head)`);
    const kind = meta.get(META_KEYS.headKind);
    if (kind !== undefined && kind !== m.head.kind) problems.push(said("head.kind", m.head.kind, META_KEYS.headKind, kind));
    if (g.graph.role === "backbone") {
      const p = meta.get(META_KEYS.precision);
      const field = g.graph.precision === "fp32" ? "backbone.file" : `backbone.variants.${g.graph.precision}`;
      if (p !== undefined && p !== g.graph.precision) problems.push(said(field, `${g.file} is the ${g.graph.precision} backbone`, META_KEYS.precision, p));
    }
    const version = meta.get(META_KEYS.exporterVersion);
    const mVersion = m.export?.exporter_version;
    if (version !== undefined && mVersion !== undefined && version !== mVersion)
      problems.push(said("export.exporter_version", mVersion, META_KEYS.exporterVersion, version));
    const sha = meta.get(META_KEYS.checkpointSha256);
    if (sha !== undefined) {
      shas.push({ file: g.file, sha });
      const mSha = m.export?.checkpoint_sha256;
      if (mSha !== undefined && sha.toLowerCase() !== mSha.toLowerCase())
        problems.push(said("export.checkpoint_sha256", mSha, META_KEYS.checkpointSha256, sha));
    }
  });
  // Graphs exported from different checkpoints would each load and run, and together mean nothing.
  for (let i = 1; i < shas.length; i++) {
    const a = shas[0]!;
    const b = shas[i]!;
    if (a.sha.toLowerCase() !== b.sha.toLowerCase()) {
      problems.push(
        `checkpoint: ${a.file} metadata ${META_KEYS.checkpointSha256} says ${a.sha} but ${b.file} says ${b.sha}; the graphs come from different checkpoints`,
      );
    }
  }
  if (problems.length) throw new ManifestError(path.join(dir, MANIFEST_FILE), problems);
}

// A small typed layer over onnx-proto for writing ONNX graphs from TypeScript, used
// to generate the tiny test/demo models. The bytes it writes depend only on what the
// caller added (no timestamps, no map-order surprises), so a generated model folder
// can be compared byte for byte between runs and machines.
import onnxProto from "onnx-proto";
import type { onnx as OnnxTypes } from "onnx-proto";

const { onnx } = onnxProto;

export type ElemType = "float32" | "int64";
/** A fixed size, or a name for a dimension the caller chooses at run time. */
export type Dim = number | string;
export type TensorData = Float32Array | BigInt64Array;

export type AttrValue =
  | { kind: "int"; value: number }
  | { kind: "float"; value: number }
  | { kind: "ints"; value: readonly number[] }
  | { kind: "floats"; value: readonly number[] }
  | { kind: "string"; value: string }
  | { kind: "tensor"; value: TensorData; dims: readonly number[] };

/** Tagged constructors, because a JS number cannot say whether it is an ONNX int or float. */
export const attr = {
  int: (value: number): AttrValue => ({ kind: "int", value }),
  float: (value: number): AttrValue => ({ kind: "float", value }),
  ints: (value: readonly number[]): AttrValue => ({ kind: "ints", value }),
  floats: (value: readonly number[]): AttrValue => ({ kind: "floats", value }),
  string: (value: string): AttrValue => ({ kind: "string", value }),
  tensor: (value: TensorData, dims: readonly number[]): AttrValue => ({ kind: "tensor", value, dims }),
};

export interface ModelOptions {
  /** Default-domain opset; 17 covers everything the tiny models use (LSTM-14, Reduce*-13 with axes as input). */
  opset?: number;
  irVersion?: number;
  producerName?: string;
  producerVersion?: string;
  docString?: string;
  /** Written as metadata_props, sorted by key. */
  metadata?: Record<string, string>;
}

const DATA_TYPE: Record<ElemType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
};

function elemTypeOf(data: TensorData): ElemType {
  return data instanceof Float32Array ? "float32" : "int64";
}

function checkedCount(dims: readonly number[], name: string): number {
  let n = 1;
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`${name}: bad dimension ${d} in [${dims.join(", ")}]`);
    n *= d;
  }
  return n;
}

/**
 * Tensor data as raw_data. ONNX defines raw_data as little-endian whatever the host,
 * so the bytes are written explicitly rather than copied from the typed array's buffer.
 */
function rawData(data: TensorData): Uint8Array {
  const out = new Uint8Array(data.length * (data instanceof Float32Array ? 4 : 8));
  const view = new DataView(out.buffer);
  if (data instanceof Float32Array) data.forEach((v, i) => view.setFloat32(i * 4, v, true));
  else data.forEach((v, i) => view.setBigInt64(i * 8, v, true));
  return out;
}

function tensorProto(name: string, data: TensorData, dims: readonly number[]): OnnxTypes.ITensorProto {
  const count = checkedCount(dims, name);
  if (count !== data.length) throw new Error(`${name}: dims [${dims.join(", ")}] hold ${count} values, data has ${data.length}`);
  return { name, dims: [...dims], dataType: DATA_TYPE[elemTypeOf(data)], rawData: rawData(data) };
}

function attributeProto(name: string, a: AttrValue): OnnxTypes.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.kind) {
    case "int":
      if (!Number.isSafeInteger(a.value)) throw new Error(`attribute ${name}: ${a.value} is not an integer`);
      return { name, type: T.INT, i: a.value };
    case "float":
      return { name, type: T.FLOAT, f: a.value };
    case "ints":
      if (!a.value.every(Number.isSafeInteger)) throw new Error(`attribute ${name}: [${a.value.join(", ")}] are not all integers`);
      return { name, type: T.INTS, ints: [...a.value] };
    case "floats":
      return { name, type: T.FLOATS, floats: [...a.value] };
    case "string":
      return { name, type: T.STRING, s: new TextEncoder().encode(a.value) };
    case "tensor":
      return { name, type: T.TENSOR, t: tensorProto(name, a.value, a.dims) };
  }
}

function valueInfo(name: string, elem: ElemType, dims: readonly Dim[]): OnnxTypes.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: DATA_TYPE[elem],
        shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/** Collects one ONNX graph. Node order is kept (ONNX wants nodes in topological order). */
export class GraphBuilder {
  private readonly inputs: OnnxTypes.IValueInfoProto[] = [];
  private readonly outputs: OnnxTypes.IValueInfoProto[] = [];
  private readonly initializers = new Map<string, OnnxTypes.ITensorProto>();
  private readonly nodes: OnnxTypes.INodeProto[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  constructor(readonly name: string) {}

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`graph ${this.name}: the name ${name} is already used`);
    this.names.add(name);
    return name;
  }

  /** A new value name; counters rather than random suffixes keep the output reproducible. */
  fresh(prefix: string): string {
    let name: string;
    do name = `${prefix}_${this.counter++}`;
    while (this.names.has(name));
    return name;
  }

  input(name: string, elem: ElemType, dims: readonly Dim[]): string {
    this.inputs.push(valueInfo(this.claim(name), elem, dims));
    return name;
  }

  /** Declares `name`, which some node must produce, as a graph output. */
  output(name: string, elem: ElemType, dims: readonly Dim[]): string {
    this.outputs.push(valueInfo(name, elem, dims));
    return name;
  }

  initializer(name: string, data: TensorData, dims: readonly number[]): string {
    this.initializers.set(this.claim(name), tensorProto(name, data, dims));
    return name;
  }

  /** An unnamed constant initializer; scalars take dims []. */
  constant(prefix: string, data: TensorData, dims: readonly number[]): string {
    return this.initializer(this.fresh(prefix), data, dims);
  }

  int64s(prefix: string, values: readonly number[]): string {
    return this.constant(
      prefix,
      BigInt64Array.from(values, (v) => BigInt(v)),
      [values.length],
    );
  }

  /**
   * Adds a node and returns its output names. `outputs` is either explicit names or a
   * count of fresh ones. An empty string in `inputs` marks an omitted optional input.
   */
  node(opType: string, inputs: readonly string[], outputs: readonly string[] | number = 1, attrs: Record<string, AttrValue> = {}): string[] {
    const outNames = typeof outputs === "number" ? Array.from({ length: outputs }, () => this.fresh(opType.toLowerCase())) : [...outputs];
    for (const o of outNames) if (o !== "") this.claim(o);
    const nodeName = this.fresh(`${opType}_node`);
    this.names.add(nodeName);
    this.nodes.push({
      name: nodeName,
      opType,
      input: [...inputs],
      output: outNames,
      // Sorted so the encoded bytes do not depend on how the caller ordered its object literal.
      attribute: Object.keys(attrs)
        .sort()
        .map((k) => attributeProto(k, attrs[k]!)),
    });
    return outNames;
  }

  /** Shorthand for a node with exactly one output. */
  op(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, output?: string): string {
    return this.node(opType, inputs, output === undefined ? 1 : [output], attrs)[0]!;
  }

  /**
   * Serialises the graph with every initializer of at least `minBytes` stored in a
   * separate file (ONNX external data), as > 2 GB backbones must be: protobuf
   * cannot hold them inline. `location` is relative to the model file.
   */
  toModelWithExternalData(location: string, minBytes = 1024, options: ModelOptions = {}): { model: Uint8Array; data: Uint8Array } {
    const chunks: Uint8Array[] = [];
    let offset = 0;
    const saved = new Map(this.initializers);
    try {
      for (const k of [...this.initializers.keys()].sort()) {
        const t = this.initializers.get(k)!;
        const raw = t.rawData as Uint8Array;
        if (raw.length < minBytes) continue;
        // 4 KiB alignment lets onnxruntime map the weights instead of copying them.
        const pad = (4096 - (offset % 4096)) % 4096;
        if (pad) chunks.push(new Uint8Array(pad));
        offset += pad;
        this.initializers.set(k, {
          ...t,
          rawData: undefined,
          dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
          externalData: [
            { key: "location", value: location },
            { key: "offset", value: String(offset) },
            { key: "length", value: String(raw.length) },
          ],
        });
        chunks.push(raw);
        offset += raw.length;
      }
      const data = new Uint8Array(offset);
      let at = 0;
      for (const c of chunks) {
        data.set(c, at);
        at += c.length;
      }
      return { model: this.toModel(options), data };
    } finally {
      for (const [k, v] of saved) this.initializers.set(k, v);
    }
  }

  /** Serialises the graph as a complete model. */
  toModel(options: ModelOptions = {}): Uint8Array {
    const metadata = options.metadata ?? {};
    const model: OnnxTypes.IModelProto = {
      irVersion: options.irVersion ?? 8,
      opsetImport: [{ domain: "", version: options.opset ?? 17 }],
      producerName: options.producerName ?? "mobile_vla_ros",
      producerVersion: options.producerVersion ?? "0",
      docString: options.docString ?? "",
      graph: {
        name: this.name,
        node: this.nodes,
        // Sorted by name: initializers are an unordered set in ONNX, and a sorted list
        // makes the file independent of the order in which weights were generated.
        initializer: [...this.initializers.keys()].sort().map((k) => this.initializers.get(k)!),
        input: this.inputs,
        output: this.outputs,
      },
      metadataProps: Object.keys(metadata)
        .sort()
        .map((key) => ({ key, value: metadata[key]! })),
    };
    return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
  }
}

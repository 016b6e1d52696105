/**
 * The few ONNX protobuf messages the exporter writes (onnx/onnx.proto field numbers), encoded
 * by hand: a ModelProto is small and write-only here, so no protobuf library is needed.
 */

class Writer {
  private readonly parts: Uint8Array[] = [];
  private size = 0;

  private push(bytes: Uint8Array): void {
    this.parts.push(bytes);
    this.size += bytes.length;
  }

  varint(value: number | bigint): this {
    let v = BigInt(value);
    if (v < 0n) v = BigInt.asUintN(64, v); // int64 negatives are ten-byte two's complement
    const bytes: number[] = [];
    do {
      let b = Number(v & 0x7fn);
      v >>= 7n;
      if (v > 0n) b |= 0x80;
      bytes.push(b);
    } while (v > 0n);
    this.push(Uint8Array.from(bytes));
    return this;
  }

  private key(field: number, wire: 0 | 2 | 5): this {
    return this.varint((field << 3) | wire);
  }

  int(field: number, value: number): this {
    return this.key(field, 0).varint(value);
  }

  float(field: number, value: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.key(field, 5).push(b);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.key(field, 2).varint(value.length).push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, build: (w: Writer) => void): this {
    const inner = new Writer();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

export type AttributeValue = number | string | number[] | { float: number };

/** ONNX TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, INT64: 7 } as const;
const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, INTS: 7 } as const;

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attributes?: Record<string, AttributeValue>;
}

export interface OnnxInitializer {
  name: string;
  dims: number[];
  data: Float32Array | BigInt64Array;
}

export interface OnnxValueInfo {
  name: string;
  /** A number is a fixed size, a string a named dynamic one. */
  shape: (number | string)[];
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxInitializer[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

/** ONNX IR version 8 with the default-domain opset 17: what onnxruntime 1.x reads. */
const IR_VERSION = 8;
const OPSET = 17;

function attribute(w: Writer, name: string, value: AttributeValue): void {
  w.string(1, name);
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new TypeError(`attribute ${name}: use { float } for non-integers`);
    w.int(3, value).int(20, AttributeType.INT);
  } else if (typeof value === 'string') {
    w.string(4, value).int(20, AttributeType.STRING);
  } else if (Array.isArray(value)) {
    for (const v of value) w.int(8, v);
    w.int(20, AttributeType.INTS);
  } else {
    w.float(2, value.float).int(20, AttributeType.FLOAT);
  }
}

function valueInfo(w: Writer, v: OnnxValueInfo): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, DataType.FLOAT);
      tensor.message(2, (shape) => {
        for (const d of v.shape)
          shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
      });
    }),
  );
}

/** Serialises a graph as a complete ONNX ModelProto. */
export function encodeModel(graph: OnnxGraph, producer: string): Uint8Array {
  const w = new Writer();
  w.int(1, IR_VERSION);
  w.string(2, producer);
  w.message(7, (g) => {
    graph.nodes.forEach((n, i) => {
      g.message(1, (node) => {
        for (const x of n.inputs) node.string(1, x);
        for (const y of n.outputs) node.string(2, y);
        node.string(3, `${n.op}_${i}`);
        node.string(4, n.op);
        for (const [k, v] of Object.entries(n.attributes ?? {})) node.message(5, (a) => attribute(a, k, v));
      });
    });
    g.string(2, graph.name);
    for (const t of graph.initializers) {
      g.message(5, (tensor) => {
        for (const d of t.dims) tensor.int(1, d);
        tensor.int(2, t.data instanceof Float32Array ? DataType.FLOAT : DataType.INT64);
        tensor.string(8, t.name);
        // raw_data is little-endian, as typed arrays are on every platform Node runs on here.
        tensor.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
      });
    }
    for (const v of graph.inputs) g.message(11, (vi) => valueInfo(vi, v));
    for (const v of graph.outputs) g.message(12, (vi) => valueInfo(vi, v));
  });
  w.message(8, (o) => o.string(1, '').int(2, OPSET));
  return w.finish();
}

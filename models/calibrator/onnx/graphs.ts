import { readFile } from 'node:fs/promises';
import type * as tf from '@tensorflow/tfjs-core';
import { ModelLoadError } from '../errors';
import {
  DENSE_BLOCKS,
  type FaceNet,
  FFE_MEAN,
  TFD_LAYERS,
  TFD_MEAN,
  type TinyFaceDetector,
} from '../face-api-nets';
import type { HumanEmotionNet } from '../human-emotion';
import type { AttributeValue, OnnxGraph, OnnxValueInfo } from './proto';

/**
 * The ensemble's networks as ONNX graphs, built from the very weights the TF.js path loaded
 * (so both runtimes run one model, never two copies that could drift). Inputs stay NHWC 0..255
 * as on TF.js, the first node transposes to ONNX's NCHW; the detector's grid is transposed back
 * so one decoder serves both runtimes. The architectures follow face-api-nets.ts op for op.
 */

/** TF filter layouts to ONNX's [out, in/group, kh, kw]. */
const CONV = [3, 2, 0, 1];
const DEPTHWISE = [2, 3, 0, 1];

function permute4(data: Float32Array, shape: readonly number[], perm: readonly number[]): Float32Array {
  const outShape = perm.map((p) => shape[p]!);
  const inStride = [shape[1]! * shape[2]! * shape[3]!, shape[2]! * shape[3]!, shape[3]!, 1];
  const out = new Float32Array(data.length);
  let o = 0;
  const idx = [0, 0, 0, 0];
  for (idx[0] = 0; idx[0] < outShape[0]!; idx[0]++)
    for (idx[1] = 0; idx[1] < outShape[1]!; idx[1]++)
      for (idx[2] = 0; idx[2] < outShape[2]!; idx[2]++)
        for (idx[3] = 0; idx[3] < outShape[3]!; idx[3]++) {
          let src = 0;
          for (let d = 0; d < 4; d++) src += idx[d]! * inStride[perm[d]!]!;
          out[o++] = data[src]!;
        }
  return out;
}

class Builder {
  readonly graph: OnnxGraph;
  private next = 0;

  constructor(name: string, input: OnnxValueInfo, output: OnnxValueInfo) {
    this.graph = { name, nodes: [], initializers: [], inputs: [input], outputs: [output] };
  }

  constant(dims: number[], data: Float32Array): string {
    const name = `c${this.next++}`;
    this.graph.initializers.push({ name, dims, data });
    return name;
  }

  op(op: string, inputs: string[], attributes?: Record<string, AttributeValue>, output?: string): string {
    const out = output ?? `t${this.next++}`;
    this.graph.nodes.push({ op, inputs, outputs: [out], ...(attributes ? { attributes } : {}) });
    return out;
  }

  /** A TF conv filter (+ optional bias) as an ONNX Conv; `layout` says how the filter is laid out. */
  conv(
    x: string,
    filter: tf.Tensor,
    bias: tf.Tensor | undefined,
    layout: 'conv' | 'depthwise',
    attrs: Record<string, AttributeValue>,
  ): string {
    const shape = filter.shape;
    const perm = layout === 'conv' ? CONV : DEPTHWISE;
    const w = this.constant(
      perm.map((p) => shape[p]!),
      permute4(filter.dataSync() as Float32Array, shape, perm),
    );
    const inputs = [x, w];
    if (bias) inputs.push(this.constant([bias.shape[0]!], bias.dataSync() as Float32Array));
    const group: Record<string, AttributeValue> = layout === 'depthwise' ? { group: shape[2]! } : {};
    return this.op('Conv', inputs, { kernel_shape: [shape[0]!, shape[1]!], ...group, ...attrs });
  }

  /** NHWC 0..255 in, NCHW with face-api's mean subtracted and /255 out. */
  normalisedInput(x: string, mean: readonly number[]): string {
    const nchw = this.op('Transpose', [x], { perm: [0, 3, 1, 2] });
    const centred = this.op('Sub', [nchw, this.constant([1, 3, 1, 1], Float32Array.from(mean))]);
    return this.op('Div', [centred, this.constant([], Float32Array.of(255))]);
  }
}

const SAME = { auto_pad: 'SAME_UPPER' } as const;
const w = (map: tf.NamedTensorMap, name: string): tf.Tensor => {
  const t = map[name];
  if (!t) throw new Error(`weight ${name} missing`);
  return t;
};

/** [N, S, S, 3] -> [N, S/32, S/32, 25], as TinyFaceDetector.forward. */
export function detectorGraph(detector: TinyFaceDetector): OnnxGraph {
  const m = detector.weights;
  const b = new Builder(
    'tiny_face_detector',
    { name: 'input', shape: ['n', 'h', 'w', 3] },
    { name: 'grid', shape: ['n', 'gh', 'gw', 25] },
  );
  const leaky = (x: string) => b.op('LeakyRelu', [x], { alpha: { float: 0.1 } });
  let x = b.normalisedInput('input', TFD_MEAN);
  x = leaky(b.conv(x, w(m, 'conv0/filters'), w(m, 'conv0/bias'), 'conv', { strides: [1, 1] }));
  for (const layer of TFD_LAYERS) {
    x = b.op('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2], ...SAME });
    x = b.conv(x, w(m, `${layer}/depthwise_filter`), undefined, 'depthwise', { pads: [1, 1, 1, 1] });
    x = leaky(b.conv(x, w(m, `${layer}/pointwise_filter`), w(m, `${layer}/bias`), 'conv', {}));
  }
  x = b.op('MaxPool', [x], { kernel_shape: [2, 2], strides: [1, 1], ...SAME });
  x = b.conv(x, w(m, 'conv8/filters'), w(m, 'conv8/bias'), 'conv', {});
  b.op('Transpose', [x], { perm: [0, 2, 3, 1] }, 'grid');
  return b.graph;
}

/** [N, 112, 112, 3] -> [N, outputs], as FaceNet.run (+ a softmax for the expression head). */
export function faceNetGraph(net: FaceNet, name: string, softmax: boolean): OnnxGraph {
  const m = net.weights;
  const outputs = w(m, 'fc/weights').shape[1]!;
  const b = new Builder(
    name,
    { name: 'input', shape: ['n', 112, 112, 3] },
    { name: 'output', shape: ['n', outputs] },
  );
  const relu = (x: string) => b.op('Relu', [x]);
  const sep = (x: string, prefix: string, stride: number) => {
    const dw = b.conv(x, w(m, `${prefix}/depthwise_filter`), undefined, 'depthwise', {
      strides: [stride, stride],
      ...SAME,
    });
    return b.conv(dw, w(m, `${prefix}/pointwise_filter`), w(m, `${prefix}/bias`), 'conv', {});
  };
  let x = b.normalisedInput('input', FFE_MEAN);
  DENSE_BLOCKS.forEach((block, i) => {
    const first =
      i === 0
        ? b.conv(x, w(m, `${block}/conv0/filters`), w(m, `${block}/conv0/bias`), 'conv', {
            strides: [2, 2],
            ...SAME,
          })
        : sep(x, `${block}/conv0`, 2);
    const out1 = relu(first);
    const out2 = sep(out1, `${block}/conv1`, 1);
    const out3 = sep(relu(b.op('Add', [out1, out2])), `${block}/conv2`, 1);
    const out4 = sep(relu(b.op('Sum', [out1, out2, out3])), `${block}/conv3`, 1);
    x = relu(b.op('Sum', [out1, out2, out3, out4]));
  });
  x = b.op('AveragePool', [x], { kernel_shape: [7, 7], strides: [2, 2] });
  x = b.op('Flatten', [x], { axis: 1 });
  const fcW = w(m, 'fc/weights');
  const fcB = w(m, 'fc/bias');
  const gemmInputs = [
    x,
    b.constant([...fcW.shape], fcW.dataSync() as Float32Array),
    b.constant([outputs], fcB.dataSync() as Float32Array),
  ];
  if (softmax) b.op('Softmax', [b.op('Gemm', gemmInputs)], { axis: 1 }, 'output');
  else b.op('Gemm', gemmInputs, undefined, 'output');
  return b.graph;
}

interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, { s?: string; list?: { i?: string[]; s?: string[] }; b?: boolean }>;
}

const attrString = (n: TfNode, key: string) => Buffer.from(n.attr?.[key]?.s ?? '', 'base64').toString();
const attrInts = (n: TfNode, key: string) => (n.attr?.[key]?.list?.i ?? []).map(Number);

/**
 * human-models' emotion.json (a TF graph of fused convolutions, depthwise convolutions, max
 * pools, adds, a mean and a softmax) translated node for node; an op outside that set is a
 * ModelLoadError, so a changed model is refused rather than mistranslated.
 * [N, S, S, 1] (emotionInput) -> [N, 7].
 */
export async function emotionGraph(net: HumanEmotionNet): Promise<OnnxGraph> {
  const json = JSON.parse(await readFile(net.file, 'utf8')) as { modelTopology: { node: TfNode[] } };
  const weights = net.graph.weights;
  const size = net.inputSize;
  const nodes = json.modelTopology.node;
  const inputName = nodes.find((n) => n.op === 'Placeholder')?.name ?? 'input_1';
  const b = new Builder(
    'human_emotion',
    { name: 'input', shape: ['n', size, size, 1] },
    { name: 'output', shape: ['n', 7] },
  );
  const names = new Map<string, string>([[inputName, b.op('Transpose', ['input'], { perm: [0, 3, 1, 2] })]]);
  const from = (n: TfNode, k: number) => {
    const src = (n.input?.[k] ?? '').split(':')[0]!;
    const v = names.get(src);
    if (!v)
      throw new ModelLoadError(
        net.file,
        `node ${n.name} reads ${src}, which the ONNX export has not produced`,
      );
    return v;
  };
  const weight = (n: TfNode, k: number) => {
    const t = weights[n.input?.[k] ?? '']?.[0];
    if (!t) throw new ModelLoadError(net.file, `node ${n.name} has no weight ${n.input?.[k]}`);
    return t;
  };
  const pad = (n: TfNode) => (attrString(n, 'padding') === 'SAME' ? SAME : { auto_pad: 'VALID' });
  const strides = (n: TfNode) => attrInts(n, 'strides').slice(1, 3);
  let last = '';
  for (const n of nodes) {
    let out: string;
    switch (n.op) {
      case 'Const':
      case 'Placeholder':
        continue;
      case '_FusedConv2D': {
        const fused = (n.attr?.fused_ops?.list?.s ?? []).map((s) => Buffer.from(s, 'base64').toString());
        if (fused[0] !== 'BiasAdd' || fused.length > 2 || (fused[1] && fused[1] !== 'Relu'))
          throw new ModelLoadError(net.file, `node ${n.name} fuses ${fused.join('+')}, not BiasAdd[+Relu]`);
        out = b.conv(from(n, 0), weight(n, 1), weight(n, 2), 'conv', { strides: strides(n), ...pad(n) });
        if (fused[1] === 'Relu') out = b.op('Relu', [out]);
        break;
      }
      case 'DepthwiseConv2dNative':
        out = b.conv(from(n, 0), weight(n, 1), undefined, 'depthwise', { strides: strides(n), ...pad(n) });
        break;
      case 'MaxPool':
        out = b.op('MaxPool', [from(n, 0)], {
          kernel_shape: attrInts(n, 'ksize').slice(1, 3),
          strides: strides(n),
          ...pad(n),
        });
        break;
      case 'AddV2':
        out = b.op('Add', [from(n, 0), from(n, 1)]);
        break;
      case 'Relu':
        out = b.op('Relu', [from(n, 0)]);
        break;
      case 'Mean': {
        const axes = Array.from(weight(n, 1).dataSync());
        if (axes.join() !== '1,2')
          throw new ModelLoadError(
            net.file,
            `node ${n.name} averages over axes ${axes}, not the spatial ones`,
          );
        out = b.op('Flatten', [b.op('GlobalAveragePool', [from(n, 0)])], { axis: 1 });
        break;
      }
      case 'Softmax':
        out = b.op('Softmax', [from(n, 0)], { axis: 1 });
        break;
      case 'Identity':
        out = from(n, 0);
        break;
      default:
        throw new ModelLoadError(
          net.file,
          `node ${n.name} is a ${n.op}, which the ONNX export does not translate`,
        );
    }
    names.set(n.name, out);
    last = out;
  }
  b.op('Identity', [last], undefined, 'output');
  return b.graph;
}

/**
 * A model's forward pass on the CPU twins of src/kernels, layer by layer, to validate the GPU
 * training step: conv2d (+ bias, activation), max/avg pooling, flatten, dense (y = x·Wᵀ + b,
 * PyTorch's [out, in] weight), in evaluation mode (dropout is the identity). Float64 throughout.
 */
import { activateCpu } from '../../src/kernels/common.cpu';
import { conv2dForwardCpu } from '../../src/kernels/conv2d.cpu';
import { matmulCpu } from '../../src/kernels/matmul.cpu';
import { avgPoolForwardCpu } from '../../src/kernels/avgPool.cpu';
import { maxPoolForwardCpu } from '../../src/kernels/maxPool.cpu';
import { conv2dGeometry, poolGeometry } from '../../src/kernels/geometry';
import type { LayerSpec, ModelConfig } from '../../src/index';

type Value = { data: Float64Array; shape: number[] };

function param(params: ReadonlyMap<string, Float32Array>, name: string): Float32Array {
  const p = params.get(name);
  if (!p) throw new Error(`cpuForward: no parameter ${name}`);
  return p;
}

/** conv2d with its bias, then the fused activation. */
function convForward(
  l: Extract<LayerSpec, { type: 'conv2d' }>,
  v: Value,
  params: ReadonlyMap<string, Float32Array>,
  name: string,
): Value {
  const [N = 1, C = 1, H = 1, W = 1] = v.shape;
  const g = conv2dGeometry({ N, C, H, W }, l.kernel, l.stride, l.padding);
  const out = new Float64Array(N * l.features * g.OH * g.OW);
  const [weight, bias] = [param(params, `${name}.weight`), param(params, `${name}.bias`)];
  conv2dForwardCpu({ x: v.data, weight, bias, out, geometry: g, O: l.features });
  return {
    data: out.map((x) => activateCpu(x, l.activation)),
    shape: [N, l.features, g.OH, g.OW],
  };
}

function layerForward(
  l: LayerSpec,
  v: Value,
  params: ReadonlyMap<string, Float32Array>,
  name: string,
): Value {
  const [N = 1, C = 1, H = 1, W = 1] = v.shape;
  switch (l.type) {
    case 'conv2d':
      return convForward(l, v, params, name);
    case 'maxPool':
    case 'avgPool': {
      const g = poolGeometry({ N, C, H, W }, l.kernel, l.stride);
      const out = new Float64Array(N * C * g.OH * g.OW);
      if (l.type === 'maxPool')
        maxPoolForwardCpu({ x: v.data, out, argmax: new Int32Array(out.length), geometry: g });
      else avgPoolForwardCpu({ x: v.data, out, geometry: g });
      return { data: out, shape: [N, C, g.OH, g.OW] };
    }
    case 'flatten':
      return { data: v.data, shape: [N, v.data.length / N] };
    case 'dense': {
      const D = v.data.length / N;
      const out = new Float64Array(N * l.units);
      const [weight, bias] = [param(params, `${name}.weight`), param(params, `${name}.bias`)];
      matmulCpu({
        a: v.data,
        b: weight,
        out,
        M: N,
        K: D,
        N: l.units,
        transB: true,
        bias,
        biasMode: 'col',
      });
      return { data: out.map((x) => activateCpu(x, l.activation)), shape: [N, l.units] };
    }
    case 'dropout':
      return v;
    default:
      return l satisfies never;
  }
}

/** Logits [N, classes] of `images` [N, C, H, W] with the given parameters (PyTorch names). */
export function cpuForward(
  model: ModelConfig,
  params: ReadonlyMap<string, Float32Array>,
  images: Float32Array,
  N: number,
): Float64Array {
  const { channels, height, width } = model.input;
  let v: Value = { data: Float64Array.from(images), shape: [N, channels, height, width] };
  let [convs, denses] = [0, 0];
  for (const l of model.layers) {
    const name = l.type === 'conv2d' ? `conv${++convs}` : l.type === 'dense' ? `fc${++denses}` : '';
    v = layerForward(l, v, params, name);
  }
  return v.data;
}

/** Row-wise softmax of [N, K] logits. */
export function softmaxRows(logits: Float64Array, K: number): Float64Array {
  const out = new Float64Array(logits.length);
  for (let n = 0; n < logits.length / K; n++) {
    const row = logits.subarray(n * K, (n + 1) * K);
    const max = Math.max(...row);
    const sum = row.reduce((a, x) => a + Math.exp(x - max), 0);
    row.forEach((x, k) => (out[n * K + k] = Math.exp(x - max) / sum));
  }
  return out;
}

/** Batch-mean softmax cross-entropy: mean of logsumexp(row) - row[label]. */
export function meanCrossEntropy(logits: Float64Array, labels: Int32Array, K: number): number {
  const N = labels.length;
  let total = 0;
  for (let n = 0; n < N; n++) {
    const row = logits.subarray(n * K, (n + 1) * K);
    const max = Math.max(...row);
    const lse = max + Math.log(row.reduce((a, x) => a + Math.exp(x - max), 0));
    total += lse - (row[labels[n] ?? 0] ?? 0);
  }
  return total / N;
}

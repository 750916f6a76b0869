/**
 * A shadergrad ModelConfig written in TensorFlow.js as its users write it: variables and the fused
 * ops tf.layers itself calls (conv + bias + activation, matMul + bias + activation), channels-last
 * ([N, H, W, C]; conv kernels [KH, KW, C, O], dense weights [in, out]). Same layers and parameter
 * counts as the shadergrad model; the initial values only need the right scale for timing.
 */
import type * as TfModule from '@tensorflow/tfjs';
import type { Tensor, Tensor4D, Variable } from '@tensorflow/tfjs';
import type { Activation, LayerSpec, ModelConfig } from '../../src/index';

type Tf = typeof TfModule;
type FusedActivation = 'linear' | 'relu' | 'sigmoid';

/** Output size of one axis: 'same' ceil(H / s); 'valid' or p zeros floor((H + 2p - K) / s) + 1. */
function outSize(size: number, kernel: number, stride: number, padding: number | string): number {
  if (padding === 'same') return Math.ceil(size / stride);
  const p = typeof padding === 'number' ? padding : 0;
  return Math.floor((size + 2 * p - kernel) / stride) + 1;
}

/** Name -> variable for every conv2d and dense layer (`layer<i>.weight`, `layer<i>.bias`). */
export function tfjsParameters(
  tf: Tf,
  model: ModelConfig,
  random: (n: number, seed: number) => Float32Array,
): Map<string, Variable> {
  const params = new Map<string, Variable>();
  let [h, w, c] = [model.input.height, model.input.width, model.input.channels];
  const add = (name: string, shape: number[], fanIn: number) => {
    const values = random(
      shape.reduce((a, b) => a * b, 1),
      params.size + 1,
    ).map((v) => v / Math.sqrt(fanIn));
    params.set(name, tf.variable(tf.tensor(values, shape), true, name));
  };
  model.layers.forEach((l, i) => {
    if (l.type === 'conv2d') {
      add(`layer${i}.weight`, [l.kernel, l.kernel, c, l.features], l.kernel ** 2 * c);
      add(`layer${i}.bias`, [l.features], l.kernel ** 2 * c);
      [h, w, c] = [
        outSize(h, l.kernel, l.stride, l.padding),
        outSize(w, l.kernel, l.stride, l.padding),
        l.features,
      ];
    } else if (l.type === 'maxPool' || l.type === 'avgPool') {
      [h, w] = [outSize(h, l.kernel, l.stride, 'valid'), outSize(w, l.kernel, l.stride, 'valid')];
    } else if (l.type === 'dense') {
      const inputs = h * w * c;
      add(`layer${i}.weight`, [inputs, l.units], inputs);
      add(`layer${i}.bias`, [l.units], inputs);
      [h, w, c] = [1, 1, l.units];
    }
  });
  return params;
}

/** tfjs's fused ops take linear, relu and sigmoid; tanh runs as a separate op after. */
function fused(a: Activation): FusedActivation {
  return a === 'none' || a === 'tanh' ? 'linear' : a;
}

function layerForward(tf: Tf, l: LayerSpec, x: Tensor, get: (n: string) => Tensor): Tensor {
  switch (l.type) {
    case 'conv2d': {
      const y = tf.fused.conv2d({
        x: x as Tensor4D,
        filter: get('weight') as Tensor4D,
        strides: l.stride,
        pad: l.padding,
        bias: get('bias'),
        activation: fused(l.activation),
      });
      return l.activation === 'tanh' ? tf.tanh(y) : y;
    }
    case 'maxPool':
      return tf.maxPool(x as Tensor4D, l.kernel, l.stride, 'valid');
    case 'avgPool':
      return tf.avgPool(x as Tensor4D, l.kernel, l.stride, 'valid');
    case 'flatten':
      return tf.reshape(x, [x.shape[0] ?? 1, -1]);
    case 'dense': {
      const y = tf.fused.matMul({
        a: x,
        b: get('weight'),
        bias: get('bias'),
        activation: fused(l.activation),
      });
      return l.activation === 'tanh' ? tf.tanh(y) : y;
    }
    case 'dropout':
      return tf.dropout(x, l.rate);
    case 'batchNorm':
    case 'add':
    case 'concat':
    case 'globalAvgPool':
    case 'activation':
      throw new Error(`tfjs model: the ${l.type} layer is not written for the tfjs peer yet`);
    default:
      return l satisfies never;
  }
}

/** Logits [N, classes] of the model on x [N, H, W, C] (training mode: dropout is on). */
export function tfjsForward(
  tf: Tf,
  model: ModelConfig,
  params: ReadonlyMap<string, Variable>,
  x: Tensor,
): Tensor {
  return model.layers.reduce((h, l, i) => {
    const get = (part: string): Tensor => {
      const v = params.get(`layer${i}.${part}`);
      if (!v) throw new Error(`tfjs model: no parameter layer${i}.${part}`);
      return v;
    };
    return layerForward(tf, l, h, get);
  }, x);
}

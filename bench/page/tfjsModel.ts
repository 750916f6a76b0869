/**
 * A shadergrad ModelConfig (a chain or a graph with named `inputs`, e.g. the ResNet preset)
 * written in TensorFlow.js as its users write it: variables, the fused ops tf.layers itself calls
 * (conv + bias + activation, matMul + bias + activation), channels-last ([N, H, W, C]; conv
 * kernels [KH, KW, C, O], dense weights [in, out]). Same layers and trainable parameter counts as
 * the shadergrad model, with torch's state_dict names (`conv1.weight`, `bn1.running_mean`, ...).
 *
 * Batch norm runs in training mode as tf.layers.batchNormalization does: the batch's mean and
 * biased variance from tf.moments over every axis but the channels, tf.batchNorm with learnable
 * gamma (`weight`, ones) and beta (`bias`, zeros), and the running statistics (non-trainable
 * variables) moved by `momentum` towards the batch mean and the unbiased variance, as torch and
 * shadergrad do. Dropout is on too: tfjsForward is always the training forward.
 */
import type * as TfModule from '@tensorflow/tfjs';
import type { Optimizer, Scalar, Tensor, Tensor4D, Variable } from '@tensorflow/tfjs';
import {
  layerOutputShapes,
  resolveLayers,
  type Activation,
  type LayerSpec,
  type ModelConfig,
} from '../../src/index';

type Tf = typeof TfModule;
type FusedActivation = 'linear' | 'relu' | 'sigmoid';
/** Initial values of a conv or dense parameter of `shape` whose unit reads `fanIn` inputs. */
export type TfjsInit = (shape: readonly number[], fanIn: number) => Float32Array;

/** Batch norm's defaults, as torch's BatchNorm2d and shadergrad's graph. */
const BN_EPS = 1e-5;
const BN_MOMENTUM = 0.1;

const product = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/**
 * Name -> variable for every parameter: conv and dense `weight` (and `bias` unless the conv has
 * bias: false) from `init`; batch norm `weight` ones and `bias` zeros (trainable), and
 * `running_mean` zeros and `running_var` ones (not trainable: pass only the trainable variables
 * to the optimizer).
 */
export function tfjsParameters(tf: Tf, model: ModelConfig, init: TfjsInit): Map<string, Variable> {
  const params = new Map<string, Variable>();
  const shapes = layerOutputShapes(model);
  const { channels, height, width } = model.input;
  const add = (name: string, shape: number[], values: Float32Array, trainable = true) =>
    params.set(name, tf.variable(tf.tensor(values, shape), trainable, name));
  const filled = (n: number, v: number) => new Float32Array(n).fill(v);
  for (const r of resolveLayers(model)) {
    const from = r.inputs[0] ?? -1;
    const input = from < 0 ? [channels, height, width] : (shapes[from] ?? []);
    const c = input[0] ?? 0;
    const l = r.spec;
    if (l.type === 'conv2d') {
      const fanIn = l.kernel ** 2 * c;
      const kernel = [l.kernel, l.kernel, c, l.features];
      add(`${r.name}.weight`, kernel, init(kernel, fanIn));
      if (l.bias !== false) add(`${r.name}.bias`, [l.features], init([l.features], fanIn));
    } else if (l.type === 'dense') {
      const fanIn = product(input);
      add(`${r.name}.weight`, [fanIn, l.units], init([fanIn, l.units], fanIn));
      add(`${r.name}.bias`, [l.units], init([l.units], fanIn));
    } else if (l.type === 'batchNorm') {
      add(`${r.name}.weight`, [c], filled(c, 1));
      add(`${r.name}.bias`, [c], filled(c, 0));
      add(`${r.name}.running_mean`, [c], filled(c, 0), false);
      add(`${r.name}.running_var`, [c], filled(c, 1), false);
    }
  }
  return params;
}

/** tfjs's fused ops take linear, relu and sigmoid; tanh runs as a separate op after. */
function fused(a: Activation): FusedActivation {
  return a === 'none' || a === 'tanh' ? 'linear' : a;
}

function activate(tf: Tf, a: Activation, x: Tensor): Tensor {
  switch (a) {
    case 'none':
      return x;
    case 'relu':
      return tf.relu(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'tanh':
      return tf.tanh(x);
    default:
      return a satisfies never;
  }
}

type Get = (part: string) => Variable;

/** Training-mode batch norm over [N, H, W, C] or [N, C]; moves the running statistics. */
function batchNorm(
  tf: Tf,
  l: Extract<LayerSpec, { type: 'batchNorm' }>,
  x: Tensor,
  get: Get,
): Tensor {
  const axes = x.rank === 4 ? [0, 1, 2] : [0];
  const { mean, variance } = tf.moments(x, axes);
  // running = (1 - m) running + m batch, with the variance made unbiased: n / (n - 1)
  const m = l.momentum ?? BN_MOMENTUM;
  const n = x.size / mean.size;
  const move = (name: string, batch: Tensor) => {
    const running = get(name);
    running.assign(tf.add(tf.mul(running, 1 - m), tf.mul(batch, m)));
  };
  move('running_mean', mean);
  move('running_var', tf.mul(variance, n / Math.max(n - 1, 1)));
  const y = tf.batchNorm(x, mean, variance, get('bias'), get('weight'), l.eps ?? BN_EPS);
  return activate(tf, l.activation, y);
}

function conv2d(tf: Tf, l: Extract<LayerSpec, { type: 'conv2d' }>, x: Tensor, get: Get): Tensor {
  const filter = get('weight') as Tensor as Tensor4D;
  // Without a bias (before a batch norm) the plain op, as a tfjs user writes it.
  if (l.bias === false)
    return activate(tf, l.activation, tf.conv2d(x as Tensor4D, filter, l.stride, l.padding));
  const y = tf.fused.conv2d({
    x: x as Tensor4D,
    filter,
    strides: l.stride,
    pad: l.padding,
    bias: get('bias'),
    activation: fused(l.activation),
  });
  return l.activation === 'tanh' ? tf.tanh(y) : y;
}

function layerForward(tf: Tf, l: LayerSpec, inputs: Tensor[], get: Get): Tensor {
  const [x] = inputs;
  if (!x) throw new Error(`tfjs model: the ${l.type} layer has no input`);
  switch (l.type) {
    case 'conv2d':
      return conv2d(tf, l, x, get);
    case 'maxPool':
      return tf.maxPool(x as Tensor4D, l.kernel, l.stride, 'valid');
    case 'avgPool':
      return tf.avgPool(x as Tensor4D, l.kernel, l.stride, 'valid');
    case 'flatten':
      return tf.reshape(x, [x.shape[0] ?? 1, -1]);
    case 'dense': {
      // A dense layer flattens an image input first, as shadergrad's does.
      const flat = x.rank > 2 ? tf.reshape(x, [x.shape[0] ?? 1, -1]) : x;
      const y = tf.fused.matMul({
        a: flat,
        b: get('weight'),
        bias: get('bias'),
        activation: fused(l.activation),
      });
      return l.activation === 'tanh' ? tf.tanh(y) : y;
    }
    case 'dropout':
      return tf.dropout(x, l.rate);
    case 'batchNorm':
      return batchNorm(tf, l, x, get);
    case 'add':
      // [N, H, W, C] + [N, H, W, C], or + [N, 1, 1, C], which broadcasts as the spec's [C, 1, 1].
      return activate(tf, l.activation, tf.add(x, inputs[1] ?? x));
    case 'concat':
      // The channels are the last axis in channels-last (and the only one of a flat [N, D]).
      return tf.concat(inputs, -1);
    case 'globalAvgPool':
      return tf.mean(x, [1, 2], true);
    case 'activation':
      return activate(tf, l.activation, x);
    case 'patchEmbedding':
    case 'positionEmbedding':
    case 'transformerBlock':
    case 'layerNorm':
    case 'tokenMean':
      throw new Error(
        `tfjs model: the transformer layers (${l.type}) are not written for this peer yet`,
      );
    default:
      return l satisfies never;
  }
}

/**
 * Logits [N, classes] of the model on x [N, H, W, C], in training mode (dropout on, batch norm on
 * the batch's statistics, moving the running ones); params from tfjsParameters.
 */
export function tfjsForward(
  tf: Tf,
  model: ModelConfig,
  params: ReadonlyMap<string, Variable>,
  x: Tensor,
): Tensor {
  const outs: Tensor[] = [];
  for (const r of resolveLayers(model)) {
    const get = (part: string): Variable => {
      const v = params.get(`${r.name}.${part}`);
      if (!v) throw new Error(`tfjs model: no parameter ${r.name}.${part}`);
      return v;
    };
    const inputs = r.inputs.map((i) => (i < 0 ? x : outs[i]) ?? x);
    outs.push(layerForward(tf, r.spec, inputs, get));
  }
  const logits = outs[outs.length - 1];
  if (!logits) throw new Error('tfjs model: no layers');
  return logits;
}

/** One training step's inputs: images [N, H, W, C] (channels-last), labels [N]. */
export interface TfjsBatch {
  images: Float32Array;
  labels: Int32Array;
  shape: [number, number, number, number];
  classes: number;
}

/**
 * One tfjs training step as its users write it: `optimizer.minimize` of the batch's mean softmax
 * cross-entropy of `forward(x)` over `varList`, then the loss read back (which flushes tfjs's
 * queued commands) and the device's queue drained. Resolves to the loss.
 */
export async function tfjsTrainStep(
  tf: Tf,
  device: GPUDevice,
  optimizer: Optimizer,
  varList: Variable[],
  forward: (x: Tensor) => Tensor,
  batch: TfjsBatch,
): Promise<number> {
  const cost = tf.tidy((): Scalar => {
    const x = tf.tensor4d(batch.images, batch.shape);
    const y = tf.oneHot(tf.tensor1d(batch.labels, 'int32'), batch.classes);
    const c = optimizer.minimize(
      () => tf.losses.softmaxCrossEntropy<Tensor, Scalar>(y, forward(x)),
      true,
      varList,
    );
    if (!c) throw new Error('tfjs: minimize returned no loss');
    return c;
  });
  const [loss] = await cost.data();
  cost.dispose();
  await device.queue.onSubmittedWorkDone();
  return loss ?? NaN;
}

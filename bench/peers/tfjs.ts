/**
 * Peer: TensorFlow.js 4.x on @tensorflow/tfjs-backend-webgpu, in Node on Dawn's navigator.gpu
 * (the same adapter shadergrad uses). With --model cnn, the reference CNN written as tfjs users write it, with
 * variables and the fused ops tf.layers itself calls (conv + bias + ReLU and matMul + bias +
 * ReLU in one kernel), channels-last:
 *
 *   x [N, 28, 28, 1] -> conv 5x5x32 same, ReLU -> max-pool 2 -> conv 5x5x64 same, ReLU
 *   -> max-pool 2 -> flatten [N, 3136] -> dense 1024 ReLU -> dense 10
 *   -> softmax cross-entropy (mean over the batch), tf.train.adam(lr, beta1, beta2, eps)
 *
 * With --model resnet the net is bench/page/tfjsModel.ts built from the ResNet layer list
 * (channels-last, tf.conv2d without bias, training-mode batch norm from tf.moments with learnable
 * gamma/beta and running statistics, tf.add, ReLU, tf.mean over H and W, matMul + bias), conv and
 * dense weights uniform(+-1/sqrt(fanIn)) from the same seed, batch norm ones and zeros.
 *
 * One step: upload the host batch, optimizer.minimize (forward, backward, Adam), then read the
 * loss back (which flushes tfjs's queued commands) and wait for the queue to drain.
 * The full @tensorflow/tfjs package is used because tfjs-core's Node bundle registers no
 * gradients; the backend registers itself only if navigator.gpu exists at import time.
 */
import type * as TfModule from '@tensorflow/tfjs';
import type { Tensor, Tensor4D, Variable } from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import {
  describeDevice,
  hostBatch,
  initUniform,
  installNavigatorGpu,
  lossMeter,
  measure,
  seededRandom,
  type BenchModel,
  type BenchOptions,
  type FrameworkResult,
  type MnistOrder,
  type StepRunner,
} from './common';
import { tfjsForward, tfjsParameters, tfjsTrainStep, type TfjsBatch } from '../page/tfjsModel';
import { progress } from '../report';

type Tf = typeof TfModule;

/** Name -> [shape, fanIn], channels-last (conv kernels [KH, KW, C, O], dense [in, out]). */
const PARAMETERS: readonly (readonly [string, readonly number[], number])[] = [
  ['conv1.weight', [5, 5, 1, 32], 25],
  ['conv1.bias', [32], 25],
  ['conv2.weight', [5, 5, 32, 64], 800],
  ['conv2.bias', [64], 800],
  ['fc1.weight', [3136, 1024], 3136],
  ['fc1.bias', [1024], 3136],
  ['fc2.weight', [1024, 10], 1024],
  ['fc2.bias', [10], 1024],
];

async function loadTfjs(): Promise<{ tf: Tf; backend: WebGPUBackend }> {
  await installNavigatorGpu();
  const tf = await import('@tensorflow/tfjs');
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu')))
    throw new Error('tfjs: the webgpu backend failed to initialize');
  await tf.ready();
  if (tf.getBackend() !== 'webgpu')
    throw new Error(`tfjs runs on '${tf.getBackend()}', not on webgpu`);
  const backend = tf.backend() as WebGPUBackend;
  progress(
    `tfjs ${tf.version.tfjs}: backend ${tf.getBackend()} on ${describeDevice(backend.device)}`,
  );
  return { tf, backend };
}

function forward(tf: Tf, p: ReadonlyMap<string, Variable>, x: Tensor): Tensor {
  const get = (name: string): Variable => {
    const v = p.get(name);
    if (!v) throw new Error(`tfjs: no parameter ${name}`);
    return v;
  };
  const conv = (input: Tensor, layer: string) =>
    tf.fused.conv2d({
      x: input as Tensor4D,
      filter: get(`${layer}.weight`) as Tensor as Tensor4D,
      strides: 1,
      pad: 'same',
      bias: get(`${layer}.bias`),
      activation: 'relu',
    });
  const h1 = tf.maxPool(conv(x, 'conv1'), 2, 2, 'valid');
  const h2 = tf.maxPool(conv(h1, 'conv2'), 2, 2, 'valid');
  const flat = tf.reshape(h2, [x.shape[0] ?? 1, 3136]);
  const hidden = tf.fused.matMul({
    a: flat,
    b: get('fc1.weight'),
    bias: get('fc1.bias'),
    activation: 'relu',
  });
  return tf.fused.matMul({
    a: hidden,
    b: get('fc2.weight'),
    bias: get('fc2.bias'),
  });
}

/** A model's variables (trainable or not) and its forward pass: logits [N, classes]. */
interface TfjsNet {
  params: ReadonlyMap<string, Variable>;
  forward(x: Tensor): Tensor;
}

/** The reference CNN as written above: the bench's original tfjs path, kept as it was. */
function cnnNet(tf: Tf, seed: number): TfjsNet {
  const random = seededRandom(seed);
  const params = new Map<string, Variable>(
    PARAMETERS.map(([name, shape, fanIn]) => [
      name,
      tf.variable(tf.tensor(initUniform(shape, fanIn, random), [...shape]), true, name),
    ]),
  );
  return { params, forward: (x) => forward(tf, params, x) };
}

/** Any layer list (here the ResNet), built by the page's tfjs model writer. */
function layerListNet(tf: Tf, model: BenchModel, seed: number): TfjsNet {
  const random = seededRandom(seed);
  const params = tfjsParameters(tf, model.config, (shape, fanIn) =>
    initUniform(shape, fanIn, random),
  );
  return { params, forward: (x) => tfjsForward(tf, model.config, params, x) };
}

function tfjsRunner(
  tf: Tf,
  backend: WebGPUBackend,
  net: TfjsNet,
  model: BenchModel,
  data: MnistOrder,
  o: BenchOptions,
): StepRunner & { dispose(): void } {
  // Batch norm's running statistics are variables too, but no optimizer's to update.
  const varList = [...net.params.values()].filter((v) => v.trainable);
  const optimizer = tf.train.adam(o.lr, o.beta1, o.beta2, o.eps);
  const meter = lossMeter();
  const { input, classes } = model.config;
  return {
    device: backend.device,
    async step(index) {
      const { images, labels } = hostBatch(data, o.batch, index);
      // One channel, so the host's [N, C·H·W] batch is also [N, H, W, C].
      const shape: TfjsBatch['shape'] = [o.batch, input.height, input.width, input.channels];
      const batch = { images, labels, shape, classes };
      meter.add(
        await tfjsTrainStep(tf, backend.device, optimizer, varList, (x) => net.forward(x), batch),
      );
    },
    lossMean: meter.lossMean,
    resetLoss: meter.resetLoss,
    dispose: () => optimizer.dispose(),
  };
}

/** Trains `model` with tfjs on WebGPU and times it; throws if tfjs is not on WebGPU. */
export async function benchTfjs(
  data: MnistOrder,
  o: BenchOptions,
  model: BenchModel,
): Promise<FrameworkResult> {
  const { tf, backend } = await loadTfjs();
  const net = model.kind === 'cnn' ? cnnNet(tf, o.seed) : layerListNet(tf, model, o.seed);
  const runner = tfjsRunner(tf, backend, net, model, data, o);
  try {
    const timing = await measure('tfjs', runner, o);
    const trainable = [...net.params.values()].filter((v) => v.trainable);
    return {
      ...timing,
      backend: `${tf.getBackend()} (tfjs ${tf.version.tfjs})`,
      adapter: describeDevice(backend.device),
      parameters: trainable.reduce((n, v) => n + v.size, 0),
    };
  } finally {
    runner.dispose();
    net.params.forEach((v) => v.dispose());
    // Frees tfjs's device and buffer pool but keeps the backend's factory registered (unlike
    // removeBackend), so the next run (bench:train --batch 16,64,...) can set it up again.
    tf.engine().reset();
  }
}

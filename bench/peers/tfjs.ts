/**
 * Peer: TensorFlow.js 4.x on @tensorflow/tfjs-backend-webgpu, in Node on Dawn's navigator.gpu
 * (the same adapter shadergrad uses). The reference CNN written as tfjs users write it, with
 * variables and the fused ops tf.layers itself calls (conv + bias + ReLU and matMul + bias +
 * ReLU in one kernel), channels-last:
 *
 *   x [N, 28, 28, 1] -> conv 5x5x32 same, ReLU -> max-pool 2 -> conv 5x5x64 same, ReLU
 *   -> max-pool 2 -> flatten [N, 3136] -> dense 1024 ReLU -> dense 10
 *   -> softmax cross-entropy (mean over the batch), tf.train.adam(lr, beta1, beta2, eps)
 *
 * One step: upload the host batch, optimizer.minimize (forward, backward, Adam), then read the
 * loss back (which flushes tfjs's queued commands) and wait for the queue to drain.
 * The full @tensorflow/tfjs package is used because tfjs-core's Node bundle registers no
 * gradients; the backend registers itself only if navigator.gpu exists at import time.
 */
import type * as TfModule from '@tensorflow/tfjs';
import type { Scalar, Tensor, Tensor4D, Variable } from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import {
  describeDevice,
  hostBatch,
  initUniform,
  installNavigatorGpu,
  lossMeter,
  measure,
  seededRandom,
  type BenchOptions,
  type FrameworkResult,
  type MnistOrder,
  type StepRunner,
} from './common';
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

function tfjsRunner(
  tf: Tf,
  backend: WebGPUBackend,
  params: ReadonlyMap<string, Variable>,
  data: MnistOrder,
  o: BenchOptions,
): StepRunner & { dispose(): void } {
  const varList = [...params.values()];
  const optimizer = tf.train.adam(o.lr, o.beta1, o.beta2, o.eps);
  const meter = lossMeter();
  return {
    device: backend.device,
    async step(index) {
      const batch = hostBatch(data, o.batch, index);
      const cost = tf.tidy((): Scalar => {
        const x = tf.tensor4d(batch.images, [o.batch, 28, 28, 1]);
        const y = tf.oneHot(tf.tensor1d(batch.labels, 'int32'), 10);
        const c = optimizer.minimize(
          () => tf.losses.softmaxCrossEntropy<Tensor, Scalar>(y, forward(tf, params, x)),
          true,
          varList,
        );
        if (!c) throw new Error('tfjs: minimize returned no cost');
        return c;
      });
      const [loss] = await cost.data();
      cost.dispose();
      await backend.device.queue.onSubmittedWorkDone();
      meter.add(loss ?? NaN);
    },
    lossMean: meter.lossMean,
    resetLoss: meter.resetLoss,
    dispose: () => optimizer.dispose(),
  };
}

/** Trains the reference CNN with tfjs on WebGPU and times it; throws if tfjs is not on WebGPU. */
export async function benchTfjs(data: MnistOrder, o: BenchOptions): Promise<FrameworkResult> {
  const { tf, backend } = await loadTfjs();
  const random = seededRandom(o.seed);
  const params = new Map<string, Variable>(
    PARAMETERS.map(([name, shape, fanIn]) => [
      name,
      tf.variable(tf.tensor(initUniform(shape, fanIn, random), [...shape]), true, name),
    ]),
  );
  const runner = tfjsRunner(tf, backend, params, data, o);
  try {
    const timing = await measure('tfjs', runner, o);
    return {
      ...timing,
      backend: `${tf.getBackend()} (tfjs ${tf.version.tfjs})`,
      adapter: describeDevice(backend.device),
      parameters: [...params.values()].reduce((n, v) => n + v.size, 0),
    };
  } finally {
    runner.dispose();
    params.forEach((v) => v.dispose());
    tf.removeBackend('webgpu');
  }
}

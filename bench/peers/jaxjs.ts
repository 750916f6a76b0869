/**
 * Peer: jax-js (@jax-js/jax) on its WebGPU device, in Node on Dawn's navigator.gpu (the same
 * adapter shadergrad uses). The model as a JAX user writes it, channels-first like shadergrad,
 * and the whole training step (forward, valueAndGrad, Adam) under one jit. --model cnn:
 *
 *   x [N, 1, 28, 28] -> lax.convGeneralDilated 5x5x32 SAME + bias, ReLU
 *   -> lax.reduceWindow max 2x2 -> conv 5x5x64 SAME + bias, ReLU -> max 2x2
 *   -> reshape [N, 3136] -> dot 1024 + bias, ReLU -> dot 10 + bias
 *   -> mean of -sum(logSoftmax(logits) * oneHot(labels))
 *
 * --model resnet: ./jaxjsModel.ts built from the ResNet layer list (convGeneralDilated without
 * bias, training-mode batch norm from np.mean with learnable weight/bias and the running
 * statistics returned as state through valueAndGrad's aux, add, ReLU, np.mean over H and W, dot
 * + bias), the same loss; conv and dense weights uniform(+-1/sqrt(fanIn)), batch norm ones/zeros.
 *
 * Adam is hand-written (optax-style packages are not a dependency), in torch's form rewritten
 * with the bias corrections folded into two per-step scalars passed in as arrays, so one
 * compiled step serves every t:
 *   m = b1 m + (1 - b1) g,  v = b2 v + (1 - b2) g^2,  p -= lrT m / (sqrt(v) + epsT)
 *   lrT = lr sqrt(1 - b2^t) / (1 - b1^t),  epsT = eps sqrt(1 - b2^t)
 * jax-js arrays are reference counted: every use consumes one reference, hence the `.ref`s.
 */
import type * as JaxModule from '@jax-js/jax';
import type { Array as JaxArray } from '@jax-js/jax';
import { jaxForward, jaxParamSpecs, type JaxParamSpec, type Params } from './jaxjsModel';
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
import { progress } from '../report';

type Jax = typeof JaxModule;

/** Name -> [shape, fanIn]: conv kernels [O, C, KH, KW] (as shadergrad), dense [in, out]. */
const PARAMETERS: readonly (readonly [string, readonly number[], number])[] = [
  ['conv1.weight', [32, 1, 5, 5], 25],
  ['conv1.bias', [32], 25],
  ['conv2.weight', [64, 32, 5, 5], 800],
  ['conv2.bias', [64], 800],
  ['fc1.weight', [3136, 1024], 3136],
  ['fc1.bias', [1024], 3136],
  ['fc2.weight', [1024, 10], 1024],
  ['fc2.bias', [10], 1024],
];

/** jax-js on its WebGPU device, in Node through Dawn's navigator.gpu; throws if it is not there. */
export async function loadJax(): Promise<Jax> {
  await installNavigatorGpu();
  const jax = await import('@jax-js/jax');
  const available = await jax.init('webgpu');
  if (!available.includes('webgpu'))
    throw new Error(`jax-js found no WebGPU device (available: ${available.join(', ')})`);
  jax.defaultDevice('webgpu');
  progress(`jax-js: device ${jax.defaultDevice()} on ${describeDevice(jax.getWebGPUDevice())}`);
  return jax;
}

function take(p: Params, name: string): JaxArray {
  const a = p[name];
  if (!a) throw new Error(`jax-js: no parameter ${name}`);
  return a;
}

/** Mean softmax cross-entropy over the rows of logits [rows, classes]; consumes logits and y. */
export function crossEntropy(jax: Jax, logits: JaxArray, y: JaxArray, classes: number): JaxArray {
  const batch = logits.shape[0] ?? 1;
  return jax.nn
    .logSoftmax(logits, -1)
    .mul(jax.nn.oneHot(y, classes))
    .sum()
    .mul(-1 / batch);
}

/** Logits of the CNN on one batch; consumes p and x. */
function cnnLogits(jax: Jax, batch: number, p: Params, x: JaxArray): JaxArray {
  const { lax, nn, numpy: np } = jax;
  const conv = (h: JaxArray, layer: string): JaxArray =>
    nn.relu(
      lax
        .convGeneralDilated(h, take(p, `${layer}.weight`), [1, 1], 'SAME')
        .add(take(p, `${layer}.bias`).reshape([-1, 1, 1])),
    );
  const pool = (h: JaxArray): JaxArray => lax.reduceWindow(h, np.max, [2, 2], [2, 2]);
  const h1 = pool(conv(x.reshape([batch, 1, 28, 28]), 'conv1'));
  const h2 = pool(conv(h1, 'conv2'));
  const hidden = nn.relu(
    np.dot(h2.reshape([batch, 3136]), take(p, 'fc1.weight')).add(take(p, 'fc1.bias')),
  );
  return np.dot(hidden, take(p, 'fc2.weight')).add(take(p, 'fc2.bias'));
}

/** A model as the step sees it: its parameters and running statistics, and its loss. */
export interface JaxNet {
  specs: readonly JaxParamSpec[];
  /** Mean loss and the new running statistics (the CNN has none); consumes p, state, x, y. */
  loss(p: Params, state: Params, x: JaxArray, y: JaxArray): [JaxArray, Params];
}

function cnnNet(jax: Jax, batch: number): JaxNet {
  return {
    specs: PARAMETERS.map(([name, shape, fanIn]) => ({
      name,
      shape: [...shape],
      init: 'uniform',
      fanIn,
      trainable: true,
    })),
    loss: (p, state, x, y) => [crossEntropy(jax, cnnLogits(jax, batch, p, x), y, 10), state],
  };
}

function layerListNet(jax: Jax, model: BenchModel, batch: number): JaxNet {
  const { input, classes } = model.config;
  return {
    specs: jaxParamSpecs(model.config),
    loss(p, state, x, y) {
      const image = x.reshape([batch, input.channels, input.height, input.width]);
      const [logits, next] = jaxForward(jax, model.config, p, state, image);
      return [crossEntropy(jax, logits, y, classes), next];
    },
  };
}

/** The jitted step: (params, state, m, v, x, y, lrT, epsT) -> [params, state, m, v, loss]. */
function makeTrainStep(jax: Jax, net: JaxNet, o: BenchOptions) {
  const { numpy: np } = jax;
  const trainable = net.specs.filter((s) => s.trainable).map((s) => s.name);
  return jax.jit(
    (
      p: Params,
      state: Params,
      m: Params,
      v: Params,
      x: JaxArray,
      y: JaxArray,
      lrT: JaxArray,
      epsT: JaxArray,
    ) => {
      // The running statistics come out as aux: JAX differentiates only the loss.
      const [[loss, nextState], g] = jax.valueAndGrad((q: Params) => net.loss(q, state, x, y), {
        hasAux: true,
      })(jax.tree.ref(p));
      const next: [Params, Params, Params] = [{}, {}, {}];
      for (const name of trainable) {
        const gi = take(g, name);
        const mi = take(m, name)
          .mul(o.beta1)
          .add(gi.ref.mul(1 - o.beta1));
        const vi = take(v, name)
          .mul(o.beta2)
          .add(gi.ref.mul(gi).mul(1 - o.beta2));
        const update = mi.ref.mul(lrT.ref).div(np.sqrt(vi.ref).add(epsT.ref));
        next[0][name] = take(p, name).sub(update);
        next[1][name] = mi;
        next[2][name] = vi;
      }
      lrT.dispose();
      epsT.dispose();
      const [params, moment1, moment2] = next;
      return [params, nextState, moment1, moment2, loss] as [
        Params,
        Params,
        Params,
        Params,
        JaxArray,
      ];
    },
  );
}

interface JaxState {
  p: Params;
  /** Batch norm's running statistics. */
  state: Params;
  m: Params;
  v: Params;
}

/** Uniform(+-1/sqrt(fanIn)) from the seed in spec order, ones, zeros; Adam's moments zero. */
function initParams(jax: Jax, specs: readonly JaxParamSpec[], seed: number): JaxState {
  const { numpy: np } = jax;
  const random = seededRandom(seed);
  const s: JaxState = { p: {}, state: {}, m: {}, v: {} };
  for (const { name, shape, init, fanIn, trainable } of specs) {
    const value =
      init === 'uniform'
        ? np.array(initUniform(shape, fanIn, random)).reshape([...shape])
        : init === 'ones'
          ? np.ones([...shape])
          : np.zeros([...shape]);
    if (!trainable) {
      s.state[name] = value;
      continue;
    }
    s.p[name] = value;
    s.m[name] = np.zeros([...shape]);
    s.v[name] = np.zeros([...shape]);
  }
  return s;
}

/** Step `index`'s inputs as fresh jax-js arrays (the step consumes them): [x, y]. */
export type JaxInputs = (index: number) => [JaxArray, JaxArray];

function jaxRunner(
  jax: Jax,
  net: JaxNet,
  inputs: JaxInputs,
  o: BenchOptions,
): StepRunner & { parameters(): number; dispose(): void } {
  const { numpy: np } = jax;
  const device = jax.getWebGPUDevice();
  const trainStep = makeTrainStep(jax, net, o);
  const meter = lossMeter();
  let state = initParams(jax, net.specs, o.seed);
  let t = 0;
  return {
    device,
    async step(index) {
      const [x, y] = inputs(index);
      t++;
      const bc1 = 1 - o.beta1 ** t;
      const bc2 = 1 - o.beta2 ** t;
      const [p, bn, m, v, loss] = trainStep(
        state.p,
        state.state,
        state.m,
        state.v,
        x,
        y,
        np.array([(o.lr * Math.sqrt(bc2)) / bc1]).reshape([]),
        np.array([o.eps * Math.sqrt(bc2)]).reshape([]),
      );
      state = { p, state: bn, m, v };
      // DataArray includes Float16Array, which this TypeScript lib does not know; the loss is f32.
      const [value] = (await loss.data()) as unknown as Float32Array;
      await jax.blockUntilReady([p, bn, m, v]);
      await device.queue.onSubmittedWorkDone();
      meter.add(value ?? NaN);
    },
    lossMean: meter.lossMean,
    resetLoss: meter.resetLoss,
    parameters: () => Object.values(state.p).reduce((n, a) => n + a.size, 0),
    dispose() {
      jax.tree.dispose([state.p, state.state, state.m, state.v]);
      trainStep.dispose();
    },
  };
}

/** Trains `net` under jit on `inputs` (step by step, each awaited) and times it. */
export async function runJaxNet(
  jax: Jax,
  net: JaxNet,
  inputs: JaxInputs,
  o: BenchOptions,
): Promise<FrameworkResult> {
  const runner = jaxRunner(jax, net, inputs, o);
  try {
    const timing = await measure('jaxjs', runner, o);
    return {
      ...timing,
      backend: `${jax.defaultDevice()} (jax-js, jit)`,
      adapter: describeDevice(runner.device),
      parameters: runner.parameters(),
    };
  } finally {
    runner.dispose();
  }
}

/** Trains `model` with jax-js on WebGPU under jit and times it. */
export async function benchJaxjs(
  data: MnistOrder,
  o: BenchOptions,
  model: BenchModel,
): Promise<FrameworkResult> {
  const jax = await loadJax();
  const { numpy: np } = jax;
  const net = model.kind === 'cnn' ? cnnNet(jax, o.batch) : layerListNet(jax, model, o.batch);
  return runJaxNet(
    jax,
    net,
    (index) => {
      const batch = hostBatch(data, o.batch, index);
      return [np.array(batch.images), np.array(batch.labels, { dtype: np.int32 })];
    },
    o,
  );
}

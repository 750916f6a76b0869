/**
 * Peer: jax-js (@jax-js/jax) on its WebGPU device, in Node on Dawn's navigator.gpu (the same
 * adapter shadergrad uses). The reference CNN as a JAX user writes it, channels-first like
 * shadergrad, and the whole training step (forward, valueAndGrad, Adam) under one jit:
 *
 *   x [N, 1, 28, 28] -> lax.convGeneralDilated 5x5x32 SAME + bias, ReLU
 *   -> lax.reduceWindow max 2x2 -> conv 5x5x64 SAME + bias, ReLU -> max 2x2
 *   -> reshape [N, 3136] -> dot 1024 + bias, ReLU -> dot 10 + bias
 *   -> mean of -sum(logSoftmax(logits) * oneHot(labels))
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

type Jax = typeof JaxModule;
// A `type` alias, not an interface: jax-js's JsTree typing needs one.
type Params = { [name: string]: JaxArray };

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

async function loadJax(): Promise<Jax> {
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

/** Mean softmax cross-entropy of the CNN on one batch; consumes p, x and y. */
function lossFn(jax: Jax, batch: number, p: Params, x: JaxArray, y: JaxArray): JaxArray {
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
  const logits = np.dot(hidden, take(p, 'fc2.weight')).add(take(p, 'fc2.bias'));
  return nn
    .logSoftmax(logits, -1)
    .mul(nn.oneHot(y, 10))
    .sum()
    .mul(-1 / batch);
}

/** The jitted step: (params, m, v, x, y, lrT, epsT) -> [params, m, v, loss]. */
function makeTrainStep(jax: Jax, o: BenchOptions) {
  const { numpy: np } = jax;
  return jax.jit(
    (p: Params, m: Params, v: Params, x: JaxArray, y: JaxArray, lrT: JaxArray, epsT: JaxArray) => {
      const [loss, g] = jax.valueAndGrad((q: Params) => lossFn(jax, o.batch, q, x, y))(
        jax.tree.ref(p),
      );
      const next: [Params, Params, Params] = [{}, {}, {}];
      for (const [name] of PARAMETERS) {
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
      return [...next, loss] as [Params, Params, Params, JaxArray];
    },
  );
}

function initParams(jax: Jax, seed: number): { p: Params; m: Params; v: Params } {
  const { numpy: np } = jax;
  const random = seededRandom(seed);
  const p: Params = {};
  const m: Params = {};
  const v: Params = {};
  for (const [name, shape, fanIn] of PARAMETERS) {
    p[name] = np.array(initUniform(shape, fanIn, random)).reshape([...shape]);
    m[name] = np.zeros([...shape]);
    v[name] = np.zeros([...shape]);
  }
  return { p, m, v };
}

function jaxRunner(
  jax: Jax,
  data: MnistOrder,
  o: BenchOptions,
): StepRunner & { parameters(): number; dispose(): void } {
  const { numpy: np } = jax;
  const device = jax.getWebGPUDevice();
  const trainStep = makeTrainStep(jax, o);
  const meter = lossMeter();
  let state = initParams(jax, o.seed);
  let t = 0;
  return {
    device,
    async step(index) {
      const batch = hostBatch(data, o.batch, index);
      t++;
      const bc1 = 1 - o.beta1 ** t;
      const bc2 = 1 - o.beta2 ** t;
      const [p, m, v, loss] = trainStep(
        state.p,
        state.m,
        state.v,
        np.array(batch.images),
        np.array(batch.labels, { dtype: np.int32 }),
        np.array([(o.lr * Math.sqrt(bc2)) / bc1]).reshape([]),
        np.array([o.eps * Math.sqrt(bc2)]).reshape([]),
      );
      state = { p, m, v };
      // DataArray includes Float16Array, which this TypeScript lib does not know; the loss is f32.
      const [value] = (await loss.data()) as unknown as Float32Array;
      await jax.blockUntilReady([p, m, v]);
      await device.queue.onSubmittedWorkDone();
      meter.add(value ?? NaN);
    },
    lossMean: meter.lossMean,
    resetLoss: meter.resetLoss,
    parameters: () => Object.values(state.p).reduce((n, a) => n + a.size, 0),
    dispose() {
      jax.tree.dispose([state.p, state.m, state.v]);
      trainStep.dispose();
    },
  };
}

/** Trains the reference CNN with jax-js on WebGPU under jit and times it. */
export async function benchJaxjs(data: MnistOrder, o: BenchOptions): Promise<FrameworkResult> {
  const jax = await loadJax();
  const runner = jaxRunner(jax, data, o);
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

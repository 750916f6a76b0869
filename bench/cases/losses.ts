/**
 * Loss and optimizer cases: softmax cross-entropy (forward, or fused forward + backward), the
 * loss mean, and optimizer steps, each against its twin.
 *   softmax-CE: GB/s of logits + labels read, losses (and dLogits) written, 4 bytes each.
 *   optimizers: GB/s of grad, param and state read and param and state written: 28 bytes per
 *               parameter for Adam (m, v), 20 for momentum and RMSprop, 12 for SGD.
 */
import { type Gpu } from '../../src/index';
import {
  dotAtol,
  lossMean,
  lossMeanCpu,
  optimizerStepBegin,
  optimizerUpdate,
  randomFloats,
  randomInts,
  readFloat32,
  softmaxCrossEntropyForward,
  softmaxCrossEntropyForwardBackward,
  softmaxCrossEntropyForwardBackwardCpu,
} from '../../src/kernelApi';
import {
  optimizerStateSlots,
  optimizerStepBeginCpu,
  optimizerUpdateCpu,
  type OptimizerConfig,
  type OptimizerKind,
} from '../../src/kernels/optimizer.cpu';
import { makeCase, type KernelCase, type TwinCheck } from './kernelCase';

export type SoftmaxEntry = 'forward' | 'forwardBackward';

/**
 * Softmax cross-entropy over N rows of K logits in [-8, 8): the forward (per-sample loss) or the
 * fused forward + backward of training, against the twins. exp and log in float32 (tests/kernels):
 * the loss is off by a few ulps per term of the row sum, 4·2^-23·(K + 16); dLogits by that / N.
 */
export function softmaxCase(
  gpu: Gpu,
  { N, K }: { N: number; K: number },
  entry: SoftmaxEntry,
  seed = 61,
): KernelCase {
  return makeCase(gpu, (t) => {
    const host = {
      logits: randomFloats(N * K, seed, -8, 8),
      labels: randomInts(N, seed + 1, K),
    };
    const args = {
      logits: t.upload(host.logits, [N, K]),
      labels: t.upload(host.labels, [N]),
      dLogits: t.zeros([N, K]),
      loss: t.zeros([N]),
      N,
      K,
    };
    const lossAtol = 4 * 2 ** -23 * (K + 16);
    const check = async (): Promise<TwinCheck[]> => {
      const want = { dLogits: new Float64Array(N * K), loss: new Float64Array(N) };
      softmaxCrossEntropyForwardBackwardCpu({ ...host, ...want, N, K });
      const loss = await readFloat32(gpu, args.loss);
      const checks = [
        { output: 'loss', got: loss, want: want.loss, atol: lossAtol, rtol: 2 ** -21 },
      ];
      if (entry === 'forward') return checks;
      const dLogits = await readFloat32(gpu, args.dLogits);
      const atol = lossAtol / N;
      return [
        ...checks,
        { output: 'dLogits', got: dLogits, want: want.dLogits, atol, rtol: 2 ** -21 },
      ];
    };
    const call =
      entry === 'forward'
        ? softmaxCrossEntropyForward(args)
        : softmaxCrossEntropyForwardBackward(args);
    return { shape: `N=${N} K=${K}`, setup: [], calls: [call], check };
  });
}

/** Bytes moved at least: logits and labels read, losses (and dLogits) written, 4 bytes each. */
export function softmaxBytes(N: number, K: number, entry: SoftmaxEntry): number {
  return 4 * (N * K + 2 * N + (entry === 'forward' ? 0 : N * K));
}

/** total = mean of N losses: a tree sum of N terms (dotAtol(N)) scaled by 1/N. */
export function lossMeanCase(gpu: Gpu, N: number, seed = 131): KernelCase {
  return makeCase(gpu, (t) => {
    const lossHost = randomFloats(N, seed);
    const [loss, total] = [t.upload(lossHost, [N]), t.zeros([1])];
    const check = async (): Promise<TwinCheck[]> => {
      const want = new Float64Array(1);
      lossMeanCpu({ loss: lossHost, total: want, N });
      const got = await readFloat32(gpu, total);
      return [{ output: 'total', got, want, atol: dotAtol(N) / N, rtol: 1e-5 }];
    };
    return { shape: `N=${N}`, setup: [], calls: [lossMean({ loss, total, N })], check };
  });
}

/** The reference CNN's parameter count (conv1 832, conv2 51,264, fc1 3,212,288, fc2 10,250). */
export const REFERENCE_PARAMETERS = 3_274_634;

/**
 * `steps` optimizer steps (step counter, then the update) on n parameters with a fixed random
 * gradient, against optimizerUpdateCpu on Float32Arrays (which round where the GPU does). Each
 * update moves a value ~1 by about lr: a few ulps (1.2e-7 each) per step on param and state.
 */
export function optimizerCase(
  gpu: Gpu,
  config: OptimizerConfig,
  n: number,
  steps = 1,
  seed = 71,
): KernelCase {
  return makeCase(gpu, (t) => {
    const host = {
      grad: randomFloats(n, seed),
      param: randomFloats(n, seed + 1),
      step: [0],
      state: Array.from({ length: optimizerStateSlots(config.kind) }, () => new Float32Array(n)),
    };
    const tensors = {
      grad: t.upload(host.grad, [n]),
      param: t.upload(host.param, [n]),
      state: host.state.map(() => t.zeros([n])),
      step: t.zeros([1], 'u32'),
    };
    const one = [optimizerStepBegin(tensors), optimizerUpdate({ ...tensors, config })];
    const check = async (): Promise<TwinCheck[]> => {
      for (let s = 0; s < steps; s++) {
        optimizerStepBeginCpu(host);
        optimizerUpdateCpu({ ...host, config });
      }
      const outputs = [tensors.param, ...tensors.state];
      const wants = [host.param, ...host.state];
      const got = await Promise.all(outputs.map((x) => readFloat32(gpu, x)));
      return wants.map((want, i) => ({
        output: i === 0 ? 'param' : `state ${i - 1}`,
        got: got[i] ?? new Float32Array(0),
        want,
        atol: 1e-6 * steps,
        rtol: 1e-5,
      }));
    };
    const calls = Array.from({ length: steps }, () => one).flat();
    const shape = `${n} parameters x ${steps} step${steps === 1 ? '' : 's'}`;
    return { shape, setup: [], calls, check };
  });
}

/** Bytes one update moves: grad, param and state read, param and state written (Adam 28/param). */
export function optimizerBytes(kind: OptimizerKind, n: number): number {
  return 4 * n * (3 + 2 * optimizerStateSlots(kind));
}

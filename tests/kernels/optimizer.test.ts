import { describe, expect, it } from 'vitest';
import { readTensor, uploadTensor, writeTensor } from '../../src/gpu/buffers';
import type { GpuTensor } from '../../src/gpu/tensor';
import { dispatchFor, runCalls, type KernelCall } from '../../src/gpu/dispatch';
import {
  adamPerInvocation,
  packOptimizerParams,
  optimizerStepBegin,
  optimizerUpdate,
} from '../../src/kernels/optimizer';
import {
  resolveOptimizerConfig,
  optimizerStateSlots,
  optimizerStepBeginCpu,
  optimizerUpdateCpu,
  type OptimizerConfig,
  type OptimizerUpdateArgs,
} from '../../src/kernels/optimizer.cpu';
import { expectAllClose } from '../helpers/allclose';
import { upload, useTestGpu } from '../helpers/gpu';
import { randomFloats } from '../../src/base/random';
import { guardedOutput, type GuardedTensor } from '../helpers/sentinel';

const u = 2 ** -24; // float32 unit roundoff

const gpu = useTestGpu();

/** Runs `grads.length` steps of the twin from p0 with zero state, in the array type of p0. */
function twinSteps(
  config: OptimizerConfig,
  p0: Float32Array | Float64Array,
  grads: ArrayLike<number>[],
) {
  const make = (n: number) =>
    p0 instanceof Float64Array ? new Float64Array(n) : new Float32Array(n);
  const param = p0.slice();
  const state = Array.from({ length: optimizerStateSlots(config.kind) }, () => make(p0.length));
  const step = [0];
  let maxUpdate = 0; // largest |p_t - p_{t-1}| over elements and steps, for tolerances
  for (const g of grads) {
    const before = param.slice();
    optimizerStepBeginCpu({ step });
    optimizerUpdateCpu({ grad: Float64Array.from(g), step, param, state, config });
    for (let i = 0; i < param.length; i++)
      maxUpdate = Math.max(maxUpdate, Math.abs((param[i] ?? 0) - (before[i] ?? 0)));
  }
  return { param, state, maxUpdate };
}

/** Runs the same steps on the GPU: one recorded [stepBegin, update] list, a new gradient written per step. */
async function gpuSteps(
  config: OptimizerConfig,
  p0: Float32Array,
  grads: Float32Array[],
  tweak = (c: KernelCall) => c,
  perInvocation?: number,
) {
  const n = p0.length;
  const param = guardedOutput(gpu(), [n]);
  writeTensor(gpu(), param.tensor, p0);
  const state: GuardedTensor[] = [];
  for (let s = 0; s < optimizerStateSlots(config.kind); s++) {
    // Adam's and RMSprop's averages start at 0; momentum's buffer starts as the first gradient,
    // so its memory is left NaN (guardedOutput's fill) to prove step 1 never reads it.
    state.push(
      config.kind === 'momentum' ? guardedOutput(gpu(), [n]) : guardedOutput(gpu(), [n], 'f32', 0),
    );
  }
  const step = guardedOutput(gpu(), [1], 'u32', 0);
  const grad = upload(gpu(), new Float32Array(n), [n]);
  const update = optimizerUpdate(
    {
      grad,
      step: step.tensor,
      param: param.tensor,
      state: state.map((s) => s.tensor),
      config,
    },
    perInvocation,
  );
  const calls = [optimizerStepBegin({ step: step.tensor }), tweak(update)];
  for (const g of grads) {
    writeTensor(gpu(), grad, g);
    await runCalls(gpu(), calls);
  }
  const read = async (t: GuardedTensor) => Float32Array.from(await readTensor(gpu(), t.tensor));
  for (const t of [param, step, ...state]) await t.check();
  return {
    param: await read(param),
    state: await Promise.all(state.map(read)),
    t: (await readTensor(gpu(), step.tensor))[0],
  };
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] ?? 0));
  return m;
}

/**
 * Param tolerance: rtol covers one rounding of p per step (5 steps x 2u); atol scales with the
 * largest single update. SGD/momentum/RMSprop updates carry a few roundings (sqrt is 2.5 ulp in
 * WGSL), so 1e-5 relative to the update (~80u) per step. Adam's too: its 1 - b^t is a series in
 * t ln b (ln b and 1 - b from float64), no longer f32 pow (3.3e-4 relative error in 1 - b2^t).
 */
function paramTolerance(steps: number, maxUpdate: number) {
  const perStep = 1e-5;
  return { atol: steps * perStep * maxUpdate, rtol: steps * 2 * u };
}

describe('optimizer twin', () => {
  it('counts steps', () => {
    const step = new Uint32Array([0]);
    optimizerStepBeginCpu({ step });
    optimizerStepBeginCpu({ step });
    expect([...step]).toEqual([2]);
  });

  it("Adam's first step moves each param by lr * sign(g), whatever |g| (>> eps)", () => {
    const g = [0.5, -2, 1e-3, 3e4, 0];
    const { param, state } = twinSteps(
      { kind: 'adam', lr: 0.01 },
      new Float64Array([1, 1, 1, 1, 1]),
      [g],
    );
    // m1 / sqrt(v1) after bias correction is g / |g|; eps shifts it by eps / |g| <= 1e-5.
    expectAllClose(param, [0.99, 1.01, 0.99, 0.99, 1], { atol: 0.01 * 1e-5, rtol: 0 });
    expectAllClose(
      state[0] ?? [],
      g.map((x) => 0.1 * x),
      { atol: 0, rtol: 1e-12 },
    );
    expectAllClose(
      state[1] ?? [],
      g.map((x) => 0.001 * x * x),
      { atol: 0, rtol: 1e-12 },
    );
  });

  it('matches three Adam steps worked by hand from the torch formula (float64)', () => {
    // p0 = 0.5, lr = 0.1, betas (0.9, 0.999), eps 1e-8, g = 0.2, -0.1, 0.3.
    // t=1: m = 0.1*0.2 = 0.02, v = 0.001*0.04 = 4e-5, 1-b1 = 0.1, 1-b2 = 0.001
    const p1 = 0.5 - (0.1 / 0.1) * (0.02 / (Math.sqrt(4e-5) / Math.sqrt(0.001) + 1e-8));
    // t=2: m = 0.9*0.02 - 0.1*0.1 = 0.008, v = 0.999*4e-5 + 0.001*0.01 = 4.996e-5, 1-b1^2 = 0.19, 1-b2^2 = 0.001999
    const p2 = p1 - (0.1 / 0.19) * (0.008 / (Math.sqrt(4.996e-5) / Math.sqrt(0.001999) + 1e-8));
    // t=3: m = 0.9*0.008 + 0.1*0.3 = 0.0372, v = 0.999*4.996e-5 + 0.001*0.09 = 1.3991004e-4,
    // 1-b1^3 = 0.271, 1-b2^3 = 0.002997001
    const p3 =
      p2 - (0.1 / 0.271) * (0.0372 / (Math.sqrt(1.3991004e-4) / Math.sqrt(0.002997001) + 1e-8));
    expect(p3).toBeCloseTo(0.3098342873, 9);
    const { param, state } = twinSteps({ kind: 'adam', lr: 0.1 }, new Float64Array([0.5]), [
      [0.2],
      [-0.1],
      [0.3],
    ]);
    expectAllClose(param, [p3], { atol: 0, rtol: 1e-12 });
    expectAllClose(state[0] ?? [], [0.0372], { atol: 0, rtol: 1e-12 });
    expectAllClose(state[1] ?? [], [1.3991004e-4], { atol: 0, rtol: 1e-12 });
  });

  it('matches SGD, momentum, Nesterov and RMSprop steps worked by hand', () => {
    const close = (a: ArrayLike<number>, b: number[]) =>
      expectAllClose(a, b, { atol: 0, rtol: 1e-12 });
    const p0 = () => new Float64Array([1]);
    // SGD with L2: p = 2 - 0.1 * (0.5 + 0.1 * 2) = 1.93
    close(
      twinSteps({ kind: 'sgd', lr: 0.1, weightDecay: 0.1 }, new Float64Array([2]), [[0.5]]).param,
      [1.93],
    );
    // Momentum 0.9: buf1 = 1, p1 = 0.9; buf2 = 0.9 + 0.5 = 1.4, p2 = 0.9 - 0.14 = 0.76
    const mom = twinSteps({ kind: 'momentum', lr: 0.1, momentum: 0.9 }, p0(), [[1], [0.5]]);
    close(mom.param, [0.76]);
    close(mom.state[0] ?? [], [1.4]);
    // torch creates buf at step 1, so whatever the memory held before is ignored
    const garbage = {
      grad: new Float64Array([1]),
      step: [1],
      param: p0(),
      state: [new Float64Array([NaN])],
    };
    optimizerUpdateCpu({ ...garbage, config: { kind: 'momentum', lr: 0.1 } });
    close(garbage.param, [0.9]);
    // Nesterov: p1 = 1 - 0.1 * (1 + 0.9) = 0.81; buf2 = 1.4, p2 = 0.81 - 0.1 * (0.5 + 0.9 * 1.4) = 0.634
    close(
      twinSteps({ kind: 'momentum', lr: 0.1, nesterov: true }, p0(), [[1], [0.5]]).param,
      [0.634],
    );
    // RMSprop, alpha 0.99: v1 = 0.01 * 4 = 0.04, p1 = 1 - 0.01 * 2 / (0.2 + 1e-8);
    // v2 = 0.99 * 0.04 + 0.01 * 1 = 0.0496, p2 = p1 + 0.01 / (sqrt(0.0496) + 1e-8)
    const rms = twinSteps({ kind: 'rmsprop', lr: 0.01 }, p0(), [[2], [-1]]);
    close(rms.param, [1 - 0.02 / (0.2 + 1e-8) + 0.01 / (Math.sqrt(0.0496) + 1e-8)]);
    close(rms.state[0] ?? [], [0.0496]);
  });
});

const configs: OptimizerConfig[] = [
  { kind: 'adam', lr: 1e-3 },
  { kind: 'adam', lr: 1e-2, beta1: 0.8, beta2: 0.99, weightDecay: 0.01 },
  { kind: 'adamw', lr: 1e-2 },
  { kind: 'adamw', lr: 1e-2, beta1: 0.8, weightDecay: 0.1 },
  { kind: 'sgd', lr: 0.1 },
  { kind: 'sgd', lr: 0.05, weightDecay: 1e-3 },
  { kind: 'momentum', lr: 0.05, momentum: 0.9 },
  { kind: 'momentum', lr: 0.05, momentum: 0.8, nesterov: true, weightDecay: 1e-3 },
  { kind: 'rmsprop', lr: 1e-2 },
  { kind: 'rmsprop', lr: 1e-3, alpha: 0.9, eps: 1e-6, weightDecay: 0.01 },
];

describe.each(configs.map((c) => [JSON.stringify(c), c] as const))(
  'optimizer %s on the GPU',
  (_, config) => {
    const steps = 5;
    it.each([
      [1, 1],
      [7, 1],
      [65, 1],
      [1000, 1],
      [65, 1e-9],
      [1000, 1e-9],
      [65, 1e4],
      [1000, 1e4],
    ])('matches the twin over 5 steps, n = %i, |g| ~ %f', async (n, scale) => {
      const p0 = randomFloats(n, n, -1, 1);
      const grads = Array.from({ length: steps }, (_, k) =>
        randomFloats(n, 100 * n + k).map((g) => g * scale),
      );
      grads[0]?.fill(0, 0, Math.min(2, n)); // a zero gradient: Adam's 0 / (0 + eps) must stay 0
      const got = await gpuSteps(config, p0, grads);
      const want = twinSteps(config, p0, grads);
      expect(got.t).toBe(steps);
      expectAllClose(got.param, want.param, paramTolerance(steps, want.maxUpdate), 'param');
      got.state.forEach((s, k) => {
        // State is a running average of g or g^2: a few roundings per step, 1e-5 (~80u) relative to its scale.
        const ref = want.state[k] ?? [];
        expectAllClose(s, ref, { atol: 1e-5 * maxAbs(ref), rtol: 1e-5 }, `state ${k}`);
      });
    });
  },
);

describe('optimizer GPU', () => {
  it('matches the three Adam steps worked by hand', async () => {
    const got = await gpuSteps(
      { kind: 'adam', lr: 0.1 },
      new Float32Array([0.5]),
      [[0.2], [-0.1], [0.3]].map((g) => Float32Array.from(g)),
    );
    // Three updates of at most lr = 0.1: float32 roundings (2u each on p) plus 1e-5 relative per
    // update (see paramTolerance).
    expectAllClose(got.param, [0.3098342873], { atol: 3 * 1e-5 * 0.1, rtol: 6 * u });
    expect(got.t).toBe(3);
  });

  it("Adam's vec4 entry point gives the scalar one's bits", async () => {
    const config: OptimizerConfig = { kind: 'adam', lr: 1e-2, weightDecay: 0.01 };
    const n = 1000; // a multiple of 4 with 16-byte aligned tensors: the wrapper picks vec4
    const p0 = randomFloats(n, 5, -1, 1);
    const grads = [1, 1e-6, 1e4].map((scale, k) => randomFloats(n, 6 + k).map((g) => g * scale));
    const labels: string[] = [];
    const vec4 = await gpuSteps(config, p0, grads, (c) => {
      labels.push(c.label);
      return c;
    });
    expect(labels).toEqual(['optimizer.adamUpdate(1000, vec4)']);
    const scalarCall = (c: KernelCall): KernelCall => ({
      ...c,
      entryPoint: 'adamUpdate',
      params: packOptimizerParams(resolveOptimizerConfig(config), n),
      workgroups: dispatchFor(n, 256),
    });
    const scalar = await gpuSteps(config, p0, grads, scalarCall);
    // One rule (adamRule) on splatted vec4s in the scalar entry point: the same operations.
    expectAllClose(vec4.param, scalar.param, { atol: 0, rtol: 0 }, 'param');
    vec4.state.forEach((s, k) =>
      expectAllClose(s, scalar.state[k] ?? [], { atol: 0, rtol: 0 }, `state ${k}`),
    );
  });

  it("gives the same bits with SwiftShader's elements per invocation, scalar and vec4", async () => {
    const config: OptimizerConfig = { kind: 'adam', lr: 1e-2, weightDecay: 0.01 };
    const wide = adamPerInvocation('swiftshader');
    expect(wide).toBeGreaterThan(adamPerInvocation('lavapipe'));
    // 65 floats (scalar path, one invocation's run cut short), 1000 (vec4) and 2 workgroups'
    // worth of vec4s plus 3 (the grid's last run partial).
    for (const n of [65, 1000, 2 * 256 * wide * 4 + 12]) {
      const p0 = randomFloats(n, n + 1, -1, 1);
      const grads = [1, 1e-6, 1e4].map((scale, k) =>
        randomFloats(n, n + 2 + k).map((g) => g * scale),
      );
      const perInvocation: unknown[] = [];
      const spy = (c: KernelCall): KernelCall => {
        perInvocation.push(c.constants?.adamPerInvocation);
        return c;
      };
      const many = await gpuSteps(config, p0, grads, spy, wide);
      const few = await gpuSteps(config, p0, grads, spy);
      expect(perInvocation).toEqual([wide, 2]);
      // Each element's arithmetic is the same whichever invocation does it.
      expectAllClose(many.param, few.param, { atol: 0, rtol: 0 }, `param, n = ${n}`);
      many.state.forEach((s, k) =>
        expectAllClose(s, few.state[k] ?? [], { atol: 0, rtol: 0 }, `state ${k}, n = ${n}`),
      );
      const want = twinSteps(config, p0, grads);
      expectAllClose(many.param, want.param, paramTolerance(3, want.maxUpdate), `twin, n = ${n}`);
    }
  });

  it('covers every element of a grid past 65535 workgroups', async () => {
    // workgroupSize is an override: 16 threads per workgroup reach 65537 workgroups with 1M elements.
    const n = 65537 * 16 + 3;
    const config: OptimizerConfig = { kind: 'adam', lr: 1e-3 };
    const p0 = randomFloats(n, 1, -1, 1);
    const grads = [randomFloats(n, 2), randomFloats(n, 3)];
    const smallGroups = (c: KernelCall): KernelCall => ({
      ...c,
      constants: { workgroupSize: 16 },
      workgroups: dispatchFor(n, 16),
    });
    expect(dispatchFor(n, 16)[1]).toBeGreaterThan(1);
    const got = await gpuSteps(config, p0, grads, smallGroups);
    const want = twinSteps(config, p0, grads);
    expectAllClose(got.param, want.param, paramTolerance(2, want.maxUpdate), 'param');
  });
});

describe('optimizer wrappers', () => {
  const t = (n: number) => upload(gpu(), new Float32Array(n), [n]);
  const step = () => uploadTensor(gpu(), new Uint32Array([0]), [1]);
  const update = (change: Partial<OptimizerUpdateArgs<GpuTensor>>) => () =>
    optimizerUpdate({
      grad: t(4),
      step: step(),
      param: t(4),
      state: [],
      config: { kind: 'sgd', lr: 1 },
      ...change,
    });
  it('reject wrong state counts, sizes, dtypes and hyper-parameters', () => {
    expect(update({})).not.toThrow();
    expect(update({ state: [t(4)], config: { kind: 'adam', lr: 1 } })).toThrow(/2 state tensors/);
    expect(update({ grad: t(3) })).toThrow(/elements/);
    expect(update({ step: t(1) })).toThrow(/u32/);
    expect(update({ state: [t(4), t(4)], config: { kind: 'adam', lr: 1, beta2: 1 } })).toThrow(
      /beta2/,
    );
    expect(update({ config: { kind: 'sgd', lr: -1 } })).toThrow(/lr/);
    const nesterov: OptimizerConfig = { kind: 'momentum', lr: 1, momentum: 0, nesterov: true };
    expect(update({ state: [t(4)], config: nesterov })).toThrow(/nesterov/);
    expect(() => optimizerStepBegin({ step: t(1) })).toThrow(/u32/);
  });

  it('refuse a number of elements per Adam invocation that is not a whole number >= 1', () => {
    const adam = { state: [t(4), t(4)], config: { kind: 'adam', lr: 1 } as const };
    const call = (perInvocation: number) => () =>
      optimizerUpdate({ grad: t(4), step: step(), param: t(4), ...adam }, perInvocation);
    expect(call(64)).not.toThrow();
    for (const bad of [0, 1.5, -2]) expect(call(bad)).toThrow(/elements per invocation/);
  });
});

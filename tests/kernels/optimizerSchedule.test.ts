/**
 * The optimizer utilities a ResNet recipe needs, beside optimizer.test.ts (kept under the file
 * budget): AdamW, learning-rate schedules computed from t, gradient clipping by global norm, no
 * decay on rank-1 parameters. Twin vs hand-computed values, GPU vs twin on awkward sizes.
 */
import { describe, expect, it } from 'vitest';
import { readTensor, uploadTensor, writeTensor } from '../../src/gpu/buffers';
import { runCalls } from '../../src/gpu/dispatch';
import { clipGradNorm, optimizerStepBegin, optimizerUpdate } from '../../src/kernels/optimizer';
import {
  clipGradNormCpu,
  learningRateAt,
  optimizerConfigFor,
  optimizerConfigProblems,
  optimizerStateSlots,
  optimizerStepBeginCpu,
  optimizerUpdateCpu,
  resolveOptimizerConfig,
  type OptimizerConfig,
} from '../../src/kernels/optimizer.cpu';
import { randomFloats } from '../../src/base/random';
import { expectAllClose } from '../helpers/allclose';
import { upload, useTestGpu } from '../helpers/gpu';

const u = 2 ** -24; // float32 unit roundoff
const gpu = useTestGpu();

const lrAt = (c: OptimizerConfig, t: number) => learningRateAt(resolveOptimizerConfig(c), t);

describe('learning-rate schedules (twin)', () => {
  it('give the rates of the definition, warm-up included (table worked by hand)', () => {
    const base = { kind: 'sgd', lr: 0.1 } as const;
    // t = 1..8; i = t - 1
    const table: [OptimizerConfig, number[]][] = [
      [base, [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]],
      // warm-up 4: lr (i + 1) / 4, then constant
      [{ ...base, warmupSteps: 4 }, [0.025, 0.05, 0.075, 0.1, 0.1, 0.1, 0.1, 0.1]],
      // step 3, gamma 0.5: 0.1 * 0.5^floor(i / 3)
      [
        { ...base, schedule: { kind: 'step', stepSize: 3, gamma: 0.5 } },
        [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025],
      ],
      // default gamma 0.1, after 2 warm-up steps: j = i - 2
      [
        { ...base, warmupSteps: 2, schedule: { kind: 'step', stepSize: 2 } },
        [0.05, 0.1, 0.1, 0.1, 0.01, 0.01, 0.001, 0.001],
      ],
      // cosine over T = 6 - 2 = 4 from 0.1 to 0.02: 0.02 + 0.08 (1 + cos(pi j / 4)) / 2, held at j >= 4
      [
        { ...base, warmupSteps: 2, schedule: { kind: 'cosine', totalSteps: 6, minLr: 0.02 } },
        [
          0.05,
          0.1,
          0.1,
          0.02 + 0.04 * (1 + Math.SQRT1_2),
          0.06,
          0.02 + 0.04 * (1 - Math.SQRT1_2),
          0.02,
          0.02,
        ],
      ],
      // cosine without warm-up, minLr 0: T = 4
      [
        { ...base, schedule: { kind: 'cosine', totalSteps: 4 } },
        [0.1, 0.05 * (1 + Math.SQRT1_2), 0.05, 0.05 * (1 - Math.SQRT1_2), 0, 0, 0, 0],
      ],
    ];
    for (const [config, rates] of table) {
      const got = rates.map((_, k) => lrAt(config, k + 1));
      expectAllClose(got, rates, { atol: 1e-15, rtol: 1e-12 }, JSON.stringify(config));
    }
  });

  it('refuse bad schedules with a message naming the field', () => {
    const problems = (c: OptimizerConfig) => optimizerConfigProblems(resolveOptimizerConfig(c));
    const sgd = { kind: 'sgd', lr: 0.1 } as const;
    expect(problems(sgd)).toEqual([]);
    expect(problems({ ...sgd, warmupSteps: 1.5 })).toEqual(['invalid warmupSteps = 1.5']);
    expect(problems({ ...sgd, schedule: { kind: 'step', stepSize: 0 } })).toEqual([
      'invalid schedule.stepSize = 0',
    ]);
    expect(problems({ ...sgd, schedule: { kind: 'cosine', totalSteps: 10, minLr: 1 } })).toEqual([
      'invalid schedule.minLr = 1',
    ]);
    expect(
      problems({ ...sgd, warmupSteps: 5, schedule: { kind: 'cosine', totalSteps: 5 } }),
    ).toEqual(['cosine schedule: totalSteps (5) must be a whole number > warmupSteps (5)']);
    expect(problems({ ...sgd, clipGradNorm: 0 })).toEqual(['invalid clipGradNorm = 0']);
  });
});

describe('AdamW and decay choices (twin)', () => {
  it('matches two AdamW steps worked by hand (decoupled decay, no L2 in g)', () => {
    // p0 = 1, lr 0.1, wd 0.5 (big, to see it), betas (0.9, 0.999), g = 0.2 then -0.4.
    // t=1: p = 1 * (1 - 0.05) = 0.95; m = 0.02, v = 4e-5; m^ = 0.2, sqrt(v^) = 0.2 -> p = 0.95 - 0.1
    const p1 = 0.95 - 0.1 * (0.02 / 0.1 / (Math.sqrt(4e-5) / Math.sqrt(0.001) + 1e-8));
    // t=2: p = p1 * 0.95; m = 0.018 - 0.04 = -0.022, v = 3.996e-5 + 1.6e-4 = 1.9996e-4
    const p2 =
      p1 * 0.95 - (0.1 / 0.19) * (-0.022 / (Math.sqrt(1.9996e-4) / Math.sqrt(0.001999) + 1e-8));
    const param = new Float64Array([1]);
    const state = [new Float64Array(1), new Float64Array(1)];
    const step = [0];
    for (const g of [0.2, -0.4]) {
      optimizerStepBeginCpu({ step });
      const config: OptimizerConfig = { kind: 'adamw', lr: 0.1, weightDecay: 0.5 };
      optimizerUpdateCpu({ grad: Float64Array.of(g), step, param, state, config });
    }
    expectAllClose(param, [p2], { atol: 0, rtol: 1e-12 });
    expectAllClose(state[0] ?? [], [-0.022], { atol: 0, rtol: 1e-12 });
    expectAllClose(state[1] ?? [], [1.9996e-4], { atol: 0, rtol: 1e-12 });
  });

  it('defaults to weight decay 0.01 for adamw only, and skips rank-1 params on request', () => {
    expect(resolveOptimizerConfig({ kind: 'adamw', lr: 1 }).weightDecay).toBe(0.01);
    expect(resolveOptimizerConfig({ kind: 'adam', lr: 1 }).weightDecay).toBe(0);
    const c: OptimizerConfig = { kind: 'adamw', lr: 1, weightDecay: 0.1, decayBiasAndNorm: false };
    expect(optimizerConfigFor(c, [4]).weightDecay).toBe(0);
    expect(optimizerConfigFor(c, [3, 4]).weightDecay).toBe(0.1);
    expect(optimizerConfigFor({ ...c, decayBiasAndNorm: true }, [4]).weightDecay).toBe(0.1);
  });
});

describe('gradient clipping (twin)', () => {
  it('scales by maxNorm / (norm + 1e-6) when the norm is larger, else leaves the gradients', () => {
    // norm = sqrt(9 + 16 + 144) = 13
    const grads = [new Float64Array([3, 4]), new Float64Array([12])];
    const clip = new Float64Array(4);
    expect(clipGradNormCpu({ grads, clip, maxNorm: 1.3 })).toBe(13);
    const coef = 1.3 / (13 + 1e-6);
    expectAllClose(clip, [25, 144, 13, coef], { atol: 0, rtol: 1e-15 });
    expectAllClose([...(grads[0] ?? []), ...(grads[1] ?? [])], [3 * coef, 4 * coef, 12 * coef], {
      atol: 0,
      rtol: 1e-15,
    });
    const small = [new Float64Array([0.3, 0.4])];
    clipGradNormCpu({ grads: small, clip: new Float64Array(3), maxNorm: 1 });
    expect([...(small[0] ?? [])]).toEqual([0.3, 0.4]); // coef = min(1, 1 / 0.5...) = 1
  });
});

describe('optimizer utilities on the GPU', () => {
  const configs: OptimizerConfig[] = [
    { kind: 'adamw', lr: 1e-2 },
    {
      kind: 'adamw',
      lr: 1e-2,
      weightDecay: 0.1,
      warmupSteps: 2,
      schedule: { kind: 'cosine', totalSteps: 4, minLr: 1e-3 },
    },
    {
      kind: 'momentum',
      lr: 0.05,
      nesterov: true,
      schedule: { kind: 'step', stepSize: 2, gamma: 0.5 },
    },
    { kind: 'sgd', lr: 0.1, warmupSteps: 3 },
    { kind: 'rmsprop', lr: 1e-2, schedule: { kind: 'cosine', totalSteps: 3 } },
    { kind: 'adam', lr: 1e-2, schedule: { kind: 'step', stepSize: 1, gamma: 0 } },
  ];
  it.each(configs.flatMap((c) => [1, 7, 1000].map((n) => [JSON.stringify(c), n, c] as const)))(
    '%s matches the twin over 5 steps, n = %i',
    async (_, n, config) => {
      const p0 = randomFloats(n, n + 1, -1, 1);
      const grads = Array.from({ length: 5 }, (_, k) => randomFloats(n, 7 * n + k));
      const slots = optimizerStateSlots(config.kind);
      // twin in float32 arrays, so it rounds p and the state where the GPU does
      const want = {
        param: p0.slice(),
        state: Array.from({ length: slots }, () => new Float32Array(n)),
        step: [0],
      };
      const param = upload(gpu(), p0, [n]);
      const state = Array.from({ length: slots }, () => upload(gpu(), new Float32Array(n), [n]));
      const step = uploadTensor(gpu(), new Uint32Array([0]), [1]);
      const grad = upload(gpu(), new Float32Array(n), [n]);
      const calls = [
        optimizerStepBegin({ step }),
        optimizerUpdate({ grad, step, param, state, config }),
      ];
      let maxUpdate = 0;
      for (const g of grads) {
        writeTensor(gpu(), grad, g);
        await runCalls(gpu(), calls);
        const before = want.param.slice();
        optimizerStepBeginCpu({ step: want.step });
        optimizerUpdateCpu({
          grad: g,
          step: want.step,
          param: want.param,
          state: want.state,
          config,
        });
        want.param.forEach(
          (p, i) => (maxUpdate = Math.max(maxUpdate, Math.abs(p - (before[i] ?? 0)))),
        );
      }
      // As optimizer.test.ts's paramTolerance: 2u of p per step, 1e-5 of the largest update per
      // step (a few roundings, WGSL sqrt/exp/cos a few ulp; lr_t is float32 on the GPU).
      const got = Float32Array.from(await readTensor(gpu(), param));
      expectAllClose(got, want.param, { atol: 5 * 1e-5 * maxUpdate, rtol: 5 * 2 * u }, 'param');
    },
  );

  it.each<[number[], number, string]>([
    [[1], 1e-3, 'coef < 1'],
    [[7, 1000, 1], 0.5, 'coef < 1'],
    [[7, 1000, 1], 1e6, 'coef = 1'],
  ])('clips gradients of sizes %j (maxNorm %f, %s) as the twin', async (sizes, maxNorm) => {
    const values = sizes.map((n, k) => randomFloats(n, 50 + k));
    const grads = values.map((v) => upload(gpu(), v, [v.length]));
    const clip = upload(gpu(), new Float32Array(sizes.length + 2).fill(NaN), [sizes.length + 2]);
    const want = values.map((v) => Float64Array.from(v));
    const wantClip = new Float64Array(sizes.length + 2);
    clipGradNormCpu({ grads: want, clip: wantClip, maxNorm });
    await runCalls(gpu(), clipGradNorm({ grads, clip, maxNorm }));
    // Sums of n <= 1000 squares in float32 (fixed tree): error <= log2(n) + n/256 roundings, 1e-6
    // relative covers it; coef and the scaled gradients inherit it (+ 2 roundings).
    const gotClip = Float32Array.from(await readTensor(gpu(), clip));
    expectAllClose(gotClip, wantClip, { atol: 0, rtol: 1e-6 }, 'sums, norm, coef');
    if (maxNorm === 1e6) expect(gotClip[sizes.length + 1]).toBe(1);
    else expect(gotClip[sizes.length + 1]).toBeLessThan(1);
    for (const [k, g] of grads.entries()) {
      const got = Float32Array.from(await readTensor(gpu(), g));
      expectAllClose(got, want[k] ?? [], { atol: 0, rtol: 2e-6 }, `grad ${k}`);
    }
  });

  it('gives the same bits every run (no atomics)', async () => {
    const v = randomFloats(1000, 9);
    const run = async () => {
      const grads = [upload(gpu(), v, [1000])];
      const clip = upload(gpu(), new Float32Array(3), [3]);
      await runCalls(gpu(), clipGradNorm({ grads, clip, maxNorm: 0.1 }));
      return [...(await readTensor(gpu(), clip))];
    };
    expect(await run()).toEqual(await run());
  });

  it('refuses a bad clip buffer or maxNorm', () => {
    const grads = [upload(gpu(), new Float32Array(4), [4])];
    const clip = upload(gpu(), new Float32Array(2), [2]);
    expect(() => clipGradNorm({ grads, clip, maxNorm: 1 })).toThrow(/3 floats/);
    expect(() => clipGradNorm({ grads, clip, maxNorm: -1 })).toThrow(/maxNorm/);
  });
});

/**
 * Exercise 8, Adam (torch.optim.Adam, no weight decay): for step t >= 1 and each element,
 * m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g², p -= lr · m̂ / (√v̂ + eps) with the bias
 * corrections m̂ = m / (1 - b1^t), v̂ = v / (1 - b2^t). Cases: the first step from zero state,
 * later steps from random state, gradients of 1e10. Tolerances: float32 holds 0.999 as
 * 0.99900001, so 1 - b2 (and 1 - b2^t at t = 1) is off by 1.3e-5 of itself in any kernel that
 * takes b2 as a float32; m and v get 5e-5 relative, plus 1e-6 of the gradient's scale (or its
 * square) where the two terms of m cancel, and p gets lr·1e-4 (its update moves by the square
 * root of v's error).
 */
import { mulberry32, randomFloats } from '../../base/random';
import { uploadTensor } from '../../gpu/buffers';
import { defineParams } from '../../gpu/uniforms';
import { optimizerUpdate, optimizerUpdateCpu, type OptimizerConfig } from '../../kernels/index';
import type { Exercise, ExerciseCase } from '../exercise';
import { along, at, inout, input, libraryRun } from './build';

const params = defineParams('Params', {
  count: 'u32',
  step: 'u32',
  lr: 'f32',
  beta1: 'f32',
  beta2: 'f32',
  eps: 'f32',
});
const WORKGROUP = 64;

interface AdamShape {
  count: number;
  step: number;
  gradScale: number;
  lr?: number;
}

function adamCase({ count, step, gradScale, lr = 1e-3 }: AdamShape): ExerciseCase {
  const config: OptimizerConfig = { kind: 'adam', lr, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
  const grad = randomFloats(count, count + step, -gradScale, gradScale);
  const param = randomFloats(count, count * 3 + 1, -1, 1);
  const fresh = step === 1;
  const m = fresh
    ? new Float32Array(count)
    : randomFloats(count, count + 11, -gradScale, gradScale);
  const random = mulberry32(count + 13);
  const v = fresh ? new Float32Array(count) : m.map((x) => x * x * (0.5 + random()));
  const [p1, m1, v1] = [param.slice(), m.slice(), v.slice()];
  optimizerUpdateCpu({ grad, step: [step], param: p1, state: [m1, v1], config });
  return {
    label: `count=${count} step ${step}${fresh ? ' (from zero state)' : ''} gradients up to ${gradScale.toExponential(0)}`,
    buffers: [
      input('grad', grad),
      inout('param', param, p1, { atol: lr * 1e-4, rtol: 1e-6 }),
      inout('m', m, m1, { atol: 1e-6 * gradScale, rtol: 5e-5 }),
      inout('v', v, v1, { atol: 1e-6 * gradScale ** 2, rtol: 5e-5 }),
    ],
    params: params.pack({ count, step, lr, beta1: 0.9, beta2: 0.999, eps: 1e-8 }),
    workgroups: along(count, WORKGROUP),
  };
}

const TIMED: AdamShape = { count: 1 << 21, step: 5, gradScale: 1 };

export const adam: Exercise = {
  id: 'adam',
  title: 'Adam with bias correction',
  entryPoint: 'adam',
  cases: () => [
    adamCase({ count: 1, step: 1, gradScale: 1 }),
    adamCase({ count: 65, step: 1, gradScale: 1e-3 }),
    adamCase({ count: 1000, step: 7, gradScale: 1 }),
    adamCase({ count: 4097, step: 1000, gradScale: 1e10, lr: 3e-4 }),
    adamCase({ count: 100_003, step: 2, gradScale: 5 }),
  ],
  timing: {
    case: () => adamCase(TIMED),
    work: TIMED.count * 28,
    unit: 'GB/s',
    library: (gpu, c) => {
      const step = uploadTensor(gpu, new Uint32Array([TIMED.step]), [1]);
      const run = libraryRun(gpu, c, (t) => [
        optimizerUpdate({
          grad: at(t, 0),
          step,
          param: at(t, 1),
          state: [at(t, 2), at(t, 3)],
          config: { kind: 'adam', lr: 1e-3 },
        }),
      ]);
      return { calls: run.calls, release: () => (run.release(), step.buffer.destroy()) };
    },
  },
};

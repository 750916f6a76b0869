/**
 * Exercise 2, a workgroup reduction: total[0] = the sum of x[0..count) in ONE workgroup of 64
 * invocations (strided partial sums, then a tree in workgroup memory with barriers). The order
 * of additions differs from the twin's, so the tolerance is the float32 bound for a sum of
 * `count` terms (dotTolerance on sum |x|): a lost or doubled term is far outside it.
 */
import { dotTolerance } from '../../base/compare';
import { randomFloats } from '../../base/random';
import { defineParams } from '../../gpu/uniforms';
import { lossMean, lossMeanCpu } from '../../kernels/index';
import type { Exercise, ExerciseCase } from '../exercise';
import { at, input, libraryRun, output } from './build';

const params = defineParams('Params', { count: 'u32' });

function sumCase(count: number, scale: number): ExerciseCase {
  const x = randomFloats(count, 7 * count + 1, -scale, scale);
  const total = new Float32Array(1);
  lossMeanCpu({ loss: x, total, N: count, scale: 1 });
  const sumAbs = x.reduce((a, v) => a + Math.abs(v), 0);
  return {
    label: `count=${count}${scale > 1 ? ` values up to ${scale.toExponential(0)}` : ''}`,
    buffers: [input('x', x), output('total', total, dotTolerance(count, sumAbs))],
    params: params.pack({ count }),
    workgroups: [1, 1, 1],
  };
}

const TIMED = 1 << 20;

export const sum: Exercise = {
  id: 'sum',
  title: 'A workgroup reduction: the sum of an array',
  entryPoint: 'sum',
  cases: () => [
    sumCase(1, 1),
    sumCase(21, 1),
    sumCase(64, 1),
    sumCase(65, 1),
    sumCase(1000, 1e30),
    sumCase(100_003, 2),
  ],
  raceCase: () => sumCase(21, 1),
  timing: {
    case: () => sumCase(TIMED, 1),
    work: TIMED * 4,
    unit: 'GB/s',
    library: (gpu, c) =>
      libraryRun(gpu, c, (t) => [
        lossMean({ loss: at(t, 0), total: at(t, 1), N: TIMED, scale: 1 }),
      ]),
  },
};

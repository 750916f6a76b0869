/**
 * Exercise 1, a first kernel: y = max(x, 0) elementwise, one invocation per element. Checks the
 * bound (counts that are not multiples of the workgroup) and large values; exact, since max
 * rounds nothing.
 */
import { randomFloats } from '../../base/random';
import { activationForward, activationForwardCpu } from '../../kernels/index';
import { defineParams } from '../../gpu/uniforms';
import type { Exercise, ExerciseCase } from '../exercise';
import { along, at, input, libraryRun, output } from './build';

const params = defineParams('Params', { count: 'u32' });
const WORKGROUP = 64;

function reluCase(count: number, scale: number): ExerciseCase {
  const x = randomFloats(count, count, -scale, scale);
  const y = new Float32Array(count);
  activationForwardCpu({ x, y, activation: 'relu' });
  return {
    label: `count=${count}${scale > 1 ? ` values up to ${scale.toExponential(0)}` : ''}`,
    buffers: [input('x', x), output('y', y)],
    params: params.pack({ count }),
    workgroups: along(count, WORKGROUP),
  };
}

const TIMED = 1 << 21;

export const relu: Exercise = {
  id: 'relu',
  title: 'ReLU: a first kernel',
  entryPoint: 'relu',
  cases: () => [
    reluCase(1, 1),
    reluCase(63, 1),
    reluCase(64, 1),
    reluCase(65, 1),
    reluCase(1000, 1e30),
    reluCase(100_003, 3),
  ],
  timing: {
    case: () => reluCase(TIMED, 1),
    work: TIMED * 8,
    unit: 'GB/s',
    library: (gpu, timed) =>
      libraryRun(gpu, timed, (t) => [
        activationForward({ x: at(t, 0), y: at(t, 1), activation: 'relu' }),
      ]),
  },
};

/**
 * Exercise 6, max-pool backward: dX[n,c,h,w] = the sum of dOut over the windows whose argmax
 * (from the forward pass) is (h, w). Written as a gather, one invocation per dX element looping
 * over the windows that contain it: a scatter from dOut would race where windows overlap.
 * Tolerance: sums of a few terms in another order, 1e-6 relative.
 */
import { randomFloats } from '../../base/random';
import { defineParams } from '../../gpu/uniforms';
import {
  maxPoolBackward as libraryBackward,
  maxPoolBackwardCpu,
  maxPoolForwardCpu,
  poolGeometry,
  type PoolGeometry,
} from '../../kernels/index';
import type { Exercise, ExerciseCase } from '../exercise';
import { along, at, input, libraryRun, output } from './build';

const params = defineParams('Params', {
  N: 'u32',
  C: 'u32',
  H: 'u32',
  W: 'u32',
  K: 'u32',
  stride: 'u32',
  OH: 'u32',
  OW: 'u32',
});
const WORKGROUP = 64;

function poolCase(
  N: number,
  C: number,
  H: number,
  W: number,
  K: number,
  stride: number,
  ties = false,
): ExerciseCase {
  const g: PoolGeometry = poolGeometry({ N, C, H, W }, K, stride);
  const x = randomFloats(N * C * H * W, H * 17 + W + K, -4, 4);
  // Rounded inputs give equal maxima in a window: the argmax rule (first maximum) decides.
  if (ties) x.forEach((v, i) => (x[i] = Math.round(v)));
  const outCount = N * C * g.OH * g.OW;
  const argmax = new Uint32Array(outCount);
  maxPoolForwardCpu({ x, out: new Float32Array(outCount), argmax, geometry: g });
  const dOut = randomFloats(outCount, outCount + 3, -1e4, 1e4);
  const dX = new Float32Array(x.length);
  maxPoolBackwardCpu({ dOut, argmax, dX, geometry: g });
  return {
    label: `N=${N} C=${C} H=${H} W=${W} window ${K} stride ${stride}${ties ? ' with ties' : ''}`,
    buffers: [
      input('dOut', dOut),
      input('argmax', argmax),
      output('dX', dX, { atol: 1e-6, rtol: 1e-6 }),
    ],
    params: params.pack({ N, C, H, W, K, stride, OH: g.OH, OW: g.OW }),
    workgroups: along(x.length, WORKGROUP),
  };
}

const timed = () => poolCase(64, 32, 28, 28, 2, 2);

export const maxPoolBackward: Exercise = {
  id: 'maxpool-backward',
  title: 'Max-pool backward: route each gradient to its maximum',
  entryPoint: 'maxPoolBackward',
  cases: () => [
    poolCase(1, 1, 1, 1, 1, 1),
    poolCase(1, 1, 4, 4, 2, 2),
    poolCase(2, 3, 7, 5, 2, 2),
    poolCase(1, 2, 9, 9, 3, 2),
    poolCase(1, 1, 8, 7, 3, 1, true),
    poolCase(4, 5, 28, 28, 2, 2),
  ],
  timing: {
    case: timed,
    // dOut and argmax read once (4 bytes each per window), dX written once.
    work: 64 * 32 * (2 * 4 * 14 * 14 + 4 * 28 * 28),
    unit: 'GB/s',
    library: (gpu, c) => {
      const g = poolGeometry({ N: 64, C: 32, H: 28, W: 28 }, 2, 2);
      const pooled = [64, 32, 14, 14];
      return libraryRun(
        gpu,
        c,
        (t) => [libraryBackward({ dOut: at(t, 0), argmax: at(t, 1), dX: at(t, 2), geometry: g })],
        [pooled, pooled, [64, 32, 28, 28]],
      );
    },
  },
};

/**
 * Exercises 3 and 4, matrix multiply: C[M,N] = A[M,K] · B[K,N], row-major. The naive kernel
 * gives each invocation one element of C (workgroups of 8x8); the tiled one stages 16x16 tiles
 * of A and B in workgroup memory (workgroups of 16x16), so it must also pass the race detector.
 * Same contract, same cases: sizes of 1, sizes that are not multiples of the tile, large
 * values. Tolerance: the float32 bound for dot products of length K (dotTolerance).
 */
import { dotTolerance } from '../../base/compare';
import { randomFloats } from '../../base/random';
import { defineParams } from '../../gpu/uniforms';
import { matmul, matmulCpu } from '../../kernels/index';
import type { Exercise, ExerciseCase } from '../exercise';
import { at, input, libraryRun, output } from './build';

const params = defineParams('Params', { M: 'u32', K: 'u32', N: 'u32' });

/** The largest sum of |a_mk b_kn| over outputs, for the tolerance. */
function largestAbsDot(a: Float32Array, b: Float32Array, M: number, K: number, N: number): number {
  let largest = 0;
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += Math.abs((a[m * K + k] ?? 0) * (b[k * N + n] ?? 0));
      largest = Math.max(largest, s);
    }
  return largest;
}

function matmulCase(M: number, K: number, N: number, tile: number, scale = 1): ExerciseCase {
  const a = randomFloats(M * K, M * 131 + K, -scale, scale);
  const b = randomFloats(K * N, N * 137 + K, -scale, scale);
  const c = new Float32Array(M * N);
  matmulCpu({ a, b, out: c, M, N, K });
  return {
    label: `M=${M} K=${K} N=${N}${scale > 1 ? ` values up to ${scale.toExponential(0)}` : ''}`,
    buffers: [
      input('a', a),
      input('b', b),
      output('c', c, dotTolerance(K, largestAbsDot(a, b, M, K, N))),
    ],
    params: params.pack({ M, K, N }),
    workgroups: [Math.ceil(N / tile), Math.ceil(M / tile), 1],
  };
}

function cases(tile: number): ExerciseCase[] {
  return [
    matmulCase(1, 1, 1, tile),
    matmulCase(1, 7, 65, tile),
    matmulCase(17, 33, 9, tile),
    matmulCase(64, 64, 64, tile),
    matmulCase(65, 130, 31, tile),
    matmulCase(3, 5, 4, tile, 1e18),
  ];
}

/**
 * The timed size: 512 for the naive kernel; 256 for the tiled one, whose 256-invocation
 * workgroups and barriers are slow on a CPU driver (lavapipe runs it at about a tenth of the
 * naive kernel's speed), so `check` stays quick there.
 */
function matmulExercise(
  id: string,
  title: string,
  entryPoint: string,
  tile: number,
  timed: number,
): Exercise {
  return {
    id,
    title,
    entryPoint,
    cases: () => cases(tile),
    timing: {
      case: () => matmulCase(timed, timed, timed, tile),
      work: 2 * timed ** 3,
      unit: 'GFLOP/s',
      library: (gpu, c) =>
        libraryRun(gpu, c, (t) => [
          matmul({ a: at(t, 0), b: at(t, 1), out: at(t, 2), M: timed, K: timed, N: timed }),
        ]),
    },
  };
}

export const matmulNaive = matmulExercise(
  'matmul',
  'Matrix multiply, one output per invocation',
  'matmul',
  8,
  512,
);

export const matmulTiled: Exercise = {
  ...matmulExercise(
    'matmul-tiled',
    'Matrix multiply with tiles in workgroup memory',
    'matmulTiled',
    16,
    256,
  ),
  // One workgroup whose K spans two full tiles and a partial one.
  raceCase: () => matmulCase(16, 40, 16, 16),
};

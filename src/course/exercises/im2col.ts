/**
 * Exercise 5, im2col: unfold an NCHW input into the matrix a convolution multiplies, cols
 * [N, C*KH*KW, OH*OW] with row (c*KH + kh)*KW + kw and column oh*OW + ow, zeros over the
 * padding. One invocation per cols element. A copy, so the check is exact.
 */
import { randomFloats } from '../../base/random';
import { defineParams } from '../../gpu/uniforms';
import {
  im2col as libraryIm2col,
  im2colCpu,
  conv2dGeometry,
  type Conv2dGeometry,
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
  pad: 'u32',
  OH: 'u32',
  OW: 'u32',
});
const WORKGROUP = 64;

function im2colCase(g: Conv2dGeometry, pad: number): ExerciseCase {
  const x = randomFloats(g.N * g.C * g.H * g.W, g.H * 31 + g.C, -1e3, 1e3);
  const cols = new Float32Array(g.N * g.C * g.KH * g.KW * g.OH * g.OW);
  im2colCpu({ x, cols, geometry: g });
  return {
    label: `N=${g.N} C=${g.C} H=${g.H} W=${g.W} kernel ${g.KH} stride ${g.strideH} padding ${pad} (out ${g.OH}x${g.OW})`,
    buffers: [input('x', x), output('cols', cols)],
    params: params.pack({
      N: g.N,
      C: g.C,
      H: g.H,
      W: g.W,
      K: g.KH,
      stride: g.strideH,
      pad,
      OH: g.OH,
      OW: g.OW,
    }),
    workgroups: along(cols.length, WORKGROUP),
  };
}

const sized = (
  N: number,
  C: number,
  H: number,
  W: number,
  K: number,
  stride: number,
  pad: number,
) => im2colCase(conv2dGeometry({ N, C, H, W }, K, stride, pad), pad);

const timed = () => sized(16, 32, 14, 14, 5, 1, 2);

export const im2col: Exercise = {
  id: 'im2col',
  title: 'im2col: the matrix a convolution multiplies',
  entryPoint: 'im2col',
  cases: () => [
    sized(1, 1, 1, 1, 1, 1, 0),
    sized(1, 1, 5, 5, 5, 1, 0),
    sized(2, 3, 7, 5, 3, 2, 1),
    sized(1, 1, 28, 28, 5, 1, 2),
    sized(3, 2, 6, 9, 2, 2, 0),
    sized(1, 4, 9, 11, 4, 3, 2),
  ],
  timing: {
    case: timed,
    // Each cols element is one 4-byte write and (at most) one 4-byte read.
    work: 8 * 16 * 32 * 5 * 5 * 14 * 14,
    unit: 'GB/s',
    library: (gpu, c) => {
      const g = conv2dGeometry({ N: 16, C: 32, H: 14, W: 14 }, 5, 1, 2);
      return libraryRun(gpu, c, (t) => [
        libraryIm2col({ x: at(t, 0), cols: at(t, 1), geometry: g }),
      ]);
    },
  },
};

import { describe, expect, it } from 'vitest';
import { conv2dBackwardCpu, conv2dForwardCpu } from '../../src/kernels/conv2d.cpu';
import { conv2dGeometry, type Conv2dGeometry, type Padding } from '../../src/kernels/geometry';
import { expectAllClose } from '../helpers/allclose';
import { numericalGradient, toF64, weightedSum } from '../helpers/finiteDiff';
import { randomFloats } from '../../src/base/random';

describe('conv2d forward twin', () => {
  it('matches a hand-computed valid convolution with bias (2 output channels)', () => {
    const x = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]); // [1, 1, 3, 3]
    // o = 0: [[1, 0], [0, -1]] gives x[oh, ow] - x[oh+1, ow+1] = -4; o = 1: ones sum the window
    const weight = Float64Array.from([1, 0, 0, -1, 1, 1, 1, 1]);
    const bias = Float64Array.from([0.5, -1]);
    const out = new Float64Array(8);
    conv2dForwardCpu({
      x,
      weight,
      bias,
      out,
      geometry: conv2dGeometry({ N: 1, C: 1, H: 3, W: 3 }, 2, 1, 'valid'),
      O: 2,
    });
    expect([...out]).toEqual([-3.5, -3.5, -3.5, -3.5, 11, 15, 23, 27]);
  });

  it("matches a hand-computed 'same' 3x3 convolution on a 2x2 input (no bias)", () => {
    const x = Float64Array.from([1, 2, 3, 4]);
    const weight = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const out = new Float64Array(4);
    conv2dForwardCpu({
      x,
      weight,
      out,
      geometry: conv2dGeometry({ N: 1, C: 1, H: 2, W: 2 }, 3, 1, 'same'),
      O: 1,
    });
    // out[0,0] = 5*1 + 6*2 + 8*3 + 9*4: only the kernel's lower-right 2x2 lies over the input
    expect([...out]).toEqual([77, 67, 47, 37]);
  });

  it('sums over input channels and keeps images apart (1x1 kernel, stride 2)', () => {
    // N = 2, C = 2, 3x3 -> 2x2 taking rows/cols 0 and 2; out = 10*x[c=0] + x[c=1]
    const x = Float64Array.from({ length: 36 }, (_, i) => i);
    const out = new Float64Array(8);
    conv2dForwardCpu({
      x,
      weight: Float64Array.from([10, 1]),
      out,
      geometry: conv2dGeometry({ N: 2, C: 2, H: 3, W: 3 }, 1, 2, 'valid'),
      O: 1,
    });
    const pick = (n: number, c: number, h: number, w: number): number =>
      ((n * 2 + c) * 3 + h) * 3 + w;
    const want = [0, 1].flatMap((n) =>
      [0, 2].flatMap((h) => [0, 2].map((w) => 10 * pick(n, 0, h, w) + pick(n, 1, h, w))),
    );
    expect([...out]).toEqual(want);
  });
});

const gradCases: [
  string,
  [number, number, number, number],
  number | [number, number],
  number,
  Padding,
  number,
][] = [
  ['3x3 stride 1 same', [2, 2, 5, 4], 3, 1, 'same', 3],
  ['3x3 stride 1 valid', [1, 3, 5, 6], 3, 1, 'valid', 2],
  ['3x2 stride 2 same', [2, 2, 7, 5], [3, 2], 2, 'same', 3],
  ['4x4 stride 2 valid (dropped remainder)', [1, 2, 9, 8], 4, 2, 'valid', 2],
  ['2x3 stride 2 padding 1', [1, 2, 6, 5], [2, 3], 2, 1, 2],
];

describe.each(gradCases)(
  'conv2d backward twin vs central differences (float64): %s',
  (_name, [N, C, H, W], kernel, stride, padding, O) => {
    const g: Conv2dGeometry = conv2dGeometry({ N, C, H, W }, kernel, stride, padding);
    const x = toF64(randomFloats(N * C * H * W, 21, -1, 1));
    const weight = toF64(randomFloats(O * C * g.KH * g.KW, 22, -1, 1));
    const bias = toF64(randomFloats(O, 23, -1, 1));
    // L = sum(upstream * out), so dL/dout = upstream
    const upstream = toF64(randomFloats(N * O * g.OH * g.OW, 24, -1, 1));
    const out = new Float64Array(upstream.length);
    const loss = (): number => {
      conv2dForwardCpu({ x, weight, bias, out, geometry: g, O });
      return weightedSum(out, upstream);
    };
    // L is linear in each argument, so central differences are exact up to rounding: ~1e-10.
    const tol = { atol: 1e-8, rtol: 1e-7 };

    it('dX, dWeight and dBias', () => {
      const dX = new Float64Array(x.length);
      const dWeight = new Float64Array(weight.length);
      const dBias = new Float64Array(O);
      conv2dBackwardCpu({ x, weight, dOut: upstream, dX, dWeight, dBias, geometry: g, O });
      expectAllClose(dX, numericalGradient(loss, x), tol, 'dX');
      expectAllClose(dWeight, numericalGradient(loss, weight), tol, 'dWeight');
      expectAllClose(dBias, numericalGradient(loss, bias), tol, 'dBias');
      expect(dX.some((v) => v !== 0) && dWeight.some((v) => v !== 0)).toBe(true);
    });

    it('overwrites its outputs and skips the optional dX and dBias', () => {
      const dWeight = new Float64Array(weight.length).fill(Number.NaN);
      conv2dBackwardCpu({ x, weight, dOut: upstream, dWeight, geometry: g, O });
      expectAllClose(dWeight, numericalGradient(loss, weight), tol, 'dWeight');
    });
  },
);

// The output-size rules themselves (src/kernels/geometry.ts), on hand-computed cases: torch's
// floor rule for numeric padding, TensorFlow's 'same', and pooling's floor mode.
import { describe, expect, it } from 'vitest';
import {
  conv2dGeometry,
  convGeometry,
  maxWindowsPerElement,
  poolGeometry,
  poolGeometryProblem,
  poolLabel,
  poolOutSize,
  poolParamsFields,
  poolShape,
  type AxisPadding,
} from '../../src/kernels/geometry';

type Axis = { out: number; padBefore: number; padAfter: number };

// [what, size, kernel, stride, padding, expected]: each worked out by hand in the comment.
const convAxisCases: [string, number, number, number, AxisPadding, Axis][] = [
  // 'same': out = ceil(size / S), total = max((out - 1)*S + K - size, 0), extra one after.
  ['same, odd kernel', 5, 3, 1, 'same', { out: 5, padBefore: 1, padAfter: 1 }], // total 2
  ['same, even kernel', 6, 4, 1, 'same', { out: 6, padBefore: 1, padAfter: 2 }], // total 3
  ['same, stride 2, odd size', 7, 3, 2, 'same', { out: 4, padBefore: 1, padAfter: 1 }], // 3*2+3-7
  ['same, stride 2, even size', 6, 3, 2, 'same', { out: 3, padBefore: 0, padAfter: 1 }], // 2*2+3-6
  ['same, kernel > size', 2, 5, 1, 'same', { out: 2, padBefore: 2, padAfter: 2 }], // 1+5-2
  ['same, stride = kernel', 7, 2, 2, 'same', { out: 4, padBefore: 0, padAfter: 1 }], // 3*2+2-7
  // 'valid' and p: out = floor((size + 2p - K) / S) + 1.
  ['valid', 7, 3, 1, 'valid', { out: 5, padBefore: 0, padAfter: 0 }], // 4/1 + 1
  ['valid, stride 2 drops a row', 6, 3, 2, 'valid', { out: 2, padBefore: 0, padAfter: 0 }], // 3/2
  ['padding 1, stride 2, odd size', 7, 3, 2, 1, { out: 4, padBefore: 1, padAfter: 1 }], // 6/2
  ['padding 1, stride 2, even size', 6, 3, 2, 1, { out: 3, padBefore: 1, padAfter: 1 }], // 5/2
  ['padding 2, stride 3', 5, 2, 3, 2, { out: 3, padBefore: 2, padAfter: 2 }], // floor(7/3)
  ['padding 0 is valid', 5, 2, 3, 0, { out: 2, padBefore: 0, padAfter: 0 }], // floor(3/3)
];

describe('convGeometry (one axis)', () => {
  it.each(convAxisCases)('%s', (_, size, K, S, padding, want) => {
    expect(convGeometry(size, K, S, padding)).toEqual(want);
  });

  it('reports a kernel larger than the padded input as out <= 0 without throwing', () => {
    expect(convGeometry(2, 5, 1, 'valid').out).toBe(-2); // floor(-3 / 1) + 1
  });
});

describe('conv2dGeometry', () => {
  it('applies the axis rule to each axis with its own kernel, stride and padding', () => {
    // H: 'same', ceil(7/2) = 4, total 3*2+3-7 = 2; W: ceil(6/2) = 3, total 2*2+3-6 = 1.
    const sizes = { N: 2, C: 3, H: 7, W: 6, KH: 3, KW: 3, strideH: 2, strideW: 2 };
    expect(conv2dGeometry({ N: 2, C: 3, H: 7, W: 6 }, 3, 2, 'same')).toEqual({
      ...sizes,
      padTop: 1,
      padLeft: 0,
      OH: 4,
      OW: 3,
    });
    // H: floor((5 + 2 - 3) / 2) + 1 = 3; W: floor((4 + 0 - 2) / 1) + 1 = 3.
    const g = conv2dGeometry({ N: 1, C: 1, H: 5, W: 4 }, [3, 2], [2, 1], [1, 0]);
    expect(g).toMatchObject({ padTop: 1, padLeft: 0, OH: 3, OW: 3 });
  });

  it('agrees with convGeometry on every axis case', () => {
    for (const [, size, K, S, padding, want] of convAxisCases) {
      const g = conv2dGeometry({ N: 1, C: 1, H: size, W: size }, K, S, padding);
      expect([g.OH, g.padTop, g.OW, g.padLeft]).toEqual([
        want.out,
        want.padBefore,
        want.out,
        want.padBefore,
      ]);
    }
  });

  it('rejects a kernel larger than the padded input, except with same', () => {
    const input = { N: 1, C: 1, H: 2, W: 2 };
    expect(() => conv2dGeometry(input, 5, 1, 1)).toThrow(
      'conv2dGeometry: kernel 5 is larger than the padded input (height: 2 + 2*1)',
    );
    expect(conv2dGeometry(input, 5, 1, 'same')).toMatchObject({ OH: 2, padTop: 2 });
  });
});

describe('pooling floor mode', () => {
  it('poolOutSize is floor((size - K) / S) + 1', () => {
    expect(poolOutSize(28, 2, 2)).toBe(14);
    expect(poolOutSize(7, 2, 2)).toBe(3); // floor(5/2) + 1: the last row is dropped
    expect(poolOutSize(5, 3, 2)).toBe(2); // overlapping windows, floor(2/2) + 1
    expect(poolOutSize(7, 3, 1)).toBe(5);
    expect(poolOutSize(2, 3, 1)).toBe(0); // kernel larger than the input
  });

  it('poolGeometry: per-axis kernel and stride, stride defaulting to the kernel', () => {
    // H: floor((7 - 3) / 2) + 1 = 3; W: floor((5 - 2) / 3) + 1 = 2.
    const g = poolGeometry({ N: 2, C: 4, H: 7, W: 5 }, [3, 2], [2, 3]);
    const want = { N: 2, C: 4, H: 7, W: 5, KH: 3, KW: 2, strideH: 2, strideW: 3, OH: 3, OW: 2 };
    expect(g).toEqual(want);
    expect(poolShape(g, 'in')).toEqual([2, 4, 7, 5]);
    expect(poolShape(g, 'out')).toEqual([2, 4, 3, 2]);
    expect(poolLabel(g)).toBe('[2, 4, 7, 5] k3x2 s2x3');
    expect(maxWindowsPerElement(g)).toBe(2); // ceil(3/2) * ceil(2/3)
    expect(poolGeometry({ N: 1, C: 1, H: 9, W: 9 }, 2)).toMatchObject({ strideH: 2, OH: 4 });
  });

  it('poolGeometryProblem rejects an output size that is not floor mode', () => {
    const g = poolGeometry({ N: 1, C: 1, H: 7, W: 5 }, [3, 2], [2, 3]);
    expect(poolGeometryProblem(g)).toBeUndefined();
    expect(poolGeometryProblem({ ...g, OH: 4 })).toBe(
      "output 4x2 does not match floor mode's 3x2; build it with poolGeometry()",
    );
  });

  it('poolParamsFields lists the PoolGeometry fields in its order', () => {
    const g = poolGeometry({ N: 1, C: 1, H: 4, W: 4 }, 2);
    expect(Object.keys(poolParamsFields)).toEqual(Object.keys(g));
  });
});

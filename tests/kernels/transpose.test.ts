/** transpose.wgsl: x.transpose(1, 2) of 4-D tensors, exact, and its own inverse. */
import { describe, expect, it } from 'vitest';
import { createTensor } from '../../src/gpu/buffers';
import { transpose } from '../../src/kernels/transpose';
import { transposeCpu } from '../../src/kernels/transpose.cpu';
import { randomFloats } from '../../src/base/random';
import { runAndRead, upload, useTestGpu } from '../helpers/gpu';

const gpu = useTestGpu();

describe('transpose twin', () => {
  it('swaps dimensions 1 and 2', () => {
    // x [1, 2, 3, 1] = [[0, 1, 2], [3, 4, 5]] -> [1, 3, 2, 1] = [[0, 3], [1, 4], [2, 5]]
    const out = new Float64Array(6);
    transposeCpu({ x: new Float64Array([0, 1, 2, 3, 4, 5]), out, A: 1, B: 2, C: 3, D: 1 });
    expect([...out]).toEqual([0, 3, 1, 4, 2, 5]);
  });

  it('transposing back (B and C swapped) returns x, so it is its own backward', () => {
    const [A, B, C, D] = [2, 3, 5, 4];
    const x = randomFloats(A * B * C * D, 3);
    const [once, twice] = [new Float32Array(x.length), new Float32Array(x.length)];
    transposeCpu({ x, out: once, A, B, C, D });
    transposeCpu({ x: once, out: twice, A, B: C, C: B, D });
    expect(twice).toEqual(x);
    expect(once).not.toEqual(x);
  });
});

describe('transpose on the GPU vs the twin', () => {
  // A copy: the tests require the same bits.
  it.each([
    [1, 1, 1, 1],
    [1, 7, 3, 1],
    [2, 16, 4, 16],
    [3, 13, 5, 7],
    [70, 33, 2, 9],
  ])('A=%i B=%i C=%i D=%i', async (A, B, C, D) => {
    const x = randomFloats(A * B * C * D, A + B + C + D, -1e3, 1e3);
    const want = new Float32Array(x.length);
    transposeCpu({ x, out: want, A, B, C, D });
    const out = createTensor(gpu(), [x.length]);
    const args = { x: upload(gpu(), x, [x.length]), out, A, B, C, D };
    expect(await runAndRead(gpu(), transpose(args), out)).toEqual(want);
  });

  it('refuses tensors whose size does not match the dimensions', () => {
    const x = createTensor(gpu(), [24]);
    const out = createTensor(gpu(), [23]);
    expect(() => transpose({ x, out, A: 1, B: 2, C: 3, D: 4 })).toThrow(/out has 23 elements/);
  });
});

/** concat.wgsl: channel slices in and out, exact; the twin's backward against central differences. */
import { describe, expect, it } from 'vitest';
import { createTensor } from '../../src/gpu/buffers';
import { concatBackward, concatForward } from '../../src/kernels/concat';
import { concatBackwardCpu, concatForwardCpu } from '../../src/kernels/concat.cpu';
import { randomFloats } from '../../src/base/random';
import { expectAllClose } from '../helpers/allclose';
import { numericalGradient, toF64, weightedSum } from '../helpers/finiteDiff';
import { runAndRead, upload, useTestGpu } from '../helpers/gpu';

const gpu = useTestGpu();

describe('concat twin', () => {
  it('places each input in its channel slice', () => {
    // N = 2, S = 1: a has 1 channel, b 2
    const out = new Float64Array(6);
    const dims = { N: 2, S: 1, outC: 3 };
    concatForwardCpu({ x: new Float64Array([1, 2]), out, ...dims, C: 1, channelOffset: 0 });
    concatForwardCpu({ x: new Float64Array([3, 4, 5, 6]), out, ...dims, C: 2, channelOffset: 1 });
    expect([...out]).toEqual([1, 3, 4, 2, 5, 6]);
  });

  it('the backward (a slice of dOut) equals central differences of a weighted sum', () => {
    const [N, C, S, outC, channelOffset] = [2, 3, 4, 5, 2];
    const x = toF64(randomFloats(N * C * S, 1));
    const w = toF64(randomFloats(N * outC * S, 2));
    const out = new Float64Array(N * outC * S);
    const loss = (): number => {
      concatForwardCpu({ x, out, N, C, S, outC, channelOffset });
      return weightedSum(out, w);
    };
    const dX = new Float64Array(N * C * S);
    concatBackwardCpu({ dOut: w, dX, N, C, S, outC, channelOffset });
    expectAllClose(dX, numericalGradient(loss, x), { atol: 1e-8, rtol: 1e-6 }, 'dX');
  });
});

describe('concat on the GPU', () => {
  it.each([
    [1, [1, 2], 1],
    [3, [5, 2, 4], 49],
    [2, [64, 7], 9],
  ])(
    'N=%i channels %j S=%i: forward then backward round-trips every input bit for bit',
    async (N, channels, S) => {
      const outC = channels.reduce((a, b) => a + b, 0);
      const out = createTensor(gpu(), [N * outC * S]);
      const inputs = channels.map((C, k) => randomFloats(N * C * S, 10 + k, -1e3, 1e3));
      let channelOffset = 0;
      const want = new Float32Array(N * outC * S);
      const calls = inputs.map((x, k) => {
        const C = channels[k] ?? 0;
        concatForwardCpu({ x, out: want, N, C, S, outC, channelOffset });
        const call = concatForward({
          x: upload(gpu(), x, [x.length]),
          out,
          N,
          C,
          S,
          outC,
          channelOffset,
        });
        channelOffset += C;
        return call;
      });
      const got = await runAndRead(gpu(), calls, out);
      expect(got).toEqual(want); // copies: exact
      channelOffset = 0;
      for (const [k, x] of inputs.entries()) {
        const C = channels[k] ?? 0;
        const dX = createTensor(gpu(), [x.length]);
        const back = concatBackward({ dOut: out, dX, N, C, S, outC, channelOffset });
        expect(await runAndRead(gpu(), back, dX)).toEqual(x);
        channelOffset += C;
      }
    },
  );

  it('refuses a slice past the output channels', () => {
    const t = createTensor(gpu(), [8]);
    expect(() =>
      concatForward({
        x: t,
        out: createTensor(gpu(), [12]),
        N: 1,
        C: 2,
        S: 4,
        outC: 3,
        channelOffset: 2,
      }),
    ).toThrow(/channels 2\.\.3 do not fit in the output's 3/);
  });
});

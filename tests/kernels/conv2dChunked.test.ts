import { describe, expect, it } from 'vitest';
import { runCalls } from '../../src/gpu/dispatch';
import { createTensor, readFloat32 } from '../../src/gpu/buffers';
import {
  conv2dBackward,
  conv2dBatchChunk,
  conv2dColsShape,
  conv2dForward,
} from '../../src/kernels/conv2d';
import { conv2dInputGradScratch, usesImplicitBackwardData } from '../../src/kernels/conv2dPaths';
import { conv2dBackwardCpu, conv2dForwardCpu } from '../../src/kernels/conv2d.cpu';
import { conv2dGeometry, type Conv2dGeometry } from '../../src/kernels/geometry';
import type { MatmulVariant } from '../../src/kernels/matmul';
import type { GpuTensor } from '../../src/gpu/tensor';
import { dotTolerance, expectAllClose } from '../helpers/allclose';
import { upload, useTestGpu } from '../helpers/gpu';
import { randomFloats } from '../../src/base/random';
import { guardedOutput } from '../helpers/sentinel';

const gpu = useTestGpu();

// A batch whose unfolded input passes the largest binding goes through a convolution in chunks
// (conv2dBatchChunk). Per sample, the chunked forward and dX are the same calls on views, so they
// equal the whole-batch ones bit for bit; dWeight adds the chunks' sums in order (each chunk's
// itself in runs of samples here), so it matches within the usual dot-product tolerance.
const cases = [
  // 768 bytes per input sample, 1 KiB per output sample: any chunk starts aligned; 5 = 2 + 2 + 1
  { N: 5, C: 3, H: 8, W: 8, O: 4, k: 3, stride: 1, padding: 'same' as const, chunk: 2 },
  // 180 bytes per output sample: chunks of 64 start on 256-byte boundaries; 130 = 64 + 64 + 2
  { N: 130, C: 3, H: 8, W: 8, O: 5, k: 3, stride: 2, padding: 'valid' as const, chunk: 64 },
];
const variants: MatmulVariant[] = ['registerTile', 'subgroupTile'];

interface Run {
  out: Float32Array;
  dX: Float32Array;
  dWeight: Float32Array;
  dBias: Float32Array;
}

async function runConv(
  g: Conv2dGeometry,
  O: number,
  host: { x: Float32Array; w: Float32Array; b: Float32Array; dOut: Float32Array },
  variant: MatmulVariant,
  chunk: number,
  weightGradRuns = 1,
): Promise<Run> {
  const x = upload(gpu(), host.x, [g.N, g.C, g.H, g.W]);
  const weight = upload(gpu(), host.w, [O, g.C, g.KH, g.KW]);
  const bias = upload(gpu(), host.b, [O]);
  const dOut = upload(gpu(), host.dOut, [g.N, O, g.OH, g.OW]);
  const out = guardedOutput(gpu(), [g.N, O, g.OH, g.OW]);
  const dX = guardedOutput(gpu(), [g.N, g.C, g.H, g.W]);
  const dWeight = guardedOutput(gpu(), [O, g.C, g.KH, g.KW]);
  const dBias = guardedOutput(gpu(), [O]);
  const perChunk = { ...g, N: chunk };
  const make = (shape: readonly number[]): GpuTensor => createTensor(gpu(), shape);
  const cols = make(conv2dColsShape(perChunk));
  const geometry = { geometry: g, O, batchChunk: chunk };
  await runCalls(gpu(), [
    ...conv2dForward({ x, weight, bias, out: out.tensor, cols, ...geometry }, variant),
    ...conv2dBackward(
      {
        x,
        weight,
        dOut,
        dX: dX.tensor,
        dWeight: dWeight.tensor,
        dBias: dBias.tensor,
        cols,
        dWeightPart: make([O, g.C * g.KH * g.KW]),
        ...(weightGradRuns > 1
          ? { dWeightRuns: make([weightGradRuns, O, g.C * g.KH * g.KW]) }
          : {}),
        ...conv2dInputGradScratch(perChunk, O, variant, (_, shape) => make(shape)),
        ...geometry,
      },
      variant,
    ),
  ]);
  await Promise.all([out.check(), dX.check(), dWeight.check(), dBias.check()]);
  const [o, dx, dw, db] = await Promise.all(
    [out, dX, dWeight, dBias].map((t) => readFloat32(gpu(), t.tensor)),
  );
  return { out: o ?? [], dX: dx ?? [], dWeight: dw ?? [], dBias: db ?? [] } as Run;
}

describe.each(variants)('conv2d in batch chunks (%s matmul)', (variant) => {
  it.each(cases)('N$N O$O s$stride in chunks of $chunk', async (c) => {
    const usable = gpu().hasSubgroups ? variant : 'registerTile';
    const g = conv2dGeometry({ N: c.N, C: c.C, H: c.H, W: c.W }, c.k, c.stride, c.padding);
    const R = c.C * g.KH * g.KW;
    const S = g.OH * g.OW;
    const host = {
      x: randomFloats(c.N * c.C * c.H * c.W, 11),
      w: randomFloats(c.O * R, 12, -0.5, 0.5),
      b: randomFloats(c.O, 13),
      // large values: a chunk's partial dWeight must not lose the rest's scale
      dOut: randomFloats(c.N * c.O * S, 14, -1000, 1000),
    };
    // Chunks with dWeight in up to 3 runs each: 2 + 2 + 1 samples in runs of 1, 1 and one sum;
    // 64 + 64 + 2 in runs of 22, 22, 20 and then of 1, 1. The whole batch: one sum.
    const chunked = await runConv(g, c.O, host, usable, c.chunk, 3);
    const whole = await runConv(g, c.O, host, usable, c.N);
    expect(chunked.out).toEqual(whole.out);
    expect(chunked.dX).toEqual(whole.dX);
    expect(chunked.dBias).toEqual(whole.dBias);

    const want = {
      out: new Float32Array(chunked.out.length),
      dX: new Float32Array(chunked.dX.length),
      dWeight: new Float32Array(chunked.dWeight.length),
      dBias: new Float32Array(c.O),
    };
    conv2dForwardCpu({
      x: host.x,
      weight: host.w,
      bias: host.b,
      out: want.out,
      geometry: g,
      O: c.O,
    });
    conv2dBackwardCpu({
      x: host.x,
      weight: host.w,
      dOut: host.dOut,
      dX: want.dX,
      dWeight: want.dWeight,
      dBias: want.dBias,
      geometry: g,
      O: c.O,
    });
    // As in conv2d.test.ts: dot products of the lengths each output sums, scaled by |dOut| <= 1000.
    expectAllClose(chunked.out, want.out, dotTolerance(R + 1, R * 0.5 + 1), 'out');
    expectAllClose(chunked.dWeight, want.dWeight, dotTolerance(c.N * S, c.N * S * 1000), 'dWeight');
    expectAllClose(chunked.dX, want.dX, dotTolerance(c.O * R, c.O * R * 500), 'dX');
    if (usable === 'subgroupTile')
      expect(usesImplicitBackwardData(g, c.O, usable)).toBe(c.stride === 1);
  });
});

describe('conv2dBatchChunk', () => {
  // the reference CNN's conv2 at batch 512: cols [512, 800, 196] floats, 321 MB
  const g = conv2dGeometry({ N: 512, C: 32, H: 14, W: 14 }, 5, 1, 'same');
  const limit = 128 * 2 ** 20;

  it('keeps the whole batch when its scratch fits one binding', () => {
    expect(
      conv2dBatchChunk({ ...g, N: 64 }, 64, { policy: 'registerTile', maxBindingBytes: limit }),
    ).toBe(64);
  });

  it('otherwise takes the largest chunk that fits, on bindable offsets', () => {
    const chunk = conv2dBatchChunk(g, 64, { policy: 'registerTile', maxBindingBytes: limit });
    expect(chunk).toBeLessThan(512);
    expect(chunk * 800 * 196 * 4).toBeLessThanOrEqual(limit);
    expect((chunk + 1) * 800 * 196 * 4).toBeGreaterThan(limit);
    // 14*14*32 and 14*14*64 floats per sample are multiples of 256 bytes: any chunk aligns
    const odd = conv2dGeometry({ N: 512, C: 3, H: 9, W: 9 }, 3, 2, 'valid');
    const oddChunk = conv2dBatchChunk(odd, 5, {
      policy: 'registerTile',
      maxBindingBytes: 1_000_000,
    });
    expect(oddChunk % 64).toBe(0);
    expect(oddChunk).toBeGreaterThan(0);
  });

  it('refuses, with the numbers, when even the smallest aligned group does not fit', () => {
    expect(() =>
      conv2dBatchChunk(g, 64, { policy: 'registerTile', maxBindingBytes: 100_000 }),
    ).toThrow(/1 sample\(s\).*627200 bytes of scratch.*100000 bytes/);
  });
});

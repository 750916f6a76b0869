import { describe, expect, it } from 'vitest';
import { runCalls } from '../../src/gpu/dispatch';
import { createTensor, readFloat32 } from '../../src/gpu/buffers';
import {
  conv2dBackward,
  conv2dColsShape,
  conv2dForward,
  weightGradRun,
  weightGradRunsShape,
} from '../../src/kernels/conv2d';
import { conv2dInputGradScratch, usesImplicitBackwardData } from '../../src/kernels/conv2dPaths';
import { conv2dBackwardCpu, conv2dForwardCpu } from '../../src/kernels/conv2d.cpu';
import { conv2dGeometry } from '../../src/kernels/geometry';
import type { MatmulVariant } from '../../src/kernels/matmul';
import { convCases } from '../helpers/cases';
import { dotTolerance, expectAllClose } from '../helpers/allclose';
import { upload, useTestGpu } from '../helpers/gpu';
import { randomFloats } from '../../src/base/random';
import { guardedOutput } from '../helpers/sentinel';

const gpu = useTestGpu();

// subgroupTile runs its own matmul where the device has subgroups (else registerTile), and takes
// conv2dImplicit's dX for the stride-1, O % 4 == 0 cases.
const variants: MatmulVariant[] = ['naive', 'registerTile', 'workgroupTile', 'subgroupTile'];

describe.each(variants)(
  'conv2d on the GPU (%s matmul) equals the direct-convolution twin',
  (variant) => {
    it.each(convCases)('N$N C$C H$H W$W O$O k$k s$stride p$padding', async (c) => {
      const g = conv2dGeometry({ N: c.N, C: c.C, H: c.H, W: c.W }, c.k, c.stride, c.padding);
      const R = c.C * g.KH * g.KW;
      const xHost = randomFloats(c.N * c.C * c.H * c.W, 1);
      const wHost = randomFloats(c.O * R, 2, -0.5, 0.5);
      const bHost = randomFloats(c.O, 3);
      const dOutHost = randomFloats(c.N * c.O * g.OH * g.OW, 4);
      const x = upload(gpu(), xHost, [c.N, c.C, c.H, c.W]);
      const weight = upload(gpu(), wHost, [c.O, c.C, g.KH, g.KW]);
      const bias = upload(gpu(), bHost, [c.O]);
      const out = guardedOutput(gpu(), [c.N, c.O, g.OH, g.OW]);
      const cols = createTensor(gpu(), conv2dColsShape(g));
      await runCalls(
        gpu(),
        conv2dForward({ x, weight, bias, out: out.tensor, cols, geometry: g, O: c.O }, variant),
      );
      const want = new Float32Array(c.N * c.O * g.OH * g.OW);
      conv2dForwardCpu({ x: xHost, weight: wHost, bias: bHost, out: want, geometry: g, O: c.O });
      // Dot products of length R over |x| <= 1, |w| <= 0.5, plus a bias of <= 1.
      const tol = dotTolerance(R + 1, R * 0.5 + 1);
      expectAllClose(await readFloat32(gpu(), out.tensor), want, tol, 'out');
      await out.check();

      const dX = guardedOutput(gpu(), [c.N, c.C, c.H, c.W]);
      const dWeight = guardedOutput(gpu(), [c.O, c.C, g.KH, g.KW]);
      const dBias = guardedOutput(gpu(), [c.O]);
      const dOut = upload(gpu(), dOutHost, [c.N, c.O, g.OH, g.OW]);
      // With subgroupTile (where the device has subgroups) dX takes conv2dImplicit's product.
      const usable = gpu().hasSubgroups ? variant : 'registerTile';
      const scratch = conv2dInputGradScratch(g, c.O, usable, (_, shape) =>
        createTensor(gpu(), shape),
      );
      // dWeight as partial sums of runs of samples, added in order (each sample apart here).
      const runsShape = weightGradRunsShape(g, c.O);
      expect(runsShape?.[0]).toBe(c.N > 1 ? c.N : undefined);
      const runs = runsShape ? { dWeightRuns: createTensor(gpu(), runsShape) } : {};
      const implicit = usesImplicitBackwardData(g, c.O, usable);
      expect('implicit' in scratch).toBe(implicit);
      if (usable === 'subgroupTile') expect(implicit).toBe(c.stride === 1 && c.O % 4 === 0);
      await runCalls(
        gpu(),
        conv2dBackward(
          {
            x,
            weight,
            dOut,
            dX: dX.tensor,
            dWeight: dWeight.tensor,
            dBias: dBias.tensor,
            cols,
            ...scratch,
            ...runs,
            geometry: g,
            O: c.O,
          },
          variant,
        ),
      );
      const wantDx = new Float32Array(c.N * c.C * c.H * c.W);
      const wantDw = new Float32Array(c.O * R);
      const wantDb = new Float32Array(c.O);
      conv2dBackwardCpu({
        x: xHost,
        weight: wHost,
        dOut: dOutHost,
        dX: wantDx,
        dWeight: wantDw,
        dBias: wantDb,
        geometry: g,
        O: c.O,
      });
      const S = g.OH * g.OW;
      // dW and dB sum N*S products of |x|,|dOut| <= 1; dX sums O*KH*KW products of |w| <= 0.5.
      expectAllClose(
        await readFloat32(gpu(), dWeight.tensor),
        wantDw,
        dotTolerance(c.N * S, c.N * S),
        'dWeight',
      );
      expectAllClose(
        await readFloat32(gpu(), dBias.tensor),
        wantDb,
        dotTolerance(c.N * S, c.N * S),
        'dBias',
      );
      expectAllClose(
        await readFloat32(gpu(), dX.tensor),
        wantDx,
        dotTolerance(c.O * g.KH * g.KW, c.O * g.KH * g.KW * 0.5),
        'dX',
      );
      await Promise.all([dX.check(), dWeight.check(), dBias.check()]);
    });
  },
);

describe('weightGradRun', () => {
  it('splits a weight gradient with few outputs into runs of samples, one sum when batch is 1', () => {
    const at = (N: number, C: number, H: number) => conv2dGeometry({ N, C, H, W: H }, 5, 1, 2);
    // The reference CNN at batch 64: conv2's 64 x 800 outputs in 16 runs of 4 samples, conv1's
    // 32 x 25 in one run per sample; about 2^20 outputs in all, at most one run per sample.
    expect([weightGradRun(at(64, 32, 14), 64), weightGradRunsShape(at(64, 32, 14), 64)]).toEqual([
      4,
      [16, 64, 800],
    ]);
    expect(weightGradRunsShape(at(64, 1, 28), 32)).toEqual([64, 32, 25]);
    expect(weightGradRun(at(1, 1, 28), 32)).toBe(1);
    expect(weightGradRunsShape(at(1, 1, 28), 32)).toBeUndefined();
  });
});

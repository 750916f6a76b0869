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
import {
  conv2dInputGradScratch,
  preferredPolicy,
  usesImplicitBackwardData,
} from '../../src/kernels/conv2dPaths';
import { conv2dBackwardCpu, conv2dForwardCpu } from '../../src/kernels/conv2d.cpu';
import { conv2dGeometry } from '../../src/kernels/geometry';
import { policyVariant, type MatmulPolicy } from '../../src/kernels/matmul';
import { convCases } from '../helpers/cases';
import { dotTolerance, expectAllClose } from '../helpers/allclose';
import { upload, useTestGpu } from '../helpers/gpu';
import { randomFloats } from '../../src/base/random';
import { guardedOutput } from '../helpers/sentinel';

const gpu = useTestGpu();

// subgroupTile runs its own matmul where the device has subgroups (else registerTile), and takes
// conv2dImplicit's dX for the stride-1, O % 4 == 0 cases; so does SwiftShader's default policy,
// with registerTile quadK products and the implicit product's register tile.
const policies: [string, MatmulPolicy][] = [
  ...(['naive', 'registerTile', 'workgroupTile', 'subgroupTile'] as const).map(
    (v): [string, MatmulPolicy] => [`${v} matmul`, v],
  ),
  ["SwiftShader's default policy", preferredPolicy('swiftshader', true)],
];

describe.each(policies)(
  'conv2d on the GPU (%s) equals the direct-convolution twin',
  (_, variant) => {
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
      const usable =
        gpu().hasSubgroups || policyVariant(variant) !== 'subgroupTile' ? variant : 'registerTile';
      const scratch = conv2dInputGradScratch(g, c.O, usable, (_, shape) =>
        createTensor(gpu(), shape),
      );
      // dWeight as partial sums of runs of samples, added in order (each sample apart here).
      const runsShape = weightGradRunsShape(g, c.O);
      expect(runsShape?.[0]).toBe(c.N > 1 ? c.N : undefined);
      const runs = runsShape ? { dWeightRuns: createTensor(gpu(), runsShape) } : {};
      const implicit = usesImplicitBackwardData(g, c.O, usable);
      expect('implicit' in scratch).toBe(implicit);
      if (usable === 'subgroupTile' || typeof usable === 'object')
        expect(implicit).toBe(c.stride === 1 && c.O % 4 === 0);
      if ('implicit' in scratch)
        expect(scratch.implicit.product).toBe(
          usable === 'subgroupTile' ? 'subgroupTile' : 'registerTile',
        );
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

describe('preferredPolicy', () => {
  it('names each adapter kind its untuned products and dX path', () => {
    const untuned = (kind: Parameters<typeof preferredPolicy>[0], subgroups: boolean) => {
      const p = preferredPolicy(kind, subgroups);
      return [p.name, p.inputGrad, p.variant];
    };
    // SwiftShader's 4-lane subgroups cannot share: register tiles with or without the feature.
    expect(untuned('swiftshader', true)).toEqual([
      'registerTile 8x8 quadK',
      'implicitRegisterTile',
      'registerTile',
    ]);
    expect(untuned('swiftshader', false)).toEqual(untuned('swiftshader', true));
    expect(untuned('lavapipe', true)).toEqual(['subgroupTile 8', 'implicit', 'subgroupTile']);
    expect(untuned('lavapipe', false)).toEqual(['registerTile 8x8', 'im2col', 'registerTile']);
    expect(untuned('hardware', true)).toEqual(['workgroupTile', 'im2col', 'workgroupTile']);
  });

  it('answers the same choice for every product, and its path only where the implicit product fits', () => {
    const policy = preferredPolicy('swiftshader');
    const strided = conv2dGeometry({ N: 2, C: 8, H: 9, W: 9 }, 3, 2, 1);
    const plain = conv2dGeometry({ N: 2, C: 8, H: 9, W: 9 }, 3, 1, 1);
    expect(usesImplicitBackwardData(plain, 8, policy)).toBe(true);
    expect(usesImplicitBackwardData(strided, 8, policy)).toBe(false);
    expect(usesImplicitBackwardData(plain, 6, policy)).toBe(false);
    expect(policy.choose()).toEqual({ variant: 'registerTile', quadK: true });
  });
});

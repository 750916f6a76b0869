import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFloat32 } from '../../src/gpu/buffers';
import { runCalls, type KernelCall } from '../../src/gpu/dispatch';
import { conv2dBackwardCpu } from '../../src/kernels/conv2d.cpu';
import {
  conv2dBackwardData,
  conv2dPadGradient,
  conv2dWeightsTranspose,
  IMPLICIT_PRODUCTS,
  implicitBackwardDataProblem,
  paddedGradientShape,
  weightCkoShape,
  type ImplicitProduct,
} from '../../src/kernels/conv2dImplicit';
import {
  conv2dBackwardDataCpu,
  conv2dPadGradientCpu,
  conv2dWeightsTransposeCpu,
} from '../../src/kernels/conv2dImplicit.cpu';
import { conv2dGeometry, type Conv2dGeometry } from '../../src/kernels/geometry';
import { convImplicitCases, type ConvCase } from '../helpers/cases';
import { dotTolerance, expectAllClose } from '../helpers/allclose';
import { plainTestGpu, upload, useTestGpu } from '../helpers/gpu';
import type { Gpu } from '../../src/gpu/device';
import { randomFloats } from '../../src/base/random';
import { guardedOutput } from '../helpers/sentinel';

const gpu = useTestGpu();

function geometryOf(c: ConvCase): Conv2dGeometry {
  return conv2dGeometry({ N: c.N, C: c.C, H: c.H, W: c.W }, c.k, c.stride, c.padding);
}

const count = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** dX by the twins: weight transpose, gradient padding, then the product. */
function twinDx(g: Conv2dGeometry, O: number, weight: Float32Array, dOut: Float32Array) {
  const weightCko = new Float32Array(weight.length);
  conv2dWeightsTransposeCpu({ weight, weightCko, geometry: g, O });
  const dOutPadded = new Float32Array(count(paddedGradientShape(g, O)));
  conv2dPadGradientCpu({ dOut, dOutPadded, geometry: g, O });
  const dX = new Float64Array(g.N * g.C * g.H * g.W);
  conv2dBackwardDataCpu({ weightCko, dOutPadded, dX, geometry: g, O });
  return { weightCko, dOutPadded, dX };
}

describe('conv2dImplicit twins', () => {
  it.each(convImplicitCases)(
    'the gather equals the direct convolution backward: N$N C$C $H x $W O$O k$k s$stride',
    (c) => {
      const g = geometryOf(c);
      const weight = randomFloats(c.O * c.C * g.KH * g.KW, 1);
      const dOut = randomFloats(c.N * c.O * g.OH * g.OW, 2);
      const dXDirect = new Float64Array(c.N * c.C * c.H * c.W);
      const x = new Float64Array(dXDirect.length);
      const dWeight = new Float64Array(weight.length);
      conv2dBackwardCpu({ x, weight, dOut, dX: dXDirect, dWeight, geometry: g, O: c.O });
      // Both sum the same products in float64 in another order: agreement to rounding.
      expectAllClose(twinDx(g, c.O, weight, dOut).dX, dXDirect, { atol: 1e-12, rtol: 1e-12 });
    },
  );

  it('lays the weight out as [C, KH*KW, O]', () => {
    const g = conv2dGeometry({ N: 1, C: 2, H: 4, W: 4 }, [1, 2], 1, 0);
    // weight[o, c, 0, kw] = 100o + 10c + kw for O = 3
    const weight = Float32Array.from({ length: 12 }, (_, i) => {
      const [o, c, kw] = [Math.floor(i / 4), Math.floor(i / 2) % 2, i % 2];
      return 100 * o + 10 * c + kw;
    });
    const weightCko = new Float32Array(12);
    conv2dWeightsTransposeCpu({ weight, weightCko, geometry: g, O: 3 });
    expect([...weightCko]).toEqual([0, 100, 200, 1, 101, 201, 10, 110, 210, 11, 111, 211]);
  });
});

async function runGpu(
  g: Conv2dGeometry,
  O: number,
  weightHost: Float32Array,
  dOutHost: Float32Array,
  product: ImplicitProduct,
  tweak: (call: KernelCall) => KernelCall = (call) => call,
  on: Gpu = gpu(),
): Promise<{ weightCko: Float32Array; dOutPadded: Float32Array; dX: Float32Array }> {
  const weight = upload(on, weightHost, [O, g.C, g.KH, g.KW]);
  const dOut = upload(on, dOutHost, [g.N, O, g.OH, g.OW]);
  const weightCko = guardedOutput(on, weightCkoShape(g, O));
  const dOutPadded = guardedOutput(on, paddedGradientShape(g, O));
  const dX = guardedOutput(on, [g.N, g.C, g.H, g.W]);
  const [wT, padded] = [weightCko.tensor, dOutPadded.tensor];
  await runCalls(on, [
    conv2dWeightsTranspose({ weight, weightCko: wT, geometry: g, O }),
    conv2dPadGradient({ dOut, dOutPadded: padded, geometry: g, O }),
    tweak(
      conv2dBackwardData(
        { weightCko: wT, dOutPadded: padded, dX: dX.tensor, geometry: g, O },
        product,
      ),
    ),
  ]);
  const got = {
    weightCko: await readFloat32(on, wT),
    dOutPadded: await readFloat32(on, padded),
    dX: await readFloat32(on, dX.tensor),
  };
  for (const guarded of [weightCko, dOutPadded, dX]) await guarded.check();
  return got;
}

/** Sums of up to O * KH * KW products with |w| <= wMax and |dOut| <= dMax. */
function tolerance(g: Conv2dGeometry, O: number, wMax: number, dMax: number) {
  const terms = O * g.KH * g.KW;
  return dotTolerance(terms, terms * wMax * dMax);
}

// Both kernels on every case: registerTile's lanes take 8 positions of a row, so widths of 1-3
// quads (odd and even) and channel counts on both sides of its 16 matter as much as for the 32 x 4
// subgroupTile.
const productCases = IMPLICIT_PRODUCTS.flatMap((product) =>
  convImplicitCases.map((c) => ({ ...c, product })),
);

describe('conv2dImplicit on the GPU equals its twins', () => {
  it.each(productCases)('$product: N$N C$C $H x $W O$O k$k s$stride p$padding', async (c) => {
    const g = geometryOf(c);
    if (c.product === 'subgroupTile' && !gpu().hasSubgroups) {
      // Without the feature this kernel cannot compile; it must say so (registerTile runs).
      expect(implicitBackwardDataProblem(g, c.O, false)).toMatch(/subgroups/);
      return;
    }
    const weight = randomFloats(c.O * c.C * g.KH * g.KW, 3, -0.5, 0.5);
    const dOut = randomFloats(c.N * c.O * g.OH * g.OW, 4);
    const got = await runGpu(g, c.O, weight, dOut, c.product);
    const want = twinDx(g, c.O, weight, dOut);
    // The transpose and the padding only move values: exact.
    expectAllClose(got.weightCko, want.weightCko, { atol: 0, rtol: 0 }, 'weightCko');
    expectAllClose(got.dOutPadded, want.dOutPadded, { atol: 0, rtol: 0 }, 'dOutPadded');
    expectAllClose(got.dX, want.dX, tolerance(g, c.O, 0.5, 1), 'dX');
  });

  it.each(IMPLICIT_PRODUCTS)('%s stays within tolerance for values of +-1e3', async (product) => {
    if (product === 'subgroupTile' && !gpu().hasSubgroups)
      return expect(gpu().hasSubgroups).toBe(false);
    const g = geometryOf({ N: 2, C: 6, H: 10, W: 9, O: 8, k: 3, stride: 1, padding: 'same' });
    const weight = randomFloats(8 * 6 * 9, 5, -1e3, 1e3);
    const dOut = randomFloats(2 * 8 * g.OH * g.OW, 6, -1e3, 1e3);
    const got = await runGpu(g, 8, weight, dOut, product);
    expectAllClose(got.dX, twinDx(g, 8, weight, dOut).dX, tolerance(g, 8, 1e3, 1e3), 'dX');
  });

  // wgSize 4 is below lavapipe's 8-lane subgroups, so the product runs stepDirect (every lane
  // loads every weight quad), the path SwiftShader's 4-lane subgroups always take; wgSize 32
  // puts several subgroups in one workgroup.
  it.each([4, 32])('matches the twin with wgSize %i', async (wgSize) => {
    if (!gpu().hasSubgroups) return expect(gpu().hasSubgroups).toBe(false);
    const g = geometryOf({ N: 2, C: 40, H: 7, W: 9, O: 8, k: 3, stride: 1, padding: 1 });
    const weight = randomFloats(8 * 40 * 9, 7, -0.5, 0.5);
    const dOut = randomFloats(2 * 8 * g.OH * g.OW, 8);
    const got = await runGpu(g, 8, weight, dOut, 'subgroupTile', (call) => ({
      ...call,
      constants: { ...call.constants, wgSize },
      workgroups: [call.workgroups[0], Math.ceil((g.H * Math.ceil(g.W / 4)) / wgSize), 2],
    }));
    expectAllClose(got.dX, twinDx(g, 8, weight, dOut).dX, tolerance(g, 8, 0.5, 1), 'dX');
  });

  // One workgroup along z for 3 images: each lane's loop over n (n += nwg.z) must restart its
  // accumulators per image; C = 17 leaves the second 16-channel block one channel.
  it('registerTile folds the images of a batch into one workgroup layer', async () => {
    const g = geometryOf({ N: 3, C: 17, H: 5, W: 13, O: 8, k: 3, stride: 1, padding: 1 });
    const weight = randomFloats(8 * 17 * 9, 9, -0.5, 0.5);
    const dOut = randomFloats(3 * 8 * g.OH * g.OW, 10);
    const got = await runGpu(g, 8, weight, dOut, 'registerTile', (call) => {
      expect(call.entryPoint).toBe('conv2dImplicitBackwardDataTile');
      expect(call.workgroups).toEqual([2, Math.ceil((5 * 2) / 8), 3]);
      return { ...call, workgroups: [call.workgroups[0], call.workgroups[1], 1] };
    });
    expectAllClose(got.dX, twinDx(g, 8, weight, dOut).dX, tolerance(g, 8, 0.5, 1), 'dX');
  });

  it('names what it cannot run: O % 4, stride, padding past the kernel, wrong sizes', () => {
    const geometry = (stride: number, padding: number) =>
      geometryOf({ N: 1, C: 2, H: 8, W: 8, O: 8, k: 3, stride, padding });
    expect(implicitBackwardDataProblem(geometry(1, 1), 6, true)).toMatch(/O % 4 == 0 \(O = 6\)/);
    expect(implicitBackwardDataProblem(geometry(2, 1), 8, true)).toMatch(/stride 1 \(2x2\)/);
    expect(implicitBackwardDataProblem(geometry(1, 3), 8, true)).toMatch(/padding below/);
    expect(implicitBackwardDataProblem(geometry(1, 2), 8, true)).toBeUndefined();
    const g = geometry(1, 1);
    const t = (n: number) => upload(gpu(), new Float32Array(n), [n]);
    const args = {
      weightCko: t(8 * 2 * 9),
      dOutPadded: t(count(paddedGradientShape(g, 8))),
      dX: t(2 * 64),
      geometry: g,
      O: 8,
    };
    expect(() => conv2dBackwardData(args)).not.toThrow();
    expect(() => conv2dBackwardData({ ...args, dX: t(127) }, 'registerTile')).toThrow(/dX/);
    expect(() => conv2dBackwardData({ ...args, dX: t(127) })).toThrow(/dX/);
    expect(() => conv2dBackwardData({ ...args, O: 6 })).toThrow(/O % 4 == 0/);
  });
});

// Browsers without the subgroups feature (and devices that lack it) get the register tile: its
// module enables nothing, and the subgroupTile kernel says what is missing.
describe('conv2dImplicit on a device without subgroups', () => {
  let plain: Gpu | undefined;
  beforeAll(async () => {
    plain = await plainTestGpu();
  });
  afterAll(() => plain?.destroy());
  const device = (): Gpu => {
    if (!plain) throw new Error('the plain device opens in beforeAll');
    return plain;
  };

  it('lacks the feature, and the subgroupTile kernel names it', () => {
    expect(device().hasSubgroups).toBe(false);
    const g = geometryOf({ N: 1, C: 4, H: 6, W: 6, O: 8, k: 3, stride: 1, padding: 1 });
    expect(implicitBackwardDataProblem(g, 8, false)).toMatch(/lacks the subgroups feature/);
    expect(implicitBackwardDataProblem(g, 8, false, 'registerTile')).toBeUndefined();
  });

  it.each(convImplicitCases.slice(0, 6))(
    'registerTile equals the twins: N$N C$C $H x $W O$O k$k p$padding',
    async (c) => {
      const g = geometryOf(c);
      const weight = randomFloats(c.O * c.C * g.KH * g.KW, 11, -0.5, 0.5);
      const dOut = randomFloats(c.N * c.O * g.OH * g.OW, 12);
      const got = await runGpu(g, c.O, weight, dOut, 'registerTile', undefined, device());
      expectAllClose(got.dX, twinDx(g, c.O, weight, dOut).dX, tolerance(g, c.O, 0.5, 1), 'dX');
    },
  );
});

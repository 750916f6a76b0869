/** gelu.wgsl: torch.nn.GELU in both forms, its erf, and its gradient from the input. */
import { describe, expect, it } from 'vitest';
import { createTensor } from '../../src/gpu/buffers';
import { geluBackward, geluForward } from '../../src/kernels/gelu';
import {
  erfApprox,
  geluBackwardCpu,
  geluCpu,
  geluForwardCpu,
  type GeluApproximation,
} from '../../src/kernels/gelu.cpu';
import { randomFloats } from '../../src/base/random';
import { expectAllClose } from '../helpers/allclose';
import { numericalGradient, toF64, weightedSum } from '../helpers/finiteDiff';
import { runAndRead, upload, useTestGpu } from '../helpers/gpu';

const gpu = useTestGpu();

/** erf to ~1e-15 in float64: its Taylor series below 3, the complement's continued fraction above. */
function erfReference(v: number): number {
  const a = Math.abs(v);
  if (a < 3) {
    let [term, sum] = [a, a];
    for (let n = 1; n < 80; n++) {
      term *= (-a * a) / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(v) * ((2 / Math.sqrt(Math.PI)) * sum);
  }
  // erfc(a) = exp(-a^2)/sqrt(pi) · 1/(a + 1/2/(a + 1/(a + 3/2/(a + 2/(a + ...))))) (Lentz-free, from the tail)
  let fraction = a;
  for (let k = 60; k >= 1; k--) fraction = a + k / 2 / fraction;
  return Math.sign(v) * (1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / fraction);
}

describe('gelu twin', () => {
  it('erf is within 6e-10 of a float64 reference', () => {
    let worst = 0;
    for (let v = -7; v <= 7; v += 1e-4)
      worst = Math.max(worst, Math.abs(erfApprox(v) - erfReference(v)));
    // measured: 5.75e-10 (at v = ±0.978); A&S 7.1.26's five coefficients alone give 1.5e-7
    expect(worst).toBeLessThan(6e-10);
    expect(worst).toBeGreaterThan(1e-10); // an approximation, not the reference itself
    expect(erfReference(1)).toBeCloseTo(0.8427007929497149, 14);
    expect(erfReference(3.5)).toBeCloseTo(0.9999992569016276, 14);
    // the ends: odd, exactly 0 at 0 and exactly ±1 once exp(-v²) underflows
    expect([erfApprox(0), erfApprox(30), erfApprox(-30)]).toEqual([0, 1, -1]);
    expect(erfApprox(-0.3)).toBe(-erfApprox(0.3));
  });

  it('matches torch.nn.GELU at hand-picked points', () => {
    // torch 1.13's nn.GELU()(x) and GELU(approximate='tanh')(x), float64, x = -3, -1, 0, 0.5, 2
    const x = [-3, -1, 0, 0.5, 2];
    const exact = [-0.0040496941, -0.1586552539, 0, 0.3457312306, 1.9544997361];
    const tanh = [-0.0036373921, -0.1588080094, 0, 0.3457140098, 1.9545976941];
    x.forEach((v, i) => {
      expect(geluCpu(v, 'none')).toBeCloseTo(exact[i] ?? NaN, 6);
      expect(geluCpu(v, 'tanh')).toBeCloseTo(tanh[i] ?? NaN, 8);
    });
  });

  it.each(['none', 'tanh'] as const)(
    'the %s backward equals central differences',
    (approximate) => {
      const x = toF64(randomFloats(40, 1, -4, 4));
      const w = toF64(randomFloats(40, 2));
      const y = new Float64Array(40);
      const loss = (): number => {
        geluForwardCpu({ x, y, approximate });
        return weightedSum(y, w);
      };
      const dX = new Float64Array(40);
      geluBackwardCpu({ x, dY: w, dX, approximate });
      // the erf form's slope uses the exact φ with the approximate Φ, and a central difference
      // sees the approximation's own derivative: its 5.8e-10 error wiggles ~10 times over
      // [0, 1], so the two differ by up to 6.3e-8 (measured on a 1e-3 grid over [-6, 6])
      const atol = approximate === 'none' ? 1e-7 : 1e-8;
      expectAllClose(dX, numericalGradient(loss, x), { atol, rtol: 1e-6 }, 'dX');
    },
  );
});

/**
 * GPU (float32) vs twin (float64): the float32 erf is within ~1.2e-7 absolute (rounding of
 * 1 - t·R·exp near |v| = 1; the small piece ~1.6e-7 relative), which y scales by 0.5|x|; WGSL's
 * exp is within 3 + 2|v| ulp and stableTanh's (e - 1)/(e + 1) differs from Math.tanh by ~1e-7
 * near 0. So: relative 2^-18 of the value with an absolute floor of 1e-6 (measured: 4.5e-7 at
 * most for the erf form over |x| <= 6). Never NaN or inf.
 */
function expectGeluClose(
  gotY: Float32Array,
  y: Float64Array,
  gotDX: Float32Array,
  dX: Float64Array,
): void {
  expectAllClose(gotY, y, { atol: 1e-6, rtol: 2 ** -18 }, 'y');
  expectAllClose(gotDX, dX, { atol: 1e-6, rtol: 2 ** -18 }, 'dX');
  expect(gotY.every(Number.isFinite) && gotDX.every(Number.isFinite)).toBe(true);
}

/** Forward and backward on the GPU against the twin (expectGeluClose); resolves to the GPU's dX. */
async function expectGpuLikeTwin(
  x: Float32Array,
  dYData: Float32Array,
  approximate: GeluApproximation,
): Promise<Float32Array> {
  const n = x.length;
  const [y, dX] = [new Float64Array(n), new Float64Array(n)];
  geluForwardCpu({ x, y, approximate });
  geluBackwardCpu({ x, dY: dYData, dX, approximate });
  const g = gpu();
  const [xT, yT, dXT] = [upload(g, x, [n]), createTensor(g, [n]), createTensor(g, [n])];
  const gotY = await runAndRead(g, geluForward({ x: xT, y: yT, approximate }), yT);
  const dY = upload(g, dYData, [n]);
  const gotDX = await runAndRead(g, geluBackward({ x: xT, dY, dX: dXT, approximate }), dXT);
  expectGeluClose(gotY, y, gotDX, dX);
  return gotDX;
}

describe('gelu on the GPU vs the twin', () => {
  it.each([
    [1, 'none', 3],
    [257, 'none', 80],
    [1000, 'tanh', 8],
    [4099, 'none', 1e3],
    [4099, 'tanh', 1e3],
  ] as const)('%i elements, %s, |x| <= %d', async (n, approximate: GeluApproximation, range) => {
    await expectGpuLikeTwin(randomFloats(n, n, -range, range), randomFloats(n, 5), approximate);
  });

  // Saturation: erf = ±1 and tanh = ±1 exactly, exp(-x²) = 0, and past |x| ~ 1.8e19 the tanh
  // form's x² overflows to inf (the slope's 0·inf guard); tiny inputs take erf's v·P(v²) piece.
  it.each(['none', 'tanh'] as const)('%s at extreme inputs stays finite', async (approximate) => {
    const x = Float32Array.from([-3e38, -1e20, -1e3, -80, -9.5, -1, -1e-20, 0, 1e-20, 1, 80, 3e38]);
    const gotDX = await expectGpuLikeTwin(x, new Float32Array(x.length).fill(1), approximate);
    expect([...gotDX.slice(0, 4)]).toEqual([0, 0, 0, 0]); // the far left: gelu -> 0, flat
  });

  it('refuses tensors of different sizes', () => {
    const g = gpu();
    expect(() =>
      geluForward({ x: createTensor(g, [3]), y: createTensor(g, [4]), approximate: 'none' }),
    ).toThrow(/3 and 4 elements/);
  });
});

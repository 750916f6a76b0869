/**
 * CPU twin of shaders/gelu.wgsl: torch.nn.GELU (x·Φ(x), or its tanh approximation) and its
 * gradient from the input. erf is the shader's (two minimax pieces, the upper one in the form of
 * Abramowitz & Stegun 7.1.26; within 5.8e-10 of erf in float64: see shaders/gelu.wgsl).
 */
import type { FloatArray } from './common.cpu';

export type GeluApproximation = 'none' | 'tanh';

export interface GeluForwardArgs<T> {
  x: T;
  /** gelu(x), the same shape. */
  y: T;
  /** torch's `approximate`: 'none' (erf) or 'tanh'. */
  approximate: GeluApproximation;
}

export interface GeluBackwardArgs<T> {
  /** The forward's input. */
  x: T;
  dY: T;
  /** dY·gelu'(x). */
  dX: T;
  approximate: GeluApproximation;
}

const TANH_CUBIC = 0.044715;
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** erf(v) = v·P(v²) for |v| < 1: P's coefficients, constant term first. */
const ERF_SMALL = [
  1.12837915841, -0.37612605985, 0.11283430117, -0.0268485912537, 0.00517974943532,
  -0.000794235532168, 7.64711442796e-5,
];
/** erf(v) = 1 - t·R(t)·exp(-v²), t = 1 / (1 + 0.525|v|), for |v| >= 1: R's coefficients. */
const ERF_TAIL = [0.29257754789, 0.333186906316, 0.104099631592, 0.477997127804, -0.208416713802];

/** c[0] + z·(c[1] + z·(...)), in the shader's order of operations. */
function horner(c: readonly number[], z: number): number {
  let acc = 0;
  for (let k = c.length - 1; k >= 0; k--) acc = acc * z + (c[k] ?? 0);
  return acc;
}

/** The shader's erf, odd-extended; within 5.8e-10 of the exact one (tests/kernels/gelu.test.ts). */
export function erfApprox(v: number): number {
  const a = Math.abs(v);
  if (a < 1) return v * horner(ERF_SMALL, v * v);
  const t = 1 / (1 + 0.525 * a);
  return Math.sign(v) * (1 - t * horner(ERF_TAIL, t) * Math.exp(-a * a));
}

function tanhArgument(v: number): number {
  return SQRT_2_OVER_PI * (v + TANH_CUBIC * v * v * v);
}

export function geluCpu(v: number, approximate: GeluApproximation): number {
  if (approximate === 'tanh') return 0.5 * v * (1 + Math.tanh(tanhArgument(v)));
  return 0.5 * v * (1 + erfApprox(v * Math.SQRT1_2));
}

/** d gelu / dx: Φ(x) + x φ(x), or the tanh form's derivative. */
export function geluSlopeCpu(v: number, approximate: GeluApproximation): number {
  if (approximate === 'tanh') {
    const th = Math.tanh(tanhArgument(v));
    const du = SQRT_2_OVER_PI * (1 + 3 * TANH_CUBIC * v * v);
    const sech2 = 1 - th * th; // the shader's guard against 0·inf once tanh saturates
    return 0.5 * (1 + th) + (sech2 > 0 ? 0.5 * v * sech2 * du : 0);
  }
  const cdf = 0.5 * (1 + erfApprox(v * Math.SQRT1_2));
  return cdf + (v * Math.exp(-0.5 * v * v)) / Math.sqrt(2 * Math.PI);
}

export function geluForwardCpu({ x, y, approximate }: GeluForwardArgs<FloatArray>): void {
  for (let i = 0; i < x.length; i++) y[i] = geluCpu(x[i] ?? 0, approximate);
}

export function geluBackwardCpu({ x, dY, dX, approximate }: GeluBackwardArgs<FloatArray>): void {
  for (let i = 0; i < x.length; i++) dX[i] = (dY[i] ?? 0) * geluSlopeCpu(x[i] ?? 0, approximate);
}

/**
 * CPU twin of shaders/gelu.wgsl: torch.nn.GELU (x·Φ(x), or its tanh approximation) and its
 * gradient from the input. erf is the shader's: Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7).
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

/** A&S 7.1.26, odd-extended: the shader's erf. */
export function erfApprox(v: number): number {
  const a = Math.abs(v);
  const t = 1 / (1 + 0.3275911 * a);
  const poly =
    t *
    (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return Math.sign(v) * (1 - poly * Math.exp(-a * a));
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
    return 0.5 * (1 + th) + 0.5 * v * (1 - th * th) * du;
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

/**
 * Pure helpers shared by the CPU twins (no engine, no WebGPU). Twins compute in float64 JS
 * numbers and store into whatever array they are given, so the same twin serves as the float32
 * reference and as the float64 function for finite differences.
 */
export type FloatArray = Float32Array | Float64Array;

export type Activation = 'none' | 'relu' | 'sigmoid' | 'tanh';

/** Same numbers as ACT_* in shaders/common.wgsl. */
export const activationCode: Record<Activation, number> = { none: 0, relu: 1, sigmoid: 2, tanh: 3 };

export function activateCpu(x: number, kind: Activation): number {
  switch (kind) {
    case 'relu':
      return x > 0 ? x : 0;
    case 'sigmoid':
      return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
    case 'tanh':
      return Math.tanh(x);
    case 'none':
      return x;
    default:
      return kind satisfies never;
  }
}

/** dL/dx from the activation's output y: relu' = [y > 0], sigmoid' = y(1-y), tanh' = 1-y^2. */
export function activationGradCpu(y: number, dy: number, kind: Activation): number {
  switch (kind) {
    case 'relu':
      return y > 0 ? dy : 0;
    case 'sigmoid':
      return dy * y * (1 - y);
    case 'tanh':
      return dy * (1 - y * y);
    case 'none':
      return dy;
    default:
      return kind satisfies never;
  }
}

/** A new array of the same kind as `like`. */
export function zerosLike(like: FloatArray, length: number): FloatArray {
  return like instanceof Float64Array ? new Float64Array(length) : new Float32Array(length);
}

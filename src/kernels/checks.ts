/** Shape checks shared by the kernel wrappers: wrong shapes fail before anything is dispatched. */
import { ShadergradError } from '../base/errors';
import { elementCount, type DType, type GpuTensor } from '../gpu/tensor';
import { poolGeometryProblem, poolShape, poolTakesPairs, type PoolGeometry } from './geometry';

/** Throws unless every tensor has the same element count; returns that count. */
export function sameCount(label: string, ...tensors: GpuTensor[]): number {
  const count = elementCount(tensors[0]?.shape ?? []);
  for (const t of tensors) {
    const n = elementCount(t.shape);
    if (n !== count) throw new ShadergradError(`${label}: tensors of ${count} and ${n} elements`);
  }
  return count;
}

/** Throws unless the tensor holds exactly `count` elements. */
export function expectCount(label: string, name: string, t: GpuTensor, count: number): void {
  const n = elementCount(t.shape);
  if (n !== count)
    throw new ShadergradError(
      `${label}: ${name} has ${n} elements [${t.shape.join(', ')}], expected ${count}`,
    );
}

/** Throws unless `value` is a whole number >= min (sizes, strides, kernel sizes). */
export function expectWhole(label: string, name: string, value: number, min = 1): void {
  if (!Number.isInteger(value) || value < min)
    throw new ShadergradError(`${label}: ${name} = ${value}, expected a whole number >= ${min}`);
}

/** Throws unless the tensor has the dtype the kernel binds it as. */
export function expectDtype(label: string, name: string, t: GpuTensor, dtype: DType): void {
  if (t.dtype !== dtype)
    throw new ShadergradError(`${label}: ${name} is ${t.dtype}, expected ${dtype}`);
}

/** Throws unless the tensor holds floats a kernel can read as f32 or f16 (half-precision storage). */
export function expectFloat(label: string, name: string, t: GpuTensor): void {
  if (t.dtype !== 'f32' && t.dtype !== 'f16')
    throw new ShadergradError(`${label}: ${name} is ${t.dtype}, expected f32 or f16`);
}

/** One pooled tensor to check: its name, the tensor, which side of the pool it is on, its dtype. */
export type PoolTensorCheck = readonly [
  name: string,
  tensor: GpuTensor,
  side: 'in' | 'out',
  dtype: DType,
];

/** The first problem with a pooling geometry or with a tensor's shape or dtype, or undefined. */
export function poolArgsProblem(
  g: PoolGeometry,
  tensors: readonly PoolTensorCheck[],
): string | undefined {
  const problem = poolGeometryProblem(g);
  if (problem !== undefined) return problem;
  for (const [name, t, side, dtype] of tensors) {
    const want = poolShape(g, side);
    if (t.shape.length !== 4 || t.shape.some((d, i) => d !== want[i]))
      return `${name} has shape [${t.shape.join(', ')}], expected [${want.join(', ')}]`;
    if (t.dtype !== dtype) return `${name} is ${t.dtype}, expected ${dtype}`;
  }
  return undefined;
}

/**
 * A pooling wrapper's entry point: `forced` when given, else `pairs` where poolTakesPairs holds,
 * else `general`. A *Pairs entry point forced on other windows is refused (`family` names it).
 */
export function poolEntryPoint<E extends string>(
  g: PoolGeometry,
  family: string,
  general: E,
  pairs: E,
  forced?: E,
): E {
  if (forced === pairs && !poolTakesPairs(g))
    throw new ShadergradError(
      `${family}.${pairs}: only for 2x2 windows of stride 2 over an even width`,
    );
  return forced ?? (poolTakesPairs(g) ? pairs : general);
}

/** Shape checks shared by the kernel wrappers: wrong shapes fail before anything is dispatched. */
import { ShadergradError } from '../base/errors';
import { elementCount, type DType, type GpuTensor } from '../gpu/tensor';

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

/** CPU twin of shaders/stream.wgsl: the copy, and the bytes it must move. */
import type { FloatArray } from './common.cpu';

/** y[i] = x[i] for i < count: `count` is the length of both. */
export interface StreamCopyArgs<T> {
  x: T;
  y: T;
}

export function streamCopyCpu({ x, y }: StreamCopyArgs<FloatArray>): void {
  if (x.length !== y.length) throw new Error(`streamCopy: x has ${x.length}, y ${y.length}`);
  for (let i = 0; i < x.length; i++) y[i] = x[i] ?? 0;
}

/** Bytes one copy moves at least: each f32 read once and written once. */
export function streamCopyBytes(count: number): number {
  return 8 * count;
}

/**
 * Mixed precision's one rule at plan time (PlanOptions.precision): what a plan stores its
 * convolutions' im2col matrices in, refused before anything is allocated where the device cannot
 * read f16.
 */
import { ShadergradError } from '../base/errors';
import type { Gpu } from '../gpu/device';

/** Storage precision of a plan's activations for the products: see PlanOptions.precision. */
export type Precision = 'f32' | 'f16';

/** The cols' storage type for `precision`; refuses f16 on a device without `shader-f16`. */
export function planPrecision(gpu: Gpu, precision: Precision = 'f32'): 'f32' | 'f16' {
  if (precision === 'f16' && !gpu.hasShaderF16)
    throw new ShadergradError(
      `precision 'f16' needs the device feature shader-f16, which this adapter (${gpu.adapter.description || gpu.adapter.kind}) lacks; train in 'f32'`,
    );
  return precision;
}

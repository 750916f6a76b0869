/**
 * How compilePlan (./executor.ts) tunes a plan: it imports this module only when tuning is asked
 * for (a page that never tunes does not download the tuner) and hands it a way to trace the step.
 */
import type { Gpu } from '../gpu/device';
import type { DefaultPolicy } from '../kernels/index';
import { ProductRecorder, type TunedChooser } from './tuneChoosers';
import { tuneProducts, type TuneRequest } from './tuner';
import type { TuneOptions, TuningReport } from './tuneReport';

/** What compilePlan tells the tuner: its default, its limits, and how to trace the step. */
export interface PlanTracing {
  defaults: DefaultPolicy;
  maxBindingBytes: number;
  /** The plan was given a matmulVariant: only its shapes are tried, no path is raced. */
  fixedVariant: boolean;
  /** Traces the step with `chooser` answering its rules (the calls are not kept). */
  trace: (chooser: ProductRecorder) => unknown;
}

/**
 * Traces the step once with a recorder to learn its products and convolutions, tunes them
 * (tuneProducts), and returns the chooser the plan is traced with at last.
 */
export async function tunePlan(
  gpu: Gpu,
  plan: PlanTracing,
  options: TuneOptions,
): Promise<{ chooser: TunedChooser; report: TuningReport }> {
  const recorder = new ProductRecorder(plan.defaults);
  plan.trace(recorder);
  const request: TuneRequest = {
    products: recorder.products,
    convs: recorder.convs,
    eitherPathConvs: recorder.eitherPathConvs,
    defaults: plan.defaults,
    maxBindingBytes: plan.maxBindingBytes,
    fixedVariant: plan.fixedVariant,
    // A third trace when a convolution's path changed: its products change with it.
    retrace: (paths) => {
      const again = new ProductRecorder(plan.defaults, paths);
      plan.trace(again);
      return again.products;
    },
  };
  return tuneProducts(gpu, request, options);
}

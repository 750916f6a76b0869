/**
 * The kernel registry: every kernel family, for the tests that check all of them (Params packing
 * against reflection, race detection) and for the kernel explorer.
 */
import { accuracyFamily } from './accuracy';
import { activationFamily } from './activation';
import { avgPoolFamily } from './avgPool';
import { batchGatherFamily } from './batchGather';
import { biasFamily } from './bias';
import { conv2dIm2colFamily } from './conv2dIm2col';
import { conv2dImplicitFamily } from './conv2dImplicit';
import { dropoutFamily } from './dropout';
import { fmaPeakFamily } from './fmaPeak';
import { matmulFamily } from './matmul';
import { matmulSubgroupFamily } from './matmulSubgroup';
import { maxPoolFamily } from './maxPool';
import { mseFamily } from './mse';
import { optimizerFamily } from './optimizer';
import { reduceFamily } from './reduce';
import { softmaxCrossEntropyFamily } from './softmaxCrossEntropy';
import type { KernelCall } from '../engine/dispatch';
import type { KernelFamily } from './family';

export const kernelFamilies: readonly KernelFamily[] = [
  activationFamily,
  fmaPeakFamily,
  matmulFamily,
  matmulSubgroupFamily,
  maxPoolFamily,
  avgPoolFamily,
  conv2dIm2colFamily,
  conv2dImplicitFamily,
  optimizerFamily,
  batchGatherFamily,
  biasFamily,
  softmaxCrossEntropyFamily,
  mseFamily,
  accuracyFamily,
  reduceFamily,
  dropoutFamily,
];

export type { KernelFamily } from './family';

// ---- what the engine's graph and autodiff use (STYLE 2.5: the engine sees kernels only here)
export type KernelCallList = KernelCall[];
export type { Activation } from './common.cpu';
export { conv2dGeometry, type Conv2dGeometry, type Padding } from './conv2dIm2col.cpu';
export { poolGeometry, type PoolGeometry } from './pool.cpu';
export { activationForward, activationBackward } from './activation';
export { maxPoolForward, maxPoolBackward } from './maxPool';
export { avgPoolForward, avgPoolBackward } from './avgPool';
export { biasAddForward, biasBackward } from './bias';
export {
  conv2dForward,
  conv2dBackward,
  conv2dColsShape,
  conv2dInputGradScratch,
  usesImplicitBackwardData,
} from './conv2d';
export { matmul, preferredMatmulVariant, type MatmulVariant } from './matmul';
export {
  softmaxCrossEntropyForward,
  softmaxCrossEntropyForwardBackward,
} from './softmaxCrossEntropy';
export { mseForward, mseBackward } from './mse';
export { lossMean } from './reduce';
export { accuracyCount, accuracyArgmax } from './accuracy';
export {
  optimizerStepBegin,
  optimizerUpdate,
  optimizerStateSlots,
  type OptimizerConfig,
} from './optimizer';
export { gatherImages, gatherLabels } from './batchGather';
export { dropoutForward, dropoutBackward } from './dropout';
export { isDropoutRate } from './dropout.cpu';

/**
 * The kernel registry: every kernel family, for the tests that check all of them (Params packing
 * against reflection, race detection, every shaders/*.wgsl registered) and for the kernel explorer.
 */
import { accuracyFamily } from './accuracy';
import { addFamily } from './add';
import { activationFamily } from './activation';
import { avgPoolFamily } from './avgPool';
import { batchNormFamily } from './batchNorm';
import { batchGatherFamily } from './batchGather';
import { biasFamily } from './bias';
import { concatFamily } from './concat';
import { conv2dIm2colFamily } from './conv2dIm2col';
import { conv2dImplicitFamily } from './conv2dImplicit';
import { conv2dImplicitSubgroupFamily } from './conv2dImplicitConv';
import { dropoutFamily } from './dropout';
import { embeddingFamily } from './embedding';
import { fmaPeakFamily } from './fmaPeak';
import { geluFamily } from './gelu';
import { globalAvgPoolFamily } from './globalAvgPool';
import { layerNormFamily } from './layerNorm';
import { matmulFamily } from './matmul';
import { matmulSubgroupFamily } from './matmulSubgroup';
import { maxPoolFamily } from './maxPool';
import { mseFamily } from './mse';
import { optimizerFamily } from './optimizer';
import { reduceFamily } from './reduce';
import { softmaxFamily } from './softmax';
import { softmaxCrossEntropyFamily } from './softmaxCrossEntropy';
import { transposeFamily } from './transpose';
import { sampleFamily } from './sample';
import { streamFamily } from './stream';
import type { KernelFamily } from './family';

export const kernelFamilies: readonly KernelFamily[] = [
  activationFamily,
  geluFamily,
  fmaPeakFamily,
  streamFamily,
  matmulFamily,
  matmulSubgroupFamily,
  maxPoolFamily,
  avgPoolFamily,
  conv2dIm2colFamily,
  conv2dImplicitFamily,
  conv2dImplicitSubgroupFamily,
  optimizerFamily,
  batchGatherFamily,
  biasFamily,
  batchNormFamily,
  layerNormFamily,
  softmaxCrossEntropyFamily,
  softmaxFamily,
  mseFamily,
  accuracyFamily,
  reduceFamily,
  dropoutFamily,
  addFamily,
  concatFamily,
  globalAvgPoolFamily,
  transposeFamily,
  sampleFamily,
  embeddingFamily,
];

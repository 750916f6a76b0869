/**
 * The kernel registry: every kernel family, for the tests that check all of them (Params packing
 * against reflection, race detection) and for the kernel explorer.
 */
import { activationFamily } from './activation';
import { avgPoolFamily } from './avgPool';
import { batchGatherFamily } from './batchGather';
import { conv2dIm2colFamily } from './conv2dIm2col';
import { fmaPeakFamily } from './fmaPeak';
import { maxPoolFamily } from './maxPool';
import { optimizerFamily } from './optimizer';
import type { KernelFamily } from './family';

export const kernelFamilies: readonly KernelFamily[] = [activationFamily, fmaPeakFamily, maxPoolFamily, avgPoolFamily, conv2dIm2colFamily, optimizerFamily, batchGatherFamily];

export type { KernelFamily } from './family';

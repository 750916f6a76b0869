/**
 * The kernel registry: every kernel family, for the tests that check all of them (Params packing
 * against reflection, race detection) and for the kernel explorer.
 */
import { activationFamily } from './activation';
import { avgPoolFamily } from './avgPool';
import { conv2dIm2colFamily } from './conv2dIm2col';
import { fmaPeakFamily } from './fmaPeak';
import { maxPoolFamily } from './maxPool';
import type { KernelFamily } from './family';

export const kernelFamilies: readonly KernelFamily[] = [activationFamily, fmaPeakFamily, maxPoolFamily, avgPoolFamily, conv2dIm2colFamily];

export type { KernelFamily } from './family';

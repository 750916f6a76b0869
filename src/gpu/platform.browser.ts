/** The browser's WebGPU: navigator.gpu (also in workers). See platform.ts. */
import { ShadergradError } from '../base/errors';
import type { GpuPlatform } from './platform';
import { storedText } from './stored.browser';

export const platform: GpuPlatform = {
  name: 'browser',
  async requestAdapter() {
    if (typeof navigator === 'undefined' || !('gpu' in navigator))
      throw new ShadergradError(
        'WebGPU is not available here: use a browser with WebGPU (Chrome 113+) or Node with the `webgpu` package.',
      );
    const adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter)
      throw new ShadergradError(
        'This browser exposes WebGPU but returned no adapter (is hardware acceleration off?).',
      );
    return adapter;
  },
  // A browser's GPU memory is not this page's address space: there is nothing to budget.
  softwareMemoryBudget: () => Promise.resolve(undefined),
  adapterChosen: () => undefined,
  dawnPolling: () => undefined,
  env: () => undefined,
  stored: storedText,
};

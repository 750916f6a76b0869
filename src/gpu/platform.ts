/**
 * What `initDevice` needs from where it runs: a WebGPU adapter, the environment, and on a software
 * adapter in Node the memory budget. Two implementations: platform.browser.ts (navigator.gpu) and
 * platform.node.ts (Dawn, from the `webgpu` package). The `#gpu-platform` import picks one by
 * package export condition ("node" or the default; package.json "imports"), so a browser bundle
 * never contains the Node one and Node never needs `navigator`.
 */

/** Which driver to ask for in Node (`SHADERGRAD_ADAPTER`); a browser picks its own. */
export type AdapterChoice = 'auto' | 'lavapipe' | 'swiftshader';

export interface GpuPlatform {
  readonly name: 'browser' | 'node';
  /** An adapter, or a ShadergradError that says what to install or enable. */
  requestAdapter(choice: AdapterChoice): Promise<GPUAdapter>;
  /**
   * The byte budget for GPU buffers of a software adapter, whose memory is this process's own,
   * under an address-space limit (`ulimit -v`); undefined when there is no such limit.
   */
  softwareMemoryBudget(): Promise<number | undefined>;
  /** An environment variable; always undefined in a browser. */
  env(name: string): string | undefined;
}

/**
 * What `initDevice` needs from where it runs: a WebGPU adapter, the environment, and on a software
 * adapter in Node the memory budget. Two implementations: platform.browser.ts (navigator.gpu) and
 * platform.node.ts (Dawn, from the `webgpu` package). The `#gpu-platform` import picks one by
 * package export condition ("node" or the default; package.json "imports"), so a browser bundle
 * never contains the Node one and Node never needs `navigator`.
 */
import type { DawnPolling } from './dawnPolling';

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
  /**
   * Called once initDevice has its adapter. Node throttles Dawn's poll loop for a software one
   * (dawnPolling.ts); a browser does nothing.
   */
  adapterChosen(isSoftware: boolean): void;
  /** How Dawn's polls run in this process (Node); undefined in a browser. */
  dawnPolling(): DawnPolling | undefined;
  /** An environment variable; always undefined in a browser. */
  env(name: string): string | undefined;
  /** Text kept between runs: the autotuner's choices. */
  readonly stored: StoredText;
}

/**
 * Text under a name that outlives the process or page: a file in the user's cache folder in
 * Node (stored.node.ts), IndexedDB in a browser (stored.browser.ts).
 */
export interface StoredText {
  /** Undefined when nothing is stored under the name. */
  read(name: string): Promise<string | undefined>;
  write(name: string, text: string): Promise<void>;
  /** Where the name's text lives, for messages ("/root/.cache/shadergrad/tune.json"). */
  where(name: string): string;
}

/**
 * Device layer: one entry, `initDevice`, returns a ready `Gpu` in the browser (navigator.gpu), in
 * Node (the `webgpu` package, Dawn), or around a `GPUDevice` the host app already has. Where the
 * adapter comes from is the platform's business (platform.ts): `#gpu-platform` resolves to the
 * browser or the Node implementation by package export condition.
 */
import { platform } from '#gpu-platform';
import type { AdapterChoice, StoredText } from './platform';
import type { DawnPolling } from './dawnPolling';
import { PipelineCache } from './pipelines';
import {
  ShadergradError,
  DeviceLostError,
  describeAdapter,
  type AdapterKind,
} from '../base/errors';
import { MemoryTracker, reclaimMemory } from './memory';

export { DeviceLostError, type AdapterKind } from '../base/errors';

/** Text kept between runs where this code runs: a cache file in Node, IndexedDB in a browser. */
export const platformStore: StoredText = platform.stored;

/** What the engine knows about the adapter behind a device. */
export interface AdapterSummary {
  vendor: string;
  architecture: string;
  description: string;
  device: string;
  /** hardware, lavapipe, swiftshader, other-software, or unknown (a host-provided device). */
  kind: AdapterKind;
  isSoftware: boolean;
}

/** A ready device plus everything kernels need beside it. Owned by whoever called initDevice. */
export interface Gpu {
  readonly device: GPUDevice;
  readonly adapter: AdapterSummary;
  readonly limits: GPUSupportedLimits;
  readonly hasTimestampQuery: boolean;
  readonly hasShaderF16: boolean;
  /** WGSL `enable subgroups;` works (subgroupBroadcast and friends). */
  readonly hasSubgroups: boolean;
  readonly pipelines: PipelineCache;
  /** Debug mode wraps each submit in validation and out-of-memory error scopes. */
  readonly debug: boolean;
  /**
   * In Node, how Dawn's poll loop runs (src/gpu/dawnPolling.ts): on a software adapter it decides
   * how much CPU the GPU gets, so tuned choices are kept per mode. Undefined in a browser.
   */
  readonly dawnPolling: DawnPolling | undefined;
  /** Resolves when the device is lost; never rejects. */
  readonly lost: Promise<DeviceLostError>;
  /** Set once the device is lost; later work throws it instead of hanging. */
  lostError: DeviceLostError | undefined;
  /**
   * Live buffers and bytes of a device shadergrad created (a host's device is not counted), and
   * under `ulimit -v` on a software adapter the budget that refuses a buffer past it.
   */
  readonly memory: MemoryTracker;
  /** Gives destroyed buffers' memory back (it returns only once the queue moves on). */
  reclaim(): Promise<void>;
  /**
   * Makes the engine see a device loss now, as a driver reset would (the device itself stays
   * usable until destroy()): for drills and tests of recovery.
   */
  simulateLoss(message?: string): void;
  /** Destroys the device. Safe to call twice. */
  destroy(): void;
}

export interface InitOptions {
  /** A device the host app already owns; shadergrad then never destroys it on its own. */
  device?: GPUDevice;
  /** Force a software driver in Node (also from SHADERGRAD_ADAPTER). */
  adapter?: AdapterChoice;
  debug?: boolean;
  /** Where to print the adapter line; nothing is printed without it. */
  log?: (line: string) => void;
}

/** Limits the engine asks for: the adapter's best, since im2col buffers of a batch are large. */
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

/** Returns a ready Gpu. Throws a ShadergradError that says what to install when none is found. */
export async function initDevice(options: InitOptions = {}): Promise<Gpu> {
  const debug = options.debug ?? platform.env('SHADERGRAD_DEBUG') !== undefined;
  if (options.device) return wrapDevice(options.device, hostSummary(options.device), debug);
  const adapter = await platform.requestAdapter(options.adapter ?? readAdapterEnv());
  const summary = summarizeAdapter(adapter.info);
  platform.adapterChosen(summary.isSoftware);
  const device = await requestDevice(adapter);
  // In Node, software adapters take GPU memory from this process: under ulimit -v, budget it.
  const budget = summary.isSoftware ? await platform.softwareMemoryBudget() : undefined;
  const memory = new MemoryTracker(budget);
  memory.install(device);
  const gpu = wrapDevice(device, summary, debug, memory);
  const polling = gpu.dawnPolling === 'throttled' ? "; Dawn's poll loop throttled" : '';
  options.log?.(describeAdapter(summary, gpu.limits) + polling);
  return gpu;
}

/** The driver SHADERGRAD_ADAPTER forces (auto when unset); anything else is an error naming it. */
export function readAdapterEnv(): AdapterChoice {
  const v = platform.env('SHADERGRAD_ADAPTER');
  if (v === undefined || v === '' || v === 'auto') return 'auto';
  if (v === 'lavapipe' || v === 'swiftshader') return v;
  throw new ShadergradError(`SHADERGRAD_ADAPTER=${v}: expected auto, lavapipe or swiftshader`);
}

/** What kind of adapter the info describes (hardware, lavapipe, swiftshader...). */
export function summarizeAdapter(info: GPUAdapterInfo): AdapterSummary {
  const text =
    `${info.vendor} ${info.architecture} ${info.description} ${info.device}`.toLowerCase();
  let kind: AdapterKind = 'hardware';
  if (text.includes('llvmpipe') || text.includes('lavapipe')) kind = 'lavapipe';
  else if (text.includes('swiftshader')) kind = 'swiftshader';
  else if ((info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter === true)
    kind = 'other-software';
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    description: info.description,
    device: info.device,
    kind,
    isSoftware: kind !== 'hardware',
  };
}

/**
 * A host's device: its adapter as GPUDevice.adapterInfo reports it (Chrome 131+, Dawn), else
 * unknown, which gets the hardware defaults and keeps no tuned choices.
 */
function hostSummary(device: GPUDevice): AdapterSummary {
  const info = (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  if (info) return summarizeAdapter(info);
  return {
    vendor: '',
    architecture: '',
    description: 'host-provided device',
    device: '',
    kind: 'unknown',
    isSoftware: false,
  };
}

async function requestDevice(adapter: GPUAdapter): Promise<GPUDevice> {
  const requiredLimits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) requiredLimits[name] = adapter.limits[name];
  // Plain strings: older @webgpu/types (pulled in by peers' typings) lack 'subgroups'.
  const wanted: string[] = ['timestamp-query', 'shader-f16', 'subgroups'];
  const requiredFeatures = wanted.filter((f) => adapter.features.has(f)) as GPUFeatureName[];
  return adapter.requestDevice({ label: 'shadergrad', requiredLimits, requiredFeatures });
}

/** `memory` is given for a device shadergrad owns (and so may destroy), absent for a host's. */
function wrapDevice(
  device: GPUDevice,
  adapter: AdapterSummary,
  debug: boolean,
  memory?: MemoryTracker,
): Gpu {
  let destroyed = false;
  let inject: (e: DeviceLostError) => void = () => undefined;
  const injected = new Promise<DeviceLostError>((resolve) => (inject = resolve));
  const real = device.lost.then((info) => new DeviceLostError(info.reason, info.message));
  const gpu: Gpu = {
    device,
    adapter,
    limits: device.limits,
    hasTimestampQuery: device.features.has('timestamp-query'),
    hasShaderF16: device.features.has('shader-f16'),
    hasSubgroups: device.features.has('subgroups'),
    pipelines: new PipelineCache(device),
    debug,
    dawnPolling: platform.dawnPolling(),
    lostError: undefined,
    lost: Promise.race([real, injected]).then((err) => (gpu.lostError ??= err)),
    memory: memory ?? new MemoryTracker(undefined),
    reclaim: () => reclaimMemory(device),
    simulateLoss(message = 'simulated device loss') {
      if (gpu.lostError) return;
      // Set at once, not when the promise settles, so the very next step sees it.
      gpu.lostError = new DeviceLostError('unknown', message);
      inject(gpu.lostError);
    },
    destroy() {
      if (destroyed || !memory) return;
      destroyed = true;
      // Set now: later reads and steps must throw, not return zeros from a dead device.
      gpu.lostError ??= new DeviceLostError('destroyed', 'this Gpu was destroyed (gpu.destroy())');
      device.destroy();
    },
  };
  device.addEventListener('uncapturederror', (event) => {
    const error = event.error;
    console.error(`shadergrad: uncaptured WebGPU error: ${error.message}`);
  });
  return gpu;
}

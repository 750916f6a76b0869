/**
 * Device layer: one entry, `initDevice`, returns a ready `Gpu` in the browser (navigator.gpu), in
 * Node (the `webgpu` package, Dawn, imported lazily so browser bundles never see it), or around a
 * `GPUDevice` the host app already has.
 *
 * In Node the adapter preference is: a hardware GPU, then lavapipe (Mesa's Vulkan on the CPU),
 * then SwiftShader from Debian's chromium when VK_ICD_FILENAMES is unset and nothing else is
 * found. `SHADERGRAD_ADAPTER=lavapipe|swiftshader` forces one software driver (tests run on both).
 */
import { PipelineCache } from './pipelines';
import {
  ShadergradError,
  DeviceLostError,
  describeAdapter,
  type AdapterKind,
} from '../base/errors';
import { MemoryTracker, reclaimMemory, softwareMemoryBudget } from './memory';

export { DeviceLostError, type AdapterKind } from '../base/errors';

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
  adapter?: 'auto' | 'lavapipe' | 'swiftshader';
  debug?: boolean;
  /** Where to print the adapter line; nothing is printed without it. */
  log?: (line: string) => void;
}

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const LAVAPIPE_ICDS = [
  '/usr/share/vulkan/icd.d/lvp_icd.json',
  '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json',
];

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
  const debug = options.debug ?? readEnv('SHADERGRAD_DEBUG') !== undefined;
  if (options.device) return wrapDevice(options.device, hostSummary(), debug);
  const { adapter, summary } = await findAdapter(options.adapter ?? readAdapterEnv());
  const device = await requestDevice(adapter);
  // In Node, software adapters take GPU memory from this process: under ulimit -v, budget it.
  const budget = summary.isSoftware && isNode() ? await softwareMemoryBudget() : undefined;
  const memory = new MemoryTracker(budget);
  memory.install(device);
  const gpu = wrapDevice(device, summary, debug, memory);
  options.log?.(describeAdapter(summary, gpu.limits));
  return gpu;
}

function readEnv(name: string): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process
    ?.env;
  return env?.[name];
}

function readAdapterEnv(): NonNullable<InitOptions['adapter']> {
  const v = readEnv('SHADERGRAD_ADAPTER');
  if (v === undefined || v === '' || v === 'auto') return 'auto';
  if (v === 'lavapipe' || v === 'swiftshader') return v;
  throw new ShadergradError(`SHADERGRAD_ADAPTER=${v}: expected auto, lavapipe or swiftshader`);
}

async function findAdapter(
  choice: NonNullable<InitOptions['adapter']>,
): Promise<{ adapter: GPUAdapter; summary: AdapterSummary }> {
  const inBrowser =
    typeof navigator !== 'undefined' &&
    'gpu' in navigator &&
    readEnv('VK_ICD_FILENAMES') === undefined &&
    !isNode();
  if (inBrowser) {
    const adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter)
      throw new ShadergradError(
        'This browser exposes WebGPU but returned no adapter (is hardware acceleration off?).',
      );
    return { adapter, summary: summarize(adapter.info) };
  }
  if (!isNode())
    throw new ShadergradError(
      'WebGPU is not available here: use a browser with WebGPU (Chrome 113+) or Node with the `webgpu` package.',
    );
  return findNodeAdapter(choice);
}

function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string';
}

type NodeGpuFactory = (options: string[]) => GPU;

async function loadDawn(): Promise<NodeGpuFactory> {
  // A variable specifier keeps bundlers from pulling the Node-only module into browser builds.
  const specifier = 'webgpu';
  try {
    const mod = (await import(/* @vite-ignore */ specifier)) as {
      create: NodeGpuFactory;
      globals: object;
    };
    installGlobals(mod.globals);
    return mod.create;
  } catch (cause) {
    throw new ShadergradError('WebGPU for Node needs the `webgpu` package: run `npm install`.', {
      cause,
    });
  }
}

/** GPUBufferUsage and friends exist as globals in browsers; Dawn ships them separately. */
function installGlobals(globals: object): void {
  for (const [name, value] of Object.entries(globals)) {
    if (!(name in globalThis))
      Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
  }
}

async function findNodeAdapter(
  choice: NonNullable<InitOptions['adapter']>,
): Promise<{ adapter: GPUAdapter; summary: AdapterSummary }> {
  // A variable specifier keeps browser builds from trying to bundle (or warn about) node:fs.
  const fsModule = 'node:fs';
  const { existsSync } = (await import(/* @vite-ignore */ fsModule)) as {
    existsSync: (path: string) => boolean;
  };
  const env = (globalThis as unknown as { process: { env: Record<string, string | undefined> } })
    .process.env;
  if (choice === 'swiftshader')
    env.VK_ICD_FILENAMES = requireFile(
      existsSync,
      [SWIFTSHADER_ICD],
      'SwiftShader (apt-get install chromium)',
    );
  if (choice === 'lavapipe')
    env.VK_ICD_FILENAMES = requireFile(
      existsSync,
      LAVAPIPE_ICDS,
      'lavapipe (npm run install:software-gpu)',
    );
  const create = await loadDawn();
  const first = await requestNodeAdapter(create);
  if (first) return first;
  if (choice === 'auto' && env.VK_ICD_FILENAMES === undefined && existsSync(SWIFTSHADER_ICD)) {
    env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    const second = await requestNodeAdapter(create);
    if (second) return second;
  }
  throw new ShadergradError(
    'No WebGPU adapter found. Without a GPU, install the software one: `npm run install:software-gpu` ' +
      '(Mesa 25 lavapipe from Debian backports, and chromium for SwiftShader).',
  );
}

function requireFile(existsSync: (p: string) => boolean, paths: string[], what: string): string {
  const found = paths.find((p) => existsSync(p));
  if (!found)
    throw new ShadergradError(
      `SHADERGRAD_ADAPTER asks for ${what}, but ${paths.join(' or ')} is missing.`,
    );
  return found;
}

// Dawn's GPU objects must outlive their adapters, so the instances are kept here.
const dawnInstances: GPU[] = [];

async function requestNodeAdapter(
  create: NodeGpuFactory,
): Promise<{ adapter: GPUAdapter; summary: AdapterSummary } | undefined> {
  const instance = create([]);
  dawnInstances.push(instance);
  const adapter = await instance.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) return undefined;
  return { adapter, summary: summarize(adapter.info) };
}

function summarize(info: GPUAdapterInfo): AdapterSummary {
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

function hostSummary(): AdapterSummary {
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
      device.destroy();
    },
  };
  device.addEventListener('uncapturederror', (event) => {
    const error = event.error;
    console.error(`shadergrad: uncaptured WebGPU error: ${error.message}`);
  });
  return gpu;
}

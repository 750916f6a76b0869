/**
 * WebGPU in Node: Dawn, from the `webgpu` package (an optional peer dependency, imported only when
 * a device is asked for). The adapter preference is a hardware GPU, then lavapipe (Mesa's Vulkan
 * on the CPU), then SwiftShader from Debian's chromium when VK_ICD_FILENAMES is unset and nothing
 * else is found. `SHADERGRAD_ADAPTER=lavapipe|swiftshader` forces one software driver. See
 * platform.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { ShadergradError } from '../base/errors';
import { addressSpaceBudget } from './memory';
import { dawnPolling, readDawnPollingEnv, throttleDawnPolling } from './dawnPolling';
import type { AdapterChoice, GpuPlatform } from './platform';
import { storedText } from './stored.node';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const LAVAPIPE_ICDS = [
  '/usr/share/vulkan/icd.d/lvp_icd.json',
  '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json',
];

type DawnFactory = (options: string[]) => GPU;

export const platform: GpuPlatform = {
  name: 'node',
  requestAdapter: findNodeAdapter,
  softwareMemoryBudget: () => Promise.resolve(readBudget()),
  adapterChosen: choosePolling,
  dawnPolling,
  env: (name) => process.env[name],
  stored: storedText,
};

async function loadDawn(): Promise<DawnFactory> {
  try {
    const mod = (await import('webgpu')) as { create: DawnFactory; globals: object };
    installGlobals(mod.globals);
    return mod.create;
  } catch (cause) {
    throw new ShadergradError(
      'WebGPU for Node needs the `webgpu` package: run `npm install webgpu`.',
      { cause },
    );
  }
}

/** GPUBufferUsage and friends exist as globals in browsers; Dawn ships them separately. */
function installGlobals(globals: object): void {
  for (const [name, value] of Object.entries(globals)) {
    if (!(name in globalThis))
      Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
  }
}

async function findNodeAdapter(choice: AdapterChoice): Promise<GPUAdapter> {
  const env = process.env;
  if (choice === 'swiftshader')
    env.VK_ICD_FILENAMES = requireFile([SWIFTSHADER_ICD], 'SwiftShader (apt-get install chromium)');
  if (choice === 'lavapipe')
    env.VK_ICD_FILENAMES = requireFile(LAVAPIPE_ICDS, 'lavapipe (npm run install:software-gpu)');
  const create = await loadDawn();
  const first = await requestDawnAdapter(create);
  if (first) return first;
  if (choice === 'auto' && env.VK_ICD_FILENAMES === undefined && existsSync(SWIFTSHADER_ICD)) {
    env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    const second = await requestDawnAdapter(create);
    if (second) return second;
  }
  throw new ShadergradError(
    'No WebGPU adapter found. Without a GPU, install the software one: `npm run install:software-gpu` ' +
      '(Mesa 25 lavapipe from Debian backports, and chromium for SwiftShader).',
  );
}

/** A software adapter's workers need the core Dawn's poll loop would spin on (dawnPolling.ts). */
function choosePolling(isSoftware: boolean): void {
  const polling = readDawnPollingEnv(process.env.SHADERGRAD_DAWN_POLL);
  if (polling === 'throttled' || (polling === undefined && isSoftware)) throttleDawnPolling();
}

function requireFile(paths: string[], what: string): string {
  const found = paths.find((p) => existsSync(p));
  if (!found)
    throw new ShadergradError(
      `SHADERGRAD_ADAPTER asks for ${what}, but ${paths.join(' or ')} is missing.`,
    );
  return found;
}

// Dawn's GPU objects must outlive their adapters, so the instances are kept here.
const dawnInstances: GPU[] = [];

async function requestDawnAdapter(create: DawnFactory): Promise<GPUAdapter | undefined> {
  const instance = create([]);
  dawnInstances.push(instance);
  return (await instance.requestAdapter({ powerPreference: 'high-performance' })) ?? undefined;
}

/** The budget from /proc/self (Linux); undefined elsewhere or without a limit. */
function readBudget(): number | undefined {
  try {
    return addressSpaceBudget(
      readFileSync('/proc/self/limits', 'utf8'),
      readFileSync('/proc/self/status', 'utf8'),
    );
  } catch {
    return undefined;
  }
}

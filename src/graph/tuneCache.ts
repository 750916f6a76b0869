/**
 * The autotuner's memory: which choice won for each product on each device, kept between runs
 * (a JSON file in the user's cache folder in Node, IndexedDB in a browser; platform.ts). Devices
 * are told apart by what the adapter reports and by a hash of the tuned shaders' code (matmul and
 * the convolution paths'), so a driver or kernel change starts afresh. A file that is not a tune
 * cache is reported and left as it is: the run tunes in memory and writes nothing over it.
 *
 * Format (version 1):
 *   { "format": "shadergrad-tune", "version": 1,
 *     "devices": { "<device key>": { "<product key>": { "choice": "registerTile 8x4",
 *                                                        "ms": 12.1, "defaultMs": 15.3 },
 *                                    "conv dX [...] batch 64": { "choice": "im2col", ... },
 *                                    "conv forward [...] batch 64": { "choice": "implicit", ... } } } }
 */
import { isRecord } from '../base/json';
import type { StoredText } from '../gpu/platform';
import type { AdapterSummary } from '../gpu/device';
import type { DawnPolling } from '../gpu/dawnPolling';
import {
  CONV_PATHS,
  INPUT_GRAD_PATHS,
  choiceName,
  type MatmulChoice,
  type MatmulVariant,
} from '../kernels/index';

export const TUNE_CACHE_NAME = 'tune';
const FORMAT = 'shadergrad-tune';
const VERSION = 1;

/** One product's winner, as stored. */
export interface StoredChoice {
  choice: string;
  /** Median ms of the winner and of the default choice when it was tuned. */
  ms: number;
  defaultMs: number;
}

type DeviceChoices = Record<string, StoredChoice>;

interface TuneFile {
  format: typeof FORMAT;
  version: typeof VERSION;
  devices: Record<string, DeviceChoices>;
}

/** A device's stored choices, and whether the store may be written. */
export interface LoadedChoices {
  choices: Map<string, StoredChoice>;
  /** Why nothing will be written (an unreadable or foreign file), or undefined. */
  readOnlyBecause?: string;
}

/**
 * "vendor | architecture | device | description | kernels <hash>": one key per driver + kernels,
 * and " | dawn poll throttled" where Node throttles Dawn's poll loop (src/gpu/dawnPolling.ts): a
 * software adapter's kernels then run with a core more, so choices timed under Dawn's spin (the
 * keys without it, as before the throttle) are not reused.
 */
export function deviceKey(
  adapter: AdapterSummary,
  kernelCode: readonly string[],
  dawnPolling?: DawnPolling,
): string {
  const parts = [adapter.vendor, adapter.architecture, adapter.device, adapter.description];
  const polling = dawnPolling === 'throttled' ? ' | dawn poll throttled' : '';
  return `${parts.join(' | ')} | kernels ${fnv1a(kernelCode.join('\n'))}${polling}`;
}

/** 32-bit FNV-1a of the text's UTF-16 code units, as 8 hex digits: a change detector, not a MAC. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

export async function loadChoices(store: StoredText, device: string): Promise<LoadedChoices> {
  let text: string | undefined;
  try {
    text = await store.read(TUNE_CACHE_NAME);
  } catch (e) {
    return { choices: new Map(), readOnlyBecause: (e as Error).message };
  }
  if (text === undefined) return { choices: new Map() };
  const file = parseTuneFile(text);
  if (typeof file === 'string')
    return {
      choices: new Map(),
      readOnlyBecause: `${store.where(TUNE_CACHE_NAME)} ${file}: left as it is (delete it to keep choices again)`,
    };
  return { choices: new Map(Object.entries(file.devices[device] ?? {})) };
}

/**
 * Adds `fresh` to the device's stored choices. Reads the store again first, so choices another
 * process stored meanwhile for other devices or products are kept.
 */
export async function saveChoices(
  store: StoredText,
  device: string,
  fresh: ReadonlyMap<string, StoredChoice>,
): Promise<void> {
  const text = await store.read(TUNE_CACHE_NAME);
  const parsed = text === undefined ? emptyFile() : parseTuneFile(text);
  if (typeof parsed === 'string') return;
  parsed.devices[device] = { ...(parsed.devices[device] ?? {}), ...Object.fromEntries(fresh) };
  await store.write(TUNE_CACHE_NAME, `${JSON.stringify(parsed, null, 1)}\n`);
}

function emptyFile(): TuneFile {
  return { format: FORMAT, version: VERSION, devices: {} };
}

/** The file, or what is wrong with it. Entries that do not have the stored shape are dropped. */
export function parseTuneFile(text: string): TuneFile | string {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return 'is not JSON';
  }
  if (!isRecord(data) || data.format !== FORMAT)
    return `is not a shadergrad tune cache (no "format": "${FORMAT}")`;
  if (data.version !== VERSION)
    return `is tune cache version ${String(data.version)}; this shadergrad reads version ${VERSION}`;
  if (!isRecord(data.devices)) return 'has no "devices" object';
  const devices: Record<string, DeviceChoices> = {};
  for (const [key, entries] of Object.entries(data.devices)) {
    if (!isRecord(entries)) continue;
    devices[key] = Object.fromEntries(
      Object.entries(entries).filter((e): e is [string, StoredChoice] => isStoredChoice(e[1])),
    );
  }
  return { format: FORMAT, version: VERSION, devices };
}

function isStoredChoice(x: unknown): x is StoredChoice {
  return (
    isRecord(x) &&
    typeof x.choice === 'string' &&
    (parseChoice(x.choice) !== undefined || isPathName(x.choice)) &&
    typeof x.ms === 'number' &&
    typeof x.defaultMs === 'number'
  );
}

/** A convolution path's name, as the path races store it. */
function isPathName(name: string): boolean {
  return [...INPUT_GRAD_PATHS, ...CONV_PATHS].some((p) => p === name);
}

const VARIANTS: readonly MatmulVariant[] = [
  'naive',
  'registerTile',
  'workgroupTile',
  'subgroupTile',
];

/** The inverse of choiceName; undefined for anything choiceName does not write. */
export function parseChoice(name: string): MatmulChoice | undefined {
  const [variant, size, option, ...rest] = name.split(' ');
  const known = VARIANTS.find((v) => v === variant);
  if (!known || rest.length > 0) return undefined;
  let choice: MatmulChoice | undefined;
  if (known === 'workgroupTile') choice = size === undefined ? { variant: known } : undefined;
  else if (known === 'subgroupTile') choice = { variant: known, wgSize: Number(size) };
  else {
    const [cols, rows] = (size ?? '').split('x').map(Number);
    const quadK = option === 'quadK' ? { quadK: true } : {};
    choice = { variant: known, wgCols: cols ?? NaN, wgRows: rows ?? NaN, ...quadK };
  }
  // Round trip: rejects "registerTile 8x", "subgroupTile 1.5", "naive 8x8 quadK" and the like.
  return choice && choiceName(choice) === name && sizesValid(choice) ? choice : undefined;
}

function sizesValid(c: MatmulChoice): boolean {
  return [c.wgCols, c.wgRows, c.wgSize].every(
    (x) => x === undefined || (Number.isInteger(x) && x >= 1 && x <= 1024),
  );
}

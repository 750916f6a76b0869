/** Errors the engine throws, so callers can tell them apart with `instanceof`. */
import { mib } from './units';

/** Base class: a message meant for the user, naming what went wrong and what to change. */
export class ShadergradError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ShadergradError';
  }
}

/** The GPU device was lost (driver reset, destroy(), tab backgrounded for too long). */
export class DeviceLostError extends ShadergradError {
  constructor(
    readonly reason: string,
    detail: string,
  ) {
    super(`WebGPU device lost (${reason})${detail ? `: ${detail}` : ''}`);
    this.name = 'DeviceLostError';
  }
}

/** A kernel failed validation, ran out of memory or did not compile; names the kernel label. */
export class KernelError extends ShadergradError {
  constructor(
    readonly label: string,
    message: string,
  ) {
    super(`${label}: ${message}`);
    this.name = 'KernelError';
  }
}

export type AdapterKind = 'hardware' | 'lavapipe' | 'swiftshader' | 'other-software' | 'unknown';

/** One line for logs: which adapter, software or not, and the limits that matter to training. */
export function describeAdapter(
  a: { kind: AdapterKind; vendor: string; architecture: string; description: string },
  limits: GPUSupportedLimits,
): string {
  const name = [a.description, a.vendor, a.architecture].filter((s) => s !== '').join(' / ');
  const software = a.kind === 'hardware' ? 'hardware' : `software (${a.kind})`;
  return (
    `WebGPU adapter: ${name || 'unnamed'} [${software}]; ` +
    `max storage binding ${mib(limits.maxStorageBufferBindingSize, 0)}, ` +
    `workgroup storage ${limits.maxComputeWorkgroupStorageSize} B, ` +
    `invocations/workgroup ${limits.maxComputeInvocationsPerWorkgroup}`
  );
}

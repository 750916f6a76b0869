/**
 * The race detector in the page: wgsl_reflect's detectRaces interprets every invocation of one
 * workgroup in lockstep on host copies of the buffers and reports each pair of accesses to the
 * same byte, at least one a write, with no barrier between them. It runs on a small case (the
 * interpreter is far slower than the GPU) for the calls whose entry points use workgroup memory
 * (the registry's `workgroupMemory`), with the source the run compiled, edited or not.
 */
import { detectRaces, type RaceReport } from 'wgsl_reflect/wgsl_reflect.module.js';
import { type Gpu } from '../../src/index';
import { kernelFamilies, readTensor, runCalls, type KernelCall } from '../../src/kernelApi';
import { type KernelCase } from '../../bench/cases';
import { fileLine } from './edits';

/** What the detector found in one call. */
export interface RaceFinding {
  /** The call's label. */
  call: string;
  /** Races, in words with file lines (the first few), and how many there were in all. */
  races: string[];
  raceCount: number;
  /** Interpreter errors (a construct it does not support, barrier divergence, ...). */
  errors: string[];
}

const SHOWN = 5;

/** Whether the call's entry point uses workgroup memory and barriers. */
export function usesWorkgroupMemory(call: KernelCall): boolean {
  const family = kernelFamilies.find((f) => f.shader.name === call.shader.name);
  return family?.workgroupMemory?.includes(call.entryPoint) ?? false;
}

/** A race in words, with lines counted in the family's own file as the editor shows them. */
export function describeRace(call: KernelCall, r: RaceReport): string {
  const where = (line: number): string => `${call.shader.name}.wgsl:${fileLine(call.shader, line)}`;
  return (
    `${r.bufferId} byte ${r.byte}: invocation ${r.a.invocation} ${r.a.kind}s (${where(r.a.line)}) ` +
    `and invocation ${r.b.invocation} ${r.b.kind}s (${where(r.b.line)}) with no barrier between`
  );
}

/** Binding i of the call's tensors, then its Params as the uniform after them. */
export function raceBindings(
  buffers: readonly ArrayBuffer[],
  params: ArrayBuffer | undefined,
): Record<string, Record<string, unknown>> {
  const group: Record<string, unknown> = {};
  buffers.forEach((b, i) => (group[i] = b));
  if (params) group[buffers.length] = { uniform: params.slice(0) };
  return { 0: group };
}

async function detectCall(gpu: Gpu, call: KernelCall): Promise<RaceFinding> {
  const hosts = await Promise.all(call.tensors.map((t) => readTensor(gpu, t)));
  const buffers = hosts.map(
    (h) => new Uint8Array(h.buffer, h.byteOffset, h.byteLength).slice().buffer,
  );
  try {
    const result = detectRaces(
      call.shader.code,
      call.entryPoint,
      [1, 1, 1],
      raceBindings(buffers, call.params),
      { constants: { ...call.constants } },
    );
    return {
      call: call.label,
      races: result.races.slice(0, SHOWN).map((r) => describeRace(call, r)),
      raceCount: result.races.length,
      errors: result.errors,
    };
  } catch (e) {
    return { call: call.label, races: [], raceCount: 0, errors: [String(e)] };
  }
}

/** Runs the case's setup on the GPU (its outputs are the calls' inputs), then the detector. */
export async function findRaces(gpu: Gpu, c: KernelCase): Promise<RaceFinding[]> {
  const checked = c.calls.filter(usesWorkgroupMemory);
  if (checked.length === 0) return [];
  if (c.setup.length > 0) await runCalls(gpu, c.setup);
  const findings: RaceFinding[] = [];
  for (const call of checked) findings.push(await detectCall(gpu, call));
  return findings;
}

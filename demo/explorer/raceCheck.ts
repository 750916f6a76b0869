/**
 * One call through wgsl_reflect's race detector, on host copies of its buffers: it interprets
 * every invocation of one workgroup in lockstep and reports each pair of accesses to the same byte,
 * at least one a write, with no barrier between them. Pure (no DOM, no GPU), so it runs in the
 * page's worker (./raceWorker) and in Node tests alike.
 */
import { detectRaces, type RaceReport } from 'wgsl_reflect/wgsl_reflect.module.js';
import { fileLine, type ShaderSource } from './edits';

/** What the detector needs of a call: its source, entry point, constants and buffer contents. */
export interface RaceInput {
  label: string;
  shader: ShaderSource;
  entryPoint: string;
  constants: Readonly<Record<string, number>>;
  /** The call's tensors' bytes, in binding order. */
  buffers: ArrayBuffer[];
  params: ArrayBuffer | undefined;
}

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

/** A race in words, with lines counted in the family's own file as the editor shows them. */
export function describeRace(shader: ShaderSource, r: RaceReport): string {
  const where = (line: number): string => `${shader.name}.wgsl:${fileLine(shader, line)}`;
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
  if (params) group[buffers.length] = { uniform: params };
  return { 0: group };
}

/** Interprets workgroup (0, 0, 0) of the call; a source it cannot run becomes an error. */
export function detectCallRaces(input: RaceInput): RaceFinding {
  const { label, shader } = input;
  try {
    const bindings = raceBindings(input.buffers, input.params);
    const constants = { ...input.constants };
    const result = detectRaces(shader.code, input.entryPoint, [1, 1, 1], bindings, { constants });
    return {
      call: label,
      races: result.races.slice(0, SHOWN).map((r) => describeRace(shader, r)),
      raceCount: result.races.length,
      errors: result.errors,
    };
  } catch (e) {
    return { call: label, races: [], raceCount: 0, errors: [String(e)] };
  }
}

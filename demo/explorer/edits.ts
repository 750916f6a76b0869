/**
 * Edited shaders: the editor holds a family's own .wgsl file (the lines compile errors and race
 * reports count in); a run compiles common.wgsl followed by the edited file under the family's
 * name, in every call of the case that used the library's source. The pipeline cache keys on the
 * code as well as the name, so an edit compiles anew and the library's pipeline stays as it was.
 */
import type { KernelCall } from '../../src/kernelApi';
import type { KernelCase } from '../../bench/cases';

export type ShaderSource = KernelCall['shader'];

/** The family's own file: the shader's code after the common.wgsl prelude. */
export function fileText(shader: ShaderSource): string {
  return shader.code.split('\n').slice(shader.prefixLines).join('\n');
}

/** The shader with its file replaced by `text`, the prelude and name kept. */
export function editedShader(shader: ShaderSource, text: string): ShaderSource {
  const prelude = shader.code.split('\n').slice(0, shader.prefixLines).join('\n');
  return { name: shader.name, code: `${prelude}\n${text}`, prefixLines: shader.prefixLines };
}

/** The case with every call (setup included) of an edited shader using the edit instead. */
export function withEdits(c: KernelCase, edits: ReadonlyMap<string, ShaderSource>): KernelCase {
  const swap = (call: KernelCall): KernelCall => {
    const shader = edits.get(call.shader.name);
    return shader ? { ...call, shader } : call;
  };
  return { ...c, setup: c.setup.map(swap), calls: c.calls.map(swap) };
}

/** A file line of the shader from a line of its full code (prelude included), both from 1. */
export function fileLine(shader: ShaderSource, codeLine: number): number {
  return codeLine - shader.prefixLines;
}

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

/** The first `<name>.wgsl:line:col` of a compile report, where the editor puts its cursor. */
export function errorLocation(
  report: string,
  name: string,
): { line: number; col: number } | undefined {
  const at = new RegExp(`(?:^|\\s)${name}\\.wgsl:(\\d+):(\\d+)`).exec(report);
  return at ? { line: Number(at[1]), col: Number(at[2]) } : undefined;
}

/** The offset in `text` of a 1-based line and column (clamped to the text). */
export function offsetOf(text: string, line: number, col: number): number {
  const lines = text.split('\n');
  const before = lines.slice(0, Math.max(0, line - 1)).reduce((a, l) => a + l.length + 1, 0);
  return Math.min(text.length, before + Math.max(0, col - 1));
}

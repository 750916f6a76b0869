/**
 * The first two checks of a student's kernel, before anything runs: does the file compile (the
 * compiler's messages as file:line:col), and does its entry point bind what the exercise binds
 * (the same number of buffers, each with the access the exercise needs, then the Params uniform).
 */
import type { Gpu } from '../gpu/device';
import {
  reflectBindings,
  reflectShader,
  type ReflectedBinding,
  type ShaderSource,
} from '../gpu/pipelines';
import type { BufferRole, ExerciseCase } from './exercise';

/** Compiler errors as `file:line:col message`; empty when the module compiles. */
export async function compileErrors(gpu: Gpu, shader: ShaderSource): Promise<string[]> {
  gpu.device.pushErrorScope('validation');
  const module = gpu.device.createShaderModule({ label: shader.name, code: shader.code });
  const scope = gpu.device.popErrorScope();
  const info = await module.getCompilationInfo();
  await scope;
  return info.messages
    .filter((m) => m.type === 'error')
    .map((m) => `${shader.name}:${m.lineNum}:${m.linePos} ${m.message}`);
}

const accessFor: Record<BufferRole, ReflectedBinding['kind']> = {
  read: 'read',
  write: 'read_write',
  read_write: 'read_write',
};

const wgslAccess: Record<ReflectedBinding['kind'], string> = {
  read: 'var<storage, read>',
  read_write: 'var<storage, read_write>',
  uniform: 'var<uniform>',
};

/** What is wrong with the entry point's bindings for this case; empty when they fit. */
export function bindingProblems(
  shader: ShaderSource,
  entryPoint: string,
  sample: ExerciseCase,
): string[] {
  let found: ReflectedBinding[];
  try {
    found = reflectBindings(shader, entryPoint);
  } catch (e) {
    return [e instanceof Error ? e.message : String(e)];
  }
  const wanted = [
    ...sample.buffers.map((b) => ({ name: b.name, kind: accessFor[b.role] })),
    { name: 'params', kind: 'uniform' as const },
  ];
  const problems: string[] = [];
  wanted.forEach((w, i) => {
    const got = found.find((b) => b.binding === i);
    const declared = declaredNames(shader).get(i);
    if (!got && declared)
      problems.push(`${entryPoint} does not use ${declared} (@binding(${i})) yet`);
    else if (!got)
      problems.push(`@binding(${i}) (${w.name}) is missing: declare it as ${wgslAccess[w.kind]}`);
    else if (got.kind !== w.kind)
      problems.push(
        `@binding(${i}) ${got.name} is ${wgslAccess[got.kind]}; ${w.name} needs ${wgslAccess[w.kind]}`,
      );
  });
  for (const extra of found.filter((b) => b.binding >= wanted.length))
    problems.push(
      `@binding(${extra.binding}) ${extra.name} is not part of this exercise; remove it`,
    );
  return problems;
}

/** The module's @group(0) buffer names by binding, used or not by the entry point. */
function declaredNames(shader: ShaderSource): Map<number, string> {
  const r = reflectShader(shader);
  return new Map(
    [...r.storage, ...r.uniforms].filter((v) => v.group === 0).map((v) => [v.binding, v.name]),
  );
}

/**
 * Builds a family's ShaderSource: common.wgsl, then the family's own file; `extending`, another
 * family's file that this one's declarations build on, goes between the two.
 */
import type { ShaderSource } from '../gpu/pipelines';
import common from '../../shaders/common.wgsl?raw';

const commonLines = common.split('\n').length;

export function familyShader(name: string, code: string, extending?: string): ShaderSource {
  if (extending === undefined)
    return { name, code: `${common}\n${code}`, prefixLines: commonLines };
  const prefixLines = commonLines + extending.split('\n').length;
  return { name, code: `${common}\n${extending}\n${code}`, prefixLines };
}

const f16Modules = new WeakMap<ShaderSource, Map<string, ShaderSource>>();

/**
 * The family's module with the storage aliases `aliases` (lines `alias <name> = f32;` in its file)
 * switched to f16, behind `enable f16;` (a directive precedes every declaration, so it goes
 * first): the same entry points then read or write those bindings as half precision. Needs the
 * device's `shader-f16` feature. One object per family and alias set, so pipelines are shared.
 */
export function withF16Storage(shader: ShaderSource, aliases: readonly string[]): ShaderSource {
  if (aliases.length === 0) return shader;
  const key = [...aliases].sort().join(',');
  const modules = f16Modules.get(shader) ?? new Map<string, ShaderSource>();
  f16Modules.set(shader, modules);
  let module = modules.get(key);
  if (!module) {
    let code = shader.code;
    for (const alias of aliases) {
      const line = `alias ${alias} = f32;`;
      if (!code.includes(line))
        throw new Error(`${shader.name}: no storage alias '${line}' to switch to f16`);
      code = code.replace(line, `alias ${alias} = f16;`);
    }
    module = { ...shader, code: `enable f16;\n${code}`, prefixLines: shader.prefixLines + 1 };
    modules.set(key, module);
  }
  return module;
}

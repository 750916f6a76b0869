/** Builds a family's ShaderSource: common.wgsl, then the family's own file. */
import type { ShaderSource } from '../gpu/pipelines';
import common from '../../shaders/common.wgsl?raw';

const commonLines = common.split('\n').length;

export function familyShader(name: string, code: string): ShaderSource {
  return { name, code: `${common}\n${code}`, prefixLines: commonLines };
}

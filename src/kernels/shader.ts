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

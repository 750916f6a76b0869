/**
 * A kernel family's description for the registry (src/kernels/index.ts): its shader, the Params
 * layout each entry point binds, and whether it uses workgroup memory (those get the race
 * detector). Tests iterate the registry, so a family listed here is checked for Params packing.
 */
import type { ShaderSource } from '../gpu/pipelines';
import type { ParamsLayout, ScalarType } from '../gpu/uniforms';

export interface KernelFamily {
  readonly name: string;
  readonly shader: ShaderSource;
  /** Entry point name -> the Params layout its uniform binding uses. */
  readonly entryPoints: Readonly<Record<string, ParamsLayout<Record<string, ScalarType>>>>;
  /** Entry points that use var<workgroup> and barriers. */
  readonly workgroupMemory?: readonly string[];
}

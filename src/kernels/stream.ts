/**
 * Stream copy (shaders/stream.wgsl): y = x. Measures the adapter's memory bandwidth, so the
 * benchmarks and the kernel explorer can say what fraction of it a memory-bound kernel reaches
 * (fmaPeak is the arithmetic counterpart). Entry points: streamCopyVec4 (vec4s, several per
 * invocation) when the count is a multiple of 4 and both tensors are 16-byte aligned, else
 * streamCopy (one f32 per invocation).
 */
import { ShadergradError } from '../base/errors';
import { dispatchFor, type KernelCall } from '../gpu/dispatch';
import { defineParams } from '../gpu/uniforms';
import { elementCount, type GpuTensor } from '../gpu/tensor';
import { expectCount, expectWhole } from './checks';
import type { KernelFamily } from './family';
import type { StreamCopyArgs } from './stream.cpu';
import { familyShader } from './shader';
import source from '../../shaders/stream.wgsl?raw';

export const streamShader = familyShader('stream', source);
export const streamParams = defineParams('Params', { count: 'u32' });

const WORKGROUP_SIZE = 256;
/** vec4s per streamCopyVec4 invocation: the best of 1-32 on lavapipe (docs/kernels/stream.md). */
const VEC4_PER_INVOCATION = 8;

export type StreamCopyEntry = 'streamCopy' | 'streamCopyVec4';

export function streamCopy(
  args: StreamCopyArgs<GpuTensor>,
  entryPoint?: StreamCopyEntry,
): KernelCall {
  const count = elementCount(args.x.shape);
  const label = 'stream.streamCopy';
  expectWhole(label, 'count', count);
  expectCount(label, 'y', args.y, count);
  const quads = count % 4 === 0 && args.x.byteOffset % 16 === 0 && args.y.byteOffset % 16 === 0;
  const chosen = entryPoint ?? (quads ? 'streamCopyVec4' : 'streamCopy');
  if (chosen === 'streamCopyVec4' && !quads)
    throw new ShadergradError(`${label}Vec4: needs count % 4 == 0 and 16-byte aligned tensors`);
  if (chosen === 'streamCopy')
    return {
      label: `${label}(${count})`,
      shader: streamShader,
      entryPoint: chosen,
      constants: { workgroupSize: WORKGROUP_SIZE },
      tensors: [args.x, args.y],
      params: streamParams.pack({ count }),
      workgroups: dispatchFor(count, WORKGROUP_SIZE),
    };
  return {
    label: `${label}Vec4(${count})`,
    shader: streamShader,
    entryPoint: chosen,
    constants: { workgroupSize: WORKGROUP_SIZE, vec4PerInvocation: VEC4_PER_INVOCATION },
    tensors: [args.x, args.y],
    params: streamParams.pack({ count: count / 4 }),
    workgroups: dispatchFor(count / 4, WORKGROUP_SIZE * VEC4_PER_INVOCATION),
  };
}

export const streamFamily: KernelFamily = {
  name: 'stream',
  shader: streamShader,
  entryPoints: { streamCopy: streamParams, streamCopyVec4: streamParams },
};

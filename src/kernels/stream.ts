/**
 * Stream copy (shaders/stream.wgsl): y = x, one f32 per invocation. Measures the adapter's memory
 * bandwidth, so the benchmarks and the kernel explorer can say what fraction of it a memory-bound
 * kernel reaches (fmaPeak is the arithmetic counterpart). Entry point: streamCopy.
 */
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

export function streamCopy(args: StreamCopyArgs<GpuTensor>): KernelCall {
  const count = elementCount(args.x.shape);
  const label = 'stream.streamCopy';
  expectWhole(label, 'count', count);
  expectCount(label, 'y', args.y, count);
  return {
    label: `${label}(${count})`,
    shader: streamShader,
    entryPoint: 'streamCopy',
    constants: { workgroupSize: WORKGROUP_SIZE },
    tensors: [args.x, args.y],
    params: streamParams.pack({ count }),
    workgroups: dispatchFor(count, WORKGROUP_SIZE),
  };
}

export const streamFamily: KernelFamily = {
  name: 'stream',
  shader: streamShader,
  entryPoints: { streamCopy: streamParams },
};

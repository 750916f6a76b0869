/**
 * Batch assembly (shaders/batchGather.wgsl): gathers a batch of B images and labels from a byte
 * dataset on the GPU through an epoch's permutation, so a training step uploads nothing but the
 * batch `offset` uniform. Pixels become byte / 255 (PyTorch ToTensor); an index >= count yields
 * NaN pixels and label -1 instead of an out-of-bounds read. One invocation per output element.
 * Legend: count images of P pixels, a batch of B.
 */
import { dispatchFor, type KernelCall } from '../gpu/dispatch';
import { ShadergradError } from '../base/errors';
import { defineParams } from '../gpu/uniforms';
import { elementCount, type DType, type GpuTensor } from '../gpu/tensor';
import type { GatherImagesArgs, GatherLabelsArgs } from './batchGather.cpu';
import { expectCount, expectDtype, expectWhole } from './checks';
import type { KernelFamily } from './family';
import { familyShader } from './shader';
import source from '../../shaders/batchGather.wgsl?raw';

export const batchGatherShader = familyShader('batchGather', source);
export const batchGatherParams = defineParams('Params', {
  count: 'u32',
  pixels: 'u32',
  batch: 'u32',
  offset: 'u32',
});

const WORKGROUP_SIZE = 256;

/** out [B, ...image] f32 = images[perm[offset + b]] / 255, from images u8 [count, ...image]. */
export function gatherImages(args: GatherImagesArgs<GpuTensor>): KernelCall {
  const label = 'batchGather.gatherImages';
  const { images, perm, out, offset, batch } = args;
  checkBatch(label, args, 'f32');
  expectDtype(label, 'images', images, 'u8');
  const pixels = elementCount(out.shape) / batch;
  expectWhole(label, 'P (pixels per image)', pixels);
  if (out.shape[0] !== batch) {
    throw new ShadergradError(
      `${label}: out [${out.shape.join(', ')}] should be [${batch}, ...image]`,
    );
  }
  const count = images.shape[0] ?? 0;
  expectCount(label, `images (${count} images of ${pixels} pixels)`, images, count * pixels);
  return {
    label: `${label}(B=${batch}, P=${pixels}, offset=${offset})`,
    shader: batchGatherShader,
    entryPoint: 'gatherImages',
    constants: { workgroupSize: WORKGROUP_SIZE },
    tensors: [images, perm, out],
    params: batchGatherParams.pack({ count, pixels, batch, offset }),
    workgroups: dispatchFor(batch * pixels, WORKGROUP_SIZE),
  };
}

/** out [B] i32 = labels[perm[offset + b]], from labels u8 [count]. */
export function gatherLabels(args: GatherLabelsArgs<GpuTensor>): KernelCall {
  const label = 'batchGather.gatherLabels';
  const { labels, perm, out, offset, batch } = args;
  checkBatch(label, args, 'i32');
  expectDtype(label, 'labels', labels, 'u8');
  expectCount(label, 'out', out, batch);
  const count = elementCount(labels.shape);
  return {
    label: `${label}(B=${batch}, offset=${offset})`,
    shader: batchGatherShader,
    entryPoint: 'gatherLabels',
    constants: { workgroupSize: WORKGROUP_SIZE },
    tensors: [labels, perm, out],
    params: batchGatherParams.pack({ count, pixels: 1, batch, offset }), // a label is one byte
    workgroups: dispatchFor(batch, WORKGROUP_SIZE),
  };
}

/** batch >= 1, offset >= 0, perm u32 with room for offset + batch, out of the given dtype. */
function checkBatch(
  label: string,
  args: { perm: GpuTensor; out: GpuTensor; offset: number; batch: number },
  outDtype: DType,
): void {
  expectWhole(label, 'batch', args.batch);
  expectWhole(label, 'offset', args.offset, 0);
  expectDtype(label, 'perm', args.perm, 'u32');
  expectDtype(label, 'out', args.out, outDtype);
  const length = elementCount(args.perm.shape);
  if (args.offset + args.batch > length) {
    throw new ShadergradError(
      `${label}: offset ${args.offset} + batch ${args.batch} runs past the ${length}-entry permutation`,
    );
  }
}

export const batchGatherFamily: KernelFamily = {
  name: 'batchGather',
  shader: batchGatherShader,
  entryPoints: { gatherImages: batchGatherParams, gatherLabels: batchGatherParams },
};

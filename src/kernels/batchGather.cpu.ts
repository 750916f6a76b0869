/** CPU twin of shaders/batchGather.wgsl: batch assembly from a byte dataset through a permutation. */
import type { FloatArray } from './common.cpu';

/** Legend: count images of P pixels; a batch of B = `batch` images. */
export interface GatherImagesArgs<Bytes, Indices = Bytes, Out = Bytes> {
  /** Dataset pixels, u8 [count, P] (any trailing image shape, e.g. [count, 1, 28, 28]). */
  images: Bytes;
  /** An epoch's permutation of image indices, u32; read at offset .. offset + B - 1. */
  perm: Indices;
  /** [B, P] f32: byte / 255 (PyTorch ToTensor); NaN for an index >= count. */
  out: Out;
  /** Position in perm of the batch's first image. */
  offset: number;
  batch: number;
}

export interface GatherLabelsArgs<Bytes, Indices = Bytes, Out = Bytes> {
  /** Dataset labels, u8 [count]. */
  labels: Bytes;
  /** As for gatherImages. */
  perm: Indices;
  /** [B] i32 class ids; -1 for an index >= count. */
  out: Out;
  offset: number;
  batch: number;
}

export function gatherImagesCpu(
  args: GatherImagesArgs<Uint8Array, ArrayLike<number>, FloatArray>,
): void {
  const { images, perm, out, offset, batch } = args;
  const P = out.length / batch;
  const count = images.length / P;
  for (let b = 0; b < batch; b++) {
    const image = perm[offset + b] ?? count;
    for (let p = 0; p < P; p++) {
      out[b * P + p] = image < count ? (images[image * P + p] ?? 0) / 255 : NaN;
    }
  }
}

export function gatherLabelsCpu(
  args: GatherLabelsArgs<Uint8Array, ArrayLike<number>, Int32Array>,
): void {
  const { labels, perm, out, offset, batch } = args;
  for (let b = 0; b < batch; b++) {
    const image = perm[offset + b] ?? labels.length;
    out[b] = image < labels.length ? (labels[image] ?? 0) : -1;
  }
}

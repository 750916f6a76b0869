/**
 * im2col / col2im kernels (shaders/conv2dIm2col.wgsl), the data movement of convolution as a
 * matmul: im2col unrolls every KH x KW window of x [N, C, H, W] into a column of
 * cols [N, C*KH*KW, OH*OW] (zeros over padding), so conv2d forward is weight[O, C*KH*KW] x cols;
 * col2im is its adjoint, summing dCols back into dX [N, C, H, W] by gathering (no atomics).
 * Geometry (stride, 'same'/'valid'/numeric padding) comes from conv2dGeometry in geometry.ts.
 */
import { dispatchFor, type KernelCall } from '../gpu/dispatch';
import { ShadergradError } from '../base/errors';
import { defineParams } from '../gpu/uniforms';
import type { GpuTensor } from '../gpu/tensor';
import { expectCount, expectDtype, expectFloat, expectWhole } from './checks';
import type { Col2imArgs, Im2colArgs } from './conv2dIm2col.cpu';
import type { Conv2dGeometry } from './geometry';
import type { KernelFamily } from './family';
import { familyShader, withF16Storage } from './shader';
import source from '../../shaders/conv2dIm2col.wgsl?raw';

export const conv2dIm2colShader = familyShader('conv2dIm2col', source);
export const conv2dIm2colParams = defineParams('Params', {
  N: 'u32',
  C: 'u32',
  H: 'u32',
  W: 'u32',
  KH: 'u32',
  KW: 'u32',
  strideH: 'u32',
  strideW: 'u32',
  padTop: 'u32',
  padLeft: 'u32',
  OH: 'u32',
  OW: 'u32',
  count: 'u32',
});

const WORKGROUP_SIZE = 256;

/** Override values for benches and tests; the defaults suit every shape. */
export type Im2colEntry = 'im2col' | 'im2colPlane' | 'im2colPlaneVec4';

export interface Conv2dIm2colTuning {
  /** Invocations per workgroup (the `workgroupSize` override). */
  workgroupSize?: number;
  /**
   * im2col's entry point: im2colPlaneVec4 (the default when OH*OW % 4 == 0, else im2colPlane:
   * one invocation per cols row of OH*OW, stored as vec4s or floats) or im2col (one per OW
   * segment, the simpler sibling; about 1.5x slower on lavapipe, where integer division per
   * invocation is a large part of the cost).
   */
  im2colEntry?: Im2colEntry;
}

/** Throws unless every size is whole (>= 1, padding >= 0) and the tensors fit u32 indexing. */
function checkGeometry(label: string, g: Conv2dGeometry): { xCount: number; colsCount: number } {
  const sizes = ['N', 'C', 'H', 'W', 'KH', 'KW', 'strideH', 'strideW', 'OH', 'OW'] as const;
  for (const name of sizes) expectWhole(label, name, g[name]);
  expectWhole(label, 'padTop', g.padTop, 0);
  expectWhole(label, 'padLeft', g.padLeft, 0);
  const xCount = g.N * g.C * g.H * g.W;
  const colsCount = g.N * g.C * g.KH * g.KW * g.OH * g.OW;
  if (Math.max(xCount, colsCount) >= 2 ** 32) {
    throw new ShadergradError(`${label}: ${xCount} x / ${colsCount} cols elements overflow u32`);
  }
  return { xCount, colsCount };
}

function describe(g: Conv2dGeometry): string {
  const kernel = `k${g.KH}x${g.KW} s${g.strideH}x${g.strideW} p${g.padTop},${g.padLeft}`;
  return `[${g.N}, ${g.C}, ${g.H}, ${g.W}] ${kernel} -> ${g.OH}x${g.OW}`;
}

function call(
  entryPoint: Im2colEntry | 'col2im' | 'col2imUnitStride',
  g: Conv2dGeometry,
  tensors: GpuTensor[],
  count: number,
  tuning: Conv2dIm2colTuning,
  halfCols = false,
): KernelCall {
  const workgroupSize = tuning.workgroupSize ?? WORKGROUP_SIZE;
  expectWhole(`conv2dIm2col.${entryPoint}`, 'workgroupSize', workgroupSize);
  return {
    label: `conv2dIm2col.${entryPoint}(${describe(g)}${halfCols ? ', cols f16' : ''})`,
    shader: halfCols ? withF16Storage(conv2dIm2colShader, ['ColsStored']) : conv2dIm2colShader,
    entryPoint,
    constants: { workgroupSize },
    tensors,
    params: conv2dIm2colParams.pack({ ...g, count }),
    workgroups: dispatchFor(count, workgroupSize),
  };
}

/**
 * cols [N, C*KH*KW, OH*OW] from x [N, C, H, W]; one invocation per cols row (or OW segment). An
 * f16 cols tensor gets each value rounded to the nearest f16 (needs `shader-f16`).
 */
export function im2col(args: Im2colArgs<GpuTensor>, tuning: Conv2dIm2colTuning = {}): KernelCall {
  const label = 'conv2dIm2col.im2col';
  const { xCount, colsCount } = checkGeometry(label, args.geometry);
  expectCount(label, 'x', args.x, xCount);
  expectCount(label, 'cols', args.cols, colsCount);
  expectDtype(label, 'x', args.x, 'f32');
  expectFloat(label, 'cols', args.cols);
  const g = args.geometry;
  const rows = g.N * g.C * g.KH * g.KW;
  const quadsFit = (g.OH * g.OW) % 4 === 0 && args.cols.byteOffset % 16 === 0;
  const entryPoint = tuning.im2colEntry ?? (quadsFit ? 'im2colPlaneVec4' : 'im2colPlane');
  if (entryPoint === 'im2colPlaneVec4' && !quadsFit)
    throw new ShadergradError(`${label}: im2colPlaneVec4 needs OH*OW % 4 == 0 and aligned cols`);
  const count = entryPoint === 'im2col' ? rows * g.OH : rows;
  return call(entryPoint, g, [args.x, args.cols], count, tuning, args.cols.dtype === 'f16');
}

/** dX [N, C, H, W] from dCols [N, C*KH*KW, OH*OW]; one invocation per dX row of W. */
export function col2im(args: Col2imArgs<GpuTensor>, tuning: Conv2dIm2colTuning = {}): KernelCall {
  const label = 'conv2dIm2col.col2im';
  const { xCount, colsCount } = checkGeometry(label, args.geometry);
  expectCount(label, 'dCols', args.dCols, colsCount);
  expectCount(label, 'dX', args.dX, xCount);
  const g = args.geometry;
  const entryPoint = g.strideH === 1 && g.strideW === 1 ? 'col2imUnitStride' : 'col2im';
  return call(entryPoint, g, [args.dCols, args.dX], g.N * g.C * g.H, tuning);
}

export const conv2dIm2colFamily: KernelFamily = {
  name: 'conv2dIm2col',
  shader: conv2dIm2colShader,
  entryPoints: {
    im2col: conv2dIm2colParams,
    im2colPlane: conv2dIm2colParams,
    im2colPlaneVec4: conv2dIm2colParams,
    col2im: conv2dIm2colParams,
    col2imUnitStride: conv2dIm2colParams,
  },
};

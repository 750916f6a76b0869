/**
 * Kernel cases of the explorer for the kernels the benchmark page does not time on their own:
 * im2col and col2im, activations, bias and the loss reduction. Same contract as the bench's
 * (bench/page/kernelCase.ts): random inputs, the calls, and each output against its CPU twin with
 * the tolerance it is held to.
 */
import {
  activationBackward,
  activationBackwardCpu,
  activationForward,
  activationForwardCpu,
  biasAddForward,
  biasAddForwardCpu,
  biasBackward,
  biasBackwardCpu,
  col2im,
  col2imCpu,
  im2col,
  im2colCpu,
  lossMean,
  lossMeanCpu,
  readFloat32,
  type Activation,
  type Conv2dGeometry,
  type Gpu,
  type GpuTensor,
} from '../../src/index';
import { dotAtol, randomFloats, type TwinCheck } from '../../bench/page/common';
import { makeCase, type KernelCase } from '../../bench/page/kernelCase';
import type { Direction } from '../../bench/page/convSuite';

/** One output read back against the twin's values. */
async function against(
  gpu: Gpu,
  output: string,
  tensor: GpuTensor,
  want: ArrayLike<number>,
  atol: number,
  rtol: number,
): Promise<TwinCheck> {
  return { output, got: await readFloat32(gpu, tensor), want, atol, rtol };
}

/** Windows that can cover one input element: the most terms col2im adds for it. */
function windowsPerElement(g: Conv2dGeometry): number {
  return Math.ceil(g.KH / g.strideH) * Math.ceil(g.KW / g.strideW);
}

/**
 * im2col (a copy with zeros over the padding: bit-exact) or col2im (a sum over the windows that
 * cover each element: within dotAtol of that count).
 */
export function unfoldCase(gpu: Gpu, g: Conv2dGeometry, entry: 'im2col' | 'col2im'): KernelCase {
  const xShape = [g.N, g.C, g.H, g.W];
  const colsShape = [g.N, g.C * g.KH * g.KW, g.OH * g.OW];
  const shape = `N=${g.N} C=${g.C} ${g.H}x${g.W}, kernel ${g.KH}x${g.KW}, stride ${g.strideH}, padding ${g.padTop},${g.padLeft} → ${g.OH}x${g.OW}`;
  return makeCase(gpu, (t) => {
    if (entry === 'im2col') {
      const xHost = randomFloats(
        xShape.reduce((a, b) => a * b),
        101,
      );
      const [x, cols] = [t.upload(xHost, xShape), t.zeros(colsShape)];
      const check = async (): Promise<TwinCheck[]> => {
        const want = new Float32Array(colsShape.reduce((a, b) => a * b));
        im2colCpu({ x: xHost, cols: want, geometry: g });
        return [await against(gpu, 'cols', cols, want, 0, 0)];
      };
      return { shape, setup: [], calls: [im2col({ x, cols, geometry: g })], check };
    }
    const dColsHost = randomFloats(
      colsShape.reduce((a, b) => a * b),
      102,
    );
    const [dCols, dX] = [t.upload(dColsHost, colsShape), t.zeros(xShape)];
    const check = async (): Promise<TwinCheck[]> => {
      const want = new Float64Array(xShape.reduce((a, b) => a * b));
      col2imCpu({ dCols: dColsHost, dX: want, geometry: g });
      return [await against(gpu, 'dX', dX, want, dotAtol(windowsPerElement(g)), 1e-5)];
    };
    return { shape, setup: [], calls: [col2im({ dCols, dX, geometry: g })], check };
  });
}

/**
 * y = f(x) or dX = dY·f'(from y) over `count` elements, x in [-4, 4). The GPU's exp and tanh are
 * approximations of a few ulps: 2e-6 absolute and 1e-5 relative, as tests/kernels/activation.
 */
export function activationCase(
  gpu: Gpu,
  count: number,
  activation: Activation,
  direction: Direction,
): KernelCase {
  return makeCase(gpu, (t) => {
    const xHost = randomFloats(count, 111).map((v) => 4 * v);
    const yHost = new Float32Array(count);
    activationForwardCpu({ x: xHost, y: yHost, activation });
    const shape = `${count} elements, ${activation}`;
    if (direction === 'forward') {
      const [x, y] = [t.upload(xHost, [count]), t.zeros([count])];
      const check = async () => [await against(gpu, 'y', y, yHost, 2e-6, 1e-5)];
      return { shape, setup: [], calls: [activationForward({ x, y, activation })], check };
    }
    const dYHost = randomFloats(count, 112);
    const [y, dY, dX] = [t.upload(yHost, [count]), t.upload(dYHost, [count]), t.zeros([count])];
    const check = async (): Promise<TwinCheck[]> => {
      const want = new Float64Array(count);
      activationBackwardCpu({ y: yHost, dY: dYHost, dX: want, activation });
      return [await against(gpu, 'dX', dX, want, 2e-6, 1e-5)];
    };
    return { shape, setup: [], calls: [activationBackward({ y, dY, dX, activation })], check };
  });
}

/**
 * x[n, c, s] += bias[c] in place (one rounding: 2e-6 absolute, 1e-5 relative), or
 * dBias[c] = the sum of dOut[n, c, s] over n and s (within dotAtol of N·S terms).
 */
export function biasCase(
  gpu: Gpu,
  { N, C, S }: { N: number; C: number; S: number },
  direction: Direction,
): KernelCase {
  const shape = `N=${N} C=${C} S=${S}`;
  return makeCase(gpu, (t) => {
    const xHost = randomFloats(N * C * S, 121);
    if (direction === 'forward') {
      const biasHost = randomFloats(C, 122);
      const [x, bias] = [t.upload(xHost, [N, C, S]), t.upload(biasHost, [C])];
      const check = async (): Promise<TwinCheck[]> => {
        const want = Float64Array.from(xHost);
        biasAddForwardCpu({ x: want, bias: biasHost, N, C, S });
        return [await against(gpu, 'x', x, want, 2e-6, 1e-5)];
      };
      return { shape, setup: [], calls: [biasAddForward({ x, bias, N, C, S })], check };
    }
    const [dOut, dBias] = [t.upload(xHost, [N, C, S]), t.zeros([C])];
    const check = async (): Promise<TwinCheck[]> => {
      const want = new Float64Array(C);
      biasBackwardCpu({ dOut: xHost, dBias: want, N, C, S });
      return [await against(gpu, 'dBias', dBias, want, dotAtol(N * S), 1e-5)];
    };
    return { shape, setup: [], calls: [biasBackward({ dOut, dBias, N, C, S })], check };
  });
}

/** total = mean of N losses: a tree sum of N terms (dotAtol(N)) scaled by 1/N. */
export function lossMeanCase(gpu: Gpu, N: number): KernelCase {
  return makeCase(gpu, (t) => {
    const lossHost = randomFloats(N, 131);
    const [loss, total] = [t.upload(lossHost, [N]), t.zeros([1])];
    const check = async (): Promise<TwinCheck[]> => {
      const want = new Float64Array(1);
      lossMeanCpu({ loss: lossHost, total: want, N });
      return [await against(gpu, 'total', total, want, dotAtol(N) / N, 1e-5)];
    };
    return { shape: `N=${N}`, setup: [], calls: [lossMean({ loss, total, N })], check };
  });
}

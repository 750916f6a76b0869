/**
 * Elementwise cases: activations (forward from x, backward from y) and the conv bias (added in
 * place, or summed into dBias), each against its twin.
 */
import { type Activation, type Gpu } from '../../src/index';
import {
  activationBackward,
  activationBackwardCpu,
  activationForward,
  activationForwardCpu,
  biasAddForward,
  biasAddForwardCpu,
  biasBackward,
  biasBackwardCpu,
  dotAtol,
  randomFloats,
  readFloat32,
} from '../../src/kernelApi';
import type { Direction } from './conv';
import { makeCase, type KernelCase, type TwinCheck } from './kernelCase';

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
    const xHost = randomFloats(count, 111, -4, 4);
    const yHost = new Float32Array(count);
    activationForwardCpu({ x: xHost, y: yHost, activation });
    const shape = `${count} elements, ${activation}`;
    const tolerance = { atol: 2e-6, rtol: 1e-5 };
    if (direction === 'forward') {
      const [x, y] = [t.upload(xHost, [count]), t.zeros([count])];
      const check = async (): Promise<TwinCheck[]> => [
        { output: 'y', got: await readFloat32(gpu, y), want: yHost, ...tolerance },
      ];
      return { shape, setup: [], calls: [activationForward({ x, y, activation })], check };
    }
    const dYHost = randomFloats(count, 112);
    const [y, dY, dX] = [t.upload(yHost, [count]), t.upload(dYHost, [count]), t.zeros([count])];
    const check = async (): Promise<TwinCheck[]> => {
      const want = new Float64Array(count);
      activationBackwardCpu({ y: yHost, dY: dYHost, dX: want, activation });
      return [{ output: 'dX', got: await readFloat32(gpu, dX), want, ...tolerance }];
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
        return [{ output: 'x', got: await readFloat32(gpu, x), want, atol: 2e-6, rtol: 1e-5 }];
      };
      return { shape, setup: [], calls: [biasAddForward({ x, bias, N, C, S })], check };
    }
    const [dOut, dBias] = [t.upload(xHost, [N, C, S]), t.zeros([C])];
    const check = async (): Promise<TwinCheck[]> => {
      const want = new Float64Array(C);
      biasBackwardCpu({ dOut: xHost, dBias: want, N, C, S });
      const got = await readFloat32(gpu, dBias);
      return [{ output: 'dBias', got, want, atol: dotAtol(N * S), rtol: 1e-5 }];
    };
    return { shape, setup: [], calls: [biasBackward({ dOut, dBias, N, C, S })], check };
  });
}

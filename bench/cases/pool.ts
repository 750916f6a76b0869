/**
 * Pooling cases: max and average pooling, forward or backward, against their twins.
 *   pool:  GB/s of the bytes each pass must move at least: forward reads x and writes out (and
 *          argmax), backward reads dOut (and argmax) and writes dX; 4 bytes per element.
 */
import { type Gpu } from '../../src/index';
import {
  avgPoolBackward,
  avgPoolBackwardCpu,
  avgPoolForward,
  avgPoolForwardCpu,
  dotAtol,
  maxPoolBackward,
  maxPoolBackwardCpu,
  maxPoolForward,
  maxPoolForwardCpu,
  randomFloats,
  readFloat32,
  readTensor,
  type PoolGeometry,
} from '../../src/kernelApi';
import { maxWindowsPerElement, poolLabel, poolShape } from '../../src/kernels/geometry';
import type { Direction } from './conv';
import { makeCase, type CaseTensors, type KernelCase, type TwinCheck } from './kernelCase';

export type PoolKind = 'maxPool' | 'avgPool';

/** The reference CNN's pooling layers (2x2, stride 2) after conv1 and conv2. */
export const REFERENCE_POOL_LAYERS = [
  { name: 'pool1', C: 32, H: 28 },
  { name: 'pool2', C: 64, H: 14 },
] as const;

/** A pooling layer's tensors (random x and dOut) and the twins' values for every output. */
function poolTensors(t: CaseTensors, kind: PoolKind, g: PoolGeometry, seed: number) {
  const [inShape, outShape] = [poolShape(g, 'in'), poolShape(g, 'out')];
  const host = {
    x: randomFloats(g.N * g.C * g.H * g.W, seed),
    dOut: randomFloats(g.N * g.C * g.OH * g.OW, seed + 1),
  };
  const tensors = {
    x: t.upload(host.x, inShape),
    dOut: t.upload(host.dOut, outShape),
    out: t.zeros(outShape),
    argmax: t.zeros(outShape, 'u32'),
    dX: t.zeros(inShape),
  };
  const twins = () => {
    const want = {
      out: new Float64Array(host.dOut.length),
      argmax: new Int32Array(host.dOut.length),
      dX: new Float64Array(host.x.length),
    };
    if (kind === 'maxPool') {
      maxPoolForwardCpu({ x: host.x, out: want.out, argmax: want.argmax, geometry: g });
      maxPoolBackwardCpu({ dOut: host.dOut, argmax: want.argmax, dX: want.dX, geometry: g });
    } else {
      avgPoolForwardCpu({ x: host.x, out: want.out, geometry: g });
      avgPoolBackwardCpu({ dOut: host.dOut, dX: want.dX, geometry: g });
    }
    return want;
  };
  return { tensors, twins };
}

/**
 * Forward or backward of one pooling kind on random inputs against its twins. maxPool's backward
 * reads the forward's argmax, so its setup runs the forward. A max and its argmax are exact; a
 * mean of KH·KW values, and a gradient summed over the windows covering an element, round within
 * dotAtol of their number of terms.
 */
export function poolCase(
  gpu: Gpu,
  kind: PoolKind,
  g: PoolGeometry,
  direction: Direction,
  seed = 41,
): KernelCase {
  return makeCase(gpu, (t) => {
    const { tensors: x, twins } = poolTensors(t, kind, g, seed);
    const max = kind === 'maxPool';
    const forward = max
      ? maxPoolForward({ ...x, geometry: g })
      : avgPoolForward({ ...x, geometry: g });
    const shape = poolLabel(g);
    if (direction === 'forward') {
      const check = async (): Promise<TwinCheck[]> => {
        const want = twins();
        const got = await readFloat32(gpu, x.out);
        const atol = max ? 0 : dotAtol(g.KH * g.KW);
        const checks: TwinCheck[] = [{ output: 'out', got, want: want.out, atol, rtol: 0 }];
        if (max) {
          const argmax = await readTensor(gpu, x.argmax);
          checks.push({ output: 'argmax', got: argmax, want: want.argmax, atol: 0, rtol: 0 });
        }
        return checks;
      };
      return { shape, setup: [], calls: [forward], check };
    }
    const backward = max
      ? maxPoolBackward({ ...x, geometry: g })
      : avgPoolBackward({ ...x, geometry: g });
    const check = async (): Promise<TwinCheck[]> => {
      const atol = dotAtol(maxWindowsPerElement(g));
      const got = await readFloat32(gpu, x.dX);
      return [{ output: 'dX', got, want: twins().dX, atol, rtol: 1e-5 }];
    };
    return { shape, setup: max ? [forward] : [], calls: [backward], check };
  });
}

/** Bytes a pooling pass moves at least (see the header), either direction. */
export function poolBytes(kind: PoolKind, g: PoolGeometry): number {
  const outCount = g.N * g.C * g.OH * g.OW;
  const extra = kind === 'maxPool' ? 4 * outCount : 0; // argmax written, then read
  return 4 * (g.N * g.C * g.H * g.W + outCount) + extra;
}

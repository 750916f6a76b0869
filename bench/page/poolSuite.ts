/**
 * The reference CNN's pooling layers, max and average, forward and backward, at the page's batch
 * size; their kernel cases (./kernelCase) also serve the kernel explorer (demo/explorer).
 *   pool:  GB/s of the bytes each pass must move at least: forward reads x and writes out (and
 *          argmax), backward reads dOut (and argmax) and writes dX; 4 bytes per element.
 */
import { readFloat32, readTensor, type Gpu } from '../../src/index';
import { avgPoolBackward, avgPoolForward } from '../../src/kernels/avgPool';
import { avgPoolBackwardCpu, avgPoolForwardCpu } from '../../src/kernels/avgPool.cpu';
import { maxPoolBackward, maxPoolForward } from '../../src/kernels/maxPool';
import { maxPoolBackwardCpu, maxPoolForwardCpu } from '../../src/kernels/maxPool.cpu';
import {
  maxWindowsPerElement,
  poolGeometry,
  poolLabel,
  poolShape,
  type PoolGeometry,
} from '../../src/kernels/geometry';
import {
  dotAtol,
  randomFloats,
  row,
  type BenchContext,
  type BenchRow,
  type TwinCheck,
} from './common';
import type { Direction } from './convSuite';
import { makeCase, timeCase, validateCase, type CaseTensors, type KernelCase } from './kernelCase';

export type PoolKind = 'maxPool' | 'avgPool';

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

export async function benchPool(ctx: BenchContext): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const layers = [
    { name: 'pool1', C: 32, H: 28 },
    { name: 'pool2', C: 64, H: 14 },
  ];
  const small = poolGeometry({ N: 2, C: 3, H: 9, W: 7 }, 2);
  for (const kind of ['maxPool', 'avgPool'] as const) {
    const validate = (d: Direction) =>
      validateCase(ctx.gpu, `${kind} ${d}`, poolCase(ctx.gpu, kind, small, d));
    const validations = {
      forward: await validate('forward'),
      backward: await validate('backward'),
    };
    for (const layer of layers) {
      const g = poolGeometry({ N: ctx.options.batch, C: layer.C, H: layer.H, W: layer.H }, 2);
      const shape = `[${g.N},${g.C},${g.H},${g.W}] 2x2 (${layer.name})`;
      ctx.log(`${kind} ${shape}`);
      for (const direction of ['forward', 'backward'] as const) {
        const timed = poolCase(ctx.gpu, kind, g, direction, 51);
        const time = await timeCase(ctx, timed);
        timed.destroy();
        const validation = validations[direction];
        const base = { suite: 'pool', shape, unit: 'GB/s', validation } as const;
        rows.push(row({ ...base, kernel: `${kind} ${direction}` }, time, poolBytes(kind, g)));
      }
    }
  }
  return rows;
}

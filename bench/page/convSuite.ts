/**
 * The reference CNN's conv layers (im2col + matmul + col2im, src/kernels/conv2d.ts) and its
 * pooling layers, forward and backward, at the page's batch size.
 *   conv:  2·N·O·S·R flops per product (S = OH·OW, R = C·KH·KW); forward is one product,
 *          backward two (dWeight, dX), one for conv1, whose input needs no gradient.
 *   pool:  GB/s of the bytes each pass must move at least: forward reads x and writes out (and
 *          argmax), backward reads dOut (and argmax) and writes dX; 4 bytes per element.
 */
import { createTensor, readFloat32, runCalls, uploadTensor, type GpuTensor } from '../../src/index';
import { avgPoolBackward, avgPoolForward } from '../../src/kernels/avgPool';
import { avgPoolBackwardCpu, avgPoolForwardCpu } from '../../src/kernels/avgPool.cpu';
import { conv2dBackward, conv2dColsShape, conv2dForward } from '../../src/kernels/conv2d';
import { conv2dBackwardCpu, conv2dForwardCpu } from '../../src/kernels/conv2d.cpu';
import { conv2dGeometry, type Conv2dGeometry } from '../../src/kernels/conv2dIm2col.cpu';
import { preferredMatmulVariant } from '../../src/kernels/matmul';
import { maxPoolBackward, maxPoolForward } from '../../src/kernels/maxPool';
import { maxPoolBackwardCpu, maxPoolForwardCpu } from '../../src/kernels/maxPool.cpu';
import { poolGeometry, type PoolGeometry } from '../../src/kernels/pool.cpu';
import {
  dotAtol,
  randomFloats,
  row,
  validate,
  worst,
  type BenchContext,
  type BenchRow,
  type Validation,
} from './common';

/** The reference CNN's conv layers: conv 5x5 'same', 1 -> 32 on 28x28, 32 -> 64 on 14x14. */
const CONV_LAYERS = [
  { name: 'conv1', C: 1, H: 28, O: 32 },
  { name: 'conv2', C: 32, H: 14, O: 64 },
] as const;

/** Every tensor a conv layer's forward and backward bind, random where they are inputs. */
function convTensors(ctx: BenchContext, g: Conv2dGeometry, O: number, seed: number) {
  const R = g.C * g.KH * g.KW;
  const host = {
    x: randomFloats(g.N * g.C * g.H * g.W, seed),
    weight: randomFloats(O * R, seed + 1),
    bias: randomFloats(O, seed + 2),
    dOut: randomFloats(g.N * O * g.OH * g.OW, seed + 3),
  };
  const up = (data: Float32Array, shape: number[]): GpuTensor => uploadTensor(ctx.gpu, data, shape);
  const t = {
    x: up(host.x, [g.N, g.C, g.H, g.W]),
    weight: up(host.weight, [O, g.C, g.KH, g.KW]),
    bias: up(host.bias, [O]),
    dOut: up(host.dOut, [g.N, O, g.OH, g.OW]),
    out: createTensor(ctx.gpu, [g.N, O, g.OH, g.OW]),
    cols: createTensor(ctx.gpu, conv2dColsShape(g)),
    dCols: createTensor(ctx.gpu, conv2dColsShape(g)),
    dX: createTensor(ctx.gpu, [g.N, g.C, g.H, g.W]),
    dWeight: createTensor(ctx.gpu, [O, g.C, g.KH, g.KW]),
    dBias: createTensor(ctx.gpu, [O]),
  };
  return { host, t, destroy: () => Object.values(t).forEach((x) => x.buffer.destroy()) };
}

/** Forward and backward of one layer at batch 2 against conv2dForwardCpu / conv2dBackwardCpu. */
async function validateConv(ctx: BenchContext, g: Conv2dGeometry, O: number) {
  const variant = preferredMatmulVariant(ctx.gpu.adapter.kind);
  const { host, t, destroy } = convTensors(ctx, g, O, 21);
  const shape = `N${g.N} C${g.C} ${g.H}x${g.W} O${O} k${g.KH}`;
  await runCalls(ctx.gpu, conv2dForward({ ...t, geometry: g, O }, variant));
  await runCalls(ctx.gpu, conv2dBackward({ ...t, geometry: g, O }, variant));
  const want = {
    out: new Float64Array(g.N * O * g.OH * g.OW),
    dX: new Float64Array(host.x.length),
    dWeight: new Float64Array(host.weight.length),
    dBias: new Float64Array(O),
  };
  conv2dForwardCpu({ ...host, out: want.out, geometry: g, O });
  conv2dBackwardCpu({ ...host, ...want, geometry: g, O });
  const read = (x: GpuTensor): Promise<Float32Array> => readFloat32(ctx.gpu, x);
  const R = g.C * g.KH * g.KW;
  const forward = validate('conv2d forward', shape, await read(t.out), want.out, dotAtol(R + 1));
  const backward = worst(
    validate(
      'conv2d dWeight',
      shape,
      await read(t.dWeight),
      want.dWeight,
      dotAtol(g.N * g.OH * g.OW),
    ),
    validate('conv2d dBias', shape, await read(t.dBias), want.dBias, dotAtol(g.N * g.OH * g.OW)),
    validate('conv2d dX', shape, await read(t.dX), want.dX, dotAtol(O * g.KH * g.KW)),
  );
  destroy();
  return { forward, backward };
}

export async function benchConv(ctx: BenchContext): Promise<BenchRow[]> {
  const variant = preferredMatmulVariant(ctx.gpu.adapter.kind);
  const rows: BenchRow[] = [];
  for (const layer of CONV_LAYERS) {
    const input = (N: number) => ({ N, C: layer.C, H: layer.H, W: layer.H });
    const checks = await validateConv(ctx, conv2dGeometry(input(2), 5, 1, 'same'), layer.O);
    const g = conv2dGeometry(input(ctx.options.batch), 5, 1, 'same');
    const { t, destroy } = convTensors(ctx, g, layer.O, 31);
    const O = layer.O;
    const flops = 2 * g.N * O * g.OH * g.OW * g.C * g.KH * g.KW;
    const shape = `[${g.N},${g.C},${g.H},${g.W}] → [${g.N},${O},${g.OH},${g.OW}] 5x5`;
    const base = { suite: 'conv', shape, unit: 'GFLOP/s' } as const;
    ctx.log(`${layer.name} forward, batch ${g.N}`);
    const fwd = await ctx.time(
      conv2dForward({ ...t, geometry: g, O, activation: 'relu' }, variant),
    );
    rows.push(
      row(
        { ...base, kernel: `${layer.name} forward (${variant})`, validation: checks.forward },
        fwd,
        flops,
      ),
    );
    const first = layer.name === 'conv1'; // the input image needs no gradient
    ctx.log(`${layer.name} backward, batch ${g.N}`);
    const bwd = await ctx.time(
      conv2dBackward({ ...t, ...(first ? { dX: undefined } : {}), geometry: g, O }, variant),
    );
    const kernel = `${layer.name} backward (${variant})`;
    rows.push(
      row({ ...base, kernel, validation: checks.backward }, bwd, first ? flops : 2 * flops),
    );
    destroy();
  }
  return rows;
}

type PoolKind = 'maxPool' | 'avgPool';

/** Forward and backward of one kind on an odd shape against the twins. */
async function validatePool(ctx: BenchContext, kind: PoolKind): Promise<[Validation, Validation]> {
  const g = poolGeometry({ N: 2, C: 3, H: 9, W: 7 }, 2);
  const x = randomFloats(g.N * g.C * g.H * g.W, 41);
  const dOut = randomFloats(g.N * g.C * g.OH * g.OW, 42);
  const t = poolTensors(ctx, g, x, dOut);
  await runCalls(ctx.gpu, poolCalls(kind, g, t).flat());
  const want = {
    out: new Float64Array(dOut.length),
    argmax: new Int32Array(dOut.length),
    dX: new Float64Array(x.length),
  };
  if (kind === 'maxPool') {
    maxPoolForwardCpu({ x, out: want.out, argmax: want.argmax, geometry: g });
    maxPoolBackwardCpu({ dOut, argmax: want.argmax, dX: want.dX, geometry: g });
  } else {
    avgPoolForwardCpu({ x, out: want.out, geometry: g });
    avgPoolBackwardCpu({ dOut, dX: want.dX, geometry: g });
  }
  const shape = `[${g.N}, ${g.C}, ${g.H}, ${g.W}] k2`;
  // A max is exact; a mean of 4 and a sum of at most 1 window round once or twice.
  const forward = validate(
    `${kind} forward`,
    shape,
    await readFloat32(ctx.gpu, t.out),
    want.out,
    1e-6,
  );
  const backward = validate(
    `${kind} backward`,
    shape,
    await readFloat32(ctx.gpu, t.dX),
    want.dX,
    1e-6,
  );
  Object.values(t).forEach((x) => x.buffer.destroy());
  return [forward, backward];
}

function poolTensors(ctx: BenchContext, g: PoolGeometry, x: Float32Array, dOut: Float32Array) {
  return {
    x: uploadTensor(ctx.gpu, x, [g.N, g.C, g.H, g.W]),
    dOut: uploadTensor(ctx.gpu, dOut, [g.N, g.C, g.OH, g.OW]),
    out: createTensor(ctx.gpu, [g.N, g.C, g.OH, g.OW]),
    argmax: createTensor(ctx.gpu, [g.N, g.C, g.OH, g.OW], { dtype: 'u32' }),
    dX: createTensor(ctx.gpu, [g.N, g.C, g.H, g.W]),
  };
}

/** [forward calls, backward calls] of one pooling kind. */
function poolCalls(kind: PoolKind, g: PoolGeometry, t: ReturnType<typeof poolTensors>) {
  return kind === 'maxPool'
    ? [[maxPoolForward({ ...t, geometry: g })], [maxPoolBackward({ ...t, geometry: g })]]
    : [[avgPoolForward({ ...t, geometry: g })], [avgPoolBackward({ ...t, geometry: g })]];
}

export async function benchPool(ctx: BenchContext): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const layers = [
    { name: 'pool1', C: 32, H: 28 },
    { name: 'pool2', C: 64, H: 14 },
  ];
  for (const kind of ['maxPool', 'avgPool'] as const) {
    const [checkF, checkB] = await validatePool(ctx, kind);
    for (const layer of layers) {
      const g = poolGeometry({ N: ctx.options.batch, C: layer.C, H: layer.H, W: layer.H }, 2);
      const inCount = g.N * g.C * g.H * g.W;
      const outCount = g.N * g.C * g.OH * g.OW;
      const t = poolTensors(ctx, g, randomFloats(inCount, 51), randomFloats(outCount, 52));
      const [forward, backward] = poolCalls(kind, g, t);
      const extra = kind === 'maxPool' ? 4 * outCount : 0; // argmax written, then read
      const shape = `[${g.N},${g.C},${g.H},${g.W}] 2x2 (${layer.name})`;
      ctx.log(`${kind} ${shape}`);
      const base = { suite: 'pool', shape, unit: 'GB/s' } as const;
      const tf = await ctx.time(forward ?? []);
      rows.push(
        row(
          { ...base, kernel: `${kind} forward`, validation: checkF },
          tf,
          4 * (inCount + outCount) + extra,
        ),
      );
      const tb = await ctx.time(backward ?? []);
      rows.push(
        row(
          { ...base, kernel: `${kind} backward`, validation: checkB },
          tb,
          4 * (inCount + outCount) + extra,
        ),
      );
      Object.values(t).forEach((x) => x.buffer.destroy());
    }
  }
  return rows;
}

import { describe, expect, it } from 'vitest';
import { ResourceType } from 'wgsl_reflect/wgsl_reflect.module.js';
import { ShadergradError } from '../../src/base/errors';
import { readBytes } from '../../src/gpu/buffers';
import { reflectBindings, reflectShader } from '../../src/gpu/pipelines';
import type { GpuTensor } from '../../src/gpu/tensor';
import { kernelFamilies } from '../../src/kernels/index';
import {
  matmul,
  preferredMatmulVariant,
  type MatmulChoice,
  type MatmulVariant,
} from '../../src/kernels/matmul';
import { matmulStrides } from '../../src/kernels/matmul.cpu';
import {
  matmulSubgroupFamily,
  subgroupTileRows,
  matmulSubgroupParams,
  matmulSubgroupShader,
} from '../../src/kernels/matmulSubgroup';
import { matmulSubgroupCpu, type MatmulArgs } from '../../src/kernels/matmulSubgroup.cpu';
import { dotTolerance, expectAllClose } from '../helpers/allclose';
import { runAndRead, upload, useTestGpu } from '../helpers/gpu';
import { randomFloats } from '../../src/base/random';
import { guardedOutput } from '../helpers/sentinel';

const SUBGROUP_ENTRY = 'matmulSubgroupTile';

let subgroupSize = 0;
const gpu = useTestGpu(async (g) => {
  if (g.hasSubgroups) subgroupSize = await readSubgroupSize();
});

/** The subgroup size shaders see here (a one-line kernel writing the builtin). */
async function readSubgroupSize(): Promise<number> {
  const device = gpu().device;
  const module = device.createShaderModule({
    code: `enable subgroups;
@group(0) @binding(0) var<storage, read_write> sizes: array<u32>;
@compute @workgroup_size(64) fn main(@builtin(local_invocation_index) i: u32,
                                     @builtin(subgroup_size) n: u32) { sizes[i] = n; }`,
  });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module } });
  const buffer = device.createBuffer({ size: 256, usage: 0x80 | 0x4 }); // STORAGE | COPY_SRC
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(
    0,
    device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: { buffer } }],
    }),
  );
  pass.dispatchWorkgroups(1);
  pass.end();
  device.queue.submit([encoder.finish()]);
  const sizes = new Uint32Array(await readBytes(gpu(), buffer, 0, 256));
  buffer.destroy();
  return Math.min(...sizes);
}

/** subgroupTile where the device has subgroups; else what the engine would pick (the fallback). */
function variantHere(): MatmulVariant {
  return gpu().hasSubgroups ? 'subgroupTile' : preferredMatmulVariant(gpu().adapter.kind, false);
}

describe('matmulSubgroup twin', () => {
  it('is the matmul twin: a hand-computed 2x4 · 4x2 product', () => {
    const out = new Float64Array(4);
    const a = new Float64Array([1, 2, 3, 4, 5, 6, 7, 8]);
    const b = new Float64Array([1, 0, 0, 1, 2, 0, 0, 3]);
    matmulSubgroupCpu({ a, b, out, M: 2, K: 4, N: 2 });
    expect([...out]).toEqual([7, 14, 19, 30]); // row 0: 1+3·2, 2+4·3; row 1: 5+7·2, 6+8·3
  });
});

interface Case extends Omit<MatmulArgs<never>, 'a' | 'b' | 'out' | 'bias'> {
  name: string;
  /** false: the wrapper must fall back to the register tile (unaligned reads). */
  subgroup: boolean;
  /** Inputs are uniform in [-scale, scale). */
  scale?: number;
}

/** Runs one case (optionally reshaping the call) and checks it against the twin and the guards. */
async function checkCase(c: Case, choice?: MatmulChoice): Promise<string> {
  const { M, N, K } = c;
  const s = matmulStrides(c);
  const extent = (stride: number, size: number): number => (s.batch - 1) * stride + size;
  const scale = c.scale ?? 1;
  const aHost = randomFloats(extent(s.aBatchStride, M * K), 7 * M + K, -scale, scale);
  const bHost = randomFloats(extent(s.bBatchStride, K * N), 3 * N + K + 1, -scale, scale);
  const biasHost = c.biasMode
    ? randomFloats(c.biasMode === 'row' ? M : N, 11, -scale, scale)
    : undefined;
  const outCount = (s.outputs - 1) * s.outBatchStride + M * N;
  const out = guardedOutput(gpu(), [outCount]);
  const args: MatmulArgs<GpuTensor> = {
    ...c,
    a: upload(gpu(), aHost, [aHost.length]),
    b: upload(gpu(), bHost, [bHost.length]),
    out: out.tensor,
    ...(biasHost ? { bias: upload(gpu(), biasHost, [biasHost.length]) } : {}),
  };
  const call = matmul(args, choice ?? variantHere());
  const got = await runAndRead(gpu(), call, out.tensor);
  const want = new Float32Array(outCount).fill(NaN); // gaps between strided outputs stay NaN
  matmulSubgroupCpu({
    ...c,
    a: aHost,
    b: bHost,
    out: want,
    ...(biasHost ? { bias: biasHost } : {}),
  });
  // Largest sum_k |a b| over outputs (twin on |A|, |B|, no epilogue) sizes the tolerance.
  const sumAbs = new Float64Array(outCount);
  const abs = { a: aHost.map(Math.abs), b: bHost.map(Math.abs), out: sumAbs };
  matmulSubgroupCpu({ ...c, ...abs, biasMode: undefined, activation: 'none' });
  // f32 dot products of length K (K·productsPerSum when summed) summed in another order than the float64
  // twin: dotTolerance; a bias (|bias| < scale) is one more term of that magnitude.
  const tol = dotTolerance(
    K * s.productsPerSum,
    sumAbs.reduce((m, v) => Math.max(m, v), biasHost ? scale : 0),
  );
  const written = [...want.keys()].filter((i) => !Number.isNaN(want[i] ?? NaN));
  expectAllClose(
    written.map((i) => got[i] ?? NaN),
    written.map((i) => want[i] ?? NaN),
    tol,
    `${c.name} (${call.entryPoint})`,
  );
  const gaps = got.filter((_, i) => Number.isNaN(want[i] ?? NaN));
  expect(gaps.every(Number.isNaN), 'gaps between outputs were written').toBe(true);
  await out.check();
  return call.entryPoint;
}

// Few distinct pipelines (each compile costs seconds on lavapipe): the cases share the override
// combinations (transA, transB, sumBatches, biasMode, activation) where they can.
const cases: Case[] = [
  { name: 'smallest aligned 1x4x4', M: 1, K: 4, N: 4, subgroup: true },
  { name: 'edge rows and lanes 63x68x20', M: 63, K: 68, N: 20, subgroup: true },
  { name: 'three row bands 65x260x36', M: 65, K: 260, N: 36, subgroup: true },
  { name: 'one row 1x784x12', M: 1, K: 784, N: 12, subgroup: true },
  { name: 'tall, one lane 300x8x4', M: 300, K: 8, N: 4, subgroup: true },
  { name: 'wide 3x8x200 (partial last workgroup)', M: 3, K: 8, N: 200, subgroup: true },
  { name: 'long k 64x1024x40', M: 64, K: 1024, N: 40, subgroup: true },
  { name: 'transA 36x68x132', M: 36, K: 68, N: 132, transA: true, subgroup: true },
  { name: 'transA, M % 8 = 4: 44x20x28', M: 44, K: 20, N: 28, transA: true, subgroup: true },
  { name: 'transA, a 16-row tile: 12x20x28', M: 12, K: 20, N: 28, transA: true, subgroup: true },
  { name: 'a 24-row tile: 24x36x16', M: 24, K: 36, N: 16, subgroup: true },
  { name: 'transB, any N: 7x12x5', M: 7, K: 12, N: 5, transB: true, subgroup: true },
  { name: 'transB 33x68x129', M: 33, K: 68, N: 129, transB: true, subgroup: true },
  {
    name: 'transA transB 36x68x129',
    M: 36,
    K: 68,
    N: 129,
    transA: true,
    transB: true,
    subgroup: true,
  },
  { name: 'batch 3, broadcast A', M: 9, K: 12, N: 16, batch: 3, aBatchStride: 0, subgroup: true },
  {
    name: 'batch 3, broadcast B, gaps',
    M: 6,
    K: 8,
    N: 8,
    batch: 3,
    aBatchStride: 52,
    bBatchStride: 0,
    outBatchStride: 50,
    subgroup: true,
  },
  { name: 'sumBatches 4', M: 10, K: 8, N: 20, batch: 4, sumBatches: true, subgroup: true },
  {
    name: 'sumBatches A·Bᵀ, strided (conv dW)',
    M: 8,
    K: 52,
    N: 25,
    batch: 3,
    transB: true,
    sumBatches: true,
    aBatchStride: 420,
    subgroup: true,
  },
  {
    name: 'sumBatches A·Bᵀ in runs of 2: 3 outputs, the last of one product',
    M: 8,
    K: 52,
    N: 25,
    batch: 5,
    transB: true,
    sumBatches: true,
    productsPerSum: 2,
    aBatchStride: 420,
    subgroup: true,
  },
  {
    name: 'conv forward: broadcast weights, bias row, relu',
    M: 16,
    K: 36,
    N: 196,
    batch: 2,
    aBatchStride: 0,
    biasMode: 'row',
    activation: 'relu',
    subgroup: true,
  },
  {
    name: 'conv dCols: Wᵀ · dOut, batch 2',
    M: 36,
    K: 16,
    N: 196,
    batch: 2,
    transA: true,
    aBatchStride: 0,
    subgroup: true,
  },
  {
    name: 'dense forward: A·Bᵀ, bias col, relu',
    M: 5,
    K: 40,
    N: 10,
    transB: true,
    biasMode: 'col',
    activation: 'relu',
    subgroup: true,
  },
  ...(['sigmoid', 'tanh'] as const).map((activation): Case => ({
    name: `bias col + ${activation}`,
    M: 17,
    K: 24,
    N: 28,
    biasMode: 'col',
    activation,
    subgroup: true,
  })),
  {
    name: 'entries ~1e4, bias row, relu',
    M: 21,
    K: 300,
    N: 20,
    scale: 1e4,
    biasMode: 'row',
    activation: 'relu',
    subgroup: true,
  },
  {
    name: 'entries ~1e3, bias col, tanh',
    M: 21,
    K: 300,
    N: 20,
    scale: 1e3,
    biasMode: 'col',
    activation: 'tanh',
    subgroup: true,
  },
  // Unaligned reads: the wrapper falls back to the register tile.
  { name: 'fallback: K % 4 != 0, 7x3x5', M: 7, K: 3, N: 5, subgroup: false },
  { name: 'fallback: N % 4 != 0, 9x12x130', M: 9, K: 12, N: 130, subgroup: false },
  { name: 'fallback: transA, M % 4 != 0', M: 33, K: 68, N: 128, transA: true, subgroup: false },
  { name: 'fallback: odd stride', M: 4, K: 8, N: 8, batch: 2, aBatchStride: 33, subgroup: false },
];

describe('matmul subgroupTile on the GPU', () => {
  it.each(cases)('$name matches the twin', async (c) => {
    const entryPoint = await checkCase(c);
    if (gpu().hasSubgroups) {
      if (c.subgroup) expect(entryPoint).toBe(SUBGROUP_ENTRY);
      else expect(entryPoint).toMatch(/^matmulRegisterTile/);
    }
  });

  it('folds batches past 65535 workgroups in z', async () => {
    const c: Case = { name: 'batch 65537', M: 1, K: 4, N: 4, batch: 65537, subgroup: true };
    expect(await checkCase(c)).toBe(gpu().hasSubgroups ? SUBGROUP_ENTRY : 'matmulRegisterTileVec4');
  });
});

// wgSize decides which subgroups exist: 32 puts several in a workgroup (the broadcast path must not
// care which lanes land in which); below the subgroup size (8 on lavapipe) it runs stepDirect, and
// at SwiftShader's 4 the 4-lane broadcast path (stepShared4).
describe.each([4, 16, 32])('matmulSubgroupTile with wgSize %i', (wgSize) => {
  const picked = cases.filter((c) =>
    ['edge rows and lanes 63x68x20', 'sumBatches A·Bᵀ, strided (conv dW)'].includes(c.name),
  );
  it.each(picked)('$name matches the twin', async (c) => {
    if (!gpu().hasSubgroups) return; // no subgroup entry point to size; the fallback ran above
    expect(await checkCase(c, { variant: 'subgroupTile', wgSize })).toBe(SUBGROUP_ENTRY);
  });
});

describe('matmulSubgroup family', () => {
  it('takes the broadcast path on lavapipe at the default wgSize', () => {
    // The broadcast path needs 8 <= subgroup size <= wgSize (8): lavapipe's 8 lanes qualify, so the
    // cases above test it there; SwiftShader's 4 run stepShared4, and wgSize 4 on lavapipe runs
    // stepDirect. A wider llvmpipe would silently lose the speedup: then WG_SIZE needs revisiting.
    if (gpu().hasSubgroups) expect(subgroupSize).toBeGreaterThanOrEqual(4);
    if (gpu().adapter.kind === 'lavapipe' && gpu().hasSubgroups) expect(subgroupSize).toBe(8);
  });

  it('is registered, and its Params and bindings match the WGSL', () => {
    expect(kernelFamilies).toContain(matmulSubgroupFamily);
    const fn = reflectShader(matmulSubgroupShader).entry.compute.find(
      (f) => f.name === SUBGROUP_ENTRY,
    );
    const uniform = fn?.resources.find((r) => r.resourceType === ResourceType.Uniform);
    const members = (uniform?.members ?? []).map((m) => [m.name, m.offset, m.type.name]);
    const fields = Object.entries(matmulSubgroupParams.fields).map(([n, t], i) => [n, 4 * i, t]);
    expect(members).toEqual(fields);
    expect(reflectBindings(matmulSubgroupShader, SUBGROUP_ENTRY).map((b) => b.kind)).toEqual([
      'read',
      'read',
      'read',
      'read_write',
      'uniform',
    ]);
  });

  it('sizes its row tile to M below 32 rows: fewer rows computed, one band', () => {
    const t = (n: number): GpuTensor => upload(gpu(), new Float32Array(n), [n]);
    for (const [M, rows] of [
      [1, 8],
      [16, 16],
      [17, 24],
      [32, 32],
      [100, 32],
    ] as const) {
      expect(subgroupTileRows(M)).toBe(rows);
      if (!gpu().hasSubgroups) continue;
      const call = matmul({ a: t(M * 4), b: t(16), out: t(M * 4), M, K: 4, N: 4 }, 'subgroupTile');
      expect(call.constants?.tileRows).toBe(rows);
      expect(call.workgroups[0]).toBe(Math.ceil(M / rows));
    }
  });

  it('is preferred on software adapters with subgroups only', () => {
    expect(preferredMatmulVariant('lavapipe', true)).toBe('subgroupTile');
    expect(preferredMatmulVariant('lavapipe', false)).toBe('registerTile');
    expect(preferredMatmulVariant('lavapipe')).toBe('registerTile');
    expect(preferredMatmulVariant('hardware', true)).toBe('workgroupTile');
  });

  it('rejects wrong shapes before choosing a path', () => {
    const t = (n: number): GpuTensor => upload(gpu(), new Float32Array(n), [n]);
    const ok = { a: t(8), b: t(8), out: t(4), M: 2, K: 4, N: 2 };
    expect(() => matmul(ok, 'subgroupTile')).not.toThrow();
    for (const change of [{ a: t(12) }, { out: t(5) }, { K: 0 }, { bias: t(2) }])
      expect(() => matmul({ ...ok, ...change }, 'subgroupTile'), JSON.stringify(change)).toThrow(
        ShadergradError,
      );
  });
});

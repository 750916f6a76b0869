import { describe, expect, it } from 'vitest';
import { detectRaces } from 'wgsl_reflect/wgsl_reflect.module.js';
import { ShadergradError } from '../../src/base/errors';
import type { GpuTensor } from '../../src/gpu/tensor';
import type { Activation } from '../../src/kernels/common.cpu';
import {
  matmul,
  matmulFlops,
  matmulShader,
  preferredMatmulVariant,
  type MatmulVariant,
} from '../../src/kernels/matmul';
import { matmulCpu, type MatmulArgs } from '../../src/kernels/matmul.cpu';
import { expectAllClose } from '../helpers/allclose';
import { upload, useTestGpu } from '../helpers/gpu';
import { randomFloats } from '../../src/base/random';
import { checkCase, type Case } from '../helpers/matmulCheck';
import { REGISTER_SHAPES } from '../../src/graph/tuner';

const variants: MatmulVariant[] = ['naive', 'registerTile', 'workgroupTile'];

const gpu = useTestGpu();

/** Row-major transpose of a [rows, cols] matrix. */
function transpose(x: Float64Array, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) t[c * rows + r] = x[r * cols + c] ?? 0;
  return t;
}

describe('matmul twin', () => {
  it('matches a hand-computed 2x3 · 3x2 product', () => {
    const out = new Float64Array(4);
    matmulCpu({
      a: new Float64Array([1, 2, 3, 4, 5, 6]),
      b: new Float64Array([7, 8, 9, 10, 11, 12]),
      out,
      M: 2,
      K: 3,
      N: 2,
    });
    expect([...out]).toEqual([58, 64, 139, 154]); // 1·7+2·9+3·11, 1·8+2·10+3·12, ...
  });

  it('adds the bias by row or column before the activation', () => {
    const a = new Float64Array([1, 2, 3, 4, 5, 6]); // [2, 3]
    const b = new Float64Array([1, 0, 0, 1, 1, 1]); // [3, 2]
    const out = new Float64Array(4); // product [[4, 5], [10, 11]]
    matmulCpu({
      a,
      b,
      out,
      M: 2,
      K: 3,
      N: 2,
      bias: new Float64Array([-100, 0]),
      biasMode: 'row',
      activation: 'relu',
    });
    expect([...out]).toEqual([0, 0, 10, 11]);
    matmulCpu({ a, b, out, M: 2, K: 3, N: 2, bias: new Float64Array([-4.5, 1]), biasMode: 'col' });
    expect([...out]).toEqual([-0.5, 6, 5.5, 12]);
  });

  it('reads transposes like explicit transposed copies', () => {
    const [M, K, N] = [5, 4, 3];
    const a = Float64Array.from(randomFloats(M * K, 1));
    const b = Float64Array.from(randomFloats(K * N, 2));
    const want = new Float64Array(M * N);
    matmulCpu({ a, b, out: want, M, K, N });
    for (const [transA, transB] of [
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      const got = new Float64Array(M * N);
      matmulCpu({
        a: transA ? transpose(a, M, K) : a,
        b: transB ? transpose(b, K, N) : b,
        out: got,
        M,
        K,
        N,
        transA,
        transB,
      });
      expect([...got], `transA ${transA}, transB ${transB}`).toEqual([...want]); // same sums, same order
    }
  });

  it('sumBatches equals the sum of the separate products', () => {
    const [M, K, N, batch] = [3, 4, 5, 3];
    const a = Float64Array.from(randomFloats(batch * M * K, 3));
    const b = Float64Array.from(randomFloats(batch * K * N, 4));
    const separate = new Float64Array(batch * M * N);
    matmulCpu({ a, b, out: separate, M, K, N, batch });
    const summed = new Float64Array(M * N);
    matmulCpu({ a, b, out: summed, M, K, N, batch, sumBatches: true });
    const want = summed.map(
      (_, i) => (separate[i] ?? 0) + (separate[i + M * N] ?? 0) + (separate[i + 2 * M * N] ?? 0),
    );
    expectAllClose(summed, want, { atol: 1e-14, rtol: 0 }); // float64 sums, reassociated
    // In runs of 2: output 0 sums products 0 and 1, output 1 is product 2 alone.
    const runs = new Float64Array(2 * M * N);
    matmulCpu({ a, b, out: runs, M, K, N, batch, sumBatches: true, productsPerSum: 2 });
    const firstTwo = separate.slice(0, M * N).map((v, i) => v + (separate[i + M * N] ?? 0));
    expectAllClose(runs.slice(0, M * N), firstTwo, { atol: 1e-14, rtol: 0 });
    expect([...runs.slice(M * N)]).toEqual([...separate.slice(2 * M * N)]); // the same sums
  });
});

const activations: Activation[] = ['relu', 'sigmoid', 'tanh'];
const vec4 = 'matmulRegisterTileVec4';
const vec4K = 'matmulRegisterTileVec4K';
const scalar = 'matmulRegisterTile';
const cases: Case[] = [
  { name: '1x1x1', M: 1, K: 1, N: 1, tileEntry: scalar },
  { name: '7x3x5', M: 7, K: 3, N: 5 },
  { name: '63x65x17', M: 63, K: 65, N: 17 },
  { name: '65x257x63', M: 65, K: 257, N: 63 },
  { name: 'one row 1x784x10', M: 1, K: 784, N: 10 },
  { name: 'tall 300x5x7 (several workgroup rows)', M: 300, K: 5, N: 7 },
  { name: 'transA 33x70x129', M: 33, K: 70, N: 129, transA: true },
  { name: 'transB 33x70x129', M: 33, K: 70, N: 129, transB: true, tileEntry: scalar },
  { name: 'transA transB 33x70x129', M: 33, K: 70, N: 129, transA: true, transB: true },
  { name: 'B rows as vec4, 37x19x44 batch 2', M: 37, K: 19, N: 44, batch: 2, tileEntry: vec4 },
  { name: 'B rows as vec4, transA 20x9x36', M: 20, K: 9, N: 36, transA: true, tileEntry: vec4 },
  { name: 'B rows as vec4, wide 3x6x200', M: 3, K: 6, N: 200, tileEntry: vec4 },
  { name: 'A·Bᵀ as vec4, 35x28x150', M: 35, K: 28, N: 150, transB: true, tileEntry: vec4K },
  { name: 'batch 3, broadcast A', M: 9, K: 11, N: 13, batch: 3, aBatchStride: 0 },
  {
    name: 'batch 3, broadcast B, gaps',
    M: 6,
    K: 5,
    N: 8,
    batch: 3,
    aBatchStride: 33,
    bBatchStride: 0,
    outBatchStride: 50,
    tileEntry: vec4,
  },
  { name: 'sumBatches 4', M: 10, K: 7, N: 21, batch: 4, sumBatches: true },
  {
    name: 'sumBatches transB (conv dW)',
    M: 8,
    K: 49,
    N: 25,
    batch: 3,
    transB: true,
    sumBatches: true,
    tileEntry: scalar,
  },
  {
    name: 'sumBatches A·Bᵀ as vec4, strided',
    M: 8,
    K: 52,
    N: 25,
    batch: 3,
    transB: true,
    sumBatches: true,
    aBatchStride: 420,
    tileEntry: vec4K,
  },
  {
    name: 'sumBatches in runs of 3: batch 7 gives 3 outputs, the last of one product, gaps',
    M: 10,
    K: 7,
    N: 21,
    batch: 7,
    sumBatches: true,
    productsPerSum: 3,
    outBatchStride: 230,
  },
  {
    name: 'sumBatches A·Bᵀ as vec4 in runs of 2',
    M: 8,
    K: 52,
    N: 25,
    batch: 5,
    transB: true,
    sumBatches: true,
    productsPerSum: 2,
    tileEntry: vec4K,
  },
  { name: 'bias row', M: 19, K: 12, N: 30, biasMode: 'row' },
  {
    name: 'bias col, transB (dense)',
    M: 5,
    K: 40,
    N: 10,
    transB: true,
    biasMode: 'col',
    tileEntry: vec4K,
  },
  ...activations.map((activation): Case => ({
    name: `bias col + ${activation}`,
    M: 17,
    K: 23,
    N: 29,
    biasMode: 'col',
    activation,
  })),
  { name: 'entries ~1e3', M: 21, K: 300, N: 20, scale: 1e3, biasMode: 'row', activation: 'tanh' },
];

describe.each(variants)('matmul %s on the GPU', (variant) => {
  it.each(cases)('$name matches the twin', async (c) => {
    const entryPoint = await checkCase(gpu(), c, variant);
    if (variant === 'registerTile' && c.tileEntry) expect(entryPoint).toBe(c.tileEntry);
  });

  it('folds batches past 65535 workgroups in z', async () => {
    const c: Case = { name: 'batch 65537', M: 1, K: 2, N: 1, batch: 65537 };
    await checkCase(gpu(), c, variant);
  });
});

// The autotuner's shapes (src/graph/tuner.ts): the block grows or shrinks with the workgroup, so
// the cases that cross block edges in M and N, the vec4 paths and the summed batches run again.
// (8x8, the default, runs with every case above.)
const tunerShapes = REGISTER_SHAPES.filter(([c, r]) => c !== 8 || r !== 8);
const edgeCases = cases.filter((c) =>
  [
    '65x257x63',
    'tall 300x5x7 (several workgroup rows)',
    'B rows as vec4, wide 3x6x200',
    'A·Bᵀ as vec4, 35x28x150',
    'batch 3, broadcast B, gaps',
    'sumBatches A·Bᵀ as vec4, strided',
    'sumBatches A·Bᵀ as vec4 in runs of 2',
    'bias col + relu',
  ].includes(c.name),
);
describe.each(tunerShapes)('matmul registerTile with %ix%i invocations', (wgCols, wgRows) => {
  it.each(edgeCases)('$name matches the twin', async (c) => {
    const entryPoint = await checkCase(gpu(), c, { variant: 'registerTile', wgCols, wgRows });
    if (c.tileEntry) expect(entryPoint).toBe(c.tileEntry);
  });

  it('names its shape in the label and sizes the grid by its block', () => {
    const t = (n: number): GpuTensor => upload(gpu(), new Float32Array(n), [n]);
    const [a, b, out] = [t(300), t(200), t(300 * 200)];
    const call = matmul(
      { a, b, out, M: 300, K: 1, N: 200 },
      { variant: 'registerTile', wgCols, wgRows },
    );
    expect(call.label).toContain(`${wgCols}x${wgRows}(`);
    expect(call.workgroups).toEqual([
      Math.ceil(200 / (12 * wgCols)),
      Math.ceil(300 / (16 * wgRows)),
      1,
    ]);
    expect(call.constants).toMatchObject({ wgCols, wgRows });
  });
});

describe('matmul wrapper', () => {
  const tensor = (shape: number[], dtype: GpuTensor['dtype'] = 'f32'): GpuTensor => ({
    ...upload(gpu(), [0, 0, 0, 0], [4]),
    shape,
    dtype,
  });

  it('rejects shapes that do not match M, N, K, batch and strides', () => {
    const ok = { a: tensor([2, 3]), b: tensor([3, 4]), out: tensor([2, 4]), M: 2, K: 3, N: 4 };
    expect(() => matmul(ok)).not.toThrow();
    const bad: Partial<MatmulArgs<GpuTensor>>[] = [
      { a: tensor([3, 3]) },
      { b: tensor([4, 4]) },
      { out: tensor([2, 5]) },
      { M: 0, a: tensor([0, 3]), out: tensor([0, 4]) },
      { K: 1.5 },
      { batch: 2 }, // tensors hold one product only
      { batch: 2, a: tensor([12]), b: tensor([24]), out: tensor([12]), outBatchStride: 4 }, // outputs overlap
      { productsPerSum: 1 }, // without sumBatches
      { batch: 2, a: tensor([12]), b: tensor([24]), sumBatches: true, productsPerSum: 0 },
      { batch: 3, a: tensor([18]), b: tensor([36]), sumBatches: true, productsPerSum: 2 }, // out holds 1 of 2 sums
      { bias: tensor([4]) }, // no biasMode
      { bias: tensor([4]), biasMode: 'row' }, // row bias needs M = 2 values
      { a: tensor([2, 3], 'i32') },
      { M: 65536 * 128 + 1, a: tensor([65536 * 128 + 1, 3]), out: tensor([65536 * 128 + 1, 4]) }, // grid too large
    ];
    for (const change of bad)
      expect(
        () => matmul({ ...ok, ...change }, 'registerTile'),
        JSON.stringify(Object.keys(change)),
      ).toThrow(ShadergradError);
  });

  it('counts flops and picks variants by adapter kind', () => {
    expect(matmulFlops({ M: 2, N: 3, K: 4, batch: 5 })).toBe(240);
    expect(preferredMatmulVariant('lavapipe')).toBe('registerTile');
    expect(preferredMatmulVariant('swiftshader')).toBe('registerTile');
    expect(preferredMatmulVariant('hardware')).toBe('workgroupTile');
  });
});

describe('matmulWorkgroupTile race detector (wgsl_reflect)', () => {
  const [M, N] = [5, 7];
  const bindGroups = (K: number): Record<string, Record<string, unknown>> => ({
    0: {
      0: new Float32Array(M * K).fill(1).buffer,
      1: new Float32Array(K * N).fill(2).buffer,
      2: new Float32Array(8).buffer,
      3: new Float32Array(M * N).buffer,
      4: { uniform: new Uint32Array([M, N, K, 1, M * K, K * N, M * N, 0]).buffer },
    },
  });

  it('finds no races and no barrier divergence', () => {
    // K = 40 is two 32-deep slices, so both barriers (after staging, before restaging) matter.
    const result = detectRaces(
      matmulShader.code,
      'matmulWorkgroupTile',
      [1, 1, 1],
      bindGroups(40),
      { constants: {} },
    );
    expect(result.errors).toEqual([]);
    expect(result.races.map((r) => r.message).slice(0, 3)).toEqual([]);
  });

  it('would report a race if the staging barrier were missing (the check can fail)', () => {
    const entry = matmulShader.code.indexOf('fn matmulWorkgroupTile');
    const barrier = matmulShader.code.indexOf('workgroupBarrier();', entry);
    const broken =
      matmulShader.code.slice(0, barrier) +
      matmulShader.code.slice(barrier + 'workgroupBarrier();'.length);
    expect(
      detectRaces(broken, 'matmulWorkgroupTile', [1, 1, 1], bindGroups(3), { constants: {} }).races
        .length,
    ).toBeGreaterThan(0);
  });
});

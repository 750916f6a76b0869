/**
 * registerTile's quadK option (matmulRegisterTileQuadK: 4 k per step, op(A) and op(B) read as
 * vec4s) against the CPU twin, on shapes that cross the 16x12 block in every direction, with
 * transA, broadcasts, strided batches with gaps, summed batches in runs, the epilogue and large
 * values; and the products it cannot take, which keep registerTile's other entry points.
 */
import { describe, expect, it } from 'vitest';
import type { GpuTensor } from '../../src/gpu/tensor';
import { REGISTER_SHAPES } from '../../src/graph/tuner';
import { parseChoice } from '../../src/graph/tuneCache';
import { choiceName, matmul, type MatmulChoice } from '../../src/kernels/matmul';
import { upload, useTestGpu } from '../helpers/gpu';
import { checkCase, type Case } from '../helpers/matmulCheck';

const gpu = useTestGpu();

const quadK = 'matmulRegisterTileQuadK';
const vec4 = 'matmulRegisterTileVec4';
const vec4K = 'matmulRegisterTileVec4K';
const scalar = 'matmulRegisterTile';

const cases: Case[] = [
  { name: 'batch 1, one quad 1x4x4', M: 1, K: 4, N: 4, tileEntry: quadK },
  { name: '37x20x44, batch 2', M: 37, K: 20, N: 44, batch: 2, tileEntry: quadK },
  { name: 'edges every way 65x260x64', M: 65, K: 260, N: 64, tileEntry: quadK },
  { name: 'tall 300x12x8 (several workgroup rows)', M: 300, K: 12, N: 8, tileEntry: quadK },
  { name: 'transA 20x8x36', M: 20, K: 8, N: 36, transA: true, tileEntry: quadK },
  { name: 'transA 68x16x200 (dense dW)', M: 68, K: 16, N: 200, transA: true, tileEntry: quadK },
  {
    name: 'broadcast A, bias row + relu (conv forward)',
    M: 12,
    K: 28,
    N: 52,
    batch: 3,
    aBatchStride: 0,
    biasMode: 'row',
    activation: 'relu',
    tileEntry: quadK,
  },
  {
    name: 'strided batches with gaps',
    M: 8,
    K: 12,
    N: 16,
    batch: 3,
    aBatchStride: 100,
    bBatchStride: 196,
    outBatchStride: 140,
    tileEntry: quadK,
  },
  {
    name: 'sumBatches transA in runs of 2, gaps',
    M: 16,
    K: 8,
    N: 20,
    batch: 5,
    transA: true,
    sumBatches: true,
    productsPerSum: 2,
    outBatchStride: 400,
    tileEntry: quadK,
  },
  {
    name: 'entries ~1e3, bias col + tanh',
    M: 21,
    K: 300,
    N: 20,
    scale: 1e3,
    biasMode: 'col',
    activation: 'tanh',
    tileEntry: quadK,
  },
  // What quadK cannot read as vec4s keeps the other entry points.
  { name: 'K 6: B rows as vec4', M: 9, K: 6, N: 12, tileEntry: vec4 },
  { name: 'transA with M 18: B rows as vec4', M: 18, K: 8, N: 36, transA: true, tileEntry: vec4 },
  { name: 'N 10: scalar', M: 9, K: 8, N: 10, tileEntry: scalar },
  { name: 'transB: A·Bᵀ as vec4', M: 9, K: 8, N: 10, transB: true, tileEntry: vec4K },
  {
    name: 'A stride 6: B rows as vec4',
    M: 3,
    K: 4,
    N: 8,
    batch: 2,
    aBatchStride: 14,
    tileEntry: vec4,
  },
];

describe('matmul registerTile quadK on the GPU', () => {
  it.each(cases)('$name matches the twin', async (c) => {
    const entryPoint = await checkCase(gpu(), c, { variant: 'registerTile', quadK: true });
    expect(entryPoint).toBe(c.tileEntry);
  });
});

// The tuner times quadK in every registerTile shape: the block edges move with the workgroup.
// (8x8, the default, ran every case above.)
const tunerShapes = REGISTER_SHAPES.filter(([c, r]) => c !== 8 || r !== 8);
const edgeCases = cases.filter((c) =>
  ['37x20x44, batch 2', 'transA 68x16x200 (dense dW)'].includes(c.name),
);
describe.each(tunerShapes)('matmul registerTile quadK with %ix%i invocations', (wgCols, wgRows) => {
  it.each(edgeCases)('$name matches the twin', async (c) => {
    const choice: MatmulChoice = { variant: 'registerTile', wgCols, wgRows, quadK: true };
    expect(await checkCase(gpu(), c, choice)).toBe(quadK);
  });
});

describe('quadK as a choice', () => {
  it('is named, labelled and read back by the tuning cache', () => {
    const choice: MatmulChoice = { variant: 'registerTile', wgCols: 16, wgRows: 4, quadK: true };
    expect(choiceName(choice)).toBe('registerTile 16x4 quadK');
    expect(parseChoice('registerTile 16x4 quadK')).toEqual(choice);
    expect(parseChoice('registerTile 16x4')).toEqual({
      variant: 'registerTile',
      wgCols: 16,
      wgRows: 4,
    });
    for (const bad of ['naive 8x8 quadK', 'registerTile 8x8 quad', 'registerTile 8x8 quadK x'])
      expect(parseChoice(bad), bad).toBeUndefined();
    const t = (n: number): GpuTensor => upload(gpu(), new Float32Array(n), [n]);
    const call = matmul({ a: t(64), b: t(64), out: t(64), M: 8, K: 8, N: 8 }, choice);
    expect(call.label).toBe('matmul.matmulRegisterTileQuadK 16x4(A·B, M=8 K=8 N=8)');
  });

  it('is only an option of registerTile: other variants ignore it', () => {
    const t = (n: number): GpuTensor => upload(gpu(), new Float32Array(n), [n]);
    const args = { a: t(64), b: t(64), out: t(64), M: 8, K: 8, N: 8 };
    const naive = { variant: 'naive', quadK: true } as const;
    expect(matmul(args, naive).entryPoint).toBe('matmulNaive');
    expect(choiceName(naive)).toBe('naive 8x8');
  });
});

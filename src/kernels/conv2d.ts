/**
 * 2-D convolution on the GPU, composed from im2col, matmul and col2im, or from conv2dImplicit's
 * products (no shader of its own).
 * Layout NCHW, weight OIHW (PyTorch); legend N,C,H,W -> O,OH,OW; S = OH*OW, R = C*KH*KW.
 *
 *   forward:  cols_n = im2col(x_n) [R, S];  out_n = act(weight[O, R] · cols_n + bias)   (N products)
 *   backward: dWeight = Σ_n dOut_n · cols_nᵀ;  dBias[o] = Σ_{n,s} dOut[n,o,s];
 *             dCols_n = weightᵀ · dOut_n;  dX = col2im(dCols)  (a gather: deterministic),
 *             or dX by conv2dImplicit's product straight from dOut (usesImplicitBackwardData;
 *             ./conv2dPaths.ts says which path a convolution takes and what scratch it needs)
 * or, on the implicit path (conv2dPlan), forward and dWeight by conv2dImplicit's products straight
 * from a padded copy of x (conv2dImplicitForward, conv2dImplicitWeightGrad): no cols at all.
 *
 * Backward reuses the forward's `cols` (im2col of x) rather than unfolding x again: on a CPU
 * "GPU" im2col costs as much as a matrix product, and cols is N*R*S floats (40 MB for the
 * reference CNN's conv2 at batch 64), which the memory planner keeps alive only from forward to
 * backward. `dOut` is the gradient w.r.t. the pre-activation output: a fused activation is
 * undone by the caller (activationBackward) first.
 * Reference: Chellapilla et al., "High Performance Convolutional Neural Networks for Document
 * Processing" (2006), which lowers convolution to matrix products this way.
 */
import type { KernelCall } from '../gpu/dispatch';
import { ShadergradError } from '../base/errors';
import {
  PORTABLE_OFFSET_ALIGNMENT,
  batchAlignment,
  bytesPerElement,
  elementCount,
  sliceBatch,
  type GpuTensor,
} from '../gpu/tensor';
import { addAccumulate } from './add';
import { biasBackward } from './bias';
import { expectCount, expectWhole } from './checks';
import type { Activation } from './common.cpu';
import type { Conv2dBackwardArgs, Conv2dForwardArgs } from './conv2d.cpu';
import { col2im, im2col } from './conv2dIm2col';
import {
  conv2dBackwardData,
  conv2dPadGradient,
  conv2dWeightsTranspose,
  paddedGradientShape,
} from './conv2dImplicit';
import {
  conv2dImplicitForward,
  conv2dImplicitWeightGrad,
  implicitConvProblem,
  inputPaddedShape,
  outputRowsShape,
  weightGradPadsRows,
} from './conv2dImplicitConv';
import {
  convPathOf,
  usesImplicitBackwardData,
  type ConvPath,
  type ImplicitScratch,
  type ScratchDtype,
} from './conv2dPaths';
import { im2colShape, type Conv2dGeometry } from './geometry';
import { matmul, type MatmulPolicy } from './matmul';

export interface Conv2dGpuForwardArgs extends Conv2dForwardArgs<GpuTensor> {
  /**
   * Scratch [N, R, S] for the unfolded input ([batchChunk, R, S] when the batch goes in chunks);
   * unused with `implicit`.
   */
  cols?: GpuTensor;
  /**
   * On the implicit path (conv2dPlan): the scratch of conv2dImplicitForward, which then replaces
   * im2col + matmul. xPadded lives on to the backward, whose weight gradient reads it.
   */
  implicit?: { xPadded: GpuTensor; weightForward: GpuTensor };
  activation?: Activation;
  /**
   * Samples per im2col pass (conv2dBatchChunk): the batch goes through in chunks when its cols
   * would pass the device's largest storage binding. Default: the whole batch.
   */
  batchChunk?: number;
}

export interface Conv2dGpuBackwardArgs extends Conv2dBackwardArgs<GpuTensor> {
  /**
   * [N, R, S], im2col(x) as the forward left it; with batchChunk < N, a [batchChunk, R, S]
   * scratch the backward fills again chunk by chunk. Unused with `implicitWeightGrad`.
   */
  cols?: GpuTensor;
  /**
   * On the implicit path: the forward's xPadded (still holding x) and, where weightGradPadsRows,
   * a dOutRows scratch (outputRowsShape); dWeight then comes from conv2dImplicitWeightGrad
   * instead of cols.
   */
  implicitWeightGrad?: { xPadded: GpuTensor; dOutRows?: GpuTensor };
  /** As the forward's; dCols and dOutPadded then hold batchChunk samples too. */
  batchChunk?: number;
  /** Scratch [O, R] for one chunk's share of dWeight, when the batch goes in chunks. */
  dWeightPart?: GpuTensor;
  /**
   * Scratch [runs, O, R] (weightGradRunsShape, for a chunk's samples) for dWeight's partial sums:
   * the samples go in up to `runs` runs, summed side by side, then added in order. Absent: one
   * sum over the batch.
   */
  dWeightRuns?: GpuTensor;
  /** Scratch [N, R, S] for dCols, when dX is wanted and takes matmul + col2im. */
  dCols?: GpuTensor;
  /**
   * Scratch for dX by the implicit product (conv2dImplicit.ts: weightCkoShape,
   * paddedGradientShape), when usesImplicitBackwardData says so; replaces dCols. `product`: its
   * kernel (default subgroupTile).
   */
  implicit?: ImplicitScratch<GpuTensor>;
  /** Threads that share one channel of dBias (biasBackward's `lanes`; default a GPU's 256). */
  biasLanes?: number;
}

function dims(g: Conv2dGeometry, O: number): { R: number; S: number; O: number } {
  return { R: g.C * g.KH * g.KW, S: g.OH * g.OW, O };
}

/** The cols (and dCols) scratch's shape, [N, C*KH*KW, OH*OW]: geometry.ts's im2colShape. */
export const conv2dColsShape = im2colShape;

export function conv2dForward(args: Conv2dGpuForwardArgs, policy?: MatmulPolicy): KernelCall[] {
  const g = args.geometry;
  const { R, S } = dims(g, args.O);
  if (args.implicit) return conv2dImplicitForward({ ...args, ...args.implicit });
  const chunk = batchChunkOf(args);
  expectCount('conv2d.forward', 'cols', colsOf(args), chunk * R * S);
  if (chunk >= g.N) return forwardCalls(args, policy);
  return batchChunks(g.N, chunk).flatMap(([first, n]) =>
    forwardCalls(
      {
        ...args,
        x: sliceBatch(args.x, first, n),
        out: sliceBatch(args.out, first, n),
        cols: sliceBatch(colsOf(args), 0, n),
        geometry: { ...g, N: n },
      },
      policy,
    ),
  );
}

/** The im2col path's cols scratch, which that path cannot do without. */
function colsOf(args: { cols?: GpuTensor }): GpuTensor {
  if (!args.cols) throw new ShadergradError('conv2d: the im2col path needs a cols scratch tensor');
  return args.cols;
}

function forwardCalls(args: Conv2dGpuForwardArgs, policy?: MatmulPolicy): KernelCall[] {
  const g = args.geometry;
  const { R, S, O } = dims(g, args.O);
  const product = matmul(
    {
      a: args.weight,
      b: colsOf(args),
      out: args.out,
      M: O,
      K: R,
      N: S,
      batch: g.N,
      aBatchStride: 0,
      bBatchStride: R * S,
      outBatchStride: O * S,
      ...(args.bias ? { bias: args.bias, biasMode: 'row' as const } : {}),
      activation: args.activation ?? 'none',
    },
    policy,
  );
  return [im2col({ x: args.x, cols: colsOf(args), geometry: g }), product];
}

export function conv2dBackward(args: Conv2dGpuBackwardArgs, policy?: MatmulPolicy): KernelCall[] {
  const g = args.geometry;
  const { R, S, O } = dims(g, args.O);
  const chunk = batchChunkOf(args);
  if (!args.implicitWeightGrad) expectCount('conv2d.backward', 'cols', colsOf(args), chunk * R * S);
  const calls: KernelCall[] = [];
  if (args.dBias)
    calls.push(
      biasBackward({ dOut: args.dOut, dBias: args.dBias, N: g.N, C: O, S }, args.biasLanes),
    );
  if (args.dX && args.implicit) calls.push(weightsTransposeCall(args, args.implicit));
  if (chunk >= g.N)
    return [
      ...weightGradCalls(args, args.dWeight, policy),
      ...calls,
      ...inputGradCalls(args, policy),
    ];
  const dWeightPart = args.dWeightPart;
  if (!dWeightPart)
    throw new ShadergradError(
      'conv2d.backward: a batch in chunks needs a dWeightPart scratch tensor',
    );
  if (args.implicitWeightGrad)
    throw new ShadergradError('conv2d.backward: the implicit path takes the batch whole');
  batchChunks(g.N, chunk).forEach(([first, n], k) => {
    const part = chunkOfBackward(args, first, n);
    // cols is refilled per chunk: the forward's chunks did not outlive it
    calls.push(im2col({ x: part.x, cols: colsOf(part), geometry: part.geometry }));
    // dWeight is the sum over chunks, first to last (a fixed order: reruns are bit-identical)
    calls.push(...weightGradCalls(part, k === 0 ? args.dWeight : dWeightPart, policy));
    if (k > 0)
      calls.push(addAccumulate({ source: dWeightPart, target: args.dWeight, count: O * R }));
    calls.push(...inputGradCalls(part, policy));
  });
  return calls;
}

/** Samples first..first+n of a backward's tensors; its scratch tensors hold the first n samples. */
function chunkOfBackward(
  args: Conv2dGpuBackwardArgs,
  first: number,
  n: number,
): Conv2dGpuBackwardArgs {
  const { implicit, dCols, dX } = args;
  return {
    ...args,
    x: sliceBatch(args.x, first, n),
    dOut: sliceBatch(args.dOut, first, n),
    cols: sliceBatch(colsOf(args), 0, n),
    geometry: { ...args.geometry, N: n },
    ...(dX ? { dX: sliceBatch(dX, first, n) } : {}),
    ...(dCols ? { dCols: sliceBatch(dCols, 0, n) } : {}),
    ...(implicit
      ? { implicit: { ...implicit, dOutPadded: sliceBatch(implicit.dOutPadded, 0, n) } }
      : {}),
  };
}

/**
 * Outputs a weight gradient's product should have in all, counting partial sums. Σ_n dOut_n ·
 * cols_nᵀ has only O·R outputs (800 for the reference CNN's conv1, 51 200 for conv2), so one sum
 * over the batch keeps a handful of workgroups busy (one for conv1), however wide the GPU. On
 * lavapipe conv2's took 99 ms as one sum and 56-62 ms in 16 runs of 4 samples, plus 1.5 ms to add
 * them (docs/measurements.md, "A weight gradient in partial sums").
 */
const WEIGHT_GRAD_OUTPUTS = 2 ** 20;

/** Samples per run when `count` samples go in at most `runs` runs (the calls and the plan agree). */
function runLength(count: number, runs: number): number {
  return Math.ceil(count / runs);
}

/** Runs of dWeight's partial sums for g.N samples: 1 is one sum, needing no scratch. */
function plannedRuns(g: Conv2dGeometry, O: number): number {
  const { R } = dims(g, O);
  const most = Math.min(g.N, Math.ceil(WEIGHT_GRAD_OUTPUTS / (O * R)));
  return Math.ceil(g.N / runLength(g.N, most));
}

/** Samples per partial sum of dWeight over g.N samples: g.N is one sum, needing no scratch. */
export function weightGradRun(g: Conv2dGeometry, O: number): number {
  return runLength(g.N, plannedRuns(g, O));
}

/** The dWeightRuns scratch [runs, O, R] for g.N samples, or undefined when one sum is taken. */
export function weightGradRunsShape(g: Conv2dGeometry, O: number): number[] | undefined {
  const runs = plannedRuns(g, O);
  return runs > 1 ? [runs, O, dims(g, O).R] : undefined;
}

/** The plan's note on a weight gradient taken in runs; undefined for one sum. */
export function weightGradNote(g: Conv2dGeometry, O: number): string | undefined {
  const shape = weightGradRunsShape(g, O);
  if (!shape) return undefined;
  const run = weightGradRun(g, O);
  return `weight gradient as ${shape[0]} partial sums of ${run} sample${run > 1 ? 's' : ''} side by side, then added in order`;
}

/**
 * dWeight[O, R] = Σ_n dOut_n[O, S] · cols_n[R, S]ᵀ over the args' samples (or the same sums from
 * the padded input, with implicitWeightGrad), written to `out`; with a dWeightRuns scratch
 * [runs, O, R], as up to `runs` partial sums of consecutive samples, then added in run order.
 */
function weightGradCalls(
  args: Conv2dGpuBackwardArgs,
  out: GpuTensor,
  policy?: MatmulPolicy,
): KernelCall[] {
  const g = args.geometry;
  const { R, O } = dims(g, args.O);
  // As many runs as the scratch holds, at most: a batch's last, shorter chunk takes fewer.
  const run = runLength(g.N, args.dWeightRuns?.shape[0] ?? 1);
  const runs = Math.ceil(g.N / run);
  const partials = runs > 1 && args.dWeightRuns ? sliceBatch(args.dWeightRuns, 0, runs) : undefined;
  const product = args.implicitWeightGrad
    ? conv2dImplicitWeightGrad({
        ...args.implicitWeightGrad,
        dOut: args.dOut,
        dWeightRuns: partials ?? out,
        geometry: g,
        O,
        run: partials ? run : g.N,
      })
    : [weightGradProduct(args, partials ?? out, partials ? run : undefined, policy)];
  if (!partials) return product;
  // dWeight[i] = Σ_run partials[run, i]: biasBackward's serial sum over its batch axis
  const sum = biasBackward({ dOut: partials, dBias: out, N: runs, C: O * R, S: 1 });
  return [...product, { ...sum, label: `${sum.label}: dWeight from ${runs} partial sums` }];
}

/** The im2col path's Σ_n dOut_n · cols_nᵀ into `out`, in partial sums of `run` samples if given. */
function weightGradProduct(
  args: Conv2dGpuBackwardArgs,
  out: GpuTensor,
  run: number | undefined,
  policy?: MatmulPolicy,
): KernelCall {
  const g = args.geometry;
  const { R, S, O } = dims(g, args.O);
  return matmul(
    {
      a: args.dOut,
      b: colsOf(args),
      out,
      M: O,
      K: S,
      N: R,
      transB: true,
      batch: g.N,
      aBatchStride: O * S,
      bBatchStride: R * S,
      sumBatches: true,
      ...(run !== undefined ? { productsPerSum: run } : {}),
    },
    policy,
  );
}

function weightsTransposeCall(
  args: Conv2dGpuBackwardArgs,
  implicit: NonNullable<Conv2dGpuBackwardArgs['implicit']>,
): KernelCall {
  return conv2dWeightsTranspose({
    weight: args.weight,
    weightCko: implicit.weightCko,
    geometry: args.geometry,
    O: args.O,
  });
}

/**
 * The calls that compute dX alone, with the weight transpose the implicit product needs: what the
 * autotuner times to pick a path (conv2dBackward interleaves them with dWeight's).
 */
export function conv2dInputGrad(args: Conv2dGpuBackwardArgs, policy?: MatmulPolicy): KernelCall[] {
  const transpose = args.dX && args.implicit ? [weightsTransposeCall(args, args.implicit)] : [];
  return [...transpose, ...inputGradCalls(args, policy)];
}

/** dX for the args' samples: the implicit product (weightCko already written) or matmul + col2im. */
function inputGradCalls(args: Conv2dGpuBackwardArgs, policy?: MatmulPolicy): KernelCall[] {
  const g = args.geometry;
  const { R, S, O } = dims(g, args.O);
  if (!args.dX) return [];
  if (args.implicit) {
    const { weightCko, dOutPadded, product } = args.implicit;
    const shape = { geometry: g, O };
    return [
      conv2dPadGradient({ dOut: args.dOut, dOutPadded, ...shape }),
      conv2dBackwardData({ weightCko, dOutPadded, dX: args.dX, ...shape }, product),
    ];
  }
  if (!args.dCols) throw new ShadergradError('conv2d.backward: dX needs a dCols scratch tensor');
  expectCount('conv2d.backward', 'dCols', args.dCols, g.N * R * S);
  // dCols_n[R, S] = weight[O, R]ᵀ · dOut_n[O, S]
  const product = matmul(
    {
      a: args.weight,
      b: args.dOut,
      out: args.dCols,
      M: R,
      K: O,
      N: S,
      transA: true,
      batch: g.N,
      aBatchStride: 0,
      bBatchStride: O * S,
      outBatchStride: R * S,
    },
    policy,
  );
  return [product, col2im({ dCols: args.dCols, dX: args.dX, geometry: g })];
}

function batchChunkOf(args: { geometry: Conv2dGeometry; batchChunk?: number }): number {
  const chunk = args.batchChunk ?? args.geometry.N;
  expectWhole('conv2d', 'batchChunk', chunk);
  return Math.min(chunk, args.geometry.N);
}

/** [first, count] of each chunk of `chunk` samples (the last may be shorter). */
function batchChunks(N: number, chunk: number): [number, number][] {
  const out: [number, number][] = [];
  for (let first = 0; first < N; first += chunk) out.push([first, Math.min(chunk, N - first)]);
  return out;
}

/** What a convolution's plan depends on beside its shape. */
export interface ConvPlanOptions {
  /** How the products run, and which paths the convolution takes (conv2dPaths.ts). */
  policy?: MatmulPolicy;
  /** The device's (or the plan's) largest storage binding. */
  maxBindingBytes: number;
  /**
   * cols' storage, or on the implicit path the padded x's: f16 under mixed precision (dCols and
   * the padded gradient are f32).
   */
  colsDtype?: ScratchDtype;
  /** Whether the backward computes dX (default true; a first layer's images need none). */
  withInputGrad?: boolean;
}

/**
 * Samples per pass of a convolution's per-sample scratch (cols, and dCols or the padded gradient),
 * so that none exceeds `maxBindingBytes`: the whole batch when it fits (the forward's cols then
 * serve the backward), else the largest count that fits and starts every chunk's views of x, out,
 * dOut and dX on a bindable offset; the backward then unfolds x again, chunk by chunk.
 */
export function conv2dBatchChunk(g: Conv2dGeometry, O: number, options: ConvPlanOptions): number {
  const { policy, maxBindingBytes, colsDtype = 'f32', withInputGrad = true } = options;
  const { R, S } = dims(g, O);
  const inputGradBytes = withInputGrad ? inputGradSampleBytes(g, O, policy) : 0;
  const perSample = Math.max(R * S * bytesPerElement[colsDtype], inputGradBytes);
  if (g.N * perSample <= maxBindingBytes) return g.N;
  const align = lcm(batchAlignment(g.C * g.H * g.W * 4), batchAlignment(O * S * 4));
  const chunk = Math.floor(maxBindingBytes / perSample / align) * align;
  if (chunk < 1)
    throw new ShadergradError(
      `conv2d: ${align} sample(s) (the smallest group whose tensors start on a ${PORTABLE_OFFSET_ALIGNMENT}-byte boundary) need ${align * perSample} bytes of scratch, past this device's largest storage binding (${maxBindingBytes} bytes); use a smaller kernel or fewer features`,
    );
  return chunk;
}

export interface ConvPlan {
  path: ConvPath;
  /** Samples per pass (conv2dBatchChunk); the implicit path takes the whole batch. */
  chunk: number;
}

/**
 * The implicit path where its kernels can run this convolution, the whole batch's scratch fits
 * one binding, and the policy takes it (convPathOf: the tuner's choice, else the subgroupTile
 * variant's default); else im2col + matmul, in chunks if need be. Under mixed precision the
 * implicit path keeps its padded x in f16 where im2col would keep cols: the products read the
 * same rounded values either way.
 */
export function conv2dPlan(g: Conv2dGeometry, O: number, options: ConvPlanOptions): ConvPlan {
  const { policy, maxBindingBytes, colsDtype = 'f32', withInputGrad = true } = options;
  const eitherPath =
    implicitConvProblem(g, O, true) === undefined &&
    implicitScratchBytes(g, O, policy, withInputGrad, colsDtype) <= maxBindingBytes;
  if (eitherPath && convPathOf(g, O, colsDtype, policy) === 'implicit')
    return { path: 'implicit', chunk: g.N };
  return { path: 'im2col', chunk: conv2dBatchChunk(g, O, options) };
}

/**
 * The largest scratch tensor of the implicit path for the whole batch, dX's if it is wanted; the
 * padded x in `xDtype`.
 */
function implicitScratchBytes(
  g: Conv2dGeometry,
  O: number,
  policy: MatmulPolicy | undefined,
  withInputGrad: boolean,
  xDtype: ScratchDtype,
): number {
  const padded = Math.max(
    bytesPerElement[xDtype] * elementCount(inputPaddedShape(g, O)),
    weightGradPadsRows(g) ? 4 * elementCount(outputRowsShape(g, O)) : 0,
  );
  return Math.max(padded, withInputGrad ? g.N * inputGradSampleBytes(g, O, policy) : 0);
}

/** Bytes per sample of dX's scratch: the implicit product's padded dOut, or dCols. */
function inputGradSampleBytes(
  g: Conv2dGeometry,
  O: number,
  policy: MatmulPolicy | undefined,
): number {
  const { R, S } = dims(g, O);
  return usesImplicitBackwardData(g, O, policy)
    ? (elementCount(paddedGradientShape(g, O)) / g.N) * 4
    : R * S * 4; // dCols
}

function lcm(a: number, b: number): number {
  const gcd = (x: number, y: number): number => (y === 0 ? x : gcd(y, x % y));
  return (a / gcd(a, b)) * b;
}

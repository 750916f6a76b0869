/**
 * 2-D convolution on the GPU, composed from im2col, matmul and col2im (no shader of its own).
 * Layout NCHW, weight OIHW (PyTorch); legend N,C,H,W -> O,OH,OW; S = OH*OW, R = C*KH*KW.
 *
 *   forward:  cols_n = im2col(x_n) [R, S];  out_n = act(weight[O, R] · cols_n + bias)   (N products)
 *   backward: dWeight = Σ_n dOut_n · cols_nᵀ;  dBias[o] = Σ_{n,s} dOut[n,o,s];
 *             dCols_n = weightᵀ · dOut_n;  dX = col2im(dCols)  (a gather: deterministic),
 *             or dX by conv2dImplicit's product straight from dOut (usesImplicitBackwardData)
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
import type { GpuTensor } from '../gpu/tensor';
import { biasBackward } from './bias';
import { expectCount } from './checks';
import type { Activation } from './common.cpu';
import type { Conv2dBackwardArgs, Conv2dForwardArgs } from './conv2d.cpu';
import { col2im, im2col } from './conv2dIm2col';
import {
  conv2dBackwardData,
  conv2dPadGradient,
  conv2dWeightsTranspose,
  implicitBackwardDataProblem,
  paddedGradientShape,
  weightCkoShape,
} from './conv2dImplicit';
import type { Conv2dGeometry } from './geometry';
import { matmul, type MatmulVariant } from './matmul';

export interface Conv2dGpuForwardArgs extends Conv2dForwardArgs<GpuTensor> {
  /** Scratch [N, R, S] for the unfolded input. */
  cols: GpuTensor;
  activation?: Activation;
}

export interface Conv2dGpuBackwardArgs extends Conv2dBackwardArgs<GpuTensor> {
  /** [N, R, S], im2col(x) as the forward left it. */
  cols: GpuTensor;
  /** Scratch [N, R, S] for dCols, when dX is wanted and takes matmul + col2im. */
  dCols?: GpuTensor;
  /**
   * Scratch for dX by the implicit product (conv2dImplicit.ts: weightCkoShape,
   * paddedGradientShape), when usesImplicitBackwardData says so; replaces dCols.
   */
  implicit?: { weightCko: GpuTensor; dOutPadded: GpuTensor };
}

/**
 * Whether dX takes conv2dImplicit's product (with the subgroupTile variant, for the shapes it
 * handles: stride 1, O % 4 == 0) rather than matmul + col2im. On lavapipe it takes about half the
 * time for the reference CNN's conv2 and skips the N*R*S dCols scratch.
 */
export function usesImplicitBackwardData(
  g: Conv2dGeometry,
  O: number,
  variant?: MatmulVariant,
): boolean {
  return variant === 'subgroupTile' && implicitBackwardDataProblem(g, O, true) === undefined;
}

function dims(g: Conv2dGeometry, O: number): { R: number; S: number; O: number } {
  return { R: g.C * g.KH * g.KW, S: g.OH * g.OW, O };
}

/** The scratch a conv's dX needs: dCols for matmul + col2im, or the implicit product's two. */
export type Conv2dInputGradScratch<T> =
  { dCols: T } | { implicit: { weightCko: T; dOutPadded: T } };

/**
 * Makes the scratch dX needs with `variant` (usesImplicitBackwardData decides which kind), one
 * `make(name, shape)` per tensor: the autodiff rule asks its planner, benches create buffers.
 */
export function conv2dInputGradScratch<T>(
  g: Conv2dGeometry,
  O: number,
  variant: MatmulVariant | undefined,
  make: (name: 'dCols' | 'weightCko' | 'dOutPadded', shape: readonly number[]) => T,
): Conv2dInputGradScratch<T> {
  if (!usesImplicitBackwardData(g, O, variant)) return { dCols: make('dCols', conv2dColsShape(g)) };
  return {
    implicit: {
      weightCko: make('weightCko', weightCkoShape(g, O)),
      dOutPadded: make('dOutPadded', paddedGradientShape(g, O)),
    },
  };
}

export function conv2dColsShape(g: Conv2dGeometry): [number, number, number] {
  return [g.N, g.C * g.KH * g.KW, g.OH * g.OW];
}

export function conv2dForward(args: Conv2dGpuForwardArgs, variant?: MatmulVariant): KernelCall[] {
  const g = args.geometry;
  const { R, S, O } = dims(g, args.O);
  expectCount('conv2d.forward', 'cols', args.cols, g.N * R * S);
  const product = matmul(
    {
      a: args.weight,
      b: args.cols,
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
    variant,
  );
  return [im2col({ x: args.x, cols: args.cols, geometry: g }), product];
}

export function conv2dBackward(args: Conv2dGpuBackwardArgs, variant?: MatmulVariant): KernelCall[] {
  const g = args.geometry;
  const { R, S, O } = dims(g, args.O);
  expectCount('conv2d.backward', 'cols', args.cols, g.N * R * S);
  const calls: KernelCall[] = [];
  // dWeight[O, R] = Σ_n dOut_n[O, S] · cols_n[R, S]ᵀ
  calls.push(
    matmul(
      {
        a: args.dOut,
        b: args.cols,
        out: args.dWeight,
        M: O,
        K: S,
        N: R,
        transB: true,
        batch: g.N,
        aBatchStride: O * S,
        bBatchStride: R * S,
        sumBatches: true,
      },
      variant,
    ),
  );
  if (args.dBias) calls.push(biasBackward({ dOut: args.dOut, dBias: args.dBias, N: g.N, C: O, S }));
  if (args.dX && args.implicit) {
    const { weightCko, dOutPadded } = args.implicit;
    const shape = { geometry: g, O };
    calls.push(
      conv2dWeightsTranspose({ weight: args.weight, weightCko, ...shape }),
      conv2dPadGradient({ dOut: args.dOut, dOutPadded, ...shape }),
      conv2dBackwardData({ weightCko, dOutPadded, dX: args.dX, ...shape }),
    );
  } else if (args.dX) {
    if (!args.dCols) throw new ShadergradError('conv2d.backward: dX needs a dCols scratch tensor');
    expectCount('conv2d.backward', 'dCols', args.dCols, g.N * R * S);
    // dCols_n[R, S] = weight[O, R]ᵀ · dOut_n[O, S]
    calls.push(
      matmul(
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
        variant,
      ),
    );
    calls.push(col2im({ dCols: args.dCols, dX: args.dX, geometry: g }));
  }
  return calls;
}

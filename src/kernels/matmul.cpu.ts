/**
 * CPU twin of shaders/matmul.wgsl: the spec the GPU kernels are tested against.
 * Per batch b: C_b = act(op(A_b) · op(B_b) + bias), M,K,N legend, row-major; with sumBatches one
 * C = act(sum_b op(A_b) · op(B_b) + bias), or one such sum per run of productsPerSum consecutive
 * products. Sums run in JS numbers (float64).
 */
import { activateCpu, type Activation, type FloatArray } from './common.cpu';

export interface MatmulArgs<T> {
  a: T;
  b: T;
  out: T;
  M: number;
  N: number;
  K: number;
  /** A_b stored as [K, M] instead of [M, K] (read transposed, never materialized). */
  transA?: boolean;
  /** B_b stored as [N, K] instead of [K, N]. */
  transB?: boolean;
  /** Number of products; default 1. */
  batch?: number;
  /** Elements between A_b and A_{b+1}; default M*K; 0 broadcasts one A. */
  aBatchStride?: number;
  /** Elements between B_b and B_{b+1}; default K*N; 0 broadcasts one B. */
  bBatchStride?: number;
  /** Elements between C_b and C_{b+1} (with sumBatches, between two sums); default M*N. */
  outBatchStride?: number;
  /** out is ONE [M, N] matrix = sum over b of op(A_b) op(B_b) (weight gradients of conv). */
  sumBatches?: boolean;
  /**
   * With sumBatches: products per sum (default batch, one output). Output g is the sum of
   * products g·p .. min(batch, g·p + p) - 1, at g · outBatchStride: ceil(batch / p) partial sums
   * that the GPU computes in parallel, for the caller to add in order.
   */
  productsPerSum?: number;
  bias?: T;
  /** 'row': bias[m] added to row m (conv, per output channel); 'col': bias[n] (dense). */
  biasMode?: 'row' | 'col';
  /** Epilogue after the bias. */
  activation?: Activation;
}

export type MatmulLayout = Pick<
  MatmulArgs<unknown>,
  | 'M'
  | 'N'
  | 'K'
  | 'batch'
  | 'aBatchStride'
  | 'bBatchStride'
  | 'outBatchStride'
  | 'sumBatches'
  | 'productsPerSum'
>;

/**
 * Batch count and strides with the defaults filled in (shared with the GPU wrapper), and the
 * outputs written: `batch` of one product each, or with sumBatches ceil(batch / productsPerSum).
 */
export function matmulStrides(args: MatmulLayout): {
  batch: number;
  aBatchStride: number;
  bBatchStride: number;
  outBatchStride: number;
  productsPerSum: number;
  outputs: number;
} {
  const { M, N, K } = args;
  const batch = args.batch ?? 1;
  const productsPerSum = args.sumBatches ? (args.productsPerSum ?? batch) : 1;
  return {
    batch,
    aBatchStride: args.aBatchStride ?? M * K,
    bBatchStride: args.bBatchStride ?? K * N,
    outBatchStride: args.outBatchStride ?? M * N,
    productsPerSum,
    outputs: Math.ceil(batch / productsPerSum),
  };
}

export function matmulCpu(args: MatmulArgs<FloatArray>): void {
  const { a, b, out, M, N, K, bias, biasMode } = args;
  const { batch, aBatchStride, bBatchStride, outBatchStride, productsPerSum, outputs } =
    matmulStrides(args);
  for (let o = 0; o < outputs; o++) {
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let sum = 0;
        for (let p = o * productsPerSum; p < Math.min(batch, (o + 1) * productsPerSum); p++) {
          const aBase = p * aBatchStride;
          const bBase = p * bBatchStride;
          for (let k = 0; k < K; k++) {
            const aMK = a[aBase + (args.transA ? k * M + m : m * K + k)] ?? 0;
            const bKN = b[bBase + (args.transB ? n * K + k : k * N + n)] ?? 0;
            sum += aMK * bKN;
          }
        }
        if (bias && biasMode) sum += bias[biasMode === 'row' ? m : n] ?? 0;
        out[o * outBatchStride + m * N + n] = activateCpu(sum, args.activation ?? 'none');
      }
    }
  }
}

/**
 * CPU twin of shaders/embedding.wgsl: torch.nn.Embedding's lookup and its gradient (each table
 * row sums the gradients of the positions holding its token, in position order), and the add of
 * a position table broadcast over the batch.
 */
import { ShadergradError } from '../base/errors';
import type { FloatArray } from './common.cpu';

export interface EmbeddingForwardArgs<T, U> {
  /** [N] token ids < V. */
  tokens: U;
  /** [V, C] */
  table: T;
  /** [N, C] = table[tokens[n]]. */
  out: T;
  N: number;
  V: number;
  C: number;
}

export interface EmbeddingBackwardArgs<T, U> {
  /** [N] token ids < V. */
  tokens: U;
  /** [N, C] */
  dOut: T;
  /** [V, C], where row v sums dOut over the positions holding v (0 for a token never seen). */
  dTable: T;
  N: number;
  V: number;
  C: number;
}

export interface PositionAddForwardArgs<T> {
  /** [B, P], P = T·C */
  x: T;
  /** [P] */
  pos: T;
  /** [B, P] = x + pos */
  out: T;
  B: number;
  P: number;
}

/** The token at position n, refused when it is not below V (the GPU writes NaN for it). */
function tokenAt(tokens: Uint32Array, n: number, V: number): number {
  const token = tokens[n] ?? 0;
  if (token >= V)
    throw new ShadergradError(
      `embedding: token ${token} at position ${n} is not below the vocabulary size ${V}`,
    );
  return token;
}

export function embeddingForwardCpu(a: EmbeddingForwardArgs<FloatArray, Uint32Array>): void {
  const { tokens, table, out, N, V, C } = a;
  for (let n = 0; n < N; n++) {
    const row = tokenAt(tokens, n, V) * C;
    for (let c = 0; c < C; c++) out[n * C + c] = table[row + c] ?? 0;
  }
}

export function embeddingBackwardCpu(a: EmbeddingBackwardArgs<FloatArray, Uint32Array>): void {
  const { tokens, dOut, dTable, N, V, C } = a;
  dTable.fill(0, 0, V * C);
  // the shader's order: for each (v, c) the positions in order, which this loop keeps per row.
  // Into a Float32Array each store rounds an f64 sum of two f32 values to the correctly rounded
  // f32 sum, so the result is the GPU's bits exactly.
  for (let n = 0; n < N; n++) {
    const row = tokenAt(tokens, n, V) * C;
    for (let c = 0; c < C; c++) dTable[row + c] = (dTable[row + c] ?? 0) + (dOut[n * C + c] ?? 0);
  }
}

export function positionAddForwardCpu({
  x,
  pos,
  out,
  B,
  P,
}: PositionAddForwardArgs<FloatArray>): void {
  for (let i = 0; i < B * P; i++) out[i] = (x[i] ?? 0) + (pos[i % P] ?? 0);
}

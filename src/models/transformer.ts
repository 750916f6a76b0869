/**
 * A transformer's pieces as graph builders, from the graph's ops (dense over the last axis,
 * reshape and transpose views, batched matmul, softmax, layer norm, GELU), with the names of the
 * minimal PyTorch modules in tests/golden/transformer_small.py, so checkpoints move both ways:
 *
 *   attention  <name>.query, .key, .value, .proj: nn.Linear(C, C); heads of width D = C / H
 *              softmax(Q·Kᵀ / sqrt(D) [+ causal mask]) · V, heads merged, then proj
 *   block      <name>.ln1, .attn, .ln2, .mlp.fc1 (C -> hidden), .mlp.fc2 (hidden -> C), pre-norm:
 *              h = x + attn(ln1(x)); out = h + fc2(gelu(fc1(ln2(h))))
 *   dropout    (optional, training only) on the attention weights and on each residual branch
 *              before its sum, as GPT-2 places it
 *
 *   patchEmbedding  <name>: nn.Conv2d(C, F, P, stride P), then x.flatten(2).transpose(1, 2)
 *   tokenMean       x.mean(dim=1)
 *
 * Shapes carry the batch: x is [N, T, C].
 */
import { ShadergradError, type Graph, type GeluApproximation } from '../core';

export interface AttentionOptions {
  name: string;
  heads: number;
  /** Query t attends to keys 0..t only (a decoder, GPT); default false (an encoder, ViT). */
  causal?: boolean;
  /**
   * Dropout rate (training only) on the attention weights and on each residual branch before its
   * sum, as GPT-2 and ViT place it; default 0 (none).
   */
  dropout?: number;
}

export interface BlockOptions extends AttentionOptions {
  /** Width of the MLP's hidden layer (default 4·C, as GPT-2 and ViT). */
  hidden?: number;
  gelu?: GeluApproximation;
}

/** Multi-head self-attention of x [N, T, C] (see the file header); returns its [N, T, C]. */
export function attention(g: Graph, x: number, o: AttentionOptions): number {
  const [, T = 0, C = 0] = g.get(x).shape;
  if (g.get(x).shape.length !== 3)
    throw new ShadergradError(
      `${o.name}: attention expects [N, T, C], got [${g.get(x).shape.join(', ')}]`,
    );
  if (!Number.isInteger(o.heads) || o.heads < 1 || C % o.heads !== 0)
    throw new ShadergradError(`${o.name}: heads = ${o.heads} must divide the width ${C}`);
  const D = C / o.heads;
  // [N, T, C] -> [N, T, H, D] (a view) -> [N, H, T, D] (a copy): each head's [T, D] contiguous
  const heads = (what: string): number => {
    const projected = g.dense(x, { name: `${o.name}.${what}`, units: C });
    return g.transpose(g.reshape(projected, [T, o.heads, D]));
  };
  const [q, k, v] = [heads('query'), heads('key'), heads('value')];
  const scores = g.matmul(q, k, { name: `${o.name}.scores`, transB: true }); // [N, H, T, T]
  const scale = 1 / Math.sqrt(D);
  const weights = g.softmax(scores, {
    name: `${o.name}.softmax`,
    scale,
    causal: o.causal ?? false,
  });
  const kept = maybeDropout(g, weights, o.dropout, `${o.name}.attn_drop`);
  const mixed = g.matmul(kept, v, { name: `${o.name}.mix` }); // [N, H, T, D]
  const merged = g.reshape(g.transpose(mixed), [T, C]);
  const projected = g.dense(merged, { name: `${o.name}.proj`, units: C });
  return maybeDropout(g, projected, o.dropout, `${o.name}.resid_drop`);
}

/** x itself for a rate of 0 (no node), else a dropout node (training only). */
function maybeDropout(g: Graph, x: number, rate: number | undefined, name: string): number {
  return rate ? g.dropout(x, rate, name) : x;
}

/** A pre-norm transformer block of x [N, T, C] (see the file header). */
export function transformerBlock(g: Graph, x: number, o: BlockOptions): number {
  const C = g.get(x).shape.at(-1) ?? 0;
  const attended = attention(g, g.layerNorm(x, { name: `${o.name}.ln1` }), {
    ...o,
    name: `${o.name}.attn`,
  });
  const h = g.add(x, attended, { name: `${o.name}.add1` });
  const fc1 = g.dense(g.layerNorm(h, { name: `${o.name}.ln2` }), {
    name: `${o.name}.mlp.fc1`,
    units: o.hidden ?? 4 * C,
  });
  const fc2 = g.dense(g.gelu(fc1, o.gelu ?? 'none'), { name: `${o.name}.mlp.fc2`, units: C });
  const branch = maybeDropout(g, fc2, o.dropout, `${o.name}.mlp.drop`);
  return g.add(h, branch, { name: `${o.name}.add2` });
}

/** Non-overlapping P x P patches of [N, C, H, W], each projected to F features: [N, S, F]. */
export function patchEmbedding(
  g: Graph,
  x: number,
  o: { name: string; features: number; patch: number },
): number {
  const { name, features: F, patch: P } = o;
  const conv = g.conv2d(x, { name, features: F, kernel: P, stride: P }); // [N, F, h, w]
  const S = (g.get(conv).shape[2] ?? 1) * (g.get(conv).shape[3] ?? 1);
  // [N, F, S] -> [N, S, F] as a transpose of [N, F, S, 1]
  return g.reshape(g.transpose(g.reshape(conv, [F, S, 1])), [S, F]);
}

/** The mean over the tokens of [N, T, C]: [N, C]. */
export function tokenMean(g: Graph, x: number, name: string): number {
  const [, T = 1, C = 1] = g.get(x).shape;
  // [N, T, C] -> [N, C, T, 1] -> the mean over its "spatial" T -> [N, C]
  const channelsFirst = g.transpose(g.reshape(x, [T, C, 1]));
  return g.flatten(g.globalAvgPool(channelsFirst, name));
}

/**
 * The course's Vision Transformer for small images, as a layer list whose names are the minimal
 * PyTorch module's (tests/golden/vit_small.py and docs/models.md show it):
 *
 *   patch   nn.Conv2d(C, width, patch, stride=patch): [C, H, W] -> [S, width] tokens, S = (H/P)(W/P)
 *   pos     a learned [S, width] position table, added
 *   blocks.0 .. blocks.{depth-1}: pre-norm transformer blocks (attention with `heads` heads, an
 *           MLP of `hidden` GELU units), each with its two skip connections
 *   norm    layer norm; then the mean over the tokens (no class token); head: dense, classes
 *
 * 28x28 MNIST with 7x7 patches gives 16 tokens.
 */
import type { LayerSpec, ModelConfig, ModelInput } from './layers';

export interface VitKnobs {
  /** Token width (default 64). */
  width?: number;
  /** Transformer blocks (default 4). */
  blocks?: number;
  /** Attention heads per block; must divide the width (default 4). */
  heads?: number;
  /** Patch side in pixels (default 7). */
  patch?: number;
  /** The MLP's hidden units (default 2·width). */
  hidden?: number;
  /** Dropout in every block (attention weights, residual branches), training only; default 0. */
  dropout?: number;
}

export const VIT_DEFAULTS: Required<Omit<VitKnobs, 'hidden' | 'dropout'>> = {
  width: 64,
  blocks: 4,
  heads: 4,
  patch: 7,
};

/** The ViT for `input` images and `classes` classes (see the file header). */
export function vitModel(
  knobs: VitKnobs = {},
  input: ModelInput = { channels: 1, height: 28, width: 28 },
  classes = 10,
): ModelConfig {
  const k = { ...VIT_DEFAULTS, ...knobs };
  const hidden = knobs.hidden ?? 2 * k.width;
  const layers: LayerSpec[] = [
    { name: 'patch', type: 'patchEmbedding', features: k.width, patch: k.patch },
    { name: 'pos', type: 'positionEmbedding' },
  ];
  for (let b = 0; b < k.blocks; b++)
    layers.push({
      name: `blocks.${b}`,
      type: 'transformerBlock',
      heads: k.heads,
      hidden,
      ...(knobs.dropout ? { dropout: knobs.dropout } : {}),
    });
  layers.push({ name: 'norm', type: 'layerNorm' });
  layers.push({ name: 'pool', type: 'tokenMean' });
  layers.push({ name: 'head', type: 'dense', units: classes, activation: 'none' });
  return { input: { ...input }, classes, layers, loss: 'softmaxCrossEntropy' };
}

/**
 * From a ModelConfig (a layer list) to a graph and a trainer. Layer names follow the PyTorch
 * module the course writes (conv1, conv2, ..., fc1, fc2, ...), so parameters are named and laid
 * out like its state_dict: conv1.weight [O, C, KH, KW], fc1.weight [out, in], flatten in C,H,W
 * order. A dense layer on a [C, H, W] input flattens it first. A layer that names its inputs reads
 * those layers' outputs, so one list describes chains and graphs alike (./layers.ts).
 */
import {
  Graph,
  ShadergradError,
  Trainer,
  type Gpu,
  type MatmulVariant,
  type TuneOptions,
} from '../core';
import { resolveLayers, type ResolvedLayer } from './layers';
import { patchEmbedding, tokenMean, transformerBlock } from './transformer';
import type { ModelConfig, TrainConfig } from './config';

/** The model's graph for a batch of `batch` samples: inputs 'images' and 'labels', a loss last. */
export function buildGraph(model: ModelConfig, batch: number): Graph {
  const g = new Graph();
  const { channels, height, width } = model.input;
  const images = g.input('images', [batch, channels, height, width]);
  const labels = g.labels('labels', batch);
  const ids: number[] = [];
  for (const layer of resolveLayers(model)) {
    const inputs = layer.inputs.map((i) => (i < 0 ? images : (ids[i] ?? -1)));
    ids.push(addLayer(g, layer, inputs));
  }
  if (model.loss !== 'softmaxCrossEntropy')
    throw new ShadergradError(
      `loss '${model.loss}': dataset training supports softmaxCrossEntropy`,
    );
  g.softmaxCrossEntropy(ids[ids.length - 1] ?? images, labels);
  return g;
}

/** Adds one layer's node(s) reading `inputs` (node ids); returns the layer's output node. */
function addLayer(g: Graph, layer: ResolvedLayer, inputs: readonly number[]): number {
  const { spec: l, name } = layer;
  const [x = -1, y = -1] = inputs;
  switch (l.type) {
    case 'conv2d':
      return g.conv2d(x, {
        name,
        features: l.features,
        kernel: l.kernel,
        stride: l.stride,
        padding: l.padding,
        activation: l.activation,
        bias: l.bias ?? true,
      });
    case 'maxPool':
    case 'avgPool':
      return g.pool(l.type, x, l.kernel, l.stride, name);
    case 'flatten':
      return g.flatten(x);
    case 'dense': {
      const flat = g.get(x).shape.length === 4 ? g.flatten(x) : x; // images flatten, tokens not
      return g.dense(flat, { name, units: l.units, activation: l.activation });
    }
    case 'dropout':
      return g.dropout(x, l.rate, name);
    case 'batchNorm':
      return g.batchNorm(x, {
        name,
        activation: l.activation,
        ...(l.eps !== undefined ? { eps: l.eps } : {}),
        ...(l.momentum !== undefined ? { momentum: l.momentum } : {}),
      });
    case 'add':
      return g.add(x, y, { name, activation: l.activation });
    case 'concat':
      return g.concat(inputs, name);
    case 'globalAvgPool':
      return g.globalAvgPool(x, name);
    case 'activation':
      return g.activation(x, l.activation);
    case 'patchEmbedding':
      return patchEmbedding(g, x, { name, features: l.features, patch: l.patch });
    case 'positionEmbedding':
      return g.positionEmbedding(x, { name });
    case 'transformerBlock':
      return transformerBlock(g, x, {
        name,
        heads: l.heads,
        ...(l.hidden !== undefined ? { hidden: l.hidden } : {}),
        causal: l.causal ?? false,
        dropout: l.dropout ?? 0,
      });
    case 'layerNorm':
      return g.layerNorm(x, { name, ...(l.eps !== undefined ? { eps: l.eps } : {}) });
    case 'tokenMean':
      return tokenMean(g, x, name);
    default:
      return l satisfies never;
  }
}

/** PyTorch's name -> shape for every parameter, in state_dict order. */
export function parameterShapes(model: ModelConfig): Map<string, readonly number[]> {
  return new Map(
    buildGraph(model, 1)
      .parameters()
      .map((p) => [p.name, p.shape]),
  );
}

export interface NetworkOptions {
  matmulVariant?: MatmulVariant;
  /** See TrainerOptions.tune: off unless asked for. */
  tune?: TuneOptions;
  keepIntermediates?: boolean;
}

/** A trainer for the config's model, optimizer, batch size and seed, with fresh parameters. */
export function createTrainer(
  gpu: Gpu,
  config: TrainConfig,
  options: NetworkOptions = {},
): Trainer {
  return Trainer.create(gpu, (batch) => buildGraph(config.model, batch), {
    batchSize: config.batchSize,
    optimizer: config.optimizer,
    seed: config.seed,
    snapshotEvery: config.snapshotEvery,
    ...(config.precision ? { precision: config.precision } : {}),
    ...options,
  });
}

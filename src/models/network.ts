/**
 * From a ModelConfig (a layer list) to a graph and a trainer. Layer names follow the PyTorch
 * module the course writes (conv1, conv2, ..., fc1, fc2, ...), so parameters are named and laid
 * out like its state_dict: conv1.weight [O, C, KH, KW], fc1.weight [out, in], flatten in C,H,W
 * order. A dense layer on a [C, H, W] input flattens it first.
 */
import { Graph, ShadergradError, Trainer, type Gpu, type MatmulVariant } from '../core';
import type { ModelConfig, TrainConfig } from './config';

/** The model's graph for a batch of `batch` samples: inputs 'images' and 'labels', a loss last. */
export function buildGraph(model: ModelConfig, batch: number): Graph {
  const g = new Graph();
  const { channels, height, width } = model.input;
  let x = g.input('images', [batch, channels, height, width]);
  const labels = g.labels('labels', batch);
  let convs = 0;
  let denses = 0;
  model.layers.forEach((layer, i) => {
    switch (layer.type) {
      case 'conv2d':
        x = g.conv2d(x, {
          name: `conv${++convs}`,
          features: layer.features,
          kernel: layer.kernel,
          stride: layer.stride,
          padding: layer.padding,
          activation: layer.activation,
        });
        break;
      case 'maxPool':
      case 'avgPool':
        x = g.pool(layer.type, x, layer.kernel, layer.stride, `layers[${i}] ${layer.type}`);
        break;
      case 'flatten':
        x = g.flatten(x);
        break;
      case 'dense':
        if (g.get(x).shape.length !== 2) x = g.flatten(x);
        x = g.dense(x, { name: `fc${++denses}`, units: layer.units, activation: layer.activation });
        break;
      case 'dropout':
        x = g.dropout(x, layer.rate, `layers[${i}] dropout`);
        break;
      default:
        return layer satisfies never;
    }
  });
  if (model.loss !== 'softmaxCrossEntropy')
    throw new ShadergradError(
      `loss '${model.loss}': dataset training supports softmaxCrossEntropy`,
    );
  g.softmaxCrossEntropy(x, labels);
  return g;
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
    ...options,
  });
}

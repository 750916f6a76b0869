/**
 * The transformer layers of a layer list (src/models/layers.ts, transformer.ts) and the ViT preset
 * (src/models/vit.ts): shapes, parameter counts equal to the graph's, the names of the PyTorch
 * modules, JSON configs, errors with key paths; and the patch embedding and token mean, the two
 * layers the GPT golden does not cover, against central differences on the CPU reference and on
 * the GPU against the reference.
 */
import { describe, expect, it } from 'vitest';
import { expectError } from '../helpers/expectError';
import {
  describeModel,
  layerOutputShapes,
  layerParamCounts,
  validateModel,
  type LayerSpec,
  type ModelConfig,
} from '../../src/models/config';
import { parseTrainConfig } from '../../src/models/configJson';
import { buildGraph, createTrainer, parameterShapes } from '../../src/models/network';
import { defaultTrainConfig } from '../../src/models/config';
import { vitModel } from '../../src/models/vit';
import {
  referenceForward,
  referenceTrainStep,
  type ReferenceState,
} from '../../src/graph/cpuReference';
import { randomFloats, randomInts } from '../../src/base/random';
import { expectAllClose } from '../helpers/allclose';
import { numericalGradient } from '../helpers/finiteDiff';
import { useTestGpu } from '../helpers/gpu';

const gpu = useTestGpu();

/** One SGD step of `model` on the GPU from `params`, against the reference's step (float32). */
async function expectGpuStepMatchesReference(
  model: ModelConfig,
  params: ReadonlyMap<string, Float32Array | Float64Array>,
  images: Float32Array,
  labels: Int32Array,
): Promise<void> {
  const N = labels.length;
  const config = { ...defaultTrainConfig(), model, batchSize: N };
  const trainer = createTrainer(gpu(), { ...config, optimizer: { kind: 'sgd', lr: 0.1 } });
  for (const [name, v] of params) trainer.store.write(name, Float32Array.from(v));
  const loss = await trainer.trainStep(images, labels);
  const state: ReferenceState = {
    params: new Map([...params].map(([k, v]) => [k, Float32Array.from(v)])),
    optimizerState: new Map(),
    step: 0,
  };
  const g = buildGraph(model, N);
  const ref = referenceTrainStep(g, state, { images, labels }, { kind: 'sgd', lr: 0.1 }, 'f32');
  expect(loss).toBeCloseTo(ref.loss, 5);
  // float32 on both sides, sums in different orders through ~20 nodes: 1e-5 / 1e-4
  const tol = { atol: 1e-5, rtol: 1e-4 };
  for (const [name] of params)
    expectAllClose(await trainer.store.read(name), state.params.get(name) ?? [], tol, name);
  trainer.destroy();
}

const tinyVit = (): ModelConfig =>
  vitModel(
    { width: 8, blocks: 1, heads: 2, patch: 3, hidden: 12 },
    { channels: 2, height: 7, width: 6 },
    3,
  );

describe('the ViT preset and the transformer layers', () => {
  it('has the PyTorch module names, token shapes and the graph parameter counts', () => {
    const m = vitModel();
    validateModel(m);
    const shapes = layerOutputShapes(m);
    expect(shapes[0]).toEqual([16, 64]); // 7x7 patches of 28x28
    expect(shapes.at(-2)).toEqual([64]); // the token mean
    expect(shapes.at(-1)).toEqual([10]);
    const params = parameterShapes(m);
    expect(params.get('patch.weight')).toEqual([64, 1, 7, 7]);
    expect(params.get('pos.weight')).toEqual([16, 64]);
    expect(params.get('blocks.3.attn.query.weight')).toEqual([64, 64]);
    expect(params.get('blocks.0.mlp.fc1.weight')).toEqual([128, 64]);
    expect(params.get('blocks.0.ln2.bias')).toEqual([64]);
    expect(params.get('head.weight')).toEqual([10, 64]);
    const counted = layerParamCounts(m).reduce((a, b) => a + b, 0);
    const inGraph = [...params.values()].reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0);
    expect(counted).toBe(inGraph);
    expect(describeModel(m)).toMatch(/total 138,890 params/);
  });

  it('reads transformer layers from JSON, naming unnamed blocks as a ModuleList does', () => {
    const layers = [
      { type: 'patchEmbedding', features: 8, patch: 4 },
      { type: 'positionEmbedding' },
      { type: 'transformerBlock', heads: 2 },
      { type: 'transformerBlock', heads: 4, hidden: 16, causal: true },
      { type: 'layerNorm', eps: 1e-6 },
      { type: 'tokenMean' },
      { type: 'dense', units: 10, activation: 'none' },
    ];
    const input = { channels: 1, height: 8, width: 8 };
    const { model } = parseTrainConfig({ model: { input, classes: 10, layers } }, 'vit.json');
    const names = [...parameterShapes(model).keys()];
    expect(names).toContain('blocks.0.attn.proj.weight');
    expect(names).toContain('blocks.1.mlp.fc2.bias');
    expect(names).toContain('ln1.weight');
    expect(parameterShapes(model).get('blocks.0.mlp.fc1.weight')).toEqual([32, 8]); // 4·C
    expect(parameterShapes(model).get('blocks.1.mlp.fc1.weight')).toEqual([16, 8]);
  });

  it('refuses what cannot run, with the key path', () => {
    const base = (layers: LayerSpec[]): ModelConfig => ({
      input: { channels: 1, height: 8, width: 8 },
      classes: 2,
      layers,
      loss: 'softmaxCrossEntropy',
    });
    const head: LayerSpec = { type: 'dense', units: 2, activation: 'none' };
    const patch: LayerSpec = { type: 'patchEmbedding', features: 6, patch: 4 };
    expectError(
      () =>
        validateModel(
          base([patch, { type: 'transformerBlock', heads: 4 }, { type: 'tokenMean' }, head]),
        ),
      /model.layers\[1\] \(transformerBlock\): 4 heads do not divide the width 6/,
    );
    expectError(
      () => validateModel(base([{ type: 'transformerBlock', heads: 1 }, head])),
      /model.layers\[0\] \(transformerBlock\): needs a \[T, C\] token sequence/,
    );
    expectError(
      () => validateModel(base([patch, head])),
      /model.layers\[1\] \(dense\): outputs \[4, 2\] per sample, expected \[2\] \(pool tokens with tokenMean first\)/,
    );
    expectError(
      () =>
        validateModel(
          base([{ type: 'patchEmbedding', features: 6, patch: 9 }, { type: 'tokenMean' }, head]),
        ),
      /patch 9 is larger than the 8x8 input/,
    );
  });
});

describe('patch embedding and token mean in a training step', () => {
  const m = tinyVit();
  const N = 2;
  const g = buildGraph(m, N);
  const images = randomFloats(N * 2 * 7 * 6, 5, 0, 1);
  const labels = Int32Array.from(randomInts(N, 6, 3));
  const params = new Map(
    g.parameters().map((p, k) => {
      const n = p.shape.reduce((a, b) => a * b, 1);
      const [lo, hi] = p.init === 'ones' ? [0.5, 1.5] : [-0.5, 0.5];
      return [p.name, Float64Array.from(randomFloats(n, 100 + k, lo, hi))];
    }),
  );

  it('every gradient equals central differences (float64)', () => {
    const inputs = { images: Float64Array.from(images), labels };
    const state: ReferenceState = {
      params: new Map([...params].map(([k, v]) => [k, Float64Array.from(v)])),
      optimizerState: new Map(),
      step: 0,
    };
    const { grads } = referenceTrainStep(g, state, inputs, { kind: 'sgd', lr: 0.1 }, 'f64');
    const lossOf = (): number => referenceForward(g, params, inputs, 'f64', 0).loss;
    for (const name of ['patch.weight', 'patch.bias', 'pos.weight', 'norm.weight', 'head.weight']) {
      const numeric = numericalGradient(lossOf, params.get(name) ?? new Float64Array());
      // the erf GELU's slope pairs the exact φ with the fitted Φ (see tests/kernels/gelu.test.ts)
      expectAllClose(grads.get(name) ?? [], numeric, { atol: 2e-7, rtol: 1e-5 }, name);
    }
  });

  it('the GPU step matches the reference', async () => {
    await expectGpuStepMatchesReference(m, params, images, labels);
  });
});

describe('dropout in transformer blocks', () => {
  const withDropout = vitModel(
    { width: 8, blocks: 1, heads: 2, patch: 3, hidden: 12, dropout: 0.25 },
    { channels: 2, height: 7, width: 6 },
    3,
  );
  const N = 2;
  const g = buildGraph(withDropout, N);
  const plain = buildGraph(tinyVit(), N);
  const images = randomFloats(N * 2 * 7 * 6, 15, 0, 1);
  const labels = Int32Array.from(randomInts(N, 16, 3));
  const params = new Map(
    g.parameters().map((p, k) => {
      const n = p.shape.reduce((a, b) => a * b, 1);
      return [p.name, randomFloats(n, 200 + k, p.init === 'ones' ? 0.5 : -0.5, 1.5)];
    }),
  );

  it('adds three dropout nodes per block, a no-op in evaluation and a mask in training', () => {
    expect(g.nodes.filter((n) => n.op === 'dropout')).toHaveLength(3);
    expect(g.parameters().map((p) => p.name)).toEqual(plain.parameters().map((p) => p.name));
    const logits = (graph: typeof g, step?: number) => {
      const { values } = referenceForward(graph, params, { images, labels }, 'f32', step);
      return values.get(graph.lossNode().inputs[0] ?? -1) ?? new Float32Array();
    };
    expect(logits(g)).toEqual(logits(plain));
    expect(logits(g, 0)).not.toEqual(logits(plain, 0));
    expect(logits(g, 0)).not.toEqual(logits(g, 1)); // a new mask each step
  });

  it('the GPU step draws the same masks as the reference', async () => {
    await expectGpuStepMatchesReference(withDropout, params, images, labels);
  });
});

import { describe, expect, it } from 'vitest';
import { expectError } from '../helpers/expectError';
import { convGeometry, type AxisPadding } from '../../src/kernels/geometry';
import {
  applyKnobs,
  cnnFromKnobs,
  defaultTrainConfig,
  describeModel,
  layerOutputShapes,
  layerParamCounts,
  referenceCnn,
  validateModel,
  type LayerSpec,
  type ModelConfig,
} from '../../src/models/config';
import { parseTrainConfig } from '../../src/models/configJson';

/** Expects `fn` to throw a ShadergradError whose message matches `message`. */
const model = (layers: LayerSpec[], classes = 10): ModelConfig => ({
  input: { channels: 1, height: 28, width: 28 },
  classes,
  layers,
  loss: 'softmaxCrossEntropy',
});
const conv = (
  features: number,
  kernel = 5,
  stride = 1,
  padding: AxisPadding = 'same',
): LayerSpec => ({
  type: 'conv2d',
  features,
  kernel,
  stride,
  padding,
  activation: 'relu',
});
/** Per-layer output shapes as "CxHxW -> ... -> D". */
const shapes = (m: ModelConfig): string =>
  layerOutputShapes(m)
    .map((shape) => shape.join('x'))
    .join(' -> ');
const dense = (units: number, activation: 'relu' | 'none' = 'none'): LayerSpec => ({
  type: 'dense',
  units,
  activation,
});

describe('reference CNN and defaults', () => {
  it('is the course model', () => {
    expect(referenceCnn()).toEqual({
      input: { channels: 1, height: 28, width: 28 },
      classes: 10,
      loss: 'softmaxCrossEntropy',
      layers: [
        { type: 'conv2d', features: 32, kernel: 5, stride: 1, padding: 'same', activation: 'relu' },
        { type: 'maxPool', kernel: 2, stride: 2 },
        { type: 'conv2d', features: 64, kernel: 5, stride: 1, padding: 'same', activation: 'relu' },
        { type: 'maxPool', kernel: 2, stride: 2 },
        { type: 'flatten' },
        { type: 'dense', units: 1024, activation: 'relu' },
        { type: 'dense', units: 10, activation: 'none' },
      ],
    });
    expect(cnnFromKnobs({})).toEqual(referenceCnn());
  });

  it('has the course shapes and 3,274,634 parameters', () => {
    const m = referenceCnn();
    expect(() => validateModel(m)).not.toThrow();
    expect(shapes(m)).toBe('32x28x28 -> 32x14x14 -> 64x14x14 -> 64x7x7 -> 3136 -> 1024 -> 10');
    // conv1 5*5*1*32 + 32, conv2 5*5*32*64 + 64, fc1 3136*1024 + 1024, fc2 1024*10 + 10.
    expect(layerParamCounts(m)).toEqual([832, 0, 51264, 0, 0, 3212288, 10250]);
    expect(layerParamCounts(m).reduce((a, b) => a + b)).toBe(3274634);
  });

  it('trains with Adam 1e-3 (torch defaults), batch 64, 1 epoch, seed 1, on MNIST', () => {
    const d = defaultTrainConfig();
    expect(d.model).toEqual(referenceCnn());
    expect(d.optimizer).toEqual({
      kind: 'adam',
      lr: 1e-3,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      momentum: 0.9,
      alpha: 0.99,
      // weightDecay absent: its default depends on the kind (AdamW 0.01), see defaultOptimizer
      nesterov: false,
    });
    expect([
      d.batchSize,
      d.epochs,
      d.seed,
      d.dataset,
      d.limit,
      d.snapshotEvery,
      d.checkpointEvery,
    ]).toEqual([64, 1, 1, 'mnist', undefined, 100, 0]);
  });

  it('hands out fresh objects', () => {
    const a = defaultTrainConfig();
    a.model.layers.pop();
    a.model.input.height = 3;
    expect(defaultTrainConfig()).toEqual(parseTrainConfig({}, 'x'));
    expect(defaultTrainConfig().model.layers).toHaveLength(7);
  });

  it('describes each layer with its shape and parameters', () => {
    const lines = describeModel(referenceCnn()).split('\n');
    expect(lines).toHaveLength(9); // input, 7 layers, total
    expect(lines[1]).toMatch(/conv2d .*features=32.*\[32, 28, 28\]\s+832 params/);
    expect(lines[5]).toMatch(/flatten\s+\[3136\]$/);
    expect(lines[6]).toMatch(/dense units=1024 activation=relu\s+\[1024\]\s+3,212,288 params/);
    expect(lines[8]).toBe('total 3,274,634 params, loss softmaxCrossEntropy');
  });
});

describe('conv and pool geometry', () => {
  it('follows the TensorFlow same rule, valid and numeric padding', () => {
    // same: OH = ceil(H/s), total pad max((OH-1)s + K - H, 0), top = floor(total/2).
    expect(convGeometry(28, 5, 1, 'same')).toEqual({ out: 28, padBefore: 2, padAfter: 2 });
    expect(convGeometry(28, 5, 2, 'same')).toEqual({ out: 14, padBefore: 1, padAfter: 2 }); // 13*2+5-28 = 3
    expect(convGeometry(7, 5, 2, 'same')).toEqual({ out: 4, padBefore: 2, padAfter: 2 }); // 3*2+5-7 = 4
    expect(convGeometry(28, 2, 2, 'same')).toEqual({ out: 14, padBefore: 0, padAfter: 0 });
    expect(convGeometry(28, 5, 1, 'valid')).toEqual({ out: 24, padBefore: 0, padAfter: 0 });
    expect(convGeometry(28, 5, 2, 1)).toEqual({ out: 13, padBefore: 1, padAfter: 1 }); // floor(25/2)+1
  });

  it('gives the shapes of valid padding', () => {
    const m = cnnFromKnobs({ padding: 'valid' });
    // 28 -5+1-> 24 -pool-> 12 -5+1-> 8 -pool-> 4; 64*4*4 = 1024.
    expect(shapes(m)).toBe('32x24x24 -> 32x12x12 -> 64x8x8 -> 64x4x4 -> 1024 -> 1024 -> 10');
    expect(layerParamCounts(m)).toEqual([832, 0, 51264, 0, 0, 1024 * 1024 + 1024, 10250]);
  });

  it('gives the shapes of stride 2', () => {
    // same: 28 -> 14, pool 7, same s2: ceil(7/2) = 4, pool floor((4-2)/2)+1 = 2; 64*2*2 = 256.
    const stride2 = '32x14x14 -> 32x7x7 -> 64x4x4 -> 64x2x2 -> 256 -> 1024 -> 10';
    expect(shapes(cnnFromKnobs({ stride: 2 }))).toBe(stride2);
    // numeric padding 1, stride 2: floor((28+2-5)/2)+1 = 13, pool 6, floor((6+2-5)/2)+1 = 2, pool 1.
    const pad1 = '32x13x13 -> 32x6x6 -> 64x2x2 -> 64x1x1 -> 64 -> 1024 -> 10';
    expect(shapes(cnnFromKnobs({ stride: 2, padding: 1 }))).toBe(pad1);
  });

  it('pools in floor mode with a stride other than the kernel', () => {
    const m = model([{ type: 'avgPool', kernel: 3, stride: 2 }, dense(10)]);
    expect(layerOutputShapes(m)).toEqual([[1, 13, 13], [10]]); // floor((28-3)/2)+1
  });

  it('flattens automatically before a dense layer (C-major, like flatten)', () => {
    const m = model([dense(10)]);
    expect(layerOutputShapes(m)).toEqual([[10]]);
    expect(layerParamCounts(m)).toEqual([784 * 10 + 10]);
    expect(() => validateModel(m)).not.toThrow();
  });
});

describe('knobs', () => {
  it('turns every knob the course varies', () => {
    const m = cnnFromKnobs({
      features: [16, 48],
      kernel: 3,
      activation: 'tanh',
      pool: 'avg',
      dense: 128,
    });
    const tanhConv = (features: number): LayerSpec => ({
      type: 'conv2d',
      features,
      kernel: 3,
      stride: 1,
      padding: 'same',
      activation: 'tanh',
    });
    expect(m.layers).toEqual([
      tanhConv(16),
      { type: 'avgPool', kernel: 2, stride: 2 },
      tanhConv(48),
      { type: 'avgPool', kernel: 2, stride: 2 },
      { type: 'flatten' },
      { type: 'dense', units: 128, activation: 'tanh' },
      { type: 'dense', units: 10, activation: 'none' }, // the output layer keeps no activation
    ]);
    expect(layerParamCounts(m)).toEqual([
      16 * 9 + 16,
      0,
      48 * 16 * 9 + 48,
      0,
      0,
      48 * 49 * 128 + 128,
      1290,
    ]);
  });

  it('does not touch its input', () => {
    const ref = referenceCnn();
    applyKnobs(ref, { kernel: 3, pool: 'avg', dense: 8 });
    expect(ref).toEqual(referenceCnn());
  });

  it('refuses knobs that match no layer', () => {
    const three = model([conv(8), conv(8), conv(8), dense(10)]);
    expectError(
      () => applyKnobs(three, { features: [16, 32] }),
      'features: 2 values for 3 conv2d layers',
    );
    expectError(() => applyKnobs(three, { pool: 'avg' }), 'pool: the model has no pooling layer');
    expectError(
      () => applyKnobs(three, { dense: 64 }),
      'dense: the model has no hidden dense layer',
    );
    expectError(
      () => applyKnobs(model([dense(10)]), { kernel: 3 }, (k) => `--${k}`),
      /^--kernel: the model has no conv2d/,
    );
    expectError(() => applyKnobs(model([dense(10)]), { activation: 'tanh' }), /^activation: /);
  });
});

describe('validateModel errors name the layer', () => {
  const flatten: LayerSpec = { type: 'flatten' };
  const pool: LayerSpec = { type: 'maxPool', kernel: 2, stride: 2 };
  it.each<[string, LayerSpec[]]>([
    [
      'model.layers[0] (conv2d): kernel 31 is larger than the padded input 30x30',
      [conv(4, 31, 1, 1)],
    ],
    ['model.layers[1] (conv2d): needs a [C, H, W] input, not the flat [784]', [flatten, conv(4)]],
    ['model.layers[1] (maxPool): needs a [C, H, W] input', [dense(32), pool, dense(10)]],
    ['model.layers[0] (dense): 12 units, but model.classes = 10', [dense(12)]],
    ['model.layers[1] (flatten): the last layer must be dense', [dense(10), flatten]],
    ['model.layers: expected a non-empty list', []],
    ['model.layers[0].features: expected a whole number >= 1, got 0', [conv(0), dense(10)]],
    ['model.layers[0].kernel: expected a whole number >= 1, got 2.5', [conv(4, 2.5), dense(10)]],
    ['model.layers[0].stride: expected a whole number >= 1, got -1', [conv(4, 5, -1)]],
    ["model.layers[0].padding: expected 'same', 'valid' or a whole", [conv(4, 5, 1, -2)]],
    ['model.layers[0].rate: expected a number in [0, 1), got 1', [{ type: 'dropout', rate: 1 }]],
  ])('%s', (message, layers) => {
    expectError(() => validateModel(model(layers)), message);
  });

  it('knobs that make the reference impossible, a bad input size or class count', () => {
    // kernel 15, valid: 28 -> 14, pool 7, then a 15x15 kernel on 7x7.
    const big = 'model.layers[2] (conv2d): kernel 15 is larger than the padded input 7x7';
    expectError(() => cnnFromKnobs({ kernel: 15, padding: 'valid' }), big);
    // stride 2 valid: 28 -> 12, pool 6, conv floor((6-5)/2)+1 = 1, then a 2x2 pool on 1x1.
    const empty = 'model.layers[3] (maxPool): kernel 2 leaves 0 pixels of the 1x1 input';
    expectError(() => cnnFromKnobs({ stride: 2, padding: 'valid' }), empty);
    const input = { channels: 1, height: 0, width: 28 };
    expectError(() => validateModel({ ...referenceCnn(), input }), 'model.input.height: expected');
    expectError(() => validateModel({ ...referenceCnn(), classes: 0 }), 'model.classes: expected');
  });

  it('accepts a kernel larger than the input with same padding', () => {
    expect(shapes(model([conv(4, 31, 1, 'same'), dense(10)]))).toBe('4x28x28 -> 10');
  });
});

describe('parseTrainConfig', () => {
  it('merges a partial config over the defaults', () => {
    const c = parseTrainConfig({ epochs: 3, optimizer: { kind: 'sgd' }, limit: 1000 }, 'c.json');
    expect(c).toEqual({
      ...defaultTrainConfig(),
      epochs: 3,
      limit: 1000,
      optimizer: { ...defaultTrainConfig().optimizer, kind: 'sgd' },
    });
    expect(parseTrainConfig({}, 'c.json')).toEqual(defaultTrainConfig());
  });

  it('reads back every key of a full config', () => {
    const full = {
      ...defaultTrainConfig(),
      dataset: 'fashion',
      seed: 2 ** 32 - 1,
      snapshotEvery: 7,
      checkpointEvery: 50,
      limit: 5,
      precision: 'f16',
    };
    expect(parseTrainConfig(JSON.parse(JSON.stringify(full)), 'c.json')).toEqual(full);
  });

  it('replaces the layer list and fills in layer defaults (Keras-like)', () => {
    const c = parseTrainConfig(
      {
        model: {
          input: { channels: 3, height: 32, width: 32 },
          layers: [
            { type: 'conv2d', features: 8, kernel: 3 },
            { type: 'avgPool', kernel: 3 },
            { type: 'dropout', rate: 0.25 },
            { type: 'dense', units: 10 },
          ],
        },
      },
      'c.json',
    );
    expect(c.model.input).toEqual({ channels: 3, height: 32, width: 32 });
    expect(c.model.classes).toBe(10);
    expect(c.model.layers).toEqual([
      { type: 'conv2d', features: 8, kernel: 3, stride: 1, padding: 'valid', activation: 'none' },
      { type: 'avgPool', kernel: 3, stride: 3 },
      { type: 'dropout', rate: 0.25 },
      { type: 'dense', units: 10, activation: 'none' },
    ]);
    expect(layerOutputShapes(c.model)).toEqual([[8, 30, 30], [8, 10, 10], [8, 10, 10], [10]]);
  });

  const model1 = (layer: object): unknown => ({ model: { layers: [layer] } });
  const conv4 = { type: 'conv2d', features: 4, kernel: 3 };
  // Each message starts with the source, then the key path.
  it.each<[unknown, string]>([
    [[], 'config: expected a JSON object at the top level, got []'],
    [null, 'config: expected a JSON object'],
    [{ epoch: 2 }, 'epoch: unknown key (expected one of model, optimizer, batchSize'],
    [{ optimizer: { betta1: 0.9 } }, 'optimizer.betta1: unknown key'],
    [{ batchSize: '64' }, 'batchSize: expected a whole number >= 1, got "64"'],
    [{ batchSize: 0 }, 'batchSize: expected a whole number >= 1, got 0'],
    [{ epochs: -1 }, 'epochs: expected a whole number >= 1, got -1'],
    [{ limit: 1.5 }, 'limit: expected a whole number >= 1, got 1.5'],
    [{ seed: 2 ** 32 }, 'seed: expected a whole number in [0, 2^32)'],
    [{ snapshotEvery: -5 }, 'snapshotEvery: expected a whole number >= 0'],
    [{ checkpointEvery: 1.5 }, 'checkpointEvery: expected a whole number >= 0'],
    [{ precision: 'bf16' }, 'precision: expected one of f32, f16'],
    [
      { optimizer: { kind: 'adamx' } },
      'optimizer.kind: expected one of adam, adamw, sgd, momentum, rmsprop',
    ],
    [{ optimizer: { lr: 0 } }, 'optimizer.lr: expected a number > 0, got 0'],
    [{ optimizer: { beta1: 1 } }, 'optimizer.beta1: expected a number in [0, 1), got 1'],
    [{ optimizer: { eps: 0 } }, 'optimizer.eps: expected a number > 0'],
    [{ optimizer: { weightDecay: -1e-4 } }, 'optimizer.weightDecay: expected a number >= 0'],
    [{ optimizer: { nesterov: 1 } }, 'optimizer.nesterov: expected true or false, got 1'],
    [{ dataset: 'cifar' }, 'dataset: expected one of mnist, fashion, got "cifar"'],
    [{ model: { loss: 'hinge' } }, 'model.loss: expected one of softmaxCrossEntropy, mse'],
    [{ model: { layers: {} } }, 'model.layers: expected a non-empty list of layers, got {}'],
    [{ model: { layers: [] } }, 'model.layers: expected a non-empty list'],
    [{ model: { layers: [5] } }, 'model.layers[0]: expected a layer'],
    [model1({ type: 'conv3d' }), 'model.layers[0].type: expected one of conv2d, maxPool, avgPool,'],
    [model1({ units: 10 }), 'model.layers[0].type: expected one of'],
    [
      model1({ type: 'flatten', units: 3 }),
      'model.layers[0].units: unknown key for a flatten layer',
    ],
    [model1({ type: 'conv2d', features: 8 }), 'model.layers[0].kernel: missing from this conv2d'],
    [model1({ ...conv4, activation: 'gelu' }), 'model.layers[0].activation: expected one of none,'],
    [
      model1({ type: 'maxPool', kernel: 0 }),
      'model.layers[0].kernel: expected a whole number >= 1',
    ],
    [
      model1({ ...conv4, padding: 'full' }),
      "model.layers[0].padding: expected 'same', 'valid' or a",
    ],
    [model1({ type: 'dense', units: 0 }), 'model.layers[0].units: expected a whole number >= 1'],
    [model1({ type: 'dropout', rate: -0.5 }), 'model.layers[0].rate: expected a number in [0, 1)'],
    [{ model: { input: { height: 1 } } }, 'model.layers[1] (maxPool): kernel 2 leaves 0 pixels of'],
    [{ model: { classes: 12 } }, 'model.layers[6] (dense): 10 units, but model.classes = 12'],
    [model1(conv4), 'model.layers[0] (conv2d): the last layer must be dense'],
  ])('rejects %j', (json, message) => {
    expectError(() => parseTrainConfig(json, 'c.json'), `c.json: ${message}`);
  });
});

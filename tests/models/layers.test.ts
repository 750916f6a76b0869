/**
 * Layer lists as graphs (src/models/layers.ts) and the ResNet preset (src/models/resnet.ts):
 * names and inputs, the JSON reader, shape inference, errors with key paths, the graph they
 * build, and the preset's torchvision names and shapes.
 */
import { describe, expect, it } from 'vitest';
import { expectError } from '../helpers/expectError';
import {
  describeModel,
  layerOutputShapes,
  layerParamCounts,
  resolveLayers,
  validateModel,
  type LayerSpec,
  type ModelConfig,
} from '../../src/models/config';
import { parseTrainConfig } from '../../src/models/configJson';
import { buildGraph, parameterShapes } from '../../src/models/network';
import { resnetModel } from '../../src/models/resnet';

const model = (layers: LayerSpec[]): ModelConfig => ({
  input: { channels: 1, height: 8, width: 8 },
  classes: 3,
  layers,
  loss: 'softmaxCrossEntropy',
});

/** stem -> [conv -> bn] + stem -> relu -> pool -> fc: one skip connection. */
const skip: LayerSpec[] = [
  {
    name: 'stem',
    type: 'conv2d',
    features: 4,
    kernel: 3,
    stride: 1,
    padding: 1,
    activation: 'relu',
  },
  {
    name: 'conv',
    type: 'conv2d',
    features: 4,
    kernel: 3,
    stride: 1,
    padding: 1,
    activation: 'none',
    bias: false,
  },
  { name: 'bn', type: 'batchNorm', activation: 'none' },
  { name: 'sum', type: 'add', inputs: ['bn', 'stem'], activation: 'relu' },
  { name: 'pool', type: 'globalAvgPool' },
  { name: 'fc', type: 'dense', units: 3, activation: 'none' },
];

describe('layer lists with names and inputs', () => {
  it('resolves names (given, or by type) and inputs (named, or the layer before)', () => {
    const resolved = resolveLayers(model(skip));
    expect(resolved.map((r) => r.name)).toEqual(['stem', 'conv', 'bn', 'sum', 'pool', 'fc']);
    expect(resolved.map((r) => r.inputs)).toEqual([[-1], [0], [1], [2, 0], [3], [4]]);
    const chain = resolveLayers(
      model([
        { type: 'conv2d', features: 2, kernel: 3, stride: 1, padding: 1, activation: 'relu' },
        { type: 'batchNorm', activation: 'none' },
        { type: 'maxPool', kernel: 2, stride: 2 },
        { type: 'dense', units: 3, activation: 'none' },
      ]),
    );
    expect(chain.map((r) => r.name)).toEqual(['conv1', 'bn1', 'layers[2]', 'fc1']);
  });

  it('infers shapes and counts parameters (no conv bias; batch norm weight + bias)', () => {
    expect(layerOutputShapes(model(skip))).toEqual([
      [4, 8, 8],
      [4, 8, 8],
      [4, 8, 8],
      [4, 8, 8],
      [4, 1, 1],
      [3],
    ]);
    expect(layerParamCounts(model(skip))).toEqual([4 * 9 + 4, 4 * 4 * 9, 8, 0, 0, 4 * 3 + 3]);
    expect(describeModel(model(skip))).toContain('sum: add activation=relu <- bn, stem');
  });

  it('builds the graph: one add node reading both, parameters under the layer names', () => {
    const g = buildGraph(model(skip), 2);
    const add = g.nodes.find((n) => n.op === 'add');
    expect(add?.inputs.map((i) => g.get(i).op)).toEqual(['batchNorm', 'conv2d']);
    expect([...parameterShapes(model(skip)).keys()]).toEqual([
      'stem.weight',
      'stem.bias',
      'conv.weight',
      'bn.weight',
      'bn.bias',
      'bn.running_mean',
      'bn.running_var',
      'fc.weight',
      'fc.bias',
    ]);
  });

  it('reads the same model from JSON, with every optional field', () => {
    const json = JSON.parse(JSON.stringify({ model: model(skip) })) as unknown;
    const config = parseTrainConfig(json, 'skip.json');
    expect(config.model.layers).toEqual(skip);
    const bn = {
      model: {
        ...model(skip),
        layers: skip.map((l) => (l.type === 'batchNorm' ? { ...l, eps: 1e-3, momentum: 0.01 } : l)),
      },
    };
    expect(parseTrainConfig(bn, 'bn.json').model.layers[2]).toMatchObject({
      eps: 1e-3,
      momentum: 0.01,
    });
  });

  it.each<[string, (layers: LayerSpec[]) => LayerSpec[], RegExp]>([
    [
      'an input naming a later layer',
      (l) => l.map((x) => (x.name === 'sum' ? { ...x, inputs: ['pool', 'stem'] } : x)),
      /model\.layers\[3\]\.inputs\[0\]: no earlier layer is named 'pool'/,
    ],
    [
      'an unknown input',
      (l) => l.map((x) => (x.name === 'sum' ? { ...x, inputs: ['bn', 'nope'] } : x)),
      /model\.layers\[3\]\.inputs\[1\]: no earlier layer is named 'nope'/,
    ],
    [
      'a duplicate name',
      (l) => l.map((x) => (x.name === 'bn' ? { ...x, name: 'stem' } : x)),
      /model\.layers\[2\]\.name: 'stem' names another layer already/,
    ],
    [
      'an add with one input',
      (l) => l.map((x) => (x.name === 'sum' ? { ...x, inputs: ['bn'] } : x)),
      /model\.layers\[3\]\.inputs: a add layer reads 2 inputs, got 1/,
    ],
    [
      'an add of two shapes',
      (l) =>
        l
          .map((x) => (x.name === 'stem' ? { ...x, features: 5 } : x))
          .map((x) => (x.name === 'conv' ? { ...x, features: 4 } : x)),
      /model\.layers\[3\] \(add\): cannot add \[5, 8, 8\] to \[4, 8, 8\]/,
    ],
    [
      'a layer nothing reads',
      (l) => l.map((x) => (x.name === 'pool' ? { ...x, inputs: ['stem'] } : x)),
      /model\.layers\[3\] \(add\): 'sum' feeds no layer/,
    ],
    [
      'the name input',
      (l) => l.map((x) => (x.name === 'conv' ? { ...x, name: 'input' } : x)),
      /model\.layers\[1\]\.name: expected a name/,
    ],
  ])('refuses %s, naming the key path', (_, change, message) => {
    expectError(() => validateModel(model(change(skip))), message);
  });

  it('refuses bad JSON links and fields with the file and key path', () => {
    const bad = (layer: Record<string, unknown>) => () =>
      parseTrainConfig({ model: { ...model(skip), layers: [layer, ...skip.slice(1)] } }, 'm.json');
    expectError(
      bad({ ...skip[0], inputs: 'stem' }),
      /m\.json: model\.layers\[0\]\.inputs: expected a list of 1 to 64 layer names/,
    );
    expectError(
      bad({ ...skip[0], bias: 'no' }),
      /m\.json: model\.layers\[0\]\.bias: expected true or false/,
    );
    expectError(
      bad({ ...skip[0], name: 'a b' }),
      /m\.json: model\.layers\[0\]\.name: expected a name/,
    );
    expectError(
      bad({ ...skip[0], momentum: 0.1 }),
      /m\.json: model\.layers\[0\]\.momentum: unknown key for a conv2d layer/,
    );
  });

  it('concatenates along the channels and refuses mismatched sizes', () => {
    const cat: LayerSpec[] = [
      {
        name: 'a',
        type: 'conv2d',
        features: 2,
        kernel: 3,
        stride: 1,
        padding: 1,
        activation: 'relu',
      },
      {
        name: 'b',
        type: 'conv2d',
        inputs: ['input'],
        features: 3,
        kernel: 1,
        stride: 1,
        padding: 0,
        activation: 'none',
      },
      { name: 'cat', type: 'concat', inputs: ['a', 'b'] },
      { name: 'fc', type: 'dense', units: 3, activation: 'none' },
    ];
    expect(layerOutputShapes(model(cat))[2]).toEqual([5, 8, 8]);
    const strided = cat.map((l) => (l.name === 'b' ? { ...l, stride: 2 } : l));
    expectError(
      () => validateModel(model(strided)),
      /model\.layers\[2\] \(concat\): cannot concatenate \[3, 4, 4\] with \[2, 8, 8\]/,
    );
  });
});

describe('the ResNet preset', () => {
  it('has torchvision names, projections where the shape changes, and 28 -> 28 -> 14 -> 7', () => {
    const m = resnetModel({ width: 8, blocks: 2 });
    validateModel(m);
    const names = [...parameterShapes(m).keys()];
    expect(names.slice(0, 5)).toEqual([
      'conv1.weight',
      'bn1.weight',
      'bn1.bias',
      'bn1.running_mean',
      'bn1.running_var',
    ]);
    expect(names).toContain('layer1.1.bn2.running_var');
    expect(names).toContain('layer2.0.downsample.0.weight');
    expect(names).toContain('layer3.0.downsample.1.running_mean');
    expect(names.some((n) => n.startsWith('layer1.0.downsample'))).toBe(false); // same shape: identity
    expect(names.some((n) => n.startsWith('layer2.1.downsample'))).toBe(false);
    expect(names.slice(-2)).toEqual(['fc.weight', 'fc.bias']);
    expect(parameterShapes(m).get('layer3.1.conv2.weight')).toEqual([32, 32, 3, 3]);
    const shapes = layerOutputShapes(m);
    const at = (name: string): number[] | undefined =>
      shapes[resolveLayers(m).findIndex((r) => r.name === name)];
    expect(at('layer1.1.add')).toEqual([8, 28, 28]);
    expect(at('layer2.0.add')).toEqual([16, 14, 14]);
    expect(at('layer3.1.add')).toEqual([32, 7, 7]);
    expect(at('avgpool')).toEqual([32, 1, 1]);
  });

  it('--no-skip drops every add and projection; --no-bn every batch norm, giving the convs biases', () => {
    const plain = resnetModel({ skip: false });
    expect(plain.layers.some((l) => l.type === 'add' || l.name?.includes('downsample'))).toBe(
      false,
    );
    expect(plain.layers.filter((l) => l.type === 'conv2d')).toHaveLength(7);
    const noBn = resnetModel({ batchNorm: false });
    expect(noBn.layers.some((l) => l.type === 'batchNorm')).toBe(false);
    expect(
      noBn.layers.filter((l) => l.type === 'conv2d').every((l) => l.type === 'conv2d' && l.bias),
    ).toBe(true);
    expect([...parameterShapes(noBn).keys()]).toContain('layer2.0.downsample.0.bias');
    for (const m of [plain, noBn]) validateModel(m);
  });
});

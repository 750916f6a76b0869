/**
 * The model graph (src/graph/graph.ts): shapes inferred as nodes are added, parameters named and
 * laid out like PyTorch's state_dict, and shape errors raised where the layer is written, naming it.
 */
import { describe, expect, it } from 'vitest';
import { ShadergradError } from '../../src/base/errors';
import { Graph } from '../../src/graph/graph';

/** images [2, 1, 12, 10] -> conv1 (4 features, 3x3 same) -> 2x2 max pool -> flatten -> fc1 -> loss. */
function smallCnn() {
  const g = new Graph();
  const images = g.input('images', [2, 1, 12, 10]);
  const labels = g.labels('labels', 2);
  const conv1 = g.conv2d(images, {
    name: 'conv1',
    features: 4,
    kernel: 3,
    padding: 'same',
    activation: 'relu',
  });
  const pool = g.pool('maxPool', conv1, 2);
  const flat = g.flatten(pool);
  const fc1 = g.dense(flat, { name: 'fc1', units: 10 });
  const loss = g.softmaxCrossEntropy(fc1, labels);
  return { g, ids: { images, labels, conv1, pool, flat, fc1, loss } };
}

describe('shape inference', () => {
  it('gives every node its output shape, batch first', () => {
    const { g, ids } = smallCnn();
    const shape = (id: number) => g.get(id).shape;
    expect(shape(ids.images)).toEqual([2, 1, 12, 10]);
    expect(shape(ids.labels)).toEqual([2]);
    expect(shape(ids.conv1)).toEqual([2, 4, 12, 10]); // 'same' keeps H x W
    expect(shape(ids.pool)).toEqual([2, 4, 6, 5]);
    expect(shape(ids.flat)).toEqual([2, 120]);
    expect(shape(ids.fc1)).toEqual([2, 10]);
    expect(shape(ids.loss)).toEqual([2]); // per-sample losses
    expect(g.lossNode().id).toBe(ids.loss);
  });

  it('uses floor mode and the given stride for valid convolutions and pools', () => {
    const g = new Graph();
    const x = g.input('x', [1, 3, 9, 8]);
    const conv = g.conv2d(x, { name: 'c', features: 2, kernel: [3, 2], stride: 2 });
    expect(g.get(conv).shape).toEqual([1, 2, 4, 4]); // floor((9-3)/2)+1, floor((8-2)/2)+1
    const pool = g.pool('avgPool', conv, 3, 1);
    expect(g.get(pool).shape).toEqual([1, 2, 2, 2]);
  });
});

describe('parameters', () => {
  it('carry PyTorch names, OIHW and [out, in] layouts and fan-in, in graph order', () => {
    const { g } = smallCnn();
    expect(g.parameters()).toEqual([
      { name: 'conv1.weight', shape: [4, 1, 3, 3], fanIn: 9 },
      { name: 'conv1.bias', shape: [4], fanIn: 9 },
      { name: 'fc1.weight', shape: [10, 120], fanIn: 120 },
      { name: 'fc1.bias', shape: [10], fanIn: 120 },
    ]);
  });

  it('belong only to conv2d and dense nodes', () => {
    const { g, ids } = smallCnn();
    const owners = g.nodes.filter((n) => n.params.length > 0).map((n) => n.id);
    expect(owners).toEqual([ids.conv1, ids.fc1]);
  });

  it('make every node downstream of one need a gradient, but not inputs or labels', () => {
    const { g, ids } = smallCnn();
    expect([...g.gradientNodes()].sort((a, b) => a - b)).toEqual([
      ids.conv1,
      ids.pool,
      ids.flat,
      ids.fc1,
      ids.loss,
    ]);
  });
});

describe('shape errors name the layer', () => {
  const flatInput = () => {
    const g = new Graph();
    return { g, x: g.input('images', [4, 6]) };
  };

  it.each([
    [
      'a conv2d on a 2-D input',
      () => {
        const { g, x } = flatInput();
        g.conv2d(x, { name: 'conv1', features: 4, kernel: 3 });
      },
      "conv1: expects a 4-D input, got [4, 6] from input 'images'",
    ],
    [
      'a dense layer on a 4-D input',
      () => {
        const g = new Graph();
        const x = g.input('images', [2, 1, 5, 5]);
        g.dense(g.conv2d(x, { name: 'conv1', features: 3, kernel: 3 }), {
          name: 'fc1',
          units: 10,
        });
      },
      "fc1: expects a 2-D [N, in] or 3-D [N, T, in] input, got [2, 3, 3, 3] from conv2d 'conv1' (flatten images first)",
    ],
    [
      'a kernel larger than its input',
      () => {
        const g = new Graph();
        g.conv2d(g.input('images', [1, 1, 4, 4]), { name: 'conv1', features: 2, kernel: 5 });
      },
      /^conv1: .*kernel 5 is larger/,
    ],
    [
      'a pool window larger than its input',
      () => {
        const g = new Graph();
        g.pool('maxPool', g.input('images', [1, 1, 2, 8]), 3, undefined, 'pool1');
      },
      /^pool1: .*larger than the 2x8 input/,
    ],
    [
      'zero features',
      () => {
        const g = new Graph();
        g.conv2d(g.input('images', [1, 1, 4, 4]), { name: 'conv1', features: 0, kernel: 3 });
      },
      'conv1: features = 0, expected a whole number >= 1',
    ],
    [
      'fractional units',
      () => {
        const { g, x } = flatInput();
        g.dense(x, { name: 'fc1', units: 2.5 });
      },
      'fc1: units = 2.5, expected a whole number >= 1',
    ],
    [
      'an input with an empty dimension',
      () => new Graph().input('images', [0, 6]),
      "input 'images': output shape [0, 6] has an empty dimension",
    ],
    [
      'logits and labels of different batches',
      () => {
        const { g, x } = flatInput();
        g.softmaxCrossEntropy(x, g.labels('labels', 3));
      },
      'softmaxCrossEntropy: logits [4, 6] need 4 labels shaped [4], got [3]',
    ],
    [
      'predictions and targets of different shapes',
      () => {
        const { g, x } = flatInput();
        g.mse(x, g.input('targets', [4, 2]));
      },
      'mse: predictions [4, 6] but targets [4, 2]',
    ],
  ] as const)('%s', (_what, build, message) => {
    expect(build).toThrow(ShadergradError);
    expect(build).toThrow(message);
  });
});

describe('graph structure errors', () => {
  it('refuses an unknown node id', () => {
    expect(() => new Graph().get(3)).toThrow(/^graph: no node 3$/);
  });

  it('needs a loss as the last node', () => {
    const g = new Graph();
    g.dense(g.input('images', [4, 6]), { name: 'fc1', units: 3 });
    expect(() => g.lossNode()).toThrow(/the last node must be a loss/);
  });

  it('lets a node feed several consumers, listing each use in graph order', () => {
    const g = new Graph();
    const x = g.input('images', [4, 6]);
    const fc1 = g.dense(x, { name: 'fc1', units: 5 });
    const relu = g.activation(fc1, 'relu');
    const tanh = g.activation(fc1, 'tanh');
    const sum = g.add(relu, tanh, { name: 'sum' });
    const fc2 = g.dense(sum, { name: 'fc2', units: 3 });
    g.softmaxCrossEntropy(fc2, g.labels('labels', 4));
    const needs = g.gradientNodes();
    expect(g.gradientUses(needs).get(fc1)).toEqual([
      { consumer: relu, index: 0 },
      { consumer: tanh, index: 0 },
    ]);
  });
});

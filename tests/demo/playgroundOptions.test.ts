/**
 * The playground's pure logic: settings through the URL and back (every field, and bad values
 * named one by one while the rest of the link holds), each dataset's defaults and the rule for
 * switching datasets, the seeded train/test split, and the test loss computed on the CPU.
 */
import { describe, expect, it } from 'vitest';
import {
  datasetDefaults,
  datasetSettingNames,
  switchDataset,
  withDefaults,
} from '../../demo/playground/datasets';
import { meanLoss } from '../../demo/playground/net';
import {
  defaultSettings,
  readSettings,
  sameNetwork,
  settingsFromQuery,
  settingsToQuery,
  type Settings,
} from '../../demo/playground/options';
import { pointSets, splitIndices, subset } from '../../demo/playground/split';
import { toy2d, toy2dKinds } from '../../src/index';

const custom: Settings = {
  mode: 'compare',
  dataset: 'gaussians',
  count: 123,
  noise: 0.07,
  classes: 5,
  seed: 42,
  hidden: [5, 3],
  activation: 'relu',
  loss: 'mse',
  optimizer: 'rmsprop',
  lr: 0.004,
  compareLr: { sgd: 0.2, momentum: 0.02, rmsprop: 0.003, adam: 0.01 },
  testFraction: 0.35,
  stepsPerFrame: 7,
};

describe('playground settings in the URL', () => {
  it('round-trips every field, defaults included', () => {
    for (const s of [custom, defaultSettings(), ...toy2dKinds.map((k) => defaultSettings(k))]) {
      const back = settingsFromQuery(settingsToQuery(s));
      expect(back.errors).toEqual({});
      expect(back.settings).toEqual(s);
    }
    expect(settingsToQuery(custom)).toContain('hidden=5%2C3');
    expect(settingsToQuery(custom)).toContain('test=0.35');
  });

  it('fills missing parameters with the chosen dataset defaults', () => {
    const { settings, errors } = settingsFromQuery('?dataset=spirals&seed=9');
    expect(errors).toEqual({});
    expect(settings).toEqual({ ...defaultSettings('spirals'), seed: 9 });
  });

  it('names each bad value under its field and keeps the rest of the link', () => {
    const { settings, errors } = settingsFromQuery(
      '?dataset=spirals&count=abc&hidden=4,x&activation=swish&lr=0&test=0.95&optimizer=sgd',
    );
    expect(Object.keys(errors).sort()).toEqual(['activation', 'count', 'hidden', 'lr', 'test']);
    expect(errors.count).toBe("points: 'abc', expected a whole number from 4 to 2000");
    expect(errors.hidden).toContain("hidden layer width: 'x'");
    expect(errors.activation).toBe("activation: 'swish' is not one of sigmoid, tanh, relu, none");
    expect(errors.test).toContain("test fraction: '0.95'");
    // Bad fields take the spirals defaults; good ones are as given.
    const spirals = defaultSettings('spirals');
    expect(settings).toEqual({ ...spirals, optimizer: 'sgd' });
  });

  it('a bad dataset falls back to the first one and says so', () => {
    const { settings, errors } = settingsFromQuery('?dataset=moons');
    expect(errors.dataset).toBe("dataset: 'moons' is not one of xor, circles, spirals, gaussians");
    expect(settings.dataset).toBe('circles');
  });

  it('gaussians with fewer points than clusters is the point count error', () => {
    const { settings, errors } = settingsFromQuery('?dataset=gaussians&classes=10&count=6');
    expect(errors.count).toBe('points: 6 is fewer than the 10 classes');
    expect(settings.count).toBeGreaterThanOrEqual(10);
  });

  it('bad form values keep the current value', () => {
    const fields: Record<string, string> = { count: '-1', hidden: '3' };
    const { settings, errors } = readSettings(
      (n) => fields[n],
      () => custom,
      custom.dataset,
    );
    expect(Object.keys(errors)).toEqual(['count']);
    expect(settings).toEqual({ ...custom, hidden: [3] });
  });

  it('only the network-shaping settings need a fresh network', () => {
    expect(sameNetwork(custom, { ...custom, stepsPerFrame: 99 })).toBe(true);
    expect(sameNetwork(custom, { ...custom, lr: 1 })).toBe(true); // compare mode: per-optimizer rates
    expect(sameNetwork(custom, { ...custom, testFraction: 0.1 })).toBe(false);
    expect(sameNetwork(custom, { ...custom, mode: 'single' })).toBe(false);
  });
});

describe('playground dataset defaults', () => {
  it('each dataset has its own points, network and split', () => {
    expect(datasetDefaults.xor).toMatchObject({ count: 4, hidden: [2], testFraction: 0 });
    expect(datasetDefaults.spirals.count).toBeGreaterThan(datasetDefaults.circles.count);
    expect(datasetDefaults.spirals.hidden.length).toBe(2);
    for (const kind of toy2dKinds) {
      const d = datasetDefaults[kind];
      // The defaults must themselves be valid settings.
      expect(settingsFromQuery(settingsToQuery(defaultSettings(kind))).errors).toEqual({});
      expect(d.testFraction).toBeLessThan(0.5);
    }
  });

  it('XOR -> spirals: every setting still at the XOR default takes the spirals default', () => {
    const xor = withDefaults({ ...defaultSettings(), mode: 'single' as const }, 'xor');
    const spirals = switchDataset(xor, 'spirals');
    expect(spirals).toEqual({ ...defaultSettings('spirals'), compareLr: xor.compareLr });
    expect(spirals.count).toBe(300);
  });

  it('settings the user changed survive the switch; the rest follow the dataset', () => {
    const mine = {
      ...defaultSettings('xor'),
      hidden: [8],
      optimizer: 'sgd' as const,
      stepsPerFrame: 3,
    };
    const moved = switchDataset(mine, 'circles');
    expect(moved.hidden).toEqual([8]);
    expect(moved.optimizer).toBe('sgd');
    for (const name of datasetSettingNames.filter((n) => n !== 'hidden' && n !== 'optimizer'))
      expect(moved[name]).toEqual(datasetDefaults.circles[name]);
    // Switching back restores XOR's defaults but not the user's choices.
    expect(switchDataset(moved, 'xor')).toEqual(mine);
  });

  it('does not share arrays with the defaults table', () => {
    const s = defaultSettings('spirals');
    s.hidden.push(1);
    expect(datasetDefaults.spirals.hidden).toEqual([16, 16]);
  });
});

describe('playground train/test split', () => {
  const data = toy2d({ kind: 'gaussians', count: 103, classes: 3, seed: 5 });

  it('is disjoint, covers every point, and holds out about the fraction of each class', () => {
    const { train, test } = splitIndices(data.labels, data.classes, 0.25, 7);
    expect(new Set([...train, ...test]).size).toBe(data.count);
    expect(train.length + test.length).toBe(data.count);
    expect(train.filter((i) => test.includes(i))).toEqual([]);
    for (let k = 0; k < data.classes; k++) {
      const n = data.labels.filter((l) => l === k).length;
      expect(test.filter((i) => data.labels[i] === k)).toHaveLength(Math.round(0.25 * n));
    }
  });

  it('is the same for the same seed and differs for another', () => {
    const a = splitIndices(data.labels, data.classes, 0.2, 11);
    expect(splitIndices(data.labels, data.classes, 0.2, 11)).toEqual(a);
    expect(splitIndices(data.labels, data.classes, 0.2, 12).test).not.toEqual(a.test);
  });

  it('keeps a training point of every class and holds out nothing at fraction 0', () => {
    const xor = toy2d({ kind: 'xor', count: 4 });
    expect(splitIndices(xor.labels, 2, 0, 3)).toEqual({ train: [0, 1, 2, 3], test: [] });
    const most = splitIndices(xor.labels, 2, 0.9, 3);
    expect(new Set(most.train.map((i) => xor.labels[i]))).toEqual(new Set([0, 1]));
  });

  it("a setup's points: the same for the same settings, train and test apart", () => {
    const s = { ...defaultSettings('gaussians'), classes: 4, count: 90, testFraction: 0.3 };
    const a = pointSets(s);
    expect(pointSets(s)).toEqual(a);
    expect(a.all.classes).toBe(4);
    expect(a.train.count + a.test.count).toBe(90);
    const key = (d: typeof a.train, i: number) => `${d.points[2 * i]},${d.points[2 * i + 1]}`;
    const trainPoints = new Set(Array.from({ length: a.train.count }, (_, i) => key(a.train, i)));
    for (let i = 0; i < a.test.count; i++) expect(trainPoints.has(key(a.test, i))).toBe(false);
    expect(pointSets({ ...s, seed: s.seed + 1 }).test.points).not.toEqual(a.test.points);
  });

  it('subsets carry their points, labels and MSE targets', () => {
    const part = subset(data, [2, 0]);
    expect(part.count).toBe(2);
    expect(Array.from(part.points)).toEqual([
      data.points[4],
      data.points[5],
      data.points[0],
      data.points[1],
    ]);
    expect(Array.from(part.labels)).toEqual([data.labels[2], data.labels[0]]);
    expect(part.targets).toHaveLength(2 * data.targetWidth);
  });
});

describe('playground test loss', () => {
  const set = subset(toy2d({ kind: 'xor', count: 4 }), [0, 1]); // labels 0 and 1

  it('MSE averages the squared error over every output', () => {
    // targets [0, 1]; outputs [0.2, 0.6]: (0.04 + 0.16) / 2
    expect(meanLoss(new Float32Array([0.2, 0.6]), set, 'mse')).toBeCloseTo(0.1, 6);
  });

  it('cross-entropy averages -log p(label) over the points', () => {
    const probabilities = new Float32Array([0.8, 0.2, 0.4, 0.6]);
    expect(meanLoss(probabilities, set, 'crossEntropy')).toBeCloseTo(
      -(Math.log(0.8) + Math.log(0.6)) / 2,
      6,
    );
  });
});

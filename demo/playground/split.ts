/**
 * The held-out test set: a seeded, stratified split of a toy dataset into train and test points,
 * the subsets themselves, and the points of a playground setup.
 */
import { mseTargets, mulberry32, toy2d, type Toy2d } from '../api';
import type { Settings } from './options';

export interface Split {
  /** Indices into the dataset, ascending. */
  train: number[];
  test: number[];
}

/** Keeps the split's random stream apart from the dataset's, which uses the same seed. */
const SPLIT_STREAM = 0x51e7;

/**
 * Holds out round(fraction * n) of each class's n points (one always stays to train on), chosen
 * by a seeded shuffle: the same seed and labels give the same split on every machine, and every
 * class keeps points in the training set.
 */
export function splitIndices(
  labels: Int32Array,
  classes: number,
  fraction: number,
  seed: number,
): Split {
  const random = mulberry32((seed ^ SPLIT_STREAM) >>> 0);
  const test: number[] = [];
  for (let k = 0; k < classes; k++) {
    const members = Array.from(labels.keys()).filter((i) => labels[i] === k);
    // Fisher-Yates: the first `held` of the shuffled members go to the test set.
    for (let i = members.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [members[i], members[j]] = [members[j] ?? 0, members[i] ?? 0];
    }
    const held = Math.min(Math.round(fraction * members.length), members.length - 1);
    test.push(...members.slice(0, Math.max(0, held)));
  }
  const isTest = new Set(test);
  const train = Array.from(labels.keys()).filter((i) => !isTest.has(i));
  return { train, test: test.sort((a, b) => a - b) };
}

/** The points `indices` of `d` as a dataset of their own (same classes, same target layout). */
export function subset(d: Toy2d, indices: readonly number[]): Toy2d {
  const points = new Float32Array(indices.length * 2);
  const labels = new Int32Array(indices.length);
  indices.forEach((p, i) => {
    points[2 * i] = d.points[2 * p] ?? 0;
    points[2 * i + 1] = d.points[2 * p + 1] ?? 0;
    labels[i] = d.labels[p] ?? 0;
  });
  return {
    ...d,
    count: indices.length,
    points,
    labels,
    targets: mseTargets(labels, d.classes),
  };
}

/** The points of a setup: all of them, and the two disjoint parts. */
export interface PointSets {
  all: Toy2d;
  train: Toy2d;
  test: Toy2d;
}

/** The points of `s`, split into train and test by its seed. */
export function pointSets(s: Settings): PointSets {
  const classes = s.dataset === 'gaussians' ? { classes: s.classes } : {};
  const all = toy2d({ kind: s.dataset, count: s.count, noise: s.noise, seed: s.seed, ...classes });
  const split = splitIndices(all.labels, all.classes, s.testFraction, s.seed);
  return { all, train: subset(all, split.train), test: subset(all, split.test) };
}

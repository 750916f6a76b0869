/**
 * Seeded 2-D toy datasets for small MLPs (the coursework playground, examples/): XOR, two
 * concentric circles, two interleaved spirals and k gaussian clusters. Pure TypeScript, the same
 * points on every machine for a given seed.
 *
 * Layout: `points` is [count, 2] row-major (x, y); `labels[i]` is the class of point i; classes
 * take turns (point i belongs to class i mod classes, XOR to corner i mod 4), so every prefix of
 * the set is balanced to within one point. `targets` are the MSE targets: one 0/1 column for two
 * classes (the label itself), one-hot rows for more.
 *
 * Scales: XOR sits on the unit square's corners (0 or 1 per coordinate, as in the course); the
 * others fill about [-1, 1]². `noise` is the standard deviation of gaussian jitter added to every
 * coordinate, in those units.
 */
import { ShadergradError } from '../base/errors';
import { mulberry32 } from '../base/random';

export type Toy2dKind = 'xor' | 'circles' | 'spirals' | 'gaussians';

export const toy2dKinds: readonly Toy2dKind[] = ['xor', 'circles', 'spirals', 'gaussians'];

export interface Toy2dOptions {
  kind: Toy2dKind;
  /** Points in total, at least one per class (default: 4 for xor, 200 otherwise). */
  count?: number;
  /** Standard deviation of the gaussian jitter on each coordinate (default 0). */
  noise?: number;
  /** gaussians only: the number of clusters, 2 to 10 (default 3). */
  classes?: number;
  /** Seed of the generator (default 1); any integer. */
  seed?: number;
}

export interface Toy2d {
  kind: Toy2dKind;
  count: number;
  classes: number;
  /** Shape [count, 2]: x, y of each point. */
  points: Float32Array;
  /** Shape [count]: class of each point, 0 <= label < classes. */
  labels: Int32Array;
  /** Shape [count, targetWidth]: 0/1 targets for an MSE loss. */
  targets: Float32Array;
  /** 1 for two classes (a single sigmoid output), else `classes` (one-hot). */
  targetWidth: number;
}

/** Generates one of the datasets; bad options throw a ShadergradError naming the option. */
export function toy2d(options: Toy2dOptions): Toy2d {
  const { kind } = options;
  if (!toy2dKinds.includes(kind))
    throw new ShadergradError(
      `toy2d: kind '${String(kind)}' is not one of ${toy2dKinds.join(', ')}`,
    );
  const classes = classesOf(options);
  const count = options.count ?? (kind === 'xor' ? 4 : 200);
  if (!Number.isInteger(count) || count < classes || count > 1_000_000)
    throw new ShadergradError(
      `toy2d: count = ${count}, expected a whole number from ${classes} to 1000000`,
    );
  const noise = options.noise ?? 0;
  if (!Number.isFinite(noise) || noise < 0)
    throw new ShadergradError(`toy2d: noise = ${noise}, expected a number >= 0`);
  const seed = options.seed ?? 1;
  if (!Number.isInteger(seed))
    throw new ShadergradError(`toy2d: seed = ${seed}, expected an integer`);

  const random = mulberry32(seed);
  const gauss = gaussian(random);
  const points = new Float32Array(count * 2);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const [x, y, label] = samplePoint(kind, i, count, classes, random, gauss);
    points[2 * i] = x + noise * gauss();
    points[2 * i + 1] = y + noise * gauss();
    labels[i] = label;
  }
  const targetWidth = classes === 2 ? 1 : classes;
  return {
    kind,
    count,
    classes,
    points,
    labels,
    targets: mseTargets(labels, classes),
    targetWidth,
  };
}

function classesOf(options: Toy2dOptions): number {
  if (options.kind !== 'gaussians') {
    if (options.classes !== undefined && options.classes !== 2)
      throw new ShadergradError(
        `toy2d: ${options.kind} has 2 classes, got classes = ${options.classes}`,
      );
    return 2;
  }
  const k = options.classes ?? 3;
  if (!Number.isInteger(k) || k < 2 || k > 10)
    throw new ShadergradError(`toy2d: classes = ${k}, expected a whole number from 2 to 10`);
  return k;
}

/** Point i before jitter: x, y and its class. */
function samplePoint(
  kind: Toy2dKind,
  i: number,
  count: number,
  classes: number,
  random: () => number,
  gauss: () => number,
): [number, number, number] {
  switch (kind) {
    case 'xor': {
      // corners in the order (0,0) (0,1) (1,0) (1,1): label = x XOR y
      const corner = i % 4;
      const x = corner >> 1;
      const y = corner & 1;
      return [x, y, x ^ y];
    }
    case 'circles': {
      // class 0: a ring of radius 0.65..1; class 1: a disk of radius 0.45 inside it.
      // sqrt makes the disk uniform in area rather than crowded at the centre.
      const label = i % 2;
      const r = label === 0 ? 0.65 + 0.35 * random() : 0.45 * Math.sqrt(random());
      const a = 2 * Math.PI * random();
      return [r * Math.cos(a), r * Math.sin(a), label];
    }
    case 'spirals': {
      // Two arms of 1.75 turns, the second the first turned by pi; t runs evenly along each arm.
      const label = i % 2;
      const perArm = Math.ceil(count / 2);
      const t = Math.floor(i / 2) / Math.max(1, perArm - 1);
      const r = 0.08 + 0.9 * t;
      const a = 1.75 * 2 * Math.PI * t + label * Math.PI;
      return [r * Math.cos(a), r * Math.sin(a), label];
    }
    case 'gaussians': {
      // Centres evenly on a circle of radius 0.6, each cluster with standard deviation 0.15.
      const label = i % classes;
      const a = (2 * Math.PI * label) / classes + Math.PI / 4;
      return [0.6 * Math.cos(a) + 0.15 * gauss(), 0.6 * Math.sin(a) + 0.15 * gauss(), label];
    }
    default:
      return kind satisfies never;
  }
}

/** Standard normal samples from a uniform generator (Box-Muller). */
function gaussian(random: () => number): () => number {
  return () => {
    const u = 1 - random(); // in (0, 1]: log(u) is finite
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  };
}

/** MSE targets for labels: the label as one 0/1 column for 2 classes, one-hot rows for more. */
export function mseTargets(labels: Int32Array, classes: number): Float32Array {
  if (!Number.isInteger(classes) || classes < 2)
    throw new ShadergradError(`mseTargets: classes = ${classes}, expected a whole number >= 2`);
  const width = classes === 2 ? 1 : classes;
  const out = new Float32Array(labels.length * width);
  labels.forEach((l, i) => {
    if (l < 0 || l >= classes)
      throw new ShadergradError(`mseTargets: label ${i} is ${l}, expected 0..${classes - 1}`);
    if (width === 1) out[i] = l;
    else out[i * width + l] = 1;
  });
  return out;
}

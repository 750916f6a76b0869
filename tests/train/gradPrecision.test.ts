/**
 * The first step's gradients of the full reference CNN, by each convolution path this device can
 * take, against float64: every parameter's max |GPU - f64| within RATIO times PyTorch's own
 * float32 error on the same gradient, max |PyTorch f32 - PyTorch f64| (tests/golden/precision_cnn.py).
 * The gradients are read before Adam uses them, so unlike precision.test.ts (3 Adam steps, whose
 * first steps move near-zero gradients by their rounding) this holds each path's kernels to the
 * bound directly: the paths the autotuner may pick (the implicit forward and weight gradient,
 * conv1's by taps, and every input-gradient path) as well as the defaults. The float64 side is
 * our CPU reference in f64, checked first against PyTorch's float64 gradient (sums in the JSON).
 */
import { describe, expect, it } from 'vitest';
import { readFloat32 } from '../../src/gpu/buffers';
import { referenceTrainStep, type ReferenceState } from '../../src/graph/cpuReference';
import { convPathsFor } from '../../src/graph/tuneConvForward';
import type { TunedProduct } from '../../src/graph/tuneReport';
import { inputGradPathsFor, type ConvPath, type InputGradPath } from '../../src/kernels/index';
import { buildGraph } from '../../src/models/network';
import { Trainer } from '../../src/train/trainer';
import { useTestGpu } from '../helpers/gpu';
import {
  PRECISION_RATIO as RATIO,
  maxAbsDiff,
  precisionModel,
  precisionSetup,
} from '../helpers/precisionCnn';
import { memoryStore } from '../helpers/tuneStore';

const gpu = useTestGpu();
const { pc, init, images, labels, graph } = precisionSetup();

/** The tuner's keys for the reference CNN's convolutions at the case's batch. */
const CONV1 = `conv forward [1, 28, 28] -> O=32 k5x5 s1x1 p2,2 batch ${pc.batch}`;
const CONV2 = `conv forward [32, 14, 14] -> O=64 k5x5 s1x1 p2,2 batch ${pc.batch}`;
const CONV2_DX = `conv dX [32, 14, 14] -> O=64 k5x5 s1x1 p2,2 batch ${pc.batch}`;

let f64Grads: ReadonlyMap<string, ArrayLike<number>> | undefined;
/** The f64 gradient at the initial weights, computed once. */
function referenceGradients(): ReadonlyMap<string, ArrayLike<number>> {
  if (f64Grads) return f64Grads;
  const params = new Map([...init].map(([k, v]) => [k, Float64Array.from(v)]));
  const state: ReferenceState = { params, optimizerState: new Map(), step: 0 };
  const step = referenceTrainStep(
    graph,
    state,
    { images, labels },
    { kind: 'adam', lr: 1e-3 },
    'f64',
  );
  f64Grads = new Map([...init.keys()].map((name) => [name, step.grads.get(name) ?? []]));
  return f64Grads;
}

/** A replayed choice: the plan takes it as an earlier compile's, nothing timed. */
const chosen = (key: string, choice: string): TunedProduct => ({
  key,
  choice,
  label: key,
  flops: 0,
  source: 'cached',
});

/** The first step's gradients with both convolutions' forward on `forward` and conv2's dX on `dX`. */
async function gpuGradients(
  forward: ConvPath,
  dX: InputGradPath,
): Promise<Map<string, Float32Array>> {
  const replay = [chosen(CONV1, forward), chosen(CONV2, forward), chosen(CONV2_DX, dX)];
  const trainer = Trainer.create(gpu(), (b) => buildGraph(precisionModel, b), {
    batchSize: pc.batch,
    optimizer: { kind: 'adam', lr: 1e-3 },
    seed: 1,
    // Nothing timed: the products keep the adapter's defaults (the budget is spent at once).
    tune: { mode: 'cached', store: memoryStore(), budgetMs: 0, replay },
  });
  try {
    for (const [name, values] of init) trainer.store.write(name, values);
    await trainer.trainStep(images, labels);
    // The plan took the paths asked for.
    const notes = (await trainer.plan('train', pc.batch)).notes.join('\n');
    const taken = forward === 'implicit' ? 'the implicit product' : 'im2col \\+ matmul';
    for (const conv of ['conv1', 'conv2'])
      expect(notes).toMatch(new RegExp(`${conv}: forward and weight gradient by ${taken}`));
    const dXTaken = {
      implicit: 'the implicit product \\(subgroupTile\\)',
      implicitRegisterTile: 'the implicit product \\(registerTile\\)',
      im2col: 'matmul \\+ col2im',
    }[dX];
    expect(notes).toMatch(new RegExp(`conv2: input gradient by ${dXTaken}`));
    const grads = new Map<string, Float32Array>();
    for (const name of init.keys())
      grads.set(name, await readFloat32(gpu(), trainer.store.gradOf(name)));
    return grads;
  } finally {
    trainer.destroy();
  }
}

describe('float32 gradients of the reference CNN vs float64, by convolution path', () => {
  it("takes PyTorch's float64 gradient in the CPU reference's f64", () => {
    for (const [name, grad] of referenceGradients()) {
      const torch = pc.params[name];
      let sum = 0;
      let largest = 0;
      for (let i = 0; i < grad.length; i++) {
        sum += grad[i] ?? NaN;
        largest = Math.max(largest, Math.abs(grad[i] ?? NaN));
      }
      const scale = torch?.gradF64MaxAbs ?? NaN;
      expect(Math.abs(sum - (torch?.gradF64Sum ?? NaN)), `${name} sum`).toBeLessThan(
        1e-9 * grad.length * scale + 1e-15,
      );
      expect(Math.abs(largest - scale), `${name} largest`).toBeLessThan(1e-12 * scale);
    }
  }, 60_000);

  const cases = (): [ConvPath, InputGradPath][] =>
    convPathsFor(gpu()).flatMap((forward) =>
      inputGradPathsFor(gpu().hasSubgroups).map((dX): [ConvPath, InputGradPath] => [forward, dX]),
    );

  it('offers im2col on every device, and the implicit paths where it has subgroups', () => {
    const offered = cases();
    expect(offered).toContainEqual(['im2col', 'im2col']);
    expect(offered.some(([f]) => f === 'implicit')).toBe(
      gpu().hasSubgroups && gpu().adapter.kind !== 'swiftshader',
    );
  });

  it('stays within 2x PyTorch float32 error of float64 on every gradient, on every path', async () => {
    const rows: string[] = [];
    const worst: [string, number][] = [];
    for (const [forward, dX] of cases()) {
      const grads = await gpuGradients(forward, dX);
      for (const [name, want] of referenceGradients()) {
        const ours = maxAbsDiff(grads.get(name) ?? [], want);
        const torch = pc.params[name]?.gradMaxAbsF32MinusF64 ?? NaN;
        const label = `forward ${forward}, dX ${dX}: ${name}`;
        rows.push(
          `${label.padEnd(52)} ${ours.toExponential(3)}  ${torch.toExponential(3)}  ${(ours / torch).toFixed(2)}`,
        );
        worst.push([label, ours / torch]);
      }
    }
    console.log(
      `path, parameter, max |ours - f64|, max |torch f32 - f64|, ratio\n${rows.join('\n')}`,
    );
    for (const [label, r] of worst) expect(r, label).toBeLessThanOrEqual(RATIO);
  }, 240_000);
});

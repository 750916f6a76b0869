/**
 * Long sums keep float32 precision: after 3 Adam steps of the full reference CNN on 8 MNIST
 * images, each parameter's max |GPU - f64| stays within RATIO times PyTorch's own float32 error,
 * max |PyTorch f32 - PyTorch f64| (tests/golden/precision_cnn.py), for the matmul variants the
 * trainer picks (subgroupTile, registerTile on software adapters; workgroupTile on GPUs). The
 * float64 side is our CPU reference step in f64, checked first against PyTorch's f64 run
 * (checksums in the JSON). The maxima sit where Adam's step is sensitive (m near 0, or |g| near
 * eps), so they measure gradient accuracy; on lavapipe the ratios reach 1.62 at most (the table
 * is printed), so RATIO = 2, the bound, is met with some room. naive is the teaching
 * baseline, one chain over k: not held to it (2.2x on conv2.weight). The gradients themselves,
 * before Adam, on every convolution path: gradPrecision.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { referenceTrainStep, type ReferenceState } from '../../src/graph/cpuReference';
import { buildGraph } from '../../src/models/network';
import { Trainer } from '../../src/train/trainer';
import { useTestGpu } from '../helpers/gpu';
import {
  PRECISION_RATIO as RATIO,
  maxAbsDiff,
  precisionModel,
  precisionSetup,
} from '../helpers/precisionCnn';

/** Our f64 step vs PyTorch's f64 step: different summation orders, both float64. */
const f64Tol = 1e-9;

const gpu = useTestGpu();
const { pc, init, images, labels, graph } = precisionSetup();

function total(a: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] ?? NaN;
  return sum;
}

function referenceF64(): Map<string, Float64Array | Float32Array> {
  const params = new Map([...init].map(([k, v]) => [k, Float64Array.from(v)]));
  const state: ReferenceState = { params, optimizerState: new Map(), step: 0 };
  for (let s = 0; s < 3; s++) {
    const { loss } = referenceTrainStep(
      graph,
      state,
      { images, labels },
      { kind: 'adam', lr: 1e-3 },
      'f64',
    );
    expect(Math.abs(loss - (pc.lossesF64[s] ?? NaN))).toBeLessThan(1e-12);
  }
  return state.params;
}

let f64Params: Map<string, Float64Array | Float32Array> | undefined;
/** The f64 parameters after 3 steps, computed once (about 10 s) for every test that needs them. */
const f64 = (): Map<string, Float64Array | Float32Array> => (f64Params ??= referenceF64());

describe('float32 precision of 3 Adam steps of the reference CNN vs float64', () => {
  it('draws the weights PyTorch drew', () => {
    for (const [name, values] of init) {
      expect(Math.abs(total(values) - (pc.params[name]?.initSum ?? NaN))).toBeLessThan(1e-9);
    }
  });

  it("takes PyTorch's float64 steps in the CPU reference's f64", () => {
    for (const [name, values] of f64()) {
      const torch = pc.params[name];
      expect(Math.abs(total(values) - (torch?.f64Sum ?? NaN)), `${name} sum`).toBeLessThan(1e-7);
      const first = Array.from(values.subarray(0, 4));
      expect(maxAbsDiff(first, torch?.f64First ?? []), `${name} values`).toBeLessThan(f64Tol);
    }
  }, 120_000);

  it.each(['subgroupTile', 'registerTile', 'workgroupTile'] as const)(
    'stays within 2x PyTorch float32 error of float64 on every parameter (%s matmul)',
    async (matmulVariant) => {
      const trainer = Trainer.create(gpu(), (b) => buildGraph(precisionModel, b), {
        batchSize: pc.batch,
        optimizer: { kind: 'adam', lr: 1e-3 },
        seed: 1,
        matmulVariant,
      });
      for (const [name, values] of init) trainer.store.write(name, values);
      for (let s = 0; s < 3; s++) await trainer.trainStep(images, labels);
      const rows: string[] = [];
      const ratios = new Map<string, number>();
      for (const [name, values] of f64()) {
        const ours = maxAbsDiff(await trainer.store.read(name), values);
        const torch = pc.params[name]?.maxAbsF32MinusF64 ?? NaN;
        ratios.set(name, ours / torch);
        rows.push(
          `${name.padEnd(13)} ${ours.toExponential(3)}  ${torch.toExponential(3)}  ${(ours / torch).toFixed(2)}`,
        );
      }
      trainer.destroy();
      console.log(`${matmulVariant}: parameter, max |ours - f64|, max |torch f32 - f64|, ratio`);
      console.log(rows.join('\n'));
      for (const [name, r] of ratios) expect(r, name).toBeLessThanOrEqual(RATIO);
    },
    120_000,
  );
});

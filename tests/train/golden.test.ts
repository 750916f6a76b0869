/**
 * The GPU training step reproduces PyTorch: same initial weights and batch give the same loss,
 * activations, gradients and parameters after 1, 2 and 3 Adam steps. Tolerances from the golden
 * file's guide: activations and gradients |a - b| <= 1e-5 + 1e-3|b| (f32 vs f64 differ by ~1e-7
 * relative there); parameters after Adam steps atol 1e-4 (10% of one lr step), since Adam divides
 * by sqrt(v) + 1e-8 and amplifies rounding where gradients are tiny.
 */
import { describe, expect, it } from 'vitest';
import { readFloat32 } from '../../src/gpu/buffers';
import { Trainer } from '../../src/train/trainer';
import { expectAllClose } from '../helpers/allclose';
import {
  goldenGraph,
  goldenLabels,
  goldenParams,
  loadGolden,
  type GoldenCase,
} from '../helpers/golden';
import { useTestGpu } from '../helpers/gpu';

const actTol = { atol: 1e-5, rtol: 1e-3 };
const stepTol = { atol: 1e-4, rtol: 0 };

let golden: GoldenCase;
const gpu = useTestGpu(() => {
  golden = loadGolden();
});

describe.each(['subgroupTile', 'registerTile', 'workgroupTile', 'naive'] as const)(
  'golden PyTorch case on the GPU (%s matmul)',
  (matmulVariant) => {
    it('matches loss, activations, gradients and three Adam steps', async () => {
      const { nodes } = goldenGraph(8);
      const trainer = Trainer.create(gpu(), (b) => goldenGraph(b).graph, {
        batchSize: 8,
        optimizer: { kind: 'adam', lr: 1e-3 },
        seed: 1,
        matmulVariant,
        keepIntermediates: true,
      });
      for (const name of goldenParams) trainer.store.write(name, golden.f32(name));
      const images = golden.f32('input');
      const labels = goldenLabels(golden);

      const loss = await trainer.trainStep(images, labels);
      expect(Math.abs(loss - golden.json.loss_initial)).toBeLessThan(1e-5);
      const plan = await trainer.plan('train', 8);
      for (const [act, node] of Object.entries(nodes)) {
        const t = plan.tensorOf(node === nodes.flat ? (nodes.pool2 ?? -1) : (node ?? -1));
        expect(t, `tensor of act.${act}`).toBeDefined();
        if (t)
          expectAllClose(
            await readFloat32(gpu(), t),
            golden.f32(act === 'flat' ? 'act.flat' : `act.${act}`),
            actTol,
            `act.${act}`,
          );
      }
      const dLogits = plan.tensorOf(nodes.logits ?? -1, 'grad');
      if (dLogits)
        expectAllClose(
          await readFloat32(gpu(), dLogits),
          golden.f32('grad.logits'),
          actTol,
          'grad.logits',
        );
      for (const name of goldenParams)
        expectAllClose(
          await trainer.store.read(name, 'grad'),
          golden.f32(`grad.${name}`),
          actTol,
          `grad.${name}`,
        );
      for (const name of goldenParams)
        expectAllClose(
          await trainer.store.read(name),
          golden.f32(`step1.${name}`),
          stepTol,
          `step1.${name}`,
        );

      for (const step of [2, 3]) {
        const l = await trainer.trainStep(images, labels);
        expect(Math.abs(l - (golden.json.losses_per_step[step - 1] ?? NaN))).toBeLessThan(2e-5);
        for (const name of goldenParams)
          expectAllClose(
            await trainer.store.read(name),
            golden.f32(`step${step}.${name}`),
            stepTol,
            `step${step}.${name}`,
          );
      }
      trainer.destroy();
    });
  },
);

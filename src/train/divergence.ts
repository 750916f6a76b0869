/**
 * What the trainer does when an epoch's loss comes back NaN or infinite. It puts the weights back
 * to the latest snapshot (snapshots never adopt a state holding a non-finite value, see
 * snapshot.ts), so saving afterwards saves the last good state rather than NaNs. In debug mode it
 * first replays the steps from that snapshot to the failing one, with the same batches (the
 * epoch's permutation is still on the GPU; each step gathers from its batch offset), through
 * `findFirstNonFinite`, and names the first call that wrote a non-finite value. What it found, or
 * why it could not look, is appended to the error: it never guesses.
 */
import type { Gpu } from '../gpu/device';
import { rewriteGather, type GpuDataset } from './epoch';
import type { StepPlan } from '../graph/executor';
import { findFirstNonFinite } from '../gpu/nonFinite';
import type { Snapshot } from './snapshot';

/** The epoch that diverged and how to put the trainer back to a snapshot. */
export interface DivergedEpoch {
  readonly gpu: Gpu;
  readonly plan: StepPlan;
  readonly data: GpuDataset;
  readonly epoch: number;
  readonly batch: number;
  /** The epoch's step (1-based) whose read-back showed the non-finite loss. */
  readonly failedStep: number;
  /** The latest snapshot; undefined when snapshots are off. */
  readonly good: Snapshot | undefined;
  restore(s: Snapshot): void;
}

const DEBUG_HINT = '(set SHADERGRAD_DEBUG=1 to find the first op that produced it)';

/** Restores the latest snapshot (after a replay in debug mode); returns the text for the error. */
export async function diagnoseDivergence(d: DivergedEpoch): Promise<string> {
  const good = d.good;
  const hint = d.gpu.debug ? '' : ` ${DEBUG_HINT}`;
  if (!good) {
    const unknown = d.gpu.debug ? ', and without one the first op cannot be replayed' : '';
    return `${hint}; the weights hold the diverged values: no snapshot to go back to (snapshots are off)${unknown}`;
  }
  let finding = '';
  if (d.gpu.debug) {
    try {
      finding = `; ${await replay(d, good)}`;
    } catch (e) {
      finding = `; replaying from the snapshot failed: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
  d.restore(good);
  const { epoch, batch } = good.position;
  return `${hint}${finding}; the weights are back to the last good snapshot (epoch ${epoch}, after step ${batch})`;
}

async function replay(d: DivergedEpoch, good: Snapshot): Promise<string> {
  if (good.position.epoch !== d.epoch)
    return `the last good snapshot is from epoch ${good.position.epoch}, and a replay covers only the epoch that diverged (${d.epoch}), so the first op is unknown`;
  d.restore(good);
  const first = good.position.batch;
  for (let b = first; b < d.failedStep; b++) {
    rewriteGather(d.gpu, d.plan, d.data, b * d.batch, d.batch);
    const w = await findFirstNonFinite(d.gpu, d.plan);
    if (w)
      return `first non-finite value: ${w.call} wrote ${w.value} into ${w.tensor}[${w.index}] at step ${b + 1}`;
  }
  return `replaying steps ${first + 1}-${d.failedStep} from the snapshot wrote no non-finite value, so the first op is unknown`;
}

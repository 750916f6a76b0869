/**
 * The reference CNN's pooling layers, max and average, forward and backward, at the page's batch
 * size. Cases and the byte formula: bench/cases/pool.ts.
 */
import { poolGeometry } from '../../src/kernelApi';
import {
  poolBytes,
  poolCase,
  REFERENCE_POOL_LAYERS,
  timeCase,
  validateCase,
  type Direction,
} from '../cases';
import { row, type BenchContext, type BenchRow } from './common';

export async function benchPool(ctx: BenchContext): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const small = poolGeometry({ N: 2, C: 3, H: 9, W: 7 }, 2);
  for (const kind of ['maxPool', 'avgPool'] as const) {
    const validate = (d: Direction) =>
      validateCase(ctx.gpu, `${kind} ${d}`, poolCase(ctx.gpu, kind, small, d));
    const validations = {
      forward: await validate('forward'),
      backward: await validate('backward'),
    };
    for (const layer of REFERENCE_POOL_LAYERS) {
      const g = poolGeometry({ N: ctx.options.batch, C: layer.C, H: layer.H, W: layer.H }, 2);
      const shape = `[${g.N},${g.C},${g.H},${g.W}] 2x2 (${layer.name})`;
      ctx.log(`${kind} ${shape}`);
      for (const direction of ['forward', 'backward'] as const) {
        const timed = poolCase(ctx.gpu, kind, g, direction, 51);
        const time = await timeCase(ctx.gpu, timed, (calls) => ctx.time(calls));
        timed.destroy();
        const validation = validations[direction];
        const base = { suite: 'pool', shape, unit: 'GB/s', validation } as const;
        rows.push(row({ ...base, kernel: `${kind} ${direction}` }, time, poolBytes(kind, g)));
      }
    }
  }
  return rows;
}

/**
 * The reference CNN's conv layers (im2col + matmul + col2im, src/kernels/conv2d.ts), forward and
 * backward, at the page's batch size, as an untuned plan runs them on this adapter (its
 * preferredPolicy: the products' kernel and dX's path). Cases and the flop formula:
 * bench/cases/conv.ts.
 */
import { conv2dGeometry, inputGradPathOf, preferredPolicy } from '../../src/kernelApi';
import { convCase, convFlops, REFERENCE_CONV_LAYERS, timeCase, validateCase } from '../cases';
import { row, type BenchContext, type BenchRow } from './common';

export async function benchConv(ctx: BenchContext): Promise<BenchRow[]> {
  const policy = preferredPolicy(ctx.gpu.adapter.kind, ctx.gpu.hasSubgroups);
  const rows: BenchRow[] = [];
  for (const layer of REFERENCE_CONV_LAYERS) {
    const input = (N: number) => ({ N, C: layer.C, H: layer.H, W: layer.H });
    const O = layer.O;
    const small = conv2dGeometry(input(2), 5, 1, 'same');
    const g = conv2dGeometry(input(ctx.options.batch), 5, 1, 'same');
    const shape = `[${g.N},${g.C},${g.H},${g.W}] → [${g.N},${O},${g.OH},${g.OW}] 5x5`;
    const first = layer.name === 'conv1'; // the input image needs no gradient
    for (const direction of ['forward', 'backward'] as const) {
      const dX = direction === 'backward' && !first ? `, dX ${inputGradPathOf(g, O, policy)}` : '';
      const kernel = `${layer.name} ${direction} (${policy.name}${dX})`;
      const checked = convCase(ctx.gpu, small, O, direction, { policy });
      const validation = await validateCase(ctx.gpu, `conv2d ${direction}`, checked);
      const options = { policy, activation: 'relu', inputGradient: !first } as const;
      const timed = convCase(ctx.gpu, g, O, direction, { ...options, seed: 31 });
      ctx.log(`${layer.name} ${direction}, batch ${g.N}`);
      const time = await timeCase(ctx.gpu, timed, (calls) => ctx.time(calls));
      timed.destroy();
      const work = convFlops(g, O, direction, !first);
      rows.push(row({ suite: 'conv', shape, unit: 'GFLOP/s', kernel, validation }, time, work));
    }
  }
  return rows;
}

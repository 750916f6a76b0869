/**
 * The explorer's transformer kernels: layer norm and attention's causal softmax. Their cases and
 * work formulas are bench/cases/transformer.ts's.
 */
import {
  attentionSoftmaxBytes,
  attentionSoftmaxCase,
  layerNormBytes,
  layerNormCase,
  type Direction,
} from '../../bench/cases';
import { int } from './fields';
import { kernel, type ExplorerKernel } from './kernel';

function layerNormKernel(direction: Direction): ExplorerKernel {
  return kernel('layerNorm', direction, {
    fields: [int('rows', 1024, 'rows (batch·tokens)'), int('D', 64, 'D (width)')],
    unit: 'GB/s',
    entryPoints: () =>
      direction === 'forward'
        ? ['layerNormForward']
        : ['layerNormBackwardParams', 'layerNormBackwardData'],
    plan(v) {
      const [rows, D] = [v.int('rows'), v.int('D')];
      return {
        buffers: { x: rows * D, y: rows * D, dY: rows * D, dX: rows * D, stats: 2 * rows },
        twinCost: 6 * rows * D,
        work: layerNormBytes(rows, D, direction),
        build: (gpu) => layerNormCase(gpu, { rows, D }, direction),
      };
    },
  });
}

function attentionSoftmaxKernel(direction: Direction): ExplorerKernel {
  return kernel('softmax', `causal ${direction}`, {
    fields: [int('heads', 256, 'heads (batch·heads)'), int('T', 16, 'T (tokens)')],
    unit: 'GB/s',
    entryPoints: () => [direction === 'forward' ? 'softmaxForward' : 'softmaxBackward'],
    plan(v) {
      const [heads, T] = [v.int('heads'), v.int('T')];
      return {
        buffers: { x: heads * T * T, y: heads * T * T, dY: heads * T * T, dX: heads * T * T },
        twinCost: 4 * heads * T * T,
        work: attentionSoftmaxBytes(heads, T, direction),
        build: (gpu) => attentionSoftmaxCase(gpu, { heads, T }, direction),
      };
    },
  });
}

export const TRANSFORMER_KERNELS: readonly ExplorerKernel[] = [
  ...(['forward', 'backward'] as const).map(layerNormKernel),
  ...(['forward', 'backward'] as const).map(attentionSoftmaxKernel),
];

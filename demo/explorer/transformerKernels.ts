/**
 * The explorer's transformer and language-model kernels: layer norm, attention's causal softmax,
 * GELU, the heads' transpose, the token embedding, and the next-token draw. Their cases and work
 * formulas are bench/cases/transformer.ts's and bench/cases/language.ts's.
 */
import {
  attentionSoftmaxBytes,
  attentionSoftmaxCase,
  embeddingBytes,
  embeddingCase,
  geluBytes,
  geluCase,
  layerNormBytes,
  layerNormCase,
  sampleBytes,
  sampleCase,
  transposeBytes,
  transposeCase,
  type Direction,
} from '../../bench/cases';
import { type GeluApproximation } from '../../src/kernelApi';
import { choice, int } from './fields';
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

const GELU_FORMS: readonly GeluApproximation[] = ['none', 'tanh'];

function geluKernel(direction: Direction): ExplorerKernel {
  const entry = direction === 'forward' ? 'geluForward' : 'geluBackward';
  return kernel('gelu', direction, {
    fields: [int('count', 100_000, 'elements'), choice('approximate', GELU_FORMS, 'none')],
    unit: 'GB/s',
    entryPoints: () => [entry],
    plan(v) {
      const n = v.int('count');
      const approximate = GELU_FORMS.find((f) => f === v.text('approximate')) ?? 'none';
      return {
        buffers: { x: n, y: n, dY: n }, // the backward's dX takes y's place
        twinCost: n,
        work: geluBytes(n, direction),
        build: (gpu) => geluCase(gpu, n, approximate, direction),
      };
    },
  });
}

/** x.transpose(1, 2): attention's [N, T, H, D] <-> [N, H, T, D]; its own backward. */
const transposeKernel = kernel('transpose', 'transpose', {
  fields: [
    int('A', 8, 'A (batch)'),
    int('B', 64, 'B (tokens)'),
    int('C', 4, 'C (heads)'),
    int('D', 16, 'D (head width)'),
  ],
  unit: 'GB/s',
  entryPoints: () => ['transpose'],
  plan(v) {
    const [A, B, C, D] = [v.int('A'), v.int('B'), v.int('C'), v.int('D')];
    return {
      buffers: { x: A * B * C * D, out: A * B * C * D },
      twinCost: A * B * C * D,
      work: transposeBytes(A, B, C, D),
      build: (gpu) => transposeCase(gpu, { A, B, C, D }),
    };
  },
});

function embeddingKernel(direction: Direction): ExplorerKernel {
  return kernel('embedding', direction, {
    fields: [
      int('N', 2048, 'N (tokens)'),
      int('V', 96, 'V (vocabulary)'),
      int('C', 64, 'C (width)'),
    ],
    unit: 'GB/s',
    entryPoints: () => [direction === 'forward' ? 'embeddingForward' : 'embeddingBackward'],
    plan(v) {
      const sizes = { N: v.int('N'), V: v.int('V'), C: v.int('C') };
      const { N, V, C } = sizes;
      return {
        // The backward's dOut and dTable have the sizes of out and table.
        buffers: { tokens: N, table: V * C, out: N * C },
        twinCost: N * C + V * C,
        work: embeddingBytes(sizes, direction),
        build: (gpu) => embeddingCase(gpu, sizes, direction),
      };
    },
  });
}

const TEMPERATURES = ['0.5', '0.8', '1', '1.5', '2'];

const sampleKernel = kernel('sample', 'sampleToken', {
  fields: [
    int('rows', 4, 'rows (positions)'),
    int('V', 1000, 'V (vocabulary)'),
    int('topK', 40, 'top k (0: all)', 0),
    choice('temperature', TEMPERATURES, '0.8'),
  ],
  unit: 'GB/s',
  entryPoints: () => ['sampleToken'],
  plan(v) {
    const [rows, V, topK] = [v.int('rows'), v.int('V'), v.int('topK')];
    const temperature = Number(v.text('temperature'));
    return {
      buffers: { logits: rows * V, draw: 4, token: 1 },
      // The twin and the check each sort the row's ids: about V·log2 V steps apiece.
      twinCost: 2 * V * Math.log2(V + 1) + 4 * V,
      work: sampleBytes(V),
      build: (gpu) => sampleCase(gpu, { rows, V, topK, temperature }),
    };
  },
});

export const TRANSFORMER_KERNELS: readonly ExplorerKernel[] = [
  ...(['forward', 'backward'] as const).map(layerNormKernel),
  ...(['forward', 'backward'] as const).map(attentionSoftmaxKernel),
  ...(['forward', 'backward'] as const).map(geluKernel),
  transposeKernel,
  ...(['forward', 'backward'] as const).map(embeddingKernel),
  sampleKernel,
];

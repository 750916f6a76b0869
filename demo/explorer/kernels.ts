/**
 * The explorer's kernel list: for each kernel, the sizes the user sets, what a run on them
 * allocates and costs (checked before anything is made), the work per run in GFLOP or GB, and the
 * kernel case that runs it (bench/cases, shared with the benchmarks, as are the work formulas).
 * The transformer's kernels are listed in ./transformerKernels.
 */
import { type Activation, type Gpu, type MatmulVariant } from '../../src/index';
import {
  conv2dGeometry,
  matmulFlops,
  poolGeometry,
  preferredMatmulVariant,
} from '../../src/kernelApi';
import {
  activationCase,
  biasCase,
  convCase,
  convFlops,
  lossMeanCase,
  matmulCase,
  optimizerBytes,
  optimizerCase,
  poolBytes,
  poolCase,
  softmaxBytes,
  softmaxCase,
  unfoldCase,
  type Direction,
  type PoolKind,
} from '../../bench/cases';
import { choice, int, type Values } from './fields';
import { kernel, type ExplorerKernel } from './kernel';
import { TRANSFORMER_KERNELS } from './transformerKernels';

const MATMUL_ENTRY: Record<MatmulVariant, string> = {
  naive: 'matmulNaive',
  registerTile: 'matmulRegisterTile',
  workgroupTile: 'matmulWorkgroupTile',
  subgroupTile: 'matmulSubgroupTile',
};

/**
 * What conv2d runs its products with here: the variant of the engine's choice for the adapter
 * (on SwiftShader the engine adds quadK and the implicit dX, which this page's list of entry
 * points does not show).
 */
function convVariant(gpu: Gpu | undefined): MatmulVariant {
  return gpu ? preferredMatmulVariant(gpu.adapter.kind, gpu.hasSubgroups) : 'registerTile';
}

const image = [int('N', 2, 'N (batch)'), int('C', 3, 'C (channels)'), int('H', 16), int('W', 16)];
const windowFields = (kernel: number, stride: number) => [
  int('kernel', kernel, 'kernel size'),
  int('stride', stride),
];
const padding = choice('padding', ['same', 'valid', '0', '1', '2', '3'], 'same');

function convGeometry(v: Values) {
  const pad = v.text('padding');
  const input = { N: v.int('N'), C: v.int('C'), H: v.int('H'), W: v.int('W') };
  return conv2dGeometry(
    input,
    v.int('kernel'),
    v.int('stride'),
    /\d/.test(pad) ? Number(pad) : pad === 'valid' ? 'valid' : 'same',
  );
}

function matmulKernel(variant: MatmulVariant): ExplorerKernel {
  return kernel('matmul', variant, {
    fields: [int('M', 128), int('K', 128), int('N', 128)],
    unit: 'GFLOP/s',
    subgroups: variant === 'subgroupTile',
    // K = 33: two slices of 32, so both barriers (after staging, before restaging) matter.
    raceSizes: variant === 'workgroupTile' ? { M: '5', K: '33', N: '7' } : undefined,
    entryPoints: () => [MATMUL_ENTRY[variant]],
    plan(v) {
      const [M, K, N] = [v.int('M'), v.int('K'), v.int('N')];
      return {
        buffers: { A: M * K, B: K * N, C: M * N },
        twinCost: M * N * K,
        work: matmulFlops({ M, N, K }), // 2·M·N·K
        build: (gpu) => matmulCase(gpu, variant, { M, N, K }),
      };
    },
  });
}

function unfoldKernel(entry: 'im2col' | 'col2im'): ExplorerKernel {
  return kernel('conv2dIm2col', entry, {
    fields: [...image, ...windowFields(3, 1), padding],
    unit: 'GB/s',
    entryPoints: () => [entry],
    plan(v) {
      const g = convGeometry(v);
      const [x, cols] = [g.N * g.C * g.H * g.W, g.N * g.C * g.KH * g.KW * g.OH * g.OW];
      // Bytes moved at least: every x element read once, every cols element written once.
      return {
        buffers: { x, cols },
        twinCost: cols,
        work: 4 * (x + cols),
        build: (gpu) => unfoldCase(gpu, g, entry),
      };
    },
  });
}

function convKernel(direction: Direction): ExplorerKernel {
  return kernel('conv2d', direction, {
    fields: [...image, int('O', 8, 'O (out channels)'), ...windowFields(3, 1), padding],
    unit: 'GFLOP/s',
    entryPoints: (gpu) => {
      const product = MATMUL_ENTRY[convVariant(gpu)];
      return direction === 'forward' ? ['im2col', product] : [product, 'biasBackward', 'col2im'];
    },
    plan(v) {
      const g = convGeometry(v);
      const O = v.int('O');
      const [x, weight, cols, out] = [
        g.N * g.C * g.H * g.W,
        O * g.C * g.KH * g.KW,
        g.N * g.C * g.KH * g.KW * g.OH * g.OW,
        g.N * O * g.OH * g.OW,
      ];
      const work = convFlops(g, O, direction);
      // Backward's dX, dWeight, dCols and dOut have the sizes of x, weight, cols and out.
      const buffers = { x, weight, cols, out };
      return {
        buffers,
        twinCost: work / 2,
        work,
        build: (gpu) => convCase(gpu, g, O, direction, { policy: convVariant(gpu) }),
      };
    },
  });
}

function poolKernel(kind: PoolKind, direction: Direction): ExplorerKernel {
  return kernel(kind, direction, {
    fields: [...image, ...windowFields(2, 2)],
    unit: 'GB/s',
    entryPoints: () => [`${kind}${direction === 'forward' ? 'Forward' : 'Backward'}`],
    plan(v) {
      const g = poolGeometry(
        { N: v.int('N'), C: v.int('C'), H: v.int('H'), W: v.int('W') },
        v.int('kernel'),
        v.int('stride'),
      );
      const [x, out] = [g.N * g.C * g.H * g.W, g.N * g.C * g.OH * g.OW];
      return {
        buffers: { x, out }, // dX, argmax and dOut have the sizes of x, out and out
        twinCost: 2 * out * g.KH * g.KW,
        work: poolBytes(kind, g),
        build: (gpu) => poolCase(gpu, kind, g, direction),
      };
    },
  });
}

const ACTIVATIONS: readonly Activation[] = ['relu', 'sigmoid', 'tanh'];

function activationKernel(direction: Direction): ExplorerKernel {
  const entry = direction === 'forward' ? 'activationForward' : 'activationBackward';
  return kernel('activation', direction, {
    fields: [int('count', 100_000, 'elements'), choice('activation', ACTIVATIONS, 'tanh')],
    unit: 'GB/s',
    entryPoints: () => [entry],
    plan(v) {
      const n = v.int('count');
      const activation = ACTIVATIONS.find((a) => a === v.text('activation')) ?? 'tanh';
      // Bytes: forward reads x, writes y; backward reads y and dY, writes dX.
      return {
        buffers: { x: n, y: n, dY: n },
        twinCost: n,
        work: (direction === 'forward' ? 8 : 12) * n,
        build: (gpu) => activationCase(gpu, n, activation, direction),
      };
    },
  });
}

function biasKernel(direction: Direction): ExplorerKernel {
  return kernel('bias', direction, {
    fields: [int('N', 8, 'N (batch)'), int('C', 32, 'C (channels)'), int('S', 196, 'S (H·W)')],
    unit: 'GB/s',
    entryPoints: () => [direction === 'forward' ? 'biasAddForward' : 'biasBackward'],
    // N·S past 256 terms: the workgroup tree, not the serial loop (see src/kernels/bias.ts).
    raceSizes: direction === 'backward' ? { N: '2', C: '2', S: '129' } : undefined,
    plan(v) {
      const [N, C, S] = [v.int('N'), v.int('C'), v.int('S')];
      // Bytes: forward reads x and bias and writes x; backward reads dOut, writes dBias.
      const work = 4 * ((direction === 'forward' ? 2 : 1) * N * C * S + C);
      return {
        buffers: { x: N * C * S, bias: C },
        twinCost: N * C * S,
        work,
        build: (gpu) => biasCase(gpu, { N, C, S }, direction),
      };
    },
  });
}

function softmaxKernel(entry: 'forward' | 'forwardBackward'): ExplorerKernel {
  return kernel('softmaxCrossEntropy', entry, {
    fields: [int('N', 64, 'N (batch)'), int('K', 10, 'K (classes)')],
    unit: 'GB/s',
    entryPoints: () => [
      entry === 'forward' ? 'softmaxCrossEntropyForward' : 'softmaxCrossEntropyForwardBackward',
    ],
    plan(v) {
      const [N, K] = [v.int('N'), v.int('K')];
      return {
        buffers: { logits: N * K, dLogits: N * K, labels: N, loss: N },
        twinCost: 2 * N * K,
        work: softmaxBytes(N, K, entry),
        build: (gpu) => softmaxCase(gpu, { N, K }, entry),
      };
    },
  });
}

const lossMeanKernel = kernel('reduce', 'lossMean', {
  fields: [int('N', 4096, 'N (losses)')],
  unit: 'GB/s',
  entryPoints: () => ['lossMean'],
  raceSizes: { N: '21' }, // a few values: the interpreter still runs all 256 invocations
  plan(v) {
    const N = v.int('N');
    return {
      buffers: { loss: N },
      twinCost: N,
      work: 4 * (N + 1),
      build: (gpu) => lossMeanCase(gpu, N),
    };
  },
});

function optimizerKernel(kind: 'adam' | 'sgd' | 'momentum' | 'rmsprop'): ExplorerKernel {
  return kernel('optimizer', kind, {
    fields: [int('count', 100_000, 'parameters'), int('steps', 1)],
    unit: 'GB/s',
    entryPoints: () => ['optimizerStepBegin', `${kind}Update`],
    plan(v) {
      const [n, steps] = [v.int('count'), v.int('steps')];
      const config = { kind, lr: 1e-3 };
      return {
        buffers: { grad: n, param: n, state: n },
        twinCost: n * steps,
        work: steps * optimizerBytes(kind, n),
        build: (gpu) => optimizerCase(gpu, config, n, steps),
      };
    },
  });
}

export const EXPLORER_KERNELS: readonly ExplorerKernel[] = [
  ...(['naive', 'registerTile', 'workgroupTile', 'subgroupTile'] as const).map(matmulKernel),
  ...(['im2col', 'col2im'] as const).map(unfoldKernel),
  ...(['forward', 'backward'] as const).map(convKernel),
  ...(['maxPool', 'avgPool'] as const).flatMap((k) => [
    poolKernel(k, 'forward'),
    poolKernel(k, 'backward'),
  ]),
  ...(['forward', 'backward'] as const).map(activationKernel),
  ...(['forward', 'backward'] as const).map(biasKernel),
  softmaxKernel('forwardBackward'),
  softmaxKernel('forward'),
  lossMeanKernel,
  ...TRANSFORMER_KERNELS,
  ...(['adam', 'sgd', 'momentum', 'rmsprop'] as const).map(optimizerKernel),
];

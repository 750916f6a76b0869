/**
 * The autotuner's race between a convolution's forward and weight-gradient paths
 * (src/kernels/conv2dPaths.ts ConvPath): conv2dImplicit's products straight from a padded x, and
 * im2col + matmul, run as ./tuneRace.ts says, the two passes timed together since the path decides
 * both (the weight gradient reads what the forward left: the padded x, or cols). tuneProducts
 * (./tuner.ts) runs it before the products, since the im2col path adds two to the plan. Why a
 * race: on lavapipe the implicit products ran the reference CNN's conv2 forward 1.45x and its
 * weight gradient 1.2x faster than im2col + matmul (docs/measurements.md); a hardware GPU's
 * workgroup-tiled matmul is untried against them, and the default there is im2col.
 */
import { dotAtol } from '../base/compare';
import { roundToF16 } from '../base/f16';
import { readFloat32 } from '../gpu/buffers';
import type { Gpu } from '../gpu/device';
import type { KernelCall } from '../gpu/dispatch';
import { bytesPerElement, elementCount } from '../gpu/tensor';
import {
  CONV_PATHS,
  conv2dBackward,
  conv2dBackwardCpu,
  conv2dColsShape,
  conv2dForward,
  conv2dForwardCpu,
  inputPaddedShape,
  outputRowsShape,
  weightGradPadsRows,
  weightForwardShape,
  weightGradRunsShape,
  type Conv2dGeometry,
  type ConvPath,
  type DefaultPolicy,
  type ScratchDtype,
} from '../kernels/index';
import { closenessProblem } from './tuneChecks';
import type { ConvShape } from './tuneChoosers';
import {
  choosePaths,
  racePaths,
  raceTensors,
  smallCaseOf,
  smallCaseProblem,
  type PathContext,
  type PathResult,
} from './tuneRace';
import type { TunedProduct } from './tuneReport';

/** Floating-point operations of the forward and the weight gradient: two products of one size. */
export function forwardAndWeightGradFlops({ g, O }: ConvShape): number {
  return 2 * (2 * g.N * g.OH * g.OW * O * g.C * g.KH * g.KW);
}

/**
 * The paths the race offers on `gpu`. The implicit products need the `subgroups` feature, and are
 * not offered on SwiftShader: its 4-lane subgroups cannot share the weights, and there they took
 * 1.9-2.0x as long as im2col + matmul for the reference CNN's conv2 at batch 64, and racing them
 * spent seconds of the tuning budget (one screening run alone took 2 s) that the products then
 * lacked (docs/measurements.md).
 */
export function convPathsFor(gpu: Gpu): readonly ConvPath[] {
  const implicit = gpu.hasSubgroups && gpu.adapter.kind !== 'swiftshader';
  return CONV_PATHS.filter((p) => implicit || p !== 'implicit');
}

/** What the race compares: the forward's output and the weight gradient. */
interface Outputs {
  out: ArrayLike<number>;
  dWeight: ArrayLike<number>;
}

/**
 * Races the forward and weight-gradient paths of `conv` (./tuneRace.ts), the default first, on as
 * many of its samples as im2col's cols can hold in one binding (racedBatch).
 */
export async function tuneConvPath(
  gpu: Gpu,
  whole: ConvShape,
  defaults: DefaultPolicy,
  maxBindingBytes: number,
): Promise<PathResult<ConvPath>> {
  const conv = { ...whole, g: { ...whole.g, N: racedBatch(whole, maxBindingBytes) } };
  const first = defaults.convPath(conv.g);
  const order = [first, ...convPathsFor(gpu).filter((p) => p !== first)];
  const colsFit = tooLarge(conv, 'im2col', maxBindingBytes) === undefined;
  const t = pathTensors(gpu, conv, colsFit);
  const part = conv.g.N < whole.g.N ? { timedSamples: conv.g.N } : {};
  try {
    const result = await racePaths(gpu, {
      order,
      problem: async (path) =>
        tooLarge(conv, path, maxBindingBytes) ?? (await twinProblem(gpu, conv, path, defaults)),
      calls: (path) => pathCalls(t, conv, path, defaults),
      outputs: () => outputsOf(gpu, t),
      // Each path is within the twin's tolerance of the exact sums: within twice of each other.
      differs: (got, want) => outputsProblem(got, want, conv, 2, 'the default'),
    });
    return { ...result, ...part };
  } finally {
    t.destroy();
  }
}

/** Why `got` is not within `scale` times float32's rounding bound of `want`, or undefined. */
function outputsProblem(
  got: Outputs,
  want: Outputs,
  { g }: ConvShape,
  scale: number,
  against: string,
): string | undefined {
  // Inputs uniform in [-1, 1]: dotAtol bounds the rounding of a sum of that many terms.
  const outTerms = g.C * g.KH * g.KW + 1; // the bias too
  const weightTerms = g.N * g.OH * g.OW;
  const out = closenessProblem(got.out, want.out, scale * dotAtol(outTerms), against);
  const dW = closenessProblem(got.dWeight, want.dWeight, scale * dotAtol(weightTerms), against);
  return out ? `out ${out}` : dW && `dWeight ${dW}`;
}

/** Bytes of `g`'s cols, stored as the plan stores them. */
function colsBytes(g: Conv2dGeometry, stored: ScratchDtype = 'f32'): number {
  return elementCount(conv2dColsShape(g)) * bytesPerElement[stored];
}

/**
 * Samples the race times: the batch, or where the batch's cols would pass the largest binding as
 * many as fit (the plan's im2col path then goes in chunks of about that many; the implicit path
 * takes the batch whole, so per sample they compare alike). At least one.
 */
function racedBatch({ g, stored }: ConvShape, most: number): number {
  const perSample = colsBytes({ ...g, N: 1 }, stored);
  return Math.max(1, Math.min(g.N, Math.floor(most / perSample)));
}

/** Why `path`'s scratch cannot hold the race's samples at once, or undefined. */
function tooLarge({ g, stored }: ConvShape, path: ConvPath, most: number): string | undefined {
  if (path === 'implicit') return undefined; // conv2dPlan offered the race only where it fits
  const bytes = colsBytes(g, stored);
  if (bytes <= most) return undefined;
  return `its cols for ${g.N} samples (${bytes} bytes) would pass the largest binding (${most})`;
}

/** Values of the inputs: uniform in [-1, 1], so dotAtol bounds float32 rounding. */
const DATA_SEED = 20261206;

/**
 * Fresh random tensors for both paths of `conv`; cols only `withCols` (else one float). cols and
 * the padded x are stored as the plan stores them, so that under mixed precision the race times
 * the kernels the plan runs.
 */
function pathTensors(gpu: Gpu, { g, O, stored }: ConvShape, withCols = true) {
  const { make, destroy } = raceTensors(gpu, DATA_SEED);
  const runs = weightGradRunsShape(g, O);
  return {
    x: make([g.N, g.C, g.H, g.W]),
    weight: make([O, g.C, g.KH, g.KW]),
    bias: make([O]),
    out: make([g.N, O, g.OH, g.OW]),
    dOut: make([g.N, O, g.OH, g.OW]),
    dWeight: make([O, g.C, g.KH, g.KW]),
    cols: make(withCols ? conv2dColsShape(g) : [1], stored),
    xPadded: make(inputPaddedShape(g, O), stored),
    weightForward: make(weightForwardShape(g, O)),
    dOutRows: make(weightGradPadsRows(g) ? outputRowsShape(g, O) : [1]),
    ...(runs ? { dWeightRuns: make(runs) } : {}),
    destroy,
  };
}

type PathTensors = ReturnType<typeof pathTensors>;

/** The forward's and the weight gradient's calls by `path`, the products by the default. */
function pathCalls(
  t: PathTensors,
  { g, O }: ConvShape,
  path: ConvPath,
  defaults: DefaultPolicy,
): KernelCall[] {
  const { x, weight, dWeightRuns } = t;
  const shape = { geometry: g, O };
  const forward = { x, weight, bias: t.bias, out: t.out, ...shape };
  const backward = {
    x,
    weight,
    dOut: t.dOut,
    dWeight: t.dWeight,
    ...(dWeightRuns ? { dWeightRuns } : {}),
    ...shape,
  };
  if (path === 'implicit') {
    const { xPadded, weightForward, dOutRows } = t;
    return [
      ...conv2dForward({ ...forward, implicit: { xPadded, weightForward } }, defaults),
      ...conv2dBackward({ ...backward, implicitWeightGrad: { xPadded, dOutRows } }, defaults),
    ];
  }
  return [
    ...conv2dForward({ ...forward, cols: t.cols }, defaults),
    ...conv2dBackward({ ...backward, cols: t.cols }, defaults),
  ];
}

/** `path` against the CPU twins at batch 2; undefined when it agrees. */
async function twinProblem(
  gpu: Gpu,
  conv: ConvShape,
  path: ConvPath,
  defaults: DefaultPolicy,
): Promise<string | undefined> {
  const small = smallCaseOf(conv);
  const t = pathTensors(gpu, small);
  return smallCaseProblem(
    gpu,
    t,
    () => pathCalls(t, small, path, defaults),
    async () => {
      // Under mixed precision both paths multiply x rounded to f16 (cols or the padded x).
      const x = await readFloat32(gpu, t.x);
      const host = {
        x: small.stored === 'f16' ? roundToF16(x) : x,
        weight: await readFloat32(gpu, t.weight),
        geometry: small.g,
        O: small.O,
      };
      const want = {
        out: new Float64Array(elementCount(t.out.shape)),
        dWeight: new Float64Array(elementCount(t.dWeight.shape)),
      };
      conv2dForwardCpu({ ...host, bias: await readFloat32(gpu, t.bias), out: want.out });
      conv2dBackwardCpu({ ...host, dOut: await readFloat32(gpu, t.dOut), dWeight: want.dWeight });
      const got = await outputsOf(gpu, t);
      return outputsProblem(got, want, small, 1, 'the CPU twin');
    },
  );
}

/** The forward's output and the weight gradient, read back. */
async function outputsOf(gpu: Gpu, t: PathTensors): Promise<Outputs> {
  return { out: await readFloat32(gpu, t.out), dWeight: await readFloat32(gpu, t.dWeight) };
}

const PATH_WORDS: Record<ConvPath, string> = {
  implicit: 'the implicit products',
  im2col: 'im2col + matmul',
};

/**
 * A forward and weight-gradient path for each convolution that can take either (conv2dPlan told
 * the recorder): ./tuneRace.ts choosePaths. Where the race offers one path, no entries.
 */
export async function chooseConvPaths(
  convs: ReadonlyMap<string, ConvShape>,
  ctx: PathContext,
  defaults: DefaultPolicy,
): Promise<{ paths: Map<string, ConvPath>; entries: TunedProduct[] }> {
  const takes = convPathsFor(ctx.gpu);
  if (takes.length < 2) return { paths: new Map(), entries: [] };
  return choosePaths(convs, ctx, {
    label: (path, key, { g }) =>
      `conv2d forward and weight gradient by ${PATH_WORDS[path]} (${key}, batch ${g.N})`,
    flops: forwardAndWeightGradFlops,
    takes,
    fallback: ({ g }) => defaults.convPath(g),
    race: (conv) => tuneConvPath(ctx.gpu, conv, defaults, ctx.maxBindingBytes),
  });
}

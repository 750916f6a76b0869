/**
 * The autotuner's race between a convolution's input-gradient paths (src/kernels/conv2dPaths.ts):
 * conv2dImplicit's product with its subgroupTile or its registerTile kernel, and matmul into
 * dCols + col2im, run as ./tuneRace.ts says. tuneProducts (./tuner.ts) runs it before the
 * products, since the im2col path adds a product to the plan. Why a race: on lavapipe the
 * subgroupTile kernel is as fast or up to 2x faster than matmul + col2im at every channel count
 * measured, and 1.4-2.5x faster than the register tile; on SwiftShader, whose 4-lane subgroups
 * cannot share, the register tile runs 2-3.6x faster than the subgroupTile kernel
 * (docs/measurements.md). A device without the subgroups feature races the register tile and
 * matmul + col2im.
 */
import { dotAtol } from '../base/compare';
import { largestBinding, readFloat32 } from '../gpu/buffers';
import type { Gpu } from '../gpu/device';
import type { KernelCall } from '../gpu/dispatch';
import { elementCount } from '../gpu/tensor';
import {
  conv2dBackwardCpu,
  conv2dColsShape,
  conv2dInputGrad,
  implicitInputGradFits,
  implicitProductOf,
  inputGradPathsFor,
  paddedGradientShape,
  weightCkoShape,
  type Conv2dGeometry,
  type DefaultPolicy,
  type InputGradPath,
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

/** Floating-point operations of dX: 2 per tap and output channel of every input position. */
export function inputGradFlops({ g, O }: ConvShape): number {
  return 2 * g.N * g.OH * g.OW * O * g.C * g.KH * g.KW;
}

/** Races the input-gradient paths of `conv` (./tuneRace.ts), the default first. */
export async function tuneInputGrad(
  gpu: Gpu,
  conv: ConvShape,
  defaults: DefaultPolicy,
  maxBindingBytes = largestBinding(gpu),
): Promise<PathResult<InputGradPath>> {
  const first = defaults.inputGrad;
  const order = [first, ...inputGradPathsFor(gpu.hasSubgroups).filter((p) => p !== first)];
  const t = pathTensors(gpu, conv, tooLarge(conv, 'im2col', maxBindingBytes) === undefined);
  try {
    return await racePaths(gpu, {
      order,
      problem: async (path) =>
        tooLarge(conv, path, maxBindingBytes) ?? (await twinProblem(gpu, conv, path, defaults)),
      calls: (path) => pathCalls(t, conv, path, defaults),
      outputs: () => readFloat32(gpu, t.dX),
      differs: (got, want) => differsFrom(got, want, conv),
    });
  } finally {
    t.destroy();
  }
}

/** Terms per dX element: every output channel at every tap. */
function termsOf({ g, O }: ConvShape): number {
  return O * g.KH * g.KW;
}

function differsFrom(got: Float32Array, want: Float32Array, conv: ConvShape): string | undefined {
  // Each path is within dotAtol of the exact sums (inputs in [-1, 1]): within twice of each other.
  return closenessProblem(got, want, 2 * dotAtol(termsOf(conv)), 'the default');
}

/** Values of the inputs: uniform in [-1, 1], so dotAtol bounds float32 rounding. */
const DATA_SEED = 20261205;

/**
 * Why `path` cannot run on `conv`'s samples at once, or undefined. The samples per pass were
 * chosen for the default path (conv2dBatchChunk); matmul + col2im's dCols (f32) may not fit
 * where the default's scratch does, for instance beside an f16 cols (mixed precision). A plan
 * that takes that path chunks the batch for it; the race does not time it at this size.
 */
function tooLarge({ g }: ConvShape, path: InputGradPath, most: number): string | undefined {
  if (implicitProductOf(path)) return undefined;
  const bytes = elementCount(conv2dColsShape(g)) * 4;
  if (bytes <= most) return undefined;
  return `its dCols for ${g.N} samples (${bytes} bytes) would pass the largest binding (${most})`;
}

/**
 * Fresh random tensors for every path of `conv`; x and dWeight are not read by dX's calls. dCols
 * only `withDCols` (else one float: only matmul + col2im reads it).
 */
function pathTensors(gpu: Gpu, { g, O }: ConvShape, withDCols = true) {
  const { make, destroy } = raceTensors(gpu, DATA_SEED);
  return {
    weight: make([O, g.C, g.KH, g.KW]),
    dOut: make([g.N, O, g.OH, g.OW]),
    dX: make([g.N, g.C, g.H, g.W]),
    dCols: make(withDCols ? conv2dColsShape(g) : [1]),
    weightCko: make(weightCkoShape(g, O)),
    dOutPadded: make(paddedGradientShape(g, O)),
    destroy,
  };
}

type PathTensors = ReturnType<typeof pathTensors>;

/** dX's calls by `path`, the im2col path's product with the plan's default choice. */
function pathCalls(
  t: PathTensors,
  { g, O }: ConvShape,
  path: InputGradPath,
  defaults: DefaultPolicy,
): KernelCall[] {
  const base = {
    x: t.dX,
    weight: t.weight,
    dOut: t.dOut,
    dWeight: t.weight,
    cols: t.dCols,
    dX: t.dX,
    geometry: g,
    O,
  };
  const product = implicitProductOf(path);
  const scratch = product
    ? { implicit: { weightCko: t.weightCko, dOutPadded: t.dOutPadded, product } }
    : { dCols: t.dCols };
  return conv2dInputGrad({ ...base, ...scratch }, defaults);
}

/** `path` against the CPU twin at batch 2; undefined when it agrees. */
async function twinProblem(
  gpu: Gpu,
  conv: ConvShape,
  path: InputGradPath,
  defaults: DefaultPolicy,
): Promise<string | undefined> {
  const small = smallCaseOf(conv);
  const t = pathTensors(gpu, small);
  return smallCaseProblem(
    gpu,
    t,
    () => pathCalls(t, small, path, defaults),
    async () => {
      const got = await readFloat32(gpu, t.dX);
      const want = new Float32Array(got.length);
      const g: Conv2dGeometry = small.g;
      conv2dBackwardCpu({
        x: new Float32Array(got.length),
        weight: await readFloat32(gpu, t.weight),
        dOut: await readFloat32(gpu, t.dOut),
        dX: want,
        dWeight: new Float32Array(conv.O * g.C * g.KH * g.KW),
        geometry: g,
        O: conv.O,
      });
      return closenessProblem(got, want, dotAtol(termsOf(small)), 'the CPU twin');
    },
  );
}

const PATH_WORDS: Record<InputGradPath, string> = {
  implicit: 'the implicit product',
  implicitRegisterTile: 'the implicit product (register tile)',
  im2col: 'matmul + col2im',
};

/**
 * A path for each convolution whose dX can take more than one (./tuneRace.ts choosePaths);
 * convolutions with one path get no entry.
 */
export function chooseInputGradPaths(
  convs: ReadonlyMap<string, ConvShape>,
  ctx: PathContext,
  defaults: DefaultPolicy,
): Promise<{ paths: Map<string, InputGradPath>; entries: TunedProduct[] }> {
  const racing = new Map([...convs].filter(([, c]) => implicitInputGradFits(c.g, c.O)));
  return choosePaths(racing, ctx, {
    label: (path, key, { g }) =>
      `conv2d input gradient by ${PATH_WORDS[path]} (${key}, batch ${g.N})`,
    flops: inputGradFlops,
    takes: inputGradPathsFor(ctx.gpu.hasSubgroups),
    fallback: () => defaults.inputGrad,
    race: (conv) => tuneInputGrad(ctx.gpu, conv, defaults, ctx.maxBindingBytes),
  });
}

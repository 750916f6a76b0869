/**
 * The autotuner's choosers (./tuner.ts): the recorder that learns, in a first trace, which matrix
 * products and which convolution input gradients a plan has, and the chooser that answers the
 * second trace from the tuner's tables. Keys name what decides a kernel's work.
 */
import type { GpuTensor } from '../gpu/tensor';
import {
  halfOperands,
  matmulStrides,
  type Conv2dGeometry,
  type ConvPath,
  type ConvPathChooser,
  type InputGradChooser,
  type InputGradPath,
  type MatmulArgs,
  type MatmulChoice,
  type MatmulChooser,
  type MatmulVariant,
  type DefaultPolicy,
  type ScratchDtype,
} from '../kernels/index';

/**
 * The key of a product: everything that decides the kernel's work (sizes, layout, epilogue, and
 * f16 operands, named only when present so f32 keys stay as they were).
 */
export function productKey(args: MatmulArgs<GpuTensor>): string {
  const s = matmulStrides(args);
  const ops = `${args.transA ? 'T' : 'N'}${args.transB ? 'T' : 'N'}`;
  const runs = s.outputs > 1 ? ` in runs of ${s.productsPerSum}` : '';
  const sum = args.sumBatches ? ` summed${runs}` : '';
  const epilogue = `${args.bias ? `bias ${args.biasMode ?? '?'}` : 'no bias'}, ${args.activation ?? 'none'}`;
  const aligned = `${args.a.byteOffset % 16},${args.b.byteOffset % 16}`;
  const half = halfOperands(args);
  const storage = half.length > 0 ? `; ${half.join(',')} f16` : '';
  return `${ops} M${args.M} K${args.K} N${args.N} batch ${s.batch}${sum} strides ${s.aBatchStride},${s.bBatchStride},${s.outBatchStride}; ${epilogue}; offsets ${aligned}${storage}`;
}

/** A convolution's shape per sample, without the batch: "[C, H, W] -> O=.. k.. s.. p..". */
function convShapeKey(g: Conv2dGeometry, O: number): string {
  return `[${g.C}, ${g.H}, ${g.W}] -> O=${O} k${g.KH}x${g.KW} s${g.strideH}x${g.strideW} p${g.padTop},${g.padLeft}`;
}

/**
 * The key of a convolution's input gradient: its shape per sample, without the batch, so that a
 * batch taken in chunks asks about the same key for the whole batch and for a chunk.
 */
export function inputGradKey(g: Conv2dGeometry, O: number): string {
  return `conv dX ${convShapeKey(g, O)}`;
}

/**
 * The key of a convolution's forward and weight-gradient path: its shape per sample, as
 * inputGradKey's (the implicit path takes the batch whole, but the key reads the same either way),
 * and under mixed precision the scratch's storage: the race times the f16 kernels there, which a
 * GPU may run at another speed than the f32 ones.
 */
export function convPathKey(g: Conv2dGeometry, O: number, stored: ScratchDtype): string {
  const storage = stored === 'f16' ? ', x stored as f16' : '';
  return `conv forward ${convShapeKey(g, O)}${storage}`;
}

/**
 * A convolution whose path was asked about, at the smallest batch asked for; `stored`: its
 * forward path's scratch (cols or the padded x), where a race needs it (absent: f32).
 */
export interface ConvShape {
  g: Conv2dGeometry;
  O: number;
  stored?: ScratchDtype;
}

/** The convolutions' paths the tuner chose, by inputGradKey and by convPathKey. */
export interface ChosenPaths {
  inputGrad: ReadonlyMap<string, InputGradPath>;
  conv: ReadonlyMap<string, ConvPath>;
}

export const NO_PATHS: ChosenPaths = { inputGrad: new Map(), conv: new Map() };

/**
 * Whether `paths` surely chose only what `defaults` would run anyway: every dX path the default,
 * and no forward path (whose default depends on the convolution's shape) chosen at all.
 */
export function choosesDefaults(paths: ChosenPaths, defaults: DefaultPolicy): boolean {
  return [...paths.inputGrad.values()].every((p) => p === defaults.inputGrad) && !paths.conv.size;
}

/** A chooser answering the given paths, else the default's. */
class PathChooser implements InputGradChooser, ConvPathChooser {
  constructor(
    protected readonly defaults: DefaultPolicy,
    private readonly paths: ChosenPaths,
  ) {}
  inputGradPath(g: Conv2dGeometry, O: number): InputGradPath {
    return this.paths.inputGrad.get(inputGradKey(g, O)) ?? this.defaults.inputGrad;
  }
  convPath(g: Conv2dGeometry, O: number, stored: ScratchDtype): ConvPath {
    return this.paths.conv.get(convPathKey(g, O, stored)) ?? this.defaults.convPath(g);
  }
}

/** Keeps the smallest batch asked about per key: a batch in chunks is timed as a chunk. */
function remember(seen: Map<string, ConvShape>, key: string, conv: ConvShape): void {
  const earlier = seen.get(key);
  if (!earlier || conv.g.N < earlier.g.N) seen.set(key, conv);
}

/**
 * A chooser that answers the default (or the given paths) and remembers every distinct product
 * it was asked about, every convolution whose input gradient the plan computes, and every
 * convolution whose forward and weight gradient could take either path.
 */
export class ProductRecorder extends PathChooser implements MatmulChooser {
  readonly products = new Map<string, MatmulArgs<GpuTensor>>();
  readonly convs = new Map<string, ConvShape>();
  readonly eitherPathConvs = new Map<string, ConvShape>();
  readonly variant: MatmulVariant;
  constructor(defaults: DefaultPolicy, paths: ChosenPaths = NO_PATHS) {
    super(defaults, paths);
    this.variant = defaults.variant;
  }
  choose(args: MatmulArgs<GpuTensor>): MatmulChoice {
    const key = productKey(args);
    if (!this.products.has(key)) this.products.set(key, args);
    return this.defaults.product;
  }
  computesInputGrad(g: Conv2dGeometry, O: number): void {
    remember(this.convs, inputGradKey(g, O), { g, O });
  }
  mayTakeEitherPath(g: Conv2dGeometry, O: number, stored: ScratchDtype): void {
    remember(this.eitherPathConvs, convPathKey(g, O, stored), { g, O, stored });
  }
}

/** A chooser answering from the tuner's tables, the default for anything not in them. */
export class TunedChooser extends PathChooser implements MatmulChooser {
  readonly variant: MatmulVariant;
  constructor(
    defaults: DefaultPolicy,
    private readonly table: ReadonlyMap<string, MatmulChoice>,
    paths: ChosenPaths = NO_PATHS,
  ) {
    super(defaults, paths);
    this.variant = defaults.variant;
  }
  choose(args: MatmulArgs<GpuTensor>): MatmulChoice {
    return this.table.get(productKey(args)) ?? this.defaults.product;
  }
}

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
  type InputGradChooser,
  type InputGradPath,
  type MatmulArgs,
  type MatmulChoice,
  type MatmulChooser,
  type MatmulVariant,
  type DefaultPolicy,
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

/**
 * The key of a convolution's input gradient: its shape per sample, without the batch, so that a
 * batch taken in chunks asks about the same key for the whole batch and for a chunk.
 */
export function inputGradKey(g: Conv2dGeometry, O: number): string {
  return `conv dX [${g.C}, ${g.H}, ${g.W}] -> O=${O} k${g.KH}x${g.KW} s${g.strideH}x${g.strideW} p${g.padTop},${g.padLeft}`;
}

/** A convolution whose input gradient was asked about, at the smallest batch asked for. */
export interface ConvShape {
  g: Conv2dGeometry;
  O: number;
}

/**
 * A chooser that answers the default (or the given paths) and remembers every distinct product
 * it was asked about and every convolution whose input gradient the plan computes.
 */
export class ProductRecorder implements MatmulChooser, InputGradChooser {
  readonly products = new Map<string, MatmulArgs<GpuTensor>>();
  readonly convs = new Map<string, ConvShape>();
  readonly variant: MatmulVariant;
  constructor(
    private readonly defaults: DefaultPolicy,
    private readonly paths: ReadonlyMap<string, InputGradPath> = new Map(),
  ) {
    this.variant = defaults.variant;
  }
  choose(args: MatmulArgs<GpuTensor>): MatmulChoice {
    const key = productKey(args);
    if (!this.products.has(key)) this.products.set(key, args);
    return this.defaults.product;
  }
  inputGradPath(g: Conv2dGeometry, O: number): InputGradPath {
    return this.paths.get(inputGradKey(g, O)) ?? this.defaults.inputGrad;
  }
  computesInputGrad(g: Conv2dGeometry, O: number): void {
    const key = inputGradKey(g, O);
    const seen = this.convs.get(key);
    if (!seen || g.N < seen.g.N) this.convs.set(key, { g, O });
  }
}

/** A chooser answering from the tuner's tables, the default for anything not in them. */
export class TunedChooser implements MatmulChooser, InputGradChooser {
  readonly variant: MatmulVariant;
  constructor(
    private readonly defaults: DefaultPolicy,
    private readonly table: ReadonlyMap<string, MatmulChoice>,
    private readonly paths: ReadonlyMap<string, InputGradPath> = new Map(),
  ) {
    this.variant = defaults.variant;
  }
  choose(args: MatmulArgs<GpuTensor>): MatmulChoice {
    return this.table.get(productKey(args)) ?? this.defaults.product;
  }
  inputGradPath(g: Conv2dGeometry, O: number): InputGradPath {
    return this.paths.get(inputGradKey(g, O)) ?? this.defaults.inputGrad;
  }
}

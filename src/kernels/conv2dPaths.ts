/**
 * A convolution's paths (conv2d.ts computes them). Its input gradient: conv2dImplicit's product
 * with its subgroupTile kernel (`implicit`) or its registerTile kernel (`implicitRegisterTile`), or
 * matmul into dCols + col2im (`im2col`). Its forward and weight gradient: conv2dImplicit's
 * products straight from a padded x (`implicit`), or im2col + matmul (`im2col`). Which one a
 * convolution takes (the policy's chooser, else the default by matmul variant), the scratch dX's
 * needs, and the plan's note that says so.
 */
import {
  implicitBackwardDataProblem,
  paddedGradientShape,
  weightCkoShape,
  type ImplicitProduct,
} from './conv2dImplicit';
import { forwardByTaps } from './conv2dImplicitConv';
import { im2colShape, type Conv2dGeometry } from './geometry';
import { elementCount } from '../gpu/tensor';
import type { AdapterKind } from '../base/errors';
import { mib } from '../base/units';
import {
  choiceName,
  policyVariant,
  preferredMatmulChoice,
  type MatmulChoice,
  type MatmulChooser,
  type MatmulPolicy,
  type MatmulVariant,
} from './matmul';

/** The implicit product's scratch tensors, and which of its kernels reads them. */
export interface ImplicitScratch<T> {
  weightCko: T;
  dOutPadded: T;
  product?: ImplicitProduct;
}

/**
 * How a convolution's dX runs: conv2dImplicit's product (`implicit` with its subgroupTile kernel,
 * `implicitRegisterTile` with its registerTile kernel), or matmul into dCols + col2im.
 */
export type InputGradPath = 'implicit' | 'implicitRegisterTile' | 'im2col';

/** How a convolution's f16-capable scratch (cols, or the padded x) is stored: f16 under mixed precision. */
export type ScratchDtype = 'f32' | 'f16';

export const INPUT_GRAD_PATHS: readonly InputGradPath[] = [
  'implicit',
  'implicitRegisterTile',
  'im2col',
];

/** The paths a device can take: the subgroupTile kernel's needs the `subgroups` feature. */
export function inputGradPathsFor(hasSubgroups: boolean): readonly InputGradPath[] {
  return INPUT_GRAD_PATHS.filter((p) => hasSubgroups || implicitProductOf(p) !== 'subgroupTile');
}

/** The implicit product's kernel on `path`, or undefined for matmul + col2im. */
export function implicitProductOf(path: InputGradPath): ImplicitProduct | undefined {
  if (path === 'im2col') return undefined;
  return path === 'implicit' ? 'subgroupTile' : 'registerTile';
}

/**
 * How a convolution's forward and weight gradient run: `implicit` (conv2dImplicitForward and
 * conv2dImplicitWeightGrad, straight from a padded copy of x) or `im2col` (im2col + matmul, the
 * cols kept from forward to backward). conv2dPlan decides, where the implicit kernels can run.
 */
export type ConvPath = 'implicit' | 'im2col';

export const CONV_PATHS: readonly ConvPath[] = ['implicit', 'im2col'];

/**
 * The forward and weight-gradient path without a chooser's answer: the implicit products with the
 * subgroupTile variant (on lavapipe they ran the reference CNN's conv2 forward 1.45x and its weight
 * gradient 1.2x faster than im2col + matmul, docs/measurements.md), except where the forward sums
 * taps rather than channels (C % 4 != 0: there the two paths tied for the reference CNN's conv1);
 * elsewhere im2col. The autotuner races them where the device has subgroups.
 */
export function defaultConvPath(variant: MatmulVariant | undefined, g: Conv2dGeometry): ConvPath {
  return variant === 'subgroupTile' && !forwardByTaps(g) ? 'implicit' : 'im2col';
}

/** A policy that also picks each convolution's forward and weight-gradient path (the tuner's). */
export interface ConvPathChooser {
  /**
   * The path for this convolution, or undefined for the rule by variant; `stored`: what its
   * scratch (cols, or the padded x) is stored as, f16 under mixed precision.
   */
  convPath(g: Conv2dGeometry, O: number, stored: ScratchDtype): ConvPath | undefined;
  /** Told of each convolution that could take either path (the tuner's recorder listens). */
  mayTakeEitherPath?(g: Conv2dGeometry, O: number, stored: ScratchDtype): void;
}

function choosesConvPath(
  policy: MatmulPolicy | undefined,
): policy is MatmulPolicy & ConvPathChooser {
  return typeof policy === 'object' && 'convPath' in policy;
}

/**
 * The forward and weight-gradient path of a convolution that can take either: the policy's
 * chooser's (told of the convolution first), else the default by variant.
 */
export function convPathOf(
  g: Conv2dGeometry,
  O: number,
  stored: ScratchDtype,
  policy?: MatmulPolicy,
): ConvPath {
  if (!choosesConvPath(policy)) return defaultConvPath(policyVariant(policy), g);
  policy.mayTakeEitherPath?.(g, O, stored);
  return policy.convPath(g, O, stored) ?? defaultConvPath(policyVariant(policy), g);
}

/** A policy that also picks each convolution's dX path (the autotuner's chooser). */
export interface InputGradChooser {
  /** The path for this convolution, or undefined for the rule by variant. */
  inputGradPath(g: Conv2dGeometry, O: number): InputGradPath | undefined;
  /** Told of each convolution whose dX a plan computes (the tuner's recorder listens). */
  computesInputGrad?(g: Conv2dGeometry, O: number): void;
}

function choosesInputGrad(
  policy: MatmulPolicy | undefined,
): policy is MatmulPolicy & InputGradChooser {
  return typeof policy === 'object' && 'inputGradPath' in policy;
}

/** The path without a chooser's answer: the implicit product with the subgroupTile variant. */
export function defaultInputGradPath(variant: MatmulVariant | undefined): InputGradPath {
  return variant === 'subgroupTile' ? 'implicit' : 'im2col';
}

/**
 * What a plan runs where nothing was tuned (tuning off, a product too small to time, the budget
 * spent): one matmul choice for every product, one dX path for every convolution that can take it
 * (inputGradPathOf falls back to matmul + col2im where the implicit product does not fit), and
 * one forward and weight-gradient path (conv2dPlan falls back to im2col likewise).
 */
export class DefaultPolicy implements MatmulChooser, InputGradChooser, ConvPathChooser {
  readonly variant: MatmulVariant;
  constructor(
    readonly product: MatmulChoice,
    readonly inputGrad: InputGradPath = defaultInputGradPath(product.variant),
  ) {
    this.variant = product.variant;
  }
  choose(): MatmulChoice {
    return this.product;
  }
  inputGradPath(): InputGradPath {
    return this.inputGrad;
  }
  convPath(g: Conv2dGeometry): ConvPath {
    return defaultConvPath(this.variant, g);
  }
  /** "registerTile 8x8 quadK": the tuner's words for the product choice. */
  get name(): string {
    return choiceName(this.product);
  }
}

/**
 * The adapter's default policy: preferredMatmulChoice, and its dX path. On SwiftShader that is
 * the implicit product's register tile, 2-3.6x faster there than its subgroupTile kernel, whose
 * weights SwiftShader's 4-lane subgroups cannot share, and about 1.8x faster than matmul + col2im
 * for the reference CNN's conv2 (docs/measurements.md); elsewhere it goes with the variant.
 */
export function preferredPolicy(adapterKind: AdapterKind, hasSubgroups = false): DefaultPolicy {
  const product = preferredMatmulChoice(adapterKind, hasSubgroups);
  return adapterKind === 'swiftshader'
    ? new DefaultPolicy(product, 'implicitRegisterTile')
    : new DefaultPolicy(product);
}

/** Whether conv2dImplicit's product can compute this convolution's dX (stride 1, O % 4 == 0). */
export function implicitInputGradFits(g: Conv2dGeometry, O: number): boolean {
  return implicitBackwardDataProblem(g, O, true) === undefined;
}

/**
 * Whether dX takes conv2dImplicit's product rather than matmul + col2im: where it fits, as the
 * policy's chooser says, else with the subgroupTile variant. On lavapipe its subgroupTile kernel
 * takes about half the time for the reference CNN's conv2 and skips the N*R*S dCols scratch; on
 * SwiftShader that kernel is 1.4-2.3x slower than matmul + col2im for 8-16 input channels, and
 * the register tile 2-3.6x faster than it (docs/measurements.md): the autotuner finds which.
 */
export function usesImplicitBackwardData(
  g: Conv2dGeometry,
  O: number,
  policy?: MatmulPolicy,
): boolean {
  return inputGradPathOf(g, O, policy) !== 'im2col';
}

/** The path this convolution's dX takes with `policy`: its chooser's, else the default. */
export function inputGradPathOf(
  g: Conv2dGeometry,
  O: number,
  policy?: MatmulPolicy,
): InputGradPath {
  if (!implicitInputGradFits(g, O)) return 'im2col';
  const chosen = choosesInputGrad(policy) ? policy.inputGradPath(g, O) : undefined;
  return chosen ?? defaultInputGradPath(policyVariant(policy));
}

/** The scratch a conv's dX needs: dCols for matmul + col2im, or the implicit product's two. */
export type Conv2dInputGradScratch<T> = { dCols: T } | { implicit: ImplicitScratch<T> };

/**
 * Makes the scratch dX needs with `policy` (usesImplicitBackwardData decides which kind), one
 * `make(name, shape)` per tensor: the autodiff rule asks its planner, benches create buffers.
 */
export function conv2dInputGradScratch<T>(
  g: Conv2dGeometry,
  O: number,
  policy: MatmulPolicy | undefined,
  make: (name: 'dCols' | 'weightCko' | 'dOutPadded', shape: readonly number[]) => T,
): Conv2dInputGradScratch<T> {
  if (choosesInputGrad(policy)) policy.computesInputGrad?.(g, O);
  const product = implicitProductOf(inputGradPathOf(g, O, policy));
  if (!product) return { dCols: make('dCols', im2colShape(g)) };
  return {
    implicit: {
      weightCko: make('weightCko', weightCkoShape(g, O)),
      dOutPadded: make('dOutPadded', paddedGradientShape(g, O)),
      product,
    },
  };
}

/**
 * The plan's note on what a convolution's products read kept in f16 (mixed precision): its im2col
 * matrix, or on the implicit path its padded x.
 */
export function halfStorageNote(
  what: 'im2col matrix' | 'padded x',
  shape: readonly number[],
): string {
  const count = elementCount(shape);
  return `${what} [${shape.join(', ')}] stored as f16 (${mib(2 * count)} instead of ${mib(4 * count)}), products summed in f32`;
}

/** The path the scratch stands for, in words: the plan's note on each convolution's dX. */
export function inputGradPathNote<T>(
  g: Conv2dGeometry,
  scratch: Conv2dInputGradScratch<T>,
): string {
  const dCols = `[${im2colShape(g).join(', ')}]`;
  return 'implicit' in scratch
    ? `input gradient by the implicit product (${scratch.implicit.product ?? 'subgroupTile'}), straight from the output gradient (no ${dCols} dCols)`
    : `input gradient by matmul + col2im, through dCols ${dCols}`;
}

/**
 * Convolution cases: a conv layer (im2col + matmul + col2im, src/kernels/conv2d.ts) forward or
 * backward, and the unfold kernels im2col and col2im on their own, each against its twin.
 *   conv:  2·N·O·S·R flops per product (S = OH·OW, R = C·KH·KW); forward is one product,
 *          backward two (dWeight, dX), one without dX (the first layer's input needs none).
 */
import { type Activation, type Gpu } from '../../src/index';
import {
  col2im,
  col2imCpu,
  conv2dBackward,
  conv2dBackwardCpu,
  conv2dColsShape,
  conv2dForward,
  conv2dForwardCpu,
  conv2dImplicitForward,
  conv2dInputGradScratch,
  conv2dPlan,
  inputPaddedShape,
  outputRowsShape,
  weightGradPadsRows,
  weightForwardShape,
  weightGradRunsShape,
  dotAtol,
  im2col,
  im2colCpu,
  randomFloats,
  readFloat32,
  type Conv2dGeometry,
  type MatmulPolicy,
} from '../../src/kernelApi';
import { activateCpu } from '../../src/kernels/common.cpu';
import { maxWindowsPerElement } from '../../src/kernels/geometry';
import {
  makeCase,
  type CaseParts,
  type CaseTensors,
  type KernelCase,
  type TwinCheck,
} from './kernelCase';

export type Direction = 'forward' | 'backward';

/** The reference CNN's conv layers: conv 5x5 'same', 1 -> 32 on 28x28, 32 -> 64 on 14x14. */
export const REFERENCE_CONV_LAYERS = [
  { name: 'conv1', C: 1, H: 28, O: 32 },
  { name: 'conv2', C: 32, H: 14, O: 64 },
] as const;

export interface ConvCaseOptions {
  /** How the products (and dX's path) run: a variant, or a policy such as preferredPolicy's. */
  policy: MatmulPolicy;
  /** Fused into the forward's matmul epilogue (the twin applies it after the sum). */
  activation?: Activation;
  /** Backward also computes dX (default true; the first layer's input needs none). */
  inputGradient?: boolean;
  seed?: number;
}

/** A conv layer's inputs, random, and its cols scratch (im2col of x). */
function convInputs(t: CaseTensors, g: Conv2dGeometry, O: number, seed: number) {
  const R = g.C * g.KH * g.KW;
  const host = {
    x: randomFloats(g.N * g.C * g.H * g.W, seed),
    weight: randomFloats(O * R, seed + 1),
    bias: randomFloats(O, seed + 2),
    dOut: randomFloats(g.N * O * g.OH * g.OW, seed + 3),
  };
  const tensors = {
    x: t.upload(host.x, [g.N, g.C, g.H, g.W]),
    weight: t.upload(host.weight, [O, g.C, g.KH, g.KW]),
    cols: t.zeros(conv2dColsShape(g)),
  };
  const shape = `N=${g.N} C=${g.C} ${g.H}x${g.W} → O=${O} ${g.OH}x${g.OW}, kernel ${g.KH}x${g.KW}, stride ${g.strideH}, padding ${g.padTop},${g.padLeft}`;
  return { host, tensors, shape, R };
}

type ConvInputs = ReturnType<typeof convInputs>;

/** The implicit path's scratch (conv2dPlan), or undefined where the layer takes im2col + matmul. */
function implicitScratch(
  gpu: Gpu,
  t: CaseTensors,
  g: Conv2dGeometry,
  O: number,
  policy: MatmulPolicy,
) {
  const plan = conv2dPlan(g, O, {
    policy,
    maxBindingBytes: gpu.limits.maxStorageBufferBindingSize,
  });
  if (plan.path !== 'implicit') return undefined;
  return {
    xPadded: t.zeros(inputPaddedShape(g, O)),
    weightForward: t.zeros(weightForwardShape(g, O)),
  };
}

/**
 * Forward (out = act(weight · im2col(x) + bias)) or backward (dWeight, dBias and dX from dOut) of
 * one conv layer against conv2dForwardCpu / conv2dBackwardCpu, by the path the engine would take
 * (conv2dPlan: im2col + matmul, or the implicit products). Backward reads the forward's cols (or
 * padded x), so its setup makes them. Tolerances: dotAtol of the length of each output's sum.
 */
export function convCase(
  gpu: Gpu,
  g: Conv2dGeometry,
  O: number,
  direction: Direction,
  options: ConvCaseOptions,
): KernelCase {
  return makeCase(gpu, (t) => {
    const inputs = convInputs(t, g, O, options.seed ?? 21);
    return direction === 'forward'
      ? convForward(gpu, t, inputs, g, O, options)
      : convBackward(gpu, t, inputs, g, O, options);
  });
}

function convForward(
  gpu: Gpu,
  t: CaseTensors,
  { host, tensors, shape, R }: ConvInputs,
  g: Conv2dGeometry,
  O: number,
  options: ConvCaseOptions,
): CaseParts {
  const bias = t.upload(host.bias, [O]);
  const out = t.zeros([g.N, O, g.OH, g.OW]);
  const activation = options.activation ?? 'none';
  const implicit = implicitScratch(gpu, t, g, O, options.policy);
  const args = {
    ...tensors,
    bias,
    out,
    geometry: g,
    O,
    activation,
    ...(implicit ? { implicit } : {}),
  };
  const check = async (): Promise<TwinCheck[]> => {
    const want = new Float64Array(g.N * O * g.OH * g.OW);
    conv2dForwardCpu({ ...host, out: want, geometry: g, O });
    want.forEach((v, i) => (want[i] = activateCpu(v, activation)));
    const got = await readFloat32(gpu, out);
    return [{ output: 'out', got, want, atol: dotAtol(R + 1), rtol: 1e-5 }];
  };
  return { shape, setup: [], calls: conv2dForward(args, options.policy), check };
}

function convBackward(
  gpu: Gpu,
  t: CaseTensors,
  { host, tensors, shape }: ConvInputs,
  g: Conv2dGeometry,
  O: number,
  options: ConvCaseOptions,
): CaseParts {
  const withDx = options.inputGradient ?? true;
  const grads = {
    dOut: t.upload(host.dOut, [g.N, O, g.OH, g.OW]),
    dWeight: t.zeros(tensors.weight.shape),
    dBias: t.zeros([O]),
    dX: withDx ? t.zeros(tensors.x.shape) : undefined,
  };
  // The scratch the engine would plan for dX: dCols, or the implicit product's two tensors.
  const scratch = withDx ? conv2dInputGradScratch(g, O, options.policy, (_, s) => t.zeros(s)) : {};
  const check = async (): Promise<TwinCheck[]> => {
    const want = {
      dWeight: new Float64Array(host.weight.length),
      dBias: new Float64Array(O),
      dX: withDx ? new Float64Array(host.x.length) : undefined,
    };
    conv2dBackwardCpu({ ...host, ...want, geometry: g, O });
    // Terms per sum: dWeight and dBias over batch and space, dX over channels and the kernel.
    const terms = { dWeight: g.N * g.OH * g.OW, dBias: g.N * g.OH * g.OW, dX: O * g.KH * g.KW };
    const checks: TwinCheck[] = [];
    for (const name of ['dWeight', 'dBias', 'dX'] as const) {
      const [tensor, values] = [grads[name], want[name]];
      if (!tensor || !values) continue;
      const got = await readFloat32(gpu, tensor);
      checks.push({ output: name, got, want: values, atol: dotAtol(terms[name]), rtol: 1e-5 });
    }
    return checks;
  };
  // The engine's partial sums of dWeight, and on the implicit path the forward's padded x.
  const runsShape = weightGradRunsShape(g, O);
  const runs = runsShape ? { dWeightRuns: t.zeros(runsShape) } : {};
  const implicit = implicitScratch(gpu, t, g, O, options.policy);
  const args = { ...tensors, ...grads, ...scratch, ...runs, geometry: g, O };
  if (!implicit) {
    const calls = conv2dBackward(args, options.policy);
    return { shape, setup: [im2col({ ...tensors, geometry: g })], calls, check };
  }
  const { xPadded, weightForward } = implicit;
  const out = t.zeros([g.N, O, g.OH, g.OW]);
  const forward = { ...tensors, out, xPadded, weightForward, geometry: g, O };
  const rows = weightGradPadsRows(g) ? { dOutRows: t.zeros(outputRowsShape(g, O)) } : {};
  const implicitWeightGrad = { xPadded, ...rows };
  const calls = conv2dBackward({ ...args, implicitWeightGrad }, options.policy);
  return { shape, setup: conv2dImplicitForward(forward), calls, check };
}

/** Flops of one pass (see the header): forward one product, backward two, or one without dX. */
export function convFlops(
  g: Conv2dGeometry,
  O: number,
  direction: Direction,
  inputGradient = true,
): number {
  const product = 2 * g.N * O * g.OH * g.OW * g.C * g.KH * g.KW;
  return direction === 'backward' && inputGradient ? 2 * product : product;
}

/**
 * im2col (a copy with zeros over the padding: bit-exact) or col2im (a sum over the windows that
 * cover each element: within dotAtol of that count).
 */
export function unfoldCase(gpu: Gpu, g: Conv2dGeometry, entry: 'im2col' | 'col2im'): KernelCase {
  const xShape = [g.N, g.C, g.H, g.W];
  const colsShape = conv2dColsShape(g);
  const [xCount, colsCount] = [xShape, colsShape].map((s) => s.reduce((a, b) => a * b, 1));
  const shape = `N=${g.N} C=${g.C} ${g.H}x${g.W}, kernel ${g.KH}x${g.KW}, stride ${g.strideH}, padding ${g.padTop},${g.padLeft} → ${g.OH}x${g.OW}`;
  return makeCase(gpu, (t) => {
    if (entry === 'im2col') {
      const xHost = randomFloats(xCount ?? 0, 101);
      const [x, cols] = [t.upload(xHost, xShape), t.zeros(colsShape)];
      const check = async (): Promise<TwinCheck[]> => {
        const want = new Float32Array(colsCount ?? 0);
        im2colCpu({ x: xHost, cols: want, geometry: g });
        return [{ output: 'cols', got: await readFloat32(gpu, cols), want, atol: 0, rtol: 0 }];
      };
      return { shape, setup: [], calls: [im2col({ x, cols, geometry: g })], check };
    }
    const dColsHost = randomFloats(colsCount ?? 0, 102);
    const [dCols, dX] = [t.upload(dColsHost, colsShape), t.zeros(xShape)];
    const check = async (): Promise<TwinCheck[]> => {
      const want = new Float64Array(xCount ?? 0);
      col2imCpu({ dCols: dColsHost, dX: want, geometry: g });
      const atol = dotAtol(maxWindowsPerElement(g));
      return [{ output: 'dX', got: await readFloat32(gpu, dX), want, atol, rtol: 1e-5 }];
    };
    return { shape, setup: [], calls: [col2im({ dCols, dX, geometry: g })], check };
  });
}

/**
 * Convolution and pooling geometry: output sizes and padding, the one place these rules live.
 * The conv and pool wrappers, their CPU twins, the graph and the model configs' shape inference
 * all call this file. Pure: no engine, no WebGPU.
 *
 * Legend: N, C, H, W (input, NCHW), KH, KW (kernel), OH, OW (output); per axis: size, K, S.
 * Convolution, per axis:
 *   'valid'  OH = floor((H - K) / S) + 1          no padding
 *   p        OH = floor((H + 2p - K) / S) + 1     p zeros on each side (PyTorch's floor rule)
 *   'same'   OH = ceil(H / S), total padding max((OH - 1)*S + K - H, 0): floor(total / 2) on
 *            top/left, the extra one on bottom/right (TensorFlow's rule). For stride 1 and an odd
 *            kernel that is (K - 1)/2 on each side, PyTorch's padding='same' (which rejects
 *            stride > 1).
 * Pooling: no padding, floor mode like PyTorch, OH = floor((H - KH) / strideH) + 1, so trailing
 * rows/columns no window reaches are dropped.
 */

/** Padding of one axis: 'same' (TensorFlow's rule), 'valid' (none), or p zeros on each side. */
export type AxisPadding = 'same' | 'valid' | number;

/** Padding of a 2-D convolution: one rule for both axes, or [pH, pW] zeros on each side. */
export type Padding = AxisPadding | readonly [number, number];

type Pair = readonly [number, number];

function pair(v: number | Pair): Pair {
  return typeof v === 'number' ? [v, v] : v;
}

// ---- Convolution

export interface Conv2dInputShape {
  readonly N: number;
  readonly C: number;
  readonly H: number;
  readonly W: number;
}

export interface Conv2dGeometry extends Conv2dInputShape {
  readonly KH: number;
  readonly KW: number;
  readonly strideH: number;
  readonly strideW: number;
  /** Zero rows above the input; the rows below are whatever the last window needs. */
  readonly padTop: number;
  /** Zero columns left of the input. */
  readonly padLeft: number;
  readonly OH: number;
  readonly OW: number;
}

/**
 * One axis of a convolution (input `size`, kernel, stride): the output size and the zeros added
 * before and after. Checks nothing: `out` may be <= 0 when the kernel exceeds the padded input.
 */
export function convGeometry(
  size: number,
  kernel: number,
  stride: number,
  padding: AxisPadding,
): { out: number; padBefore: number; padAfter: number } {
  if (padding === 'same') {
    const out = Math.ceil(size / stride);
    const total = Math.max((out - 1) * stride + kernel - size, 0);
    return { out, padBefore: Math.floor(total / 2), padAfter: total - Math.floor(total / 2) };
  }
  const p = padding === 'valid' ? 0 : padding;
  return { out: Math.floor((size + 2 * p - kernel) / stride) + 1, padBefore: p, padAfter: p };
}

function expectSize(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`conv2dGeometry: ${name} = ${value}, expected a whole number >= ${min}`);
  }
}

/** Output size and leading padding along one axis, after checking the padding fits the kernel. */
function axis(name: string, size: number, K: number, S: number, padding: AxisPadding): Pair {
  if (padding !== 'same') {
    const pad = padding === 'valid' ? 0 : padding;
    expectSize(`padding (${name})`, pad, 0);
    if (K > size + 2 * pad) {
      throw new RangeError(
        `conv2dGeometry: kernel ${K} is larger than the padded input (${name}: ${size} + 2*${pad})`,
      );
    }
  }
  const { out, padBefore } = convGeometry(size, K, S, padding);
  return [out, padBefore];
}

/** The geometry of a 2-D convolution; throws a RangeError naming the bad size. */
export function conv2dGeometry(
  input: Conv2dInputShape,
  kernel: number | Pair,
  stride: number | Pair,
  padding: Padding,
): Conv2dGeometry {
  const [KH, KW] = pair(kernel);
  const [strideH, strideW] = pair(stride);
  const { N, C, H, W } = input;
  const sizes = { N, C, H, W, KH, KW, strideH, strideW };
  for (const [name, value] of Object.entries(sizes)) expectSize(name, value, 1);
  const [padH, padW] = typeof padding === 'string' ? [padding, padding] : pair(padding);
  const [OH, padTop] = axis('height', H, KH, strideH, padH);
  const [OW, padLeft] = axis('width', W, KW, strideW, padW);
  return { ...sizes, padTop, padLeft, OH, OW };
}

/** The im2col matrix's shape [N, C*KH*KW, OH*OW]. */
export function im2colShape(g: Conv2dGeometry): [number, number, number] {
  return [g.N, g.C * g.KH * g.KW, g.OH * g.OW];
}

// ---- Pooling

export interface PoolInput {
  readonly N: number;
  readonly C: number;
  readonly H: number;
  readonly W: number;
}

export interface PoolGeometry extends PoolInput {
  readonly KH: number;
  readonly KW: number;
  readonly strideH: number;
  readonly strideW: number;
  readonly OH: number;
  readonly OW: number;
}

/**
 * The `Params` struct of maxPool.wgsl and avgPool.wgsl (PoolParams in common.wgsl): the
 * PoolGeometry, field for field, in this order, so the wrappers pass it to defineParams and pack
 * a PoolGeometry directly. It sits next to the interface so the two cannot drift apart.
 */
export const poolParamsFields = {
  N: 'u32',
  C: 'u32',
  H: 'u32',
  W: 'u32',
  KH: 'u32',
  KW: 'u32',
  strideH: 'u32',
  strideW: 'u32',
  OH: 'u32',
  OW: 'u32',
} as const;

/** Output size of one pooled axis in floor mode (<= 0 when the kernel is larger than the input). */
export function poolOutSize(size: number, kernel: number, stride: number): number {
  return Math.floor((size - kernel) / stride) + 1;
}

/**
 * The geometry of pooling `input` with `kernel` (KH x KW, or one number for both) and `stride`
 * (default: the kernel, so windows tile without overlap). Throws an Error naming the bad value.
 */
export function poolGeometry(
  input: PoolInput,
  kernel: number | Pair,
  stride?: number | Pair,
): PoolGeometry {
  const [KH, KW] = pair(kernel);
  const [strideH, strideW] = pair(stride ?? kernel);
  const g: PoolGeometry = {
    ...input,
    KH,
    KW,
    strideH,
    strideW,
    OH: poolOutSize(input.H, KH, strideH),
    OW: poolOutSize(input.W, KW, strideW),
  };
  const problem = poolGeometryProblem(g);
  if (problem !== undefined) throw new Error(`poolGeometry: ${problem}`);
  return g;
}

/** Why `g` is not a valid pooling geometry, or undefined when it is. */
export function poolGeometryProblem(g: PoolGeometry): string | undefined {
  const whole: (keyof PoolGeometry)[] = ['N', 'C', 'H', 'W', 'KH', 'KW', 'strideH', 'strideW'];
  for (const k of whole) {
    if (!Number.isInteger(g[k]) || g[k] < 1) return `${k} = ${g[k]}, expected a whole number >= 1`;
  }
  if (g.KH > g.H || g.KW > g.W)
    return `kernel ${g.KH}x${g.KW} is larger than the ${g.H}x${g.W} input (no padding)`;
  const OH = poolOutSize(g.H, g.KH, g.strideH);
  const OW = poolOutSize(g.W, g.KW, g.strideW);
  if (g.OH !== OH || g.OW !== OW)
    return `output ${g.OH}x${g.OW} does not match floor mode's ${OH}x${OW}; build it with poolGeometry()`;
  return undefined;
}

/** The shape of the input side [N, C, H, W] or the output side [N, C, OH, OW]. */
export function poolShape(g: PoolGeometry, side: 'in' | 'out'): number[] {
  return side === 'in' ? [g.N, g.C, g.H, g.W] : [g.N, g.C, g.OH, g.OW];
}

/** Short description for kernel labels: `[N, C, H, W] k3x3 s2x2`. */
export function poolLabel(g: PoolGeometry): string {
  return `[${g.N}, ${g.C}, ${g.H}, ${g.W}] k${g.KH}x${g.KW} s${g.strideH}x${g.strideW}`;
}

/**
 * Whether the pooling kernels' *Pairs entry points apply: 2x2 windows of stride 2 over an even
 * width, so each window row is one vec2 of the input (the reference CNN's pools).
 */
export function poolTakesPairs(g: PoolGeometry): boolean {
  return g.KH === 2 && g.KW === 2 && g.strideH === 2 && g.strideW === 2 && g.W % 2 === 0;
}

/** Number of windows that can cover one input element: ceil(KH/strideH) * ceil(KW/strideW). */
export function maxWindowsPerElement(g: PoolGeometry): number {
  return Math.ceil(g.KH / g.strideH) * Math.ceil(g.KW / g.strideW);
}

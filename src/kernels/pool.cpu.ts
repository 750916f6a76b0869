/**
 * Pooling geometry shared by maxPool and avgPool (twins and wrappers): NCHW input [N, C, H, W],
 * a KH x KW window moved by strideH x strideW, no padding, floor mode like PyTorch:
 * OH = floor((H - KH) / strideH) + 1, so trailing rows/columns no window reaches are dropped.
 * Pure code: the wrappers turn the problems reported here into ShadergradErrors.
 */

export interface PoolGeometry {
  readonly N: number;
  readonly C: number;
  readonly H: number;
  readonly W: number;
  readonly KH: number;
  readonly KW: number;
  readonly strideH: number;
  readonly strideW: number;
  readonly OH: number;
  readonly OW: number;
}

export interface PoolInput {
  readonly N: number;
  readonly C: number;
  readonly H: number;
  readonly W: number;
}

/**
 * The `Params` struct of maxPool.wgsl and avgPool.wgsl: the PoolGeometry, field for field, in
 * this order (the wrappers pass it to defineParams and pack a PoolGeometry directly).
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

/** A tensor as the shape checks see it (a GpuTensor fits). */
export interface ShapedLike {
  readonly shape: readonly number[];
  readonly dtype: string;
}

/** One tensor to check: its name, the tensor, which side of the pool it is on, its dtype. */
export type PoolTensorCheck = readonly [
  name: string,
  tensor: ShapedLike,
  side: 'in' | 'out',
  dtype: string,
];

function pair(v: number | readonly [number, number]): [number, number] {
  return typeof v === 'number' ? [v, v] : [v[0], v[1]];
}

/** Output size of one axis in floor mode (may be <= 0 when the kernel is larger than the input). */
function outSize(size: number, kernel: number, stride: number): number {
  return Math.floor((size - kernel) / stride) + 1;
}

/**
 * The geometry of pooling `input` with `kernel` (KH x KW, or one number for both) and `stride`
 * (default: the kernel, so windows tile without overlap). Throws an Error naming the bad value.
 */
export function poolGeometry(
  input: PoolInput,
  kernel: number | readonly [number, number],
  stride?: number | readonly [number, number],
): PoolGeometry {
  const [KH, KW] = pair(kernel);
  const [strideH, strideW] = pair(stride ?? kernel);
  const g: PoolGeometry = {
    ...input,
    KH,
    KW,
    strideH,
    strideW,
    OH: outSize(input.H, KH, strideH),
    OW: outSize(input.W, KW, strideW),
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
  const OH = outSize(g.H, g.KH, g.strideH);
  const OW = outSize(g.W, g.KW, g.strideW);
  if (g.OH !== OH || g.OW !== OW)
    return `output ${g.OH}x${g.OW} does not match floor mode's ${OH}x${OW}; build it with poolGeometry()`;
  return undefined;
}

/** The shape of the input side [N, C, H, W] or the output side [N, C, OH, OW]. */
export function poolShape(g: PoolGeometry, side: 'in' | 'out'): number[] {
  return side === 'in' ? [g.N, g.C, g.H, g.W] : [g.N, g.C, g.OH, g.OW];
}

/** The first problem with the geometry or with a tensor's shape or dtype, or undefined. */
export function poolArgsProblem(
  g: PoolGeometry,
  tensors: readonly PoolTensorCheck[],
): string | undefined {
  const problem = poolGeometryProblem(g);
  if (problem !== undefined) return problem;
  for (const [name, t, side, dtype] of tensors) {
    const want = poolShape(g, side);
    if (t.shape.length !== 4 || t.shape.some((d, i) => d !== want[i]))
      return `${name} has shape [${t.shape.join(', ')}], expected [${want.join(', ')}]`;
    if (t.dtype !== dtype) return `${name} is ${t.dtype}, expected ${dtype}`;
  }
  return undefined;
}

/** Short description for kernel labels: `[N, C, H, W] k3x3 s2x2`. */
export function poolLabel(g: PoolGeometry): string {
  return `[${g.N}, ${g.C}, ${g.H}, ${g.W}] k${g.KH}x${g.KW} s${g.strideH}x${g.strideW}`;
}

/** Number of windows that can cover one input element: ceil(KH/strideH) * ceil(KW/strideW). */
export function maxWindowsPerElement(g: PoolGeometry): number {
  return Math.ceil(g.KH / g.strideH) * Math.ceil(g.KW / g.strideW);
}

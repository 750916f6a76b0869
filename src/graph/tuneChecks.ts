/**
 * The autotuner's checks (./tuner.ts): a candidate kernel must agree with the CPU twin on a small
 * case and with the default's output on the product's own shape before its time counts. Also the
 * fresh random tensors a product is tuned on.
 */
import { compareClose, describeCloseness, dotAtol } from '../base/compare';
import { randomFloats } from '../base/random';
import { createTensor, readFloat32, writeTensor } from '../gpu/buffers';
import type { Gpu } from '../gpu/device';
import { runCalls, type KernelCall } from '../gpu/dispatch';
import { bytesPerElement, type DType, type GpuTensor } from '../gpu/tensor';
import { roundToF16, toF16 } from '../base/f16';
import {
  matmul,
  matmulCpu,
  matmulStrides,
  type MatmulArgs,
  type MatmulChoice,
} from '../kernels/index';

/** What is checked: a choice and the call it makes for the product. */
export interface CheckedCandidate {
  choice: MatmulChoice;
  call: KernelCall;
}

/** Entry point, constants and the tensors' types (f16 operands): the compiled kernel, whatever the grid. */
export function kernelOnly(call: KernelCall): string {
  const types = call.tensors.map((t) => t.dtype).join(',');
  return `${call.shader.name}.${call.entryPoint} ${types} ${JSON.stringify(call.constants ?? {})}`;
}

/**
 * `values` as the data of a tensor of `dtype`: f16 bit patterns for f16 (half-precision
 * operands), else the floats themselves.
 */
export function hostData(values: Float32Array, dtype: DType): Float32Array | Uint16Array {
  return dtype === 'f16' ? toF16(values) : values;
}

/** Values of a product's inputs: uniform in [-1, 1], so dotAtol bounds float32 rounding. */
const DATA_SEED = 20261204;

/**
 * Fresh buffers for a product's tensors, each as long as the traced view's end, filled with
 * random values; `views` are the traced views moved onto them (offsets kept, so vec4 alignment
 * and the dispatched kernel are the plan's).
 */
export function freshTensors(gpu: Gpu, args: MatmulArgs<GpuTensor>) {
  const made: GpuTensor[] = [];
  const move = (t: GpuTensor, seed: number): GpuTensor => {
    const words = (t.byteOffset + t.byteLength) / 4;
    const fresh = createTensor(gpu, [words], { label: 'tuner' });
    const values = randomFloats((words * 4) / bytesPerElement[t.dtype], seed);
    writeTensor(gpu, fresh, hostData(values, t.dtype));
    made.push(fresh);
    return { ...t, buffer: fresh.buffer };
  };
  const views = {
    a: move(args.a, DATA_SEED),
    b: move(args.b, DATA_SEED + 1),
    out: move(args.out, DATA_SEED + 2),
    ...(args.bias ? { bias: move(args.bias, DATA_SEED + 3) } : {}),
  };
  return { views, destroy: () => made.forEach((t) => t.buffer.destroy()) };
}

/**
 * Why `got` is not within `atol` of `want` ("differs from <against>: <first mismatch>"), or
 * undefined when it is: the one rule every tuner check ends with.
 */
export function closenessProblem(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  atol: number,
  against: string,
): string | undefined {
  const tol = { atol, rtol: 0 };
  const problem = describeCloseness(compareClose(got, want, tol), tol);
  return problem && `differs from ${against}: ${problem.split('\n')[0] ?? ''}`;
}

/** Terms per output: K, times the products per sum when batches are summed. */
function termsPerOutput(args: Parameters<typeof matmulStrides>[0]): number {
  return args.K * matmulStrides(args).productsPerSum;
}

/**
 * The output a candidate's screen run left on the product's own shape, against the default's.
 * Each is within dotAtol of the exact sums (inputs in [-1, 1]), so they differ by at most twice
 * that; a wrong index or a lost tile is off by the size of an output (about √terms).
 */
export async function differsFromDefault(
  gpu: Gpu,
  args: MatmulArgs<GpuTensor>,
  reference: Float32Array,
): Promise<string | undefined> {
  const got = await readFloat32(gpu, args.out);
  return closenessProblem(got, reference, 2 * dotAtol(termsPerOutput(args)), 'the default');
}

/** Sizes of the small case: each at most SMALL + 3, with its remainder mod 4 kept. */
const SMALL = 68;

function smallSize(x: number): number {
  return x <= SMALL + 3 ? x : SMALL + (x % 4);
}

const twinChecks = new WeakMap<Gpu, Map<string, Promise<string | undefined>>>();

/**
 * The candidate's kernel against the CPU twin (float64 sums) on a small case with the product's
 * flags, remainders mod 4 and broadcasts, which must reach the same entry point and constants;
 * undefined when it agrees. Remembered per device and kernel.
 */
export async function agreesWithTwin(
  gpu: Gpu,
  args: MatmulArgs<GpuTensor>,
  candidate: CheckedCandidate,
): Promise<string | undefined> {
  const id = kernelOnly(candidate.call);
  const memo = twinChecks.get(gpu) ?? new Map<string, Promise<string | undefined>>();
  twinChecks.set(gpu, memo);
  let check = memo.get(id);
  if (!check) {
    check = smallTwinCheck(gpu, args, candidate);
    memo.set(id, check);
  }
  return check;
}

async function smallTwinCheck(
  gpu: Gpu,
  args: MatmulArgs<GpuTensor>,
  candidate: CheckedCandidate,
): Promise<string | undefined> {
  const s = matmulStrides(args);
  const [M, N, K] = [smallSize(args.M), smallSize(args.N), smallSize(args.K)];
  const batch = Math.min(s.batch, 3);
  // Sums in runs keep two runs here, the second shorter: 2 + 1 products.
  const runs = s.outputs > 1 && args.sumBatches ? { productsPerSum: Math.min(batch - 1, 2) } : {};
  const host = {
    M,
    N,
    K,
    batch,
    aBatchStride: s.aBatchStride === 0 ? 0 : M * K,
    bBatchStride: s.bBatchStride === 0 ? 0 : K * N,
    ...flagsOf(args),
    ...runs,
  };
  const count = (stride: number, size: number): number => (batch - 1) * stride + size;
  // f16 operands: the twin multiplies the values the GPU reads, rounded to f16 on the host
  const operand = (n: number, seed: number, dtype: DType): Float32Array =>
    dtype === 'f16' ? roundToF16(randomFloats(n, seed)) : randomFloats(n, seed);
  const a = operand(count(host.aBatchStride, M * K), DATA_SEED + 4, args.a.dtype);
  const b = operand(count(host.bBatchStride, K * N), DATA_SEED + 5, args.b.dtype);
  const bias = args.bias ? randomFloats(args.biasMode === 'row' ? M : N, DATA_SEED + 6) : undefined;
  const outCount = matmulStrides(host).outputs * M * N;
  const upload = (data: Float32Array, dtype: DType = 'f32'): GpuTensor => {
    const t = createTensor(gpu, [data.length], { label: 'tuner check', dtype });
    writeTensor(gpu, t, hostData(data, dtype));
    return t;
  };
  const tensors = {
    a: upload(a, args.a.dtype),
    b: upload(b, args.b.dtype),
    out: upload(new Float32Array(outCount).fill(NaN)),
    ...(bias ? { bias: upload(bias) } : {}),
  };
  try {
    const call = matmul({ ...host, ...tensors }, candidate.choice);
    if (kernelOnly(call) !== kernelOnly(candidate.call))
      return `no small case reaches ${kernelOnly(candidate.call)}`;
    await runCalls(gpu, [call]);
    const want = new Float32Array(outCount);
    matmulCpu({ ...host, a, b, out: want, ...(bias ? { bias } : {}) });
    const got = await readFloat32(gpu, tensors.out);
    return closenessProblem(got, want, dotAtol(termsPerOutput(host)), 'the CPU twin');
  } catch (e) {
    return `does not run: ${(e as Error).message}`;
  } finally {
    for (const t of Object.values(tensors)) t.buffer.destroy();
  }
}

function flagsOf(args: MatmulArgs<GpuTensor>) {
  return {
    ...(args.transA ? { transA: true } : {}),
    ...(args.transB ? { transB: true } : {}),
    ...(args.sumBatches ? { sumBatches: true } : {}),
    ...(args.biasMode ? { biasMode: args.biasMode } : {}),
    activation: args.activation ?? 'none',
  };
}

/**
 * Optimizer kernels (shaders/optimizer.wgsl): Adam, SGD, SGD with momentum and RMSprop with
 * torch.optim's formulas, each updating one parameter tensor and its state in place, one
 * invocation per element. The step count t lives in a one-word u32 GPU buffer that
 * `optimizerStepBegin` increments once per training step, so a step is a fixed list of dispatches
 * recorded once: [optimizerStepBegin, optimizerUpdate(p1), optimizerUpdate(p2), ...].
 * Hyper-parameters are a uniform written when the call is prepared (a learning-rate change is a
 * rare uniform write); the learning-rate schedule is computed from t in the shader, so it costs no
 * write per step either. `clipGradNorm` gives the calls that clip all gradients by their global
 * norm (torch.nn.utils.clip_grad_norm_) into a small buffer of partial sums, record them between
 * the backward pass and the updates.
 */
import { dispatchFor, type KernelCall } from '../gpu/dispatch';
import { ShadergradError, type AdapterKind } from '../base/errors';
import { defineParams } from '../gpu/uniforms';
import { elementCount, type DType, type GpuTensor } from '../gpu/tensor';
import { sameCount } from './checks';
import type { KernelFamily } from './family';
import {
  optimizerConfigProblems,
  optimizerStateSlots,
  resolveOptimizerConfig,
  type ClipGradNormArgs,
  type LrScheduleKind,
  type OptimizerKind,
  type OptimizerStepBeginArgs,
  type OptimizerUpdateArgs,
  type ResolvedOptimizerConfig,
} from './optimizer.cpu';
import { familyShader } from './shader';
import source from '../../shaders/optimizer.wgsl?raw';

export const optimizerShader = familyShader('optimizer', source);
export const optimizerParams = defineParams('Params', {
  count: 'u32',
  lr: 'f32',
  beta1: 'f32',
  beta2: 'f32',
  eps: 'f32',
  weightDecay: 'f32',
  momentum: 'f32',
  alpha: 'f32',
  nesterov: 'u32',
  oneMinusBeta1: 'f32',
  oneMinusBeta2: 'f32',
  logBeta1: 'f32',
  logBeta2: 'f32',
  decoupledDecay: 'u32',
  schedule: 'u32',
  warmupSteps: 'u32',
  stepSize: 'u32',
  logGamma: 'f32',
  cosineSteps: 'u32',
  minLr: 'f32',
});
/** The clipping entry points' uniform. */
export const clipParams = defineParams('ClipParams', { count: 'u32', slot: 'u32', maxNorm: 'f32' });
/** optimizerStepBegin binds no uniform: its layout has no fields. */
export const optimizerStepBeginParams = defineParams('Params', {});

const WORKGROUP_SIZE = 256;
/**
 * Elements (vec4s on the vec4 path) per Adam invocation, grid-strided, where nothing else is said.
 * The timing is not monotonic in it (the stride between an invocation's elements interacts with
 * the caches; measured on lavapipe in docs/measurements.md); 2 ties the fastest and keeps the grid
 * large for small tensors too.
 */
const ADAM_PER_INVOCATION = 2;
/**
 * SwiftShader's: there an invocation's fixed cost (its set-up, and Adam's bias corrections, which
 * every invocation computes from t) outweighs its elements' work. fc1.weight of the reference CNN
 * (3.2M elements, vec4 path), ms per update in Node, median of 7 in turns: 106 at 1, 67 at 2, 27
 * at 64, 24 at 128; on lavapipe 64 took 11.6 against 7.7 at 2 (docs/measurements.md). Sharing the
 * corrections across the workgroup instead (one invocation computes them, a barrier) took 2.7x as
 * long on SwiftShader.
 */
const SWIFTSHADER_ADAM_PER_INVOCATION = 64;

/** Elements per Adam invocation on this kind of adapter (optimizerUpdate's perInvocation). */
export function adamPerInvocation(kind: AdapterKind): number {
  return kind === 'swiftshader' ? SWIFTSHADER_ADAM_PER_INVOCATION : ADAM_PER_INVOCATION;
}

const updateEntryPoints: Record<OptimizerKind, string> = {
  adam: 'adamUpdate',
  adamw: 'adamUpdate', // Adam's rule with decoupledDecay set
  sgd: 'sgdUpdate',
  momentum: 'momentumUpdate',
  rmsprop: 'rmspropUpdate',
};

/** The shader's codes for Params.schedule. */
const scheduleCodes: Record<LrScheduleKind, number> = { constant: 0, step: 1, cosine: 2 };

/** Adds 1 to the step counter; record it once per training step, before the updates. */
export function optimizerStepBegin(args: OptimizerStepBeginArgs<GpuTensor>): KernelCall {
  checkStepCounter('optimizer.optimizerStepBegin', args.step);
  return {
    label: 'optimizer.optimizerStepBegin',
    shader: optimizerShader,
    entryPoint: 'optimizerStepBegin',
    tensors: [args.step],
    workgroups: [1, 1, 1],
  };
}

/**
 * One update of `param` and its `state` (optimizerStateSlots(kind) tensors, zero-initialized);
 * Adam's invocations take `perInvocation` elements each (adamPerInvocation of the adapter).
 */
export function optimizerUpdate(
  args: OptimizerUpdateArgs<GpuTensor>,
  perInvocation = ADAM_PER_INVOCATION,
): KernelCall {
  const config = resolveOptimizerConfig(args.config);
  const entryPoint = updateEntryPoints[config.kind];
  const label = `optimizer.${entryPoint}`;
  checkConfig(label, config);
  if (!Number.isInteger(perInvocation) || perInvocation < 1)
    throw new ShadergradError(`${label}: elements per invocation must be a whole number >= 1`);
  const slots = optimizerStateSlots(config.kind);
  if (args.state.length !== slots) {
    throw new ShadergradError(
      `${label}: ${config.kind} keeps ${slots} state tensors per parameter, got ${args.state.length}`,
    );
  }
  const count = sameCount(label, args.param, args.grad, ...args.state);
  for (const t of [args.param, args.grad, ...args.state]) expectDtype(label, t, 'f32');
  checkStepCounter(label, args.step);
  // Every rule reads t: for lr_t, and Adam's bias corrections and momentum's first step.
  const inputs = [args.grad, args.step];
  // Adam amortizes its bias corrections over several elements per invocation (see the shader),
  // 4 at a time (vec4) when every tensor allows it.
  const adam = entryPoint === 'adamUpdate';
  const elementsPerInvocation = adam ? perInvocation : 1;
  const vec4 =
    adam &&
    count % 4 === 0 &&
    [args.param, args.grad, ...args.state].every((t) => t.byteOffset % 16 === 0);
  const elements = vec4 ? count / 4 : count;
  return {
    label: `${label}(${count}${vec4 ? ', vec4' : ''})`,
    shader: optimizerShader,
    entryPoint: vec4 ? 'adamUpdateVec4' : entryPoint,
    constants: {
      workgroupSize: WORKGROUP_SIZE,
      ...(adam ? { adamPerInvocation: elementsPerInvocation } : {}),
    },
    tensors: [...inputs, args.param, ...args.state],
    params: packOptimizerParams(config, elements),
    workgroups: dispatchFor(elements, WORKGROUP_SIZE * elementsPerInvocation),
  };
}

/** The uniform of an update entry point over `count` elements (floats, or vec4s). */
export function packOptimizerParams(config: ResolvedOptimizerConfig, count: number): ArrayBuffer {
  return optimizerParams.pack({
    ...config,
    count,
    nesterov: config.nesterov ? 1 : 0,
    // In float64 here: f32 1 - beta and 1 - beta^t cancel (see the shader's header).
    oneMinusBeta1: 1 - config.beta1,
    oneMinusBeta2: 1 - config.beta2,
    logBeta1: logBeta(config.beta1),
    logBeta2: logBeta(config.beta2),
    decoupledDecay: config.kind === 'adamw' ? 1 : 0,
    schedule: scheduleCodes[config.schedule.kind],
    warmupSteps: config.warmupSteps,
    stepSize: config.schedule.stepSize,
    logGamma: logBeta(config.schedule.gamma),
    // T; read only by the cosine schedule (whose totalSteps > warmupSteps is checked)
    cosineSteps: Math.max(config.schedule.totalSteps - config.warmupSteps, 0),
    minLr: config.schedule.minLr,
  });
}

/**
 * ln beta, finite for the uniform: beta = 0 gives -100, and 1 - e^(-100 t) is 1 in f32 as 1 - 0^t
 * (for the step schedule's gamma likewise: e^(-100 k) is 0 for k >= 1 and 1 for k = 0, as 0^k).
 */
function logBeta(beta: number): number {
  return Math.max(Math.log(beta), -100);
}

/** torch.optim's argument checks, so a bad value fails here rather than as NaN weights. */
function checkConfig(label: string, c: ResolvedOptimizerConfig): void {
  const [problem] = optimizerConfigProblems(c);
  if (problem !== undefined) throw new ShadergradError(`${label}: ${problem}`);
}

const CLIP_WORKGROUP_SIZE = 256; // a power of two <= the shader's maxWorkgroupSize (its tree)

/**
 * The calls that clip `grads` by their global L2 norm (clipGradNormCpu is the spec): a partial sum
 * per tensor into clip[k], one invocation that adds them in order and writes clip[n] = norm and
 * clip[n + 1] = coef, then grads *= coef. `clip` is f32 with at least grads.length + 2 elements.
 */
export function clipGradNorm(args: ClipGradNormArgs<GpuTensor>): KernelCall[] {
  const label = 'optimizer.clipGradNorm';
  const n = args.grads.length;
  if (!(args.maxNorm > 0 && Number.isFinite(args.maxNorm)))
    throw new ShadergradError(`${label}: invalid maxNorm = ${args.maxNorm} (needs a number > 0)`);
  for (const t of [...args.grads, args.clip]) expectDtype(label, t, 'f32');
  if (elementCount(args.clip.shape) < n + 2)
    throw new ShadergradError(`${label}: the clip buffer needs ${n + 2} floats for ${n} gradients`);
  const constants = { workgroupSize: CLIP_WORKGROUP_SIZE };
  const partials = args.grads.map((grad, slot): KernelCall => {
    const count = elementCount(grad.shape);
    return {
      label: `optimizer.clipGradNormPartial(${count})`,
      shader: optimizerShader,
      entryPoint: 'clipGradNormPartial',
      constants,
      tensors: [grad, args.clip],
      params: clipParams.pack({ count, slot, maxNorm: 0 }),
      workgroups: [1, 1, 1],
    };
  });
  const finish: KernelCall = {
    label: `optimizer.clipGradNormFinish(${n})`,
    shader: optimizerShader,
    entryPoint: 'clipGradNormFinish',
    tensors: [args.clip],
    params: clipParams.pack({ count: n, slot: 0, maxNorm: args.maxNorm }),
    workgroups: [1, 1, 1],
  };
  const scales = args.grads.map((grad): KernelCall => {
    const count = elementCount(grad.shape);
    return {
      label: `optimizer.clipGradScale(${count})`,
      shader: optimizerShader,
      entryPoint: 'clipGradScale',
      constants,
      tensors: [args.clip, grad],
      params: clipParams.pack({ count, slot: n + 1, maxNorm: 0 }),
      workgroups: dispatchFor(count, CLIP_WORKGROUP_SIZE),
    };
  });
  return [...partials, finish, ...scales];
}

function checkStepCounter(label: string, step: GpuTensor): void {
  expectDtype(label, step, 'u32');
  if (elementCount(step.shape) < 1)
    throw new ShadergradError(`${label}: the step counter needs 1 u32 element`);
}

function expectDtype(label: string, t: GpuTensor, dtype: DType): void {
  if (t.dtype !== dtype)
    throw new ShadergradError(
      `${label}: a ${t.dtype} tensor [${t.shape.join(', ')}] where ${dtype} is expected`,
    );
}

export const optimizerFamily: KernelFamily = {
  name: 'optimizer',
  shader: optimizerShader,
  entryPoints: {
    optimizerStepBegin: optimizerStepBeginParams,
    adamUpdate: optimizerParams,
    adamUpdateVec4: optimizerParams,
    sgdUpdate: optimizerParams,
    momentumUpdate: optimizerParams,
    rmspropUpdate: optimizerParams,
    clipGradNormPartial: clipParams,
    clipGradNormFinish: clipParams,
    clipGradScale: clipParams,
  },
  workgroupMemory: ['clipGradNormPartial'],
};

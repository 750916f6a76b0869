/**
 * Optimizer kernels (shaders/optimizer.wgsl): Adam, SGD, SGD with momentum and RMSprop with
 * torch.optim's formulas, each updating one parameter tensor and its state in place, one
 * invocation per element. The step count t lives in a one-word u32 GPU buffer that
 * `optimizerStepBegin` increments once per training step, so a step is a fixed list of dispatches
 * recorded once: [optimizerStepBegin, optimizerUpdate(p1), optimizerUpdate(p2), ...].
 * Hyper-parameters are a uniform written when the call is prepared (a learning-rate change is a
 * rare uniform write).
 */
import { dispatchFor, type KernelCall } from '../gpu/dispatch';
import { ShadergradError } from '../base/errors';
import { defineParams } from '../gpu/uniforms';
import { elementCount, type DType, type GpuTensor } from '../gpu/tensor';
import { sameCount } from './checks';
import type { KernelFamily } from './family';
import {
  optimizerStateSlots,
  resolveOptimizerConfig,
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
});
/** optimizerStepBegin binds no uniform: its layout has no fields. */
export const optimizerStepBeginParams = defineParams('Params', {});

const WORKGROUP_SIZE = 256;
/**
 * Elements (vec4s on the vec4 path) per Adam invocation, grid-strided. The timing is not monotonic
 * in it (the stride between an invocation's elements interacts with the caches; measured on
 * lavapipe in docs/measurements.md); 2 ties the fastest and keeps the grid large for small
 * tensors too.
 */
const ADAM_PER_INVOCATION = 2;

const updateEntryPoints: Record<OptimizerKind, string> = {
  adam: 'adamUpdate',
  sgd: 'sgdUpdate',
  momentum: 'momentumUpdate',
  rmsprop: 'rmspropUpdate',
};

/** Kinds whose rule depends on t (Adam's bias corrections, momentum's first step). */
const readsStep: Record<OptimizerKind, boolean> = {
  adam: true,
  sgd: false,
  momentum: true,
  rmsprop: false,
};

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

/** One update of `param` and its `state` (optimizerStateSlots(kind) tensors, zero-initialized). */
export function optimizerUpdate(args: OptimizerUpdateArgs<GpuTensor>): KernelCall {
  const config = resolveOptimizerConfig(args.config);
  const entryPoint = updateEntryPoints[config.kind];
  const label = `optimizer.${entryPoint}`;
  checkConfig(label, config);
  const slots = optimizerStateSlots(config.kind);
  if (args.state.length !== slots) {
    throw new ShadergradError(
      `${label}: ${config.kind} keeps ${slots} state tensors per parameter, got ${args.state.length}`,
    );
  }
  const count = sameCount(label, args.param, args.grad, ...args.state);
  for (const t of [args.param, args.grad, ...args.state]) expectDtype(label, t, 'f32');
  checkStepCounter(label, args.step);
  const inputs = readsStep[config.kind] ? [args.grad, args.step] : [args.grad];
  // Adam amortizes its bias corrections over several elements per invocation (see the shader),
  // 4 at a time (vec4) when every tensor allows it.
  const perInvocation = config.kind === 'adam' ? ADAM_PER_INVOCATION : 1;
  const vec4 =
    config.kind === 'adam' &&
    count % 4 === 0 &&
    [args.param, args.grad, ...args.state].every((t) => t.byteOffset % 16 === 0);
  const elements = vec4 ? count / 4 : count;
  return {
    label: `${label}(${count}${vec4 ? ', vec4' : ''})`,
    shader: optimizerShader,
    entryPoint: vec4 ? 'adamUpdateVec4' : entryPoint,
    constants: {
      workgroupSize: WORKGROUP_SIZE,
      ...(config.kind === 'adam' ? { adamPerInvocation: perInvocation } : {}),
    },
    tensors: [...inputs, args.param, ...args.state],
    params: packOptimizerParams(config, elements),
    workgroups: dispatchFor(elements, WORKGROUP_SIZE * perInvocation),
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
  });
}

/** ln beta, finite for the uniform: beta = 0 gives -100, and 1 - e^(-100 t) is 1 in f32 as 1 - 0^t. */
function logBeta(beta: number): number {
  return Math.max(Math.log(beta), -100);
}

/** torch.optim's argument checks, so a bad value fails here rather than as NaN weights. */
function checkConfig(label: string, c: ResolvedOptimizerConfig): void {
  const checks: [string, number, boolean][] = [
    ['lr', c.lr, c.lr >= 0],
    ['eps', c.eps, c.eps >= 0],
    ['weightDecay', c.weightDecay, c.weightDecay >= 0],
    ['beta1', c.beta1, c.beta1 >= 0 && c.beta1 < 1],
    ['beta2', c.beta2, c.beta2 >= 0 && c.beta2 < 1],
    ['momentum', c.momentum, c.momentum >= 0],
    ['alpha', c.alpha, c.alpha >= 0 && c.alpha <= 1],
  ];
  for (const [name, value, ok] of checks) {
    if (!ok || !Number.isFinite(value))
      throw new ShadergradError(`${label}: invalid ${name} = ${value}`);
  }
  if (c.nesterov && (c.kind !== 'momentum' || c.momentum <= 0)) {
    throw new ShadergradError(`${label}: nesterov needs kind 'momentum' with momentum > 0`);
  }
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
  },
};

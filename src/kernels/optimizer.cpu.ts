/** CPU twin of shaders/optimizer.wgsl: torch.optim's update rules, the spec the GPU is tested against. */
import type { FloatArray } from './common.cpu';

/** The optimizers, in the order the CLI and config files list them. */
export const OPTIMIZER_KINDS = ['adam', 'sgd', 'momentum', 'rmsprop'] as const;
export type OptimizerKind = (typeof OPTIMIZER_KINDS)[number];

/**
 * The one optimizer config of shadergrad (kernels, graph, trainer, models, CLI, config files):
 * torch.optim's hyper-parameters; each kind reads the fields it uses, and anything left out
 * takes torch.optim's default (resolveOptimizerConfig).
 */
export interface OptimizerConfig {
  kind: OptimizerKind;
  lr: number;
  /** Adam: first-moment decay (torch 0.9). */
  beta1?: number;
  /** Adam: second-moment decay (torch 0.999). */
  beta2?: number;
  /** Adam, RMSprop: denominator epsilon (torch 1e-8). */
  eps?: number;
  /** Momentum SGD: mu (torch has no default for a momentum optimizer; 0.9 here). */
  momentum?: number;
  /** RMSprop: squared-gradient decay (torch 0.99). */
  alpha?: number;
  /** L2 penalty added to the gradient, g += weightDecay * p (torch 0). */
  weightDecay?: number;
  /** Momentum SGD: Nesterov momentum (torch false). */
  nesterov?: boolean;
}

/** An OptimizerConfig with every field present. */
export type ResolvedOptimizerConfig = Required<OptimizerConfig>;

/** Fills in torch.optim's defaults (the only place they are written) for the fields left out. */
export function resolveOptimizerConfig(c: OptimizerConfig): ResolvedOptimizerConfig {
  return {
    kind: c.kind,
    lr: c.lr,
    beta1: c.beta1 ?? 0.9,
    beta2: c.beta2 ?? 0.999,
    eps: c.eps ?? 1e-8,
    momentum: c.momentum ?? 0.9,
    alpha: c.alpha ?? 0.99,
    weightDecay: c.weightDecay ?? 0,
    nesterov: c.nesterov ?? false,
  };
}

/**
 * torch.optim's names of the per-parameter state tensors, in slot order: what `state` holds
 * here and what optimizer checkpoints are keyed by (`<param>.exp_avg`, ...).
 */
const STATE_NAMES: Record<OptimizerKind, readonly string[]> = {
  adam: ['exp_avg', 'exp_avg_sq'], // m, v
  sgd: [],
  momentum: ['momentum_buffer'], // buf
  rmsprop: ['square_avg'], // v
};

/** torch.optim's names of an optimizer's per-parameter state tensors, in the engine's order. */
export function optimizerStateNames(kind: OptimizerKind): readonly string[] {
  return STATE_NAMES[kind];
}

/** State tensors per parameter: Adam [m, v], momentum [buf], RMSprop [v], SGD none. */
export function optimizerStateSlots(kind: OptimizerKind): number {
  return optimizerStateNames(kind).length;
}

/** The step counter: element 0 holds t (0 before the first step). */
export type StepCounter = Uint32Array | number[];

export interface OptimizerStepBeginArgs<S> {
  step: S;
}

export interface OptimizerUpdateArgs<T, S = T> {
  /** dL/dp, same size as param. */
  grad: T;
  /** Step counter [t]; optimizerStepBegin has already counted this step (t >= 1). */
  step: S;
  /** The parameter, updated in place. */
  param: T;
  /** optimizerStateSlots(kind) tensors the size of param, zero before the first step. */
  state: T[];
  config: OptimizerConfig;
}

export function optimizerStepBeginCpu({ step }: OptimizerStepBeginArgs<StepCounter>): void {
  step[0] = (step[0] ?? 0) + 1;
}

export function optimizerUpdateCpu(args: OptimizerUpdateArgs<FloatArray, StepCounter>): void {
  const { grad, param, state } = args;
  const c = resolveOptimizerConfig(args.config);
  const slots = optimizerStateSlots(c.kind);
  if (state.length !== slots)
    throw new Error(`${c.kind} needs ${slots} state arrays, got ${state.length}`);
  const t = args.step[0] ?? 0;
  for (let i = 0; i < param.length; i++) {
    const p = param[i] ?? 0;
    const g = (grad[i] ?? 0) + c.weightDecay * p; // L2 weight decay, as torch.optim
    param[i] = p - c.lr * updateDirection(c, t, g, i, state);
  }
}

/** Updates element i of the state and returns d, where p -= lr * d. State is read back after
 * each store, so a Float32Array twin rounds exactly where the GPU does. */
function updateDirection(
  c: ResolvedOptimizerConfig,
  t: number,
  g: number,
  i: number,
  state: FloatArray[],
): number {
  const [s0 = new Float64Array(0), s1 = new Float64Array(0)] = state;
  switch (c.kind) {
    case 'adam': {
      s0[i] = c.beta1 * (s0[i] ?? 0) + (1 - c.beta1) * g; // m
      s1[i] = c.beta2 * (s1[i] ?? 0) + (1 - c.beta2) * g * g; // v
      const denom = Math.sqrt(s1[i] ?? 0) / Math.sqrt(1 - c.beta2 ** t) + c.eps;
      return (s0[i] ?? 0) / (1 - c.beta1 ** t) / denom;
    }
    case 'momentum': {
      s0[i] = t <= 1 ? g : c.momentum * (s0[i] ?? 0) + g; // buf starts at the first gradient
      return c.nesterov ? g + c.momentum * (s0[i] ?? 0) : (s0[i] ?? 0);
    }
    case 'rmsprop':
      s0[i] = c.alpha * (s0[i] ?? 0) + (1 - c.alpha) * g * g; // v
      return g / (Math.sqrt(s0[i] ?? 0) + c.eps);
    case 'sgd':
      return g;
    default:
      return c.kind satisfies never;
  }
}

/** CPU twin of shaders/optimizer.wgsl: torch.optim's update rules, the spec the GPU is tested against. */
import type { FloatArray } from './common.cpu';

/** The optimizers, in the order the CLI and config files list them. */
export const OPTIMIZER_KINDS = ['adam', 'adamw', 'sgd', 'momentum', 'rmsprop'] as const;
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
  /**
   * Weight decay: an L2 penalty added to the gradient, g += weightDecay * p (torch 0), except
   * AdamW's decoupled decay p *= 1 - lr_t * weightDecay before its update (torch 0.01).
   */
  weightDecay?: number;
  /** Momentum SGD: Nesterov momentum (torch false). */
  nesterov?: boolean;
  /** Learning-rate schedule over the step counter (learningRateAt); constant by default. */
  schedule?: LrSchedule;
  /** Steps of linear warm-up before the schedule starts (learningRateAt); 0 by default. */
  warmupSteps?: number;
  /**
   * torch.nn.utils.clip_grad_norm_: before the updates every trainable gradient is scaled by
   * min(1, clipGradNorm / (norm + 1e-6)), norm the L2 norm of all of them; off when absent.
   */
  clipGradNorm?: number;
  /** False: rank-1 parameters (biases, batch norm weight and bias) get no weight decay. */
  decayBiasAndNorm?: boolean;
}

/** The learning-rate schedules after warm-up (learningRateAt); torch's StepLR, a cosine ramp. */
export type LrSchedule =
  | { kind: 'constant' }
  | { kind: 'step'; stepSize: number; gamma?: number }
  | { kind: 'cosine'; totalSteps: number; minLr?: number };
export const LR_SCHEDULE_KINDS = ['constant', 'step', 'cosine'] as const;
export type LrScheduleKind = (typeof LR_SCHEDULE_KINDS)[number];

/** A schedule with every field present (the ones its kind does not read are 0). */
export interface ResolvedLrSchedule {
  kind: LrScheduleKind;
  stepSize: number;
  gamma: number;
  totalSteps: number;
  minLr: number;
}

/** An OptimizerConfig with every field present; clipGradNorm stays undefined when off. */
export type ResolvedOptimizerConfig = Required<
  Omit<OptimizerConfig, 'schedule' | 'clipGradNorm'>
> & { schedule: ResolvedLrSchedule; clipGradNorm: number | undefined };

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
    weightDecay: c.weightDecay ?? (c.kind === 'adamw' ? 0.01 : 0),
    nesterov: c.nesterov ?? false,
    schedule: resolveSchedule(c.schedule ?? { kind: 'constant' }),
    warmupSteps: c.warmupSteps ?? 0,
    clipGradNorm: c.clipGradNorm,
    decayBiasAndNorm: c.decayBiasAndNorm ?? true,
  };
}

function resolveSchedule(s: LrSchedule): ResolvedLrSchedule {
  const none = { stepSize: 0, gamma: 0, totalSteps: 0, minLr: 0 };
  switch (s.kind) {
    case 'constant':
      return { ...none, kind: s.kind };
    case 'step':
      return { ...none, kind: s.kind, stepSize: s.stepSize, gamma: s.gamma ?? 0.1 };
    case 'cosine':
      return { ...none, kind: s.kind, totalSteps: s.totalSteps, minLr: s.minLr ?? 0 };
    default:
      return s satisfies never;
  }
}

/**
 * The learning rate of the update with step counter t >= 1 (the shader's learningRate). With
 * i = t - 1 (updates before this one): warm-up, if i < warmupSteps, lr_t = lr (i + 1) / warmupSteps;
 * after it, with j = i - warmupSteps,
 *   constant: lr_t = lr
 *   step:     lr_t = lr gamma^floor(j / stepSize)                (torch StepLR; gamma 0.1)
 *   cosine:   lr_t = minLr + (lr - minLr) (1 + cos(pi min(j, T) / T)) / 2,  T = totalSteps - warmupSteps
 * so the cosine reaches minLr at t = totalSteps and stays there. torch's LambdaLR with
 * lr_lambda(i) = lr_t / lr gives the same rates (its last_epoch is i at update t).
 */
export function learningRateAt(c: ResolvedOptimizerConfig, t: number): number {
  const i = Math.max(t, 1) - 1;
  if (i < c.warmupSteps) return (c.lr * (i + 1)) / c.warmupSteps;
  const j = i - c.warmupSteps;
  const s = c.schedule;
  switch (s.kind) {
    case 'constant':
      return c.lr;
    case 'step':
      return c.lr * s.gamma ** Math.floor(j / s.stepSize);
    case 'cosine': {
      const T = s.totalSteps - c.warmupSteps;
      return s.minLr + ((c.lr - s.minLr) * (1 + Math.cos((Math.PI * Math.min(j, T)) / T))) / 2;
    }
    default:
      return s.kind satisfies never;
  }
}

/**
 * What is wrong with a config (torch.optim's argument checks plus the schedule's), one message per
 * problem naming the field; empty when it is usable. The GPU wrapper throws on the first.
 */
export function optimizerConfigProblems(c: ResolvedOptimizerConfig): string[] {
  const s = c.schedule;
  const whole = (n: number, min: number) => Number.isInteger(n) && n >= min;
  const checks: [string, number, boolean][] = [
    ['lr', c.lr, c.lr >= 0],
    ['eps', c.eps, c.eps >= 0],
    ['weightDecay', c.weightDecay, c.weightDecay >= 0],
    ['beta1', c.beta1, c.beta1 >= 0 && c.beta1 < 1],
    ['beta2', c.beta2, c.beta2 >= 0 && c.beta2 < 1],
    ['momentum', c.momentum, c.momentum >= 0],
    ['alpha', c.alpha, c.alpha >= 0 && c.alpha <= 1],
    ['warmupSteps', c.warmupSteps, whole(c.warmupSteps, 0) && c.warmupSteps < 2 ** 31],
    ['clipGradNorm', c.clipGradNorm ?? 1, (c.clipGradNorm ?? 1) > 0],
  ];
  if (s.kind === 'step')
    checks.push(
      ['schedule.stepSize', s.stepSize, whole(s.stepSize, 1) && s.stepSize < 2 ** 31],
      ['schedule.gamma', s.gamma, s.gamma >= 0],
    );
  if (s.kind === 'cosine')
    checks.push(['schedule.minLr', s.minLr, s.minLr >= 0 && s.minLr <= c.lr]);
  const problems = checks
    .filter(([, value, ok]) => !ok || !Number.isFinite(value))
    .map(([name, value]) => `invalid ${name} = ${value}`);
  if (s.kind === 'cosine' && !(whole(s.totalSteps, 1) && s.totalSteps > c.warmupSteps))
    problems.push(
      `cosine schedule: totalSteps (${s.totalSteps}) must be a whole number > warmupSteps (${c.warmupSteps})` +
        // a config's 0 means "the whole run", which the CLI fills in from the training set
        (s.totalSteps === 0 ? '; 0 (the whole run) is filled in by the CLI only' : ''),
    );
  if (c.nesterov && (c.kind !== 'momentum' || c.momentum <= 0))
    problems.push("nesterov needs kind 'momentum' with momentum > 0");
  return problems;
}

/**
 * The config one parameter is updated with: with decayBiasAndNorm false, rank-1 parameters
 * (biases, batch norm's weight and bias) get weightDecay 0, as torch param groups do it.
 */
export function optimizerConfigFor(
  config: OptimizerConfig,
  shape: readonly number[],
): OptimizerConfig {
  const skip = config.decayBiasAndNorm === false && shape.length === 1;
  return skip ? { ...config, weightDecay: 0 } : config;
}

/**
 * torch.optim's names of the per-parameter state tensors, in slot order: what `state` holds
 * here and what optimizer checkpoints are keyed by (`<param>.exp_avg`, ...).
 */
const STATE_NAMES: Record<OptimizerKind, readonly string[]> = {
  adam: ['exp_avg', 'exp_avg_sq'], // m, v
  adamw: ['exp_avg', 'exp_avg_sq'], // m, v
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
  const lr = learningRateAt(c, t);
  const decoupled = c.kind === 'adamw';
  for (let i = 0; i < param.length; i++) {
    // AdamW shrinks p first and leaves g alone; the others add the L2 term to g (torch.optim).
    if (decoupled) param[i] = (param[i] ?? 0) * (1 - lr * c.weightDecay);
    const p = param[i] ?? 0;
    const g = (grad[i] ?? 0) + (decoupled ? 0 : c.weightDecay * p);
    param[i] = p - lr * updateDirection(c, t, g, i, state);
  }
}

export interface ClipGradNormArgs<T> {
  /** Every trainable gradient, scaled in place. */
  grads: T[];
  /** grads.length + 2 floats: per-tensor sums of squares, then the norm, then the coefficient. */
  clip: T;
  /** torch's max_norm (> 0). */
  maxNorm: number;
}

/**
 * torch.nn.utils.clip_grad_norm_ (L2): norm = sqrt(sum of every gradient element squared),
 * coef = min(1, maxNorm / (norm + 1e-6)), every gradient scaled by coef. The sum goes tensor by
 * tensor and then over the tensors in order, as the GPU's; returns the norm (before clipping).
 */
export function clipGradNormCpu({ grads, clip, maxNorm }: ClipGradNormArgs<FloatArray>): number {
  let total = 0;
  grads.forEach((g, k) => {
    let sum = 0;
    for (let i = 0; i < g.length; i++) sum += (g[i] ?? 0) * (g[i] ?? 0);
    clip[k] = sum;
    total += clip[k] ?? 0;
  });
  const norm = Math.sqrt(total);
  const coef = Math.min(1, maxNorm / (norm + 1e-6));
  clip[grads.length] = norm;
  clip[grads.length + 1] = coef;
  for (const g of grads) for (let i = 0; i < g.length; i++) g[i] = (g[i] ?? 0) * coef;
  return norm;
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
    case 'adam':
    case 'adamw': {
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

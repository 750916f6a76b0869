/** CPU twin of shaders/activation.wgsl: the spec the GPU kernels are tested against. */
import { activateCpu, activationGradCpu, type Activation, type FloatArray } from './common.cpu';

export interface ActivationForwardArgs<T> {
  x: T;
  y: T;
  activation: Activation;
}

export interface ActivationBackwardArgs<T> {
  /** The forward output f(x). */
  y: T;
  dY: T;
  dX: T;
  activation: Activation;
}

export function activationForwardCpu({
  x,
  y,
  activation,
}: ActivationForwardArgs<FloatArray>): void {
  for (let i = 0; i < x.length; i++) y[i] = activateCpu(x[i] ?? 0, activation);
}

export function activationBackwardCpu({
  y,
  dY,
  dX,
  activation,
}: ActivationBackwardArgs<FloatArray>): void {
  for (let i = 0; i < y.length; i++) dX[i] = activationGradCpu(y[i] ?? 0, dY[i] ?? 0, activation);
}

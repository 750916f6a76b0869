/**
 * The optimizer's part of a training step, over a parameter store's trainable tensors (not batch
 * norm's running statistics): count the step, clip the gradients by their global norm when the
 * config asks (torch.nn.utils.clip_grad_norm_), then update each parameter and its state. The
 * CPU twin of this list is the end of referenceTrainStep (cpuReference.ts).
 */
import type { KernelCall } from '../gpu/dispatch';
import { ShadergradError } from '../base/errors';
import {
  clipGradNorm,
  optimizerConfigFor,
  optimizerStepBegin,
  optimizerUpdate,
} from '../kernels/index';
import type { ParameterStore } from './parameterStore';

/**
 * [optimizerStepBegin, clipping calls (if on), optimizerUpdate per trainable parameter], Adam's
 * taking `adamPerInvocation` elements per invocation (the adapter's).
 */
export function optimizerCalls(store: ParameterStore, adamPerInvocation?: number): KernelCall[] {
  const config = store.optimizer;
  if (!config) throw new ShadergradError('training plan needs an optimizer');
  const params = store.trainableParams();
  const calls = [optimizerStepBegin({ step: store.step })];
  if (config.clipGradNorm !== undefined) {
    const clip = store.clip;
    if (!clip) throw new ShadergradError('gradient clipping needs the store made with it');
    const grads = params.map(([name]) => store.gradOf(name));
    calls.push(...clipGradNorm({ grads, clip, maxNorm: config.clipGradNorm }));
  }
  for (const [name, p] of params)
    calls.push(
      optimizerUpdate(
        {
          param: p.value,
          grad: store.gradOf(name),
          state: [...p.state],
          step: store.step,
          // per parameter: no weight decay on rank-1 tensors when decayBiasAndNorm is false
          config: optimizerConfigFor(config, p.spec.shape),
        },
        adamPerInvocation,
      ),
    );
  return calls;
}

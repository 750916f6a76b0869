/**
 * A compiled step (what compilePlan in ./executor.ts returns): the prepared calls of one step, the
 * tensors a caller reads or writes, and what the plan holds in memory. A step encodes the calls
 * into one pass and submits it once; nothing is allocated per step.
 */
import type { Gpu } from '../gpu/device';
import { encodeCall, releaseCall, type PreparedCall } from '../gpu/dispatch';
import type { GpuTensor } from '../gpu/tensor';
import type { TuningReport } from './tuneReport';

export interface MemoryReport {
  parameters: number;
  gradients: number;
  optimizerState: number;
  /** Inputs, logits and per-sample losses. */
  persistent: number;
  /** Activations, their gradients and scratch, after planning. */
  planned: number;
  /** The same without buffer reuse. */
  unplanned: number;
  /** Everything this plan and its store hold on the GPU. */
  total: number;
}

/** A compiled step: prepared calls plus the tensors a caller may read or write. */
export class StepPlan {
  constructor(
    readonly gpu: Gpu,
    readonly prepared: readonly PreparedCall[],
    readonly inputs: ReadonlyMap<string, GpuTensor>,
    readonly outputs: { loss: GpuTensor; logits: GpuTensor },
    readonly memory: MemoryReport,
    private readonly buffers: readonly GPUBuffer[],
    private readonly nodeTensors: ReadonlyMap<string, GpuTensor>,
    /** Per prepared call, what each bound tensor is ("conv2 (node 3) value", "fc1.weight"). */
    readonly tensorLabels: readonly (readonly string[])[] = [],
    /**
     * How the plan runs nodes, where there is a choice ("conv2: forward and weight gradient by the
     * implicit product ...", "conv2: input gradient by ...").
     */
    readonly notes: readonly string[] = [],
    /** What the autotuner chose for each product, when the plan was tuned. */
    readonly tuning?: TuningReport,
  ) {}

  /** A node's value or gradient; readable after a step only with keepIntermediates. */
  tensorOf(nodeId: number, what: 'value' | 'grad' = 'value'): GpuTensor | undefined {
    return this.nodeTensors.get(`${what}:${nodeId}`);
  }

  encode(pass: GPUComputePassEncoder): void {
    for (const p of this.prepared) encodeCall(pass, p);
  }

  /** Encodes the whole step into one pass and submits it once. */
  submit(): void {
    if (this.gpu.lostError) throw this.gpu.lostError;
    const encoder = this.gpu.device.createCommandEncoder({ label: 'step' });
    const pass = encoder.beginComputePass({ label: 'step' });
    this.encode(pass);
    pass.end();
    this.gpu.device.queue.submit([encoder.finish()]);
  }

  destroy(): void {
    this.prepared.forEach(releaseCall);
    for (const b of this.buffers) b.destroy();
  }
}

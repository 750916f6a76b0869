/**
 * The executor (src/graph/executor.ts): a graph compiled once into a StepPlan. The schedule and
 * its names, the memory report, one submit per step with nothing created per step, and the
 * refusals that come before any allocation.
 */
import { describe, expect, it, vi } from 'vitest';
import { readFloat32 } from '../../src/gpu/buffers';
import { compilePlan, type PlanOptions } from '../../src/graph/executor';
import { Graph } from '../../src/graph/graph';
import { ParameterStore } from '../../src/graph/parameterStore';
import {
  adamPerInvocation,
  implicitProductOf,
  preferredPolicy,
  type OptimizerConfig,
} from '../../src/kernels/index';
import { defaultTrainConfig } from '../../src/models/config';
import { buildGraph, createTrainer } from '../../src/models/network';
import { smallConfig } from '../helpers/configs';
import { useTestGpu } from '../helpers/gpu';

const gpu = useTestGpu();

const SGD: OptimizerConfig = { kind: 'sgd', lr: 0.1 };

/**
 * A 6-5-3 MLP at batch 4 (nodes: images 0, labels 1, fc1 2, fc2 3, loss 4), compiled directly;
 * `optimizer` null for none.
 */
async function mlpPlan(options: PlanOptions, optimizer: OptimizerConfig | null = SGD) {
  const g = new Graph();
  const images = g.input('images', [4, 6]);
  const labels = g.labels('labels', 4);
  const fc1 = g.dense(images, { name: 'fc1', units: 5, activation: 'relu' });
  const fc2 = g.dense(fc1, { name: 'fc2', units: 3 });
  g.softmaxCrossEntropy(fc2, labels);
  const store = new ParameterStore(gpu(), g.parameters(), optimizer ?? undefined, 3);
  try {
    const plan = await compilePlan(gpu(), g, store, options);
    const destroy = (): void => {
      plan.destroy();
      store.destroy();
    };
    return { plan, store, nodes: { fc1, fc2 }, destroy };
  } catch (e) {
    store.destroy();
    throw e;
  }
}

// 6*5 + 5 + 5*3 + 3 = 53 floats of parameters.
const PARAM_BYTES = 4 * 53;
// images [4, 6], labels [4], logits [4, 3] and per-sample losses [4]: 4 * (24 + 4 + 12 + 4).
const PERSISTENT_BYTES = 4 * 44;

describe('the schedule of a compiled step', () => {
  it('runs forward, backward, one optimizer step, then one update per parameter', async () => {
    const { plan, destroy } = await mlpPlan({ training: true });
    const labels = plan.prepared.map((p) => p.call.label);
    const begin = labels.indexOf('optimizer.optimizerStepBegin');
    expect(labels.slice(0, 3).map((l) => l.split('.')[0])).toEqual([
      'matmul',
      'matmul',
      'softmaxCrossEntropy',
    ]);
    expect(labels[2]).toMatch(/^softmaxCrossEntropy\.softmaxCrossEntropyForwardBackward/);
    // Backward in reverse: fc2's weight and bias gradients, then fc1's after its ReLU.
    expect(labels.slice(3, begin).some((l) => l.startsWith('activation.activationBackward'))).toBe(
      true,
    );
    expect(labels.slice(begin + 1)).toEqual([
      'optimizer.sgdUpdate(30)',
      'optimizer.sgdUpdate(5)',
      'optimizer.sgdUpdate(15)',
      'optimizer.sgdUpdate(3)',
    ]);
    destroy();
  });

  it("gives Adam's updates the adapter's elements per invocation", async () => {
    const { plan, destroy } = await mlpPlan({ training: true }, { kind: 'adam', lr: 1e-3 });
    const updates = plan.prepared.filter((p) => p.call.entryPoint.startsWith('adamUpdate'));
    expect(updates).toHaveLength(4);
    for (const { call } of updates)
      expect(call.constants?.adamPerInvocation).toBe(adamPerInvocation(gpu().adapter.kind));
    destroy();
  });

  it('names each bound tensor by layer, node and role, or by its buffer label', async () => {
    const { plan, destroy } = await mlpPlan({ training: true });
    expect(plan.tensorLabels).toHaveLength(plan.prepared.length);
    expect(plan.tensorLabels[0]).toEqual([
      'images (node 0) value',
      'fc1.weight',
      'fc1.bias',
      'fc1 (node 2) value',
    ]);
    expect(plan.tensorLabels[2]).toContain('labels (node 1) value');
    expect(plan.tensorLabels.flat()).toContain('fc2 (node 3) gradient');
    expect(plan.tensorLabels.flat()).toContain('fc1.weight.grad');
    destroy();
  });

  it('an evaluation plan has only the forward pass and no gradients', async () => {
    const { plan, nodes, destroy } = await mlpPlan({ training: false });
    const labels = plan.prepared.map((p) => p.call.label);
    expect(labels).toHaveLength(3);
    expect(labels[2]).toMatch(/^softmaxCrossEntropy\.softmaxCrossEntropyForward\(/);
    expect(labels.some((l) => l.startsWith('optimizer.'))).toBe(false);
    expect(plan.tensorOf(nodes.fc1, 'grad')).toBeUndefined();
    expect(plan.tensorOf(nodes.fc1)).toBeDefined();
    destroy();
  });

  it('refuses a training plan without an optimizer; evaluation needs none', async () => {
    await expect(mlpPlan({ training: true }, null)).rejects.toThrow(
      /training plan needs an optimizer/,
    );
    const { destroy } = await mlpPlan({ training: false }, null);
    destroy();
  });
});

describe('memory report', () => {
  it('adds up: total is the store, the persistent tensors and the planned buffers', async () => {
    const planned = await mlpPlan({ training: true });
    const kept = await mlpPlan({ training: true, keepIntermediates: true });
    for (const { memory } of [planned.plan, kept.plan]) {
      expect(memory).toMatchObject({
        parameters: PARAM_BYTES,
        gradients: PARAM_BYTES,
        optimizerState: 0, // plain SGD keeps no state
        persistent: PERSISTENT_BYTES,
      });
      expect(memory.total).toBe(2 * PARAM_BYTES + PERSISTENT_BYTES + memory.planned);
    }
    // Planning shares buffers between intermediates whose lifetimes do not overlap...
    expect(planned.plan.memory.planned).toBeLessThan(planned.plan.memory.unplanned);
    // ...and keepIntermediates gives each its own, the same bytes as no planning at all.
    expect(kept.plan.memory.planned).toBe(kept.plan.memory.unplanned);
    expect(kept.plan.memory.unplanned).toBe(planned.plan.memory.unplanned);
    // With every intermediate kept, a node's value and gradient are different buffers.
    const value = kept.plan.tensorOf(kept.nodes.fc1);
    const grad = kept.plan.tensorOf(kept.nodes.fc1, 'grad');
    expect(value && grad && value.buffer !== grad.buffer).toBe(true);
    planned.destroy();
    kept.destroy();
  });

  it('reuses buffers: the planned peak is below one buffer per intermediate', async () => {
    const trainer = createTrainer(gpu(), smallConfig());
    const plan = await trainer.plan('train', 32);
    expect(plan.memory.planned).toBeGreaterThan(0);
    expect(plan.memory.planned).toBeLessThan(plan.memory.unplanned);
    expect(plan.memory.parameters).toBe(
      4 * (4 * 25 + 4 + 8 * 4 * 25 + 8 + 32 * 392 + 32 + 10 * 32 + 10),
    );
    expect(plan.memory.optimizerState).toBe(2 * plan.memory.parameters);
    trainer.destroy();
  });

  it('the reference CNN at batch 64 fits the device and reports its bytes', async () => {
    const trainer = createTrainer(gpu(), defaultTrainConfig());
    const plan = await trainer.plan('train', 64);
    expect(plan.memory.parameters).toBe(4 * 3_274_634);
    expect(plan.memory.planned).toBeLessThan(plan.memory.unplanned);
    trainer.destroy();
  });

  it('folds each conv ReLU gradient into the max-pool backward after it', async () => {
    const trainer = createTrainer(gpu(), defaultTrainConfig());
    const labels = (await trainer.plan('train', 64)).prepared.map((p) => p.call.label);
    const pools = labels.filter((l) => l.startsWith('maxPool.maxPoolBackward'));
    expect(pools).toHaveLength(2);
    for (const pool of pools) expect(pool).toMatch(/relu'\)$/);
    // Only fc1's ReLU (followed by fc2, not a pool) keeps its own backward pass.
    const relus = labels.filter((l) => l.startsWith('activation.activationBackward'));
    expect(relus).toEqual(['activation.activationBackward(relu, 65536)']);
    trainer.destroy();
  });
});

describe('a training step', () => {
  it('is one command buffer in one submit', async () => {
    const { plan, destroy } = await mlpPlan({ training: true });
    const device = gpu().device;
    const encoders = vi.spyOn(device, 'createCommandEncoder');
    const submits = vi.spyOn(device.queue, 'submit');
    try {
      plan.submit();
      expect(encoders).toHaveBeenCalledTimes(1);
      expect(submits).toHaveBeenCalledTimes(1);
      expect([...(submits.mock.calls[0]?.[0] ?? [])]).toHaveLength(1);
    } finally {
      encoders.mockRestore();
      submits.mockRestore();
    }
    // The step ran: every per-sample loss of the zero-filled batch is finite.
    const losses = await readFloat32(gpu(), plan.outputs.loss);
    expect(losses).toHaveLength(4);
    expect(losses.every(Number.isFinite)).toBe(true);
    destroy();
  });

  it('creates no GPU buffers and no bind groups after compile', async () => {
    const trainer = createTrainer(gpu(), smallConfig());
    const images = new Float32Array(32 * 784).fill(0.5);
    const labels = Int32Array.from({ length: 32 }, (_, i) => i % 10);
    await trainer.trainStep(images, labels); // compiles
    const device = gpu().device as GPUDevice & Record<string, unknown>;
    const counts = { buffers: 0, bindGroups: 0 };
    const createBuffer = device.createBuffer.bind(device);
    const createBindGroup = device.createBindGroup.bind(device);
    device.createBuffer = (d: GPUBufferDescriptor) => {
      if (d.label !== 'readback') counts.buffers++;
      return createBuffer(d);
    };
    device.createBindGroup = (d: GPUBindGroupDescriptor) => {
      counts.bindGroups++;
      return createBindGroup(d);
    };
    try {
      for (let i = 0; i < 3; i++) await trainer.trainStep(images, labels);
    } finally {
      device.createBuffer = createBuffer;
      device.createBindGroup = createBindGroup;
    }
    expect(counts).toEqual({ buffers: 0, bindGroups: 0 });
    trainer.destroy();
  });
});

describe('plans past the device limits', () => {
  const limit = (): number =>
    Math.min(gpu().limits.maxStorageBufferBindingSize, gpu().limits.maxBufferSize);

  it('are refused before any allocation, naming the layer, the tensor and what to change', async () => {
    // The smallest batch whose conv1 output (batch * 32 * 28 * 28 floats) outgrows a binding.
    const batch = Math.floor(limit() / (32 * 784 * 4)) + 1;
    const trainer = createTrainer(gpu(), { ...defaultTrainConfig(), batchSize: batch });
    const live = gpu().memory.stats().liveBuffers;
    await expect(trainer.plan('train', batch)).rejects.toThrow(
      new RegExp(
        `conv1 \\(node \\d+\\) value \\[${batch}, 32, 28, 28\\]: ${batch * 32 * 784 * 4} bytes exceeds this device's largest storage buffer \\(${limit()} bytes\\); use a smaller batch`,
      ),
    );
    expect(gpu().memory.stats().liveBuffers).toBe(live);
    trainer.destroy();
  });

  it('take a convolution whose unfolded batch outgrows a binding in chunks', async () => {
    // The smallest batch whose conv2 im2col (batch * 800 * 196 floats) outgrows a binding: it
    // was refused before chunking; now conv2 unfolds a chunk of the batch at a time.
    // The im2col path (registerTile): subgroupTile would take conv2 by the implicit path, whole.
    const batch = Math.floor(limit() / (800 * 196 * 4)) + 1;
    const config = { ...defaultTrainConfig(), batchSize: batch };
    const trainer = createTrainer(gpu(), config, { matmulVariant: 'registerTile' });
    const plan = await trainer.plan('train', batch);
    const bound = new Set(plan.tensorLabels.flat());
    expect(bound).toContain('conv2 (node 4) scratch colsChunk');
    expect(bound).toContain('conv2 (node 4) scratch colsChunkBackward');
    expect(bound).toContain('conv1 (node 2) scratch cols'); // conv1's still fits whole
    expect(plan.notes).toEqual([
      `conv1: forward and weight gradient by im2col + matmul, through cols [${batch}, 25, 784]`,
      expect.stringMatching(
        new RegExp(
          `^conv2: forward and weight gradient by im2col \\+ matmul, in chunks of \\d+ samples \\(the batch's \\[${batch}, 800, 196\\] would pass`,
        ),
      ),
      expect.stringMatching(/^conv2: input gradient by /),
      // Each chunk's weight gradient: runs of samples summed side by side.
      expect.stringMatching(/^conv2: weight gradient as \d+ partial sums of \d+ samples side/),
      expect.stringMatching(/^conv1: weight gradient as \d+ partial sums of \d+ samples? side/),
    ]);
    expect(bound).toContain('conv2 (node 4) scratch dWeightRuns');
    trainer.destroy();
  });

  it("size a first convolution's passes without the input gradient it never computes", async () => {
    // conv1 (1 -> 32 channels, 28x28, 5x5) at batch 16 under a 2 MiB binding: its cols take
    // 78,400 bytes a sample (1.25 MB in all, they fit), the padded output gradient an input
    // gradient would need 147,456 (2.36 MB, it would not); conv1 reads the images, which need none.
    const config = { ...defaultTrainConfig(), batchSize: 16 };
    const graph = buildGraph(config.model, 16);
    const store = new ParameterStore(gpu(), graph.parameters(), config.optimizer, config.seed);
    const plan = await compilePlan(gpu(), graph, store, {
      training: true,
      maxBindingBytes: 2 ** 21,
    });
    expect(
      plan.notes.filter((note) => note.startsWith('conv1') && note.includes('chunks')),
    ).toEqual([]);
    expect(plan.notes).toContain(
      'conv1: forward and weight gradient by im2col + matmul, through cols [16, 25, 784]',
    );
    expect(new Set(plan.tensorLabels.flat())).toContain('conv1 (node 2) scratch cols');
    plan.destroy();
    store.destroy();
  });

  it('take that batch whole on the implicit path, which unfolds nothing', async () => {
    if (!gpu().hasSubgroups) return expect(gpu().hasSubgroups).toBe(false);
    const batch = Math.floor(limit() / (800 * 196 * 4)) + 1;
    const config = { ...defaultTrainConfig(), batchSize: batch };
    const trainer = createTrainer(gpu(), config, { matmulVariant: 'subgroupTile' });
    const plan = await trainer.plan('train', batch);
    const bound = new Set(plan.tensorLabels.flat());
    expect(bound).toContain('conv2 (node 4) scratch xPadded');
    expect(bound).toContain('conv2 (node 4) scratch dOutRows');
    expect([...bound].filter((label) => label.startsWith('conv2 (node 4) scratch cols'))).toEqual(
      [],
    );
    expect(plan.notes[1]).toBe(
      `conv2: forward and weight gradient by the implicit product, straight from x padded to [${batch}, 32, 18, 20] (no [${batch}, 800, 196] cols)`,
    );
    expect(plan.notes.some((note) => note.includes('chunks'))).toBe(false);
    trainer.destroy();
  });

  it('say which paths the forward, weight gradient and input gradient of each convolution take', async () => {
    // conv1 reads one channel, which the implicit products cannot (they sum 4 at a time), and the
    // images, so it has no input gradient; conv2 takes the implicit products with subgroupTile
    // (where the device has subgroups), im2col + matmul and matmul + col2im with another variant.
    const config = { ...defaultTrainConfig(), batchSize: 2 };
    const pathOf = async (matmulVariant: 'registerTile' | 'subgroupTile' | undefined) => {
      const trainer = createTrainer(gpu(), config, matmulVariant ? { matmulVariant } : {});
      const notes = (await trainer.plan('train', 2)).notes;
      trainer.destroy();
      return notes;
    };
    // At batch 2 both weight gradients sum each sample apart (see weightGradRun).
    const runs = ['conv2', 'conv1'].map(
      (conv) =>
        `${conv}: weight gradient as 2 partial sums of 1 sample side by side, then added in order`,
    );
    const conv1 =
      'conv1: forward and weight gradient by im2col + matmul, through cols [2, 25, 784]';
    expect(await pathOf('registerTile')).toEqual([
      conv1,
      'conv2: forward and weight gradient by im2col + matmul, through cols [2, 800, 196]',
      'conv2: input gradient by matmul + col2im, through dCols [2, 800, 196]',
      ...runs,
    ]);
    if (gpu().hasSubgroups)
      expect(await pathOf('subgroupTile')).toEqual([
        conv1,
        'conv2: forward and weight gradient by the implicit product, straight from x padded to [2, 32, 18, 20] (no [2, 800, 196] cols)',
        'conv2: input gradient by the implicit product (subgroupTile), straight from the output gradient (no [2, 800, 196] dCols)',
        ...runs,
      ]);
    // Without a variant, untuned: the adapter's default policy (SwiftShader: the register tile).
    const untuned = preferredPolicy(gpu().adapter.kind, gpu().hasSubgroups);
    const product = implicitProductOf(untuned.inputGrad);
    const untunedNotes = await pathOf(undefined);
    expect(untunedNotes.find((note) => note.includes('input gradient'))).toBe(
      product
        ? `conv2: input gradient by the implicit product (${product}), straight from the output gradient (no [2, 800, 196] dCols)`
        : 'conv2: input gradient by matmul + col2im, through dCols [2, 800, 196]',
    );
  });
});

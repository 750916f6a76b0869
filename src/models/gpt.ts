/**
 * A character-level GPT (the course's decoder): token and position embeddings, `layers` causal
 * pre-norm transformer blocks, a final layer norm and a dense head over the vocabulary, trained
 * on the cross-entropy of every position's next character. Names follow nanoGPT's minimal module
 * (and tests/golden/transformer_small.py): wte, wpe, blocks.<i>.(ln1, attn.query/key/value/proj,
 * ln2, mlp.fc1/fc2), ln_f, head.
 *
 * CharGpt trains it from host windows (one submit per step, inputs written with writeBuffer, no
 * allocation per step) and generates from it: an evaluation plan at batch 1 reads the logits of
 * the last position of the context, and the next character is drawn on the CPU with a
 * temperature and top-k. Written against the public API.
 */
import {
  Graph,
  ParameterStore,
  ShadergradError,
  compilePlan,
  mulberry32,
  readFloat32,
  writeTensor,
  type GeluApproximation,
  type Gpu,
  type GpuTensor,
  type OptimizerConfig,
  type StepPlan,
} from '../core';
import { transformerBlock } from './transformer';

export interface GptConfig {
  /** Characters (or tokens) the model reads and predicts. */
  vocab: number;
  /** Positions per window (the position table's length). */
  context: number;
  /** Token width C. */
  width: number;
  /** Attention heads per block; must divide the width. */
  heads: number;
  /** Transformer blocks. */
  layers: number;
  /** The MLP's hidden units (default 4·width). */
  hidden?: number;
  gelu?: GeluApproximation;
}

/**
 * Sizes that train in minutes on a software GPU (2 cores, lavapipe: ~4k tokens/s); on a real GPU,
 * context 128, width 128, 4 layers (the course's example) is a flag away.
 */
export const GPT_DEFAULTS: Omit<Required<GptConfig>, 'vocab' | 'gelu'> = {
  context: 64,
  width: 64,
  heads: 4,
  layers: 2,
  hidden: 256,
};

/** The GPT's graph for `batch` windows: inputs 'tokens' [batch, context] and 'labels' (the next ids). */
export function gptGraph(c: GptConfig, batch: number): Graph {
  const g = new Graph();
  const tokens = g.tokens('tokens', [batch, c.context], c.vocab);
  const labels = g.labels('labels', [batch, c.context]);
  const embedded = g.embedding(tokens, { name: 'wte', features: c.width });
  let x = g.positionEmbedding(embedded, { name: 'wpe' });
  for (let i = 0; i < c.layers; i++)
    x = transformerBlock(g, x, {
      name: `blocks.${i}`,
      heads: c.heads,
      hidden: c.hidden ?? 4 * c.width,
      causal: true,
      gelu: c.gelu ?? 'none',
    });
  const logits = g.dense(g.layerNorm(x, { name: 'ln_f' }), { name: 'head', units: c.vocab });
  g.softmaxCrossEntropy(logits, labels);
  return g;
}

export interface SampleOptions {
  /** Divides the logits: < 1 sharpens, > 1 flattens (default 1). */
  temperature?: number;
  /** Draw among the k most likely only (default: all). */
  topK?: number;
}

/** A draw from softmax(logits / temperature) over the top k, with `random()` in [0, 1). */
export function sampleToken(
  logits: ArrayLike<number>,
  o: SampleOptions,
  random: () => number,
): number {
  const temperature = o.temperature ?? 1;
  if (!(temperature > 0)) throw new ShadergradError(`temperature = ${temperature}, expected > 0`);
  const order = Array.from(logits, (v, i) => [v, i] as const).sort((a, b) => b[0] - a[0]);
  const kept = order.slice(0, Math.max(1, Math.min(o.topK ?? order.length, order.length)));
  const top = kept[0]?.[0] ?? 0;
  const weights = kept.map(([v]) => Math.exp((v - top) / temperature));
  let r = random() * weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < kept.length; i++) {
    r -= weights[i] ?? 0;
    if (r < 0) return kept[i]?.[1] ?? 0;
  }
  return kept[kept.length - 1]?.[1] ?? 0;
}

function input(plan: StepPlan, name: string): GpuTensor {
  const t = plan.inputs.get(name);
  if (!t) throw new ShadergradError(`gpt: the plan has no input '${name}'`);
  return t;
}

/** A GPT's parameters, its training plan (when it has an optimizer) and its generation plan. */
export class CharGpt {
  private evaluation: StepPlan | undefined;

  private constructor(
    readonly gpu: Gpu,
    readonly config: GptConfig,
    readonly store: ParameterStore,
    private readonly train: StepPlan | undefined,
    private readonly generator: StepPlan,
    readonly batch: number,
  ) {}

  /**
   * A GPT with fresh parameters (seeded). Without an optimizer it only evaluates and generates
   * (load weights with `loadModel`), holding no gradients or optimizer state.
   */
  static async create(
    gpu: Gpu,
    config: GptConfig,
    o: { batch: number; optimizer?: OptimizerConfig; seed?: number },
  ): Promise<CharGpt> {
    const graph = gptGraph(config, o.batch);
    const store = new ParameterStore(gpu, graph.parameters(), o.optimizer, o.seed ?? 1);
    const train = o.optimizer
      ? await compilePlan(gpu, graph, store, { training: true })
      : undefined;
    const generator = await compilePlan(gpu, gptGraph(config, 1), store, { training: false });
    return new CharGpt(gpu, config, store, train, generator, o.batch);
  }

  /**
   * One training step on windows tokens [batch, context] and labels [batch, context] (ids below
   * the vocabulary, checked here); resolves to the mean loss when `read`, else to NaN without
   * waiting for the GPU.
   */
  async trainStep(w: { tokens: Uint32Array; labels: Int32Array }, read = true): Promise<number> {
    if (!this.train)
      throw new ShadergradError('gpt: created without an optimizer, so it cannot train');
    this.check(w.tokens, this.batch);
    this.check(w.labels, this.batch);
    writeTensor(this.gpu, input(this.train, 'tokens'), w.tokens);
    writeTensor(this.gpu, input(this.train, 'labels'), w.labels);
    this.train.submit();
    if (!read) return NaN;
    const losses = await readFloat32(this.gpu, this.train.outputs.loss);
    return losses.reduce((a, b) => a + b, 0) / losses.length;
  }

  /** The mean loss of windows [batch, context] in evaluation mode (no update, no dropout). */
  async evaluate(w: { tokens: Uint32Array; labels: Int32Array }): Promise<number> {
    this.check(w.tokens, this.batch);
    this.check(w.labels, this.batch);
    this.evaluation ??= await compilePlan(this.gpu, gptGraph(this.config, this.batch), this.store, {
      training: false,
    });
    writeTensor(this.gpu, input(this.evaluation, 'tokens'), w.tokens);
    writeTensor(this.gpu, input(this.evaluation, 'labels'), w.labels);
    this.evaluation.submit();
    const losses = await readFloat32(this.gpu, this.evaluation.outputs.loss);
    return losses.reduce((a, b) => a + b, 0) / losses.length;
  }

  /** The next-id logits [vocab] after `context` (its last `config.context` ids are used). */
  async nextLogits(context: Uint32Array): Promise<Float32Array> {
    const T = this.config.context;
    const window = context.subarray(Math.max(0, context.length - T));
    if (window.length === 0) throw new ShadergradError('gpt: generation needs at least one id');
    const tokens = new Uint32Array(T); // positions past the window see only earlier ones: causal
    tokens.set(window);
    this.check(tokens, 1);
    writeTensor(this.gpu, input(this.generator, 'tokens'), tokens);
    writeTensor(this.gpu, input(this.generator, 'labels'), new Int32Array(T));
    this.generator.submit();
    const logits = await readFloat32(this.gpu, this.generator.outputs.logits);
    const V = this.config.vocab;
    return logits.subarray((window.length - 1) * V, window.length * V);
  }

  /** `count` new ids after `prompt`, each yielded as soon as it is drawn. */
  async *generate(
    prompt: Uint32Array,
    count: number,
    o: SampleOptions & { seed?: number } = {},
  ): AsyncGenerator<number> {
    const random = mulberry32(o.seed ?? 1);
    const ids = Array.from(prompt);
    for (let i = 0; i < count; i++) {
      const next = sampleToken(await this.nextLogits(Uint32Array.from(ids)), o, random);
      ids.push(next);
      yield next;
    }
  }

  private check(ids: Uint32Array | Int32Array, batch: number): void {
    const { context, vocab } = this.config;
    if (ids.length !== batch * context)
      throw new ShadergradError(`gpt: ${ids.length} ids, expected ${batch} x ${context}`);
    const bad = ids.findIndex((v) => !(v >= 0 && v < vocab));
    if (bad >= 0)
      throw new ShadergradError(
        `gpt: id ${ids[bad]} at ${bad} is not below the vocabulary ${vocab}`,
      );
  }

  destroy(): void {
    this.train?.destroy();
    this.generator.destroy();
    this.evaluation?.destroy();
    this.store.destroy();
  }
}

/**
 * A character-level GPT (the course's decoder): token and position embeddings, `layers` causal
 * pre-norm transformer blocks, a final layer norm and a dense head over the vocabulary, trained
 * on the cross-entropy of every position's next character. Names follow nanoGPT's minimal module
 * (and tests/golden/transformer_small.py): wte, wpe, blocks.<i>.(ln1, attn.query/key/value/proj,
 * ln2, mlp.fc1/fc2), ln_f, head.
 *
 * CharGpt trains it from host windows (one submit per step, inputs written with writeBuffer, no
 * allocation per step) and generates from it: a plan at batch 1 runs the model on the context and
 * draws the next character on the GPU (the sample kernel: temperature, top-k, a u from the host's
 * seeded generator), so each character costs one submit and a 4-byte read. The same plan keeps its
 * attention weights for attentionMaps. Written against the public API.
 */
import {
  Graph,
  ParameterStore,
  ShadergradError,
  NO_TOKEN,
  checkDraw,
  compilePlan,
  createTensor,
  mulberry32,
  packDraw,
  readFloat32,
  readTensor,
  sampleToken,
  writeTensor,
  type Draw,
  type GeluApproximation,
  type Gpu,
  type GpuTensor,
  type OptimizerConfig,
  type StepPlan,
  type TuneOptions,
  type TuningReport,
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
  /**
   * The head multiplies by the token table wte.weight [vocab, width] (weight tying, as GPT-2):
   * vocab·width fewer parameters, and the table learns from both ends. The model then has no
   * head.weight of its own; its checkpoints still hold a copy under that name, as a tied torch
   * module's state_dict does, so torch loads them strictly. Default false.
   */
  tie?: boolean;
}

/**
 * Sizes that train in minutes on a software GPU (2 cores, lavapipe: ~4k tokens/s); on a real GPU,
 * context 128, width 128, 4 layers (the course's example) is a flag away.
 */
export const GPT_DEFAULTS: Omit<Required<GptConfig>, 'vocab' | 'gelu' | 'tie'> = {
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
  const tied = c.tie ? { weight: 'wte.weight' } : {};
  const logits = g.dense(g.layerNorm(x, { name: 'ln_f' }), {
    name: 'head',
    units: c.vocab,
    ...tied,
  });
  g.softmaxCrossEntropy(logits, labels);
  return g;
}

export interface SampleOptions {
  /** Divides the logits: < 1 sharpens, > 1 flattens (default 1). */
  temperature?: number;
  /** Draw among the k most likely only (default: all). */
  topK?: number;
}

function input(plan: StepPlan, name: string): GpuTensor {
  const t = plan.inputs.get(name);
  if (!t) throw new ShadergradError(`gpt: the plan has no input '${name}'`);
  return t;
}

/** The generation plan's extra tensors: the draw it reads and the id it writes. */
interface Sampler {
  readonly draw: GpuTensor;
  readonly token: GpuTensor;
}

/** A GPT's parameters, its training plan (when it has an optimizer) and its generation plan. */
export class CharGpt {
  private evaluation: StepPlan | undefined;
  /** The autotuner's settings for the plans compiled later (evaluation), as given to create. */
  private tune: TuneOptions | undefined;

  private constructor(
    readonly gpu: Gpu,
    readonly config: GptConfig,
    readonly store: ParameterStore,
    private readonly train: StepPlan | undefined,
    private readonly generator: StepPlan,
    private readonly sampler: Sampler,
    /** The generation graph's softmax nodes, one per layer: the attention weights [1, H, T, T]. */
    private readonly attentionNodes: readonly number[],
    readonly batch: number,
  ) {}

  /** GPU bytes the training plan planned (parameters, gradients, optimizer state, activations); 0 without one. */
  get plannedBytes(): number {
    return this.train?.memory.total ?? 0;
  }

  /** With `tie`, torch's tied module has `head.weight` too: the same tensor as `wte.weight`. */
  get aliases(): ReadonlyMap<string, string> {
    return new Map(this.config.tie ? [['head.weight', 'wte.weight']] : []);
  }

  /**
   * A GPT with fresh parameters (seeded). Without an optimizer it only evaluates and generates
   * (load weights with `loadModel`), holding no gradients or optimizer state.
   */
  static async create(
    gpu: Gpu,
    config: GptConfig,
    o: { batch: number; optimizer?: OptimizerConfig; seed?: number; tune?: TuneOptions },
  ): Promise<CharGpt> {
    const graph = gptGraph(config, o.batch);
    const store = new ParameterStore(gpu, graph.parameters(), o.optimizer, o.seed ?? 1);
    const tune = o.tune ? { tune: o.tune } : {};
    const train = o.optimizer
      ? await compilePlan(gpu, graph, store, { training: true, ...tune })
      : undefined;
    const generation = gptGraph(config, 1);
    const sampler: Sampler = {
      draw: createTensor(gpu, [4], { dtype: 'u32', label: 'gpt draw' }),
      token: createTensor(gpu, [1], { dtype: 'u32', label: 'gpt token' }),
    };
    // Intermediates kept (batch 1: a few hundred kB) so the attention weights stay readable.
    const generator = await compilePlan(gpu, generation, store, {
      training: false,
      keepIntermediates: true,
      metrics: ({ logits }) => [
        sampleToken({ logits, ...sampler, rows: config.context, V: config.vocab }),
      ],
    });
    const attentionNodes = generation.nodes.filter((n) => n.op === 'softmax').map((n) => n.id);
    const gpt = new CharGpt(gpu, config, store, train, generator, sampler, attentionNodes, o.batch);
    gpt.tune = o.tune;
    return gpt;
  }

  /** What the autotuner chose for the training plan, when create was given `tune`. */
  get tuning(): TuningReport | undefined {
    return this.train?.tuning;
  }

  /**
   * One training step on windows tokens [batch, context] and labels [batch, context] (ids below
   * the vocabulary, checked here); resolves to the mean loss when `read`, else to NaN without
   * waiting for the GPU.
   */
  async trainStep(w: { tokens: Uint32Array; labels: Int32Array }, read = true): Promise<number> {
    if (!this.train)
      throw new ShadergradError('gpt: created without an optimizer, so it cannot train');
    return this.run(this.train, w, read);
  }

  /** The mean loss of windows [batch, context] in evaluation mode (no update, no dropout). */
  async evaluate(w: { tokens: Uint32Array; labels: Int32Array }): Promise<number> {
    this.evaluation ??= await compilePlan(this.gpu, gptGraph(this.config, this.batch), this.store, {
      training: false,
      ...(this.tune ? { tune: this.tune } : {}),
    });
    return this.run(this.evaluation, w, true);
  }

  /** Writes the windows (checked), submits the plan, and reads the mean loss when asked. */
  private async run(
    plan: StepPlan,
    w: { tokens: Uint32Array; labels: Int32Array },
    read: boolean,
  ): Promise<number> {
    this.check(w.tokens, this.batch);
    this.check(w.labels, this.batch);
    writeTensor(this.gpu, input(plan, 'tokens'), w.tokens);
    writeTensor(this.gpu, input(plan, 'labels'), w.labels);
    plan.submit();
    if (!read) return NaN;
    const losses = await readFloat32(this.gpu, plan.outputs.loss);
    return losses.reduce((a, b) => a + b, 0) / losses.length;
  }

  /**
   * Runs the generation plan on the last `config.context` ids of `context` (positions past them
   * see only earlier ones: causal) with `draw` for the sample kernel; returns the window's length.
   */
  private runGenerator(context: Uint32Array, draw: Omit<Draw, 'row'>): number {
    const T = this.config.context;
    const window = context.subarray(Math.max(0, context.length - T));
    if (window.length === 0) throw new ShadergradError('gpt: generation needs at least one id');
    const tokens = new Uint32Array(T);
    tokens.set(window);
    this.check(tokens, 1);
    const full = { ...draw, row: window.length - 1 };
    checkDraw('gpt', full, T);
    writeTensor(this.gpu, input(this.generator, 'tokens'), tokens);
    writeTensor(this.gpu, input(this.generator, 'labels'), new Int32Array(T));
    writeTensor(this.gpu, this.sampler.draw, packDraw(full));
    this.generator.submit();
    return window.length;
  }

  /** The next-id logits [vocab] after `context` (its last `config.context` ids are used). */
  async nextLogits(context: Uint32Array): Promise<Float32Array> {
    const n = this.runGenerator(context, { u: 0, temperature: 1, topK: 0 });
    const logits = await readFloat32(this.gpu, this.generator.outputs.logits);
    const V = this.config.vocab;
    return logits.subarray((n - 1) * V, n * V);
  }

  /**
   * `count` new ids after `prompt`, each drawn on the GPU and yielded as soon as it is read
   * (softmax(logits / temperature) over the top k, inverted at a u from a generator seeded
   * with `seed`: the same seed gives the same text).
   */
  async *generate(
    prompt: Uint32Array,
    count: number,
    o: SampleOptions & { seed?: number } = {},
  ): AsyncGenerator<number> {
    const random = mulberry32(o.seed ?? 1);
    const ids = Array.from(prompt);
    for (let i = 0; i < count; i++) {
      this.runGenerator(Uint32Array.from(ids), {
        u: random(),
        temperature: o.temperature ?? 1,
        topK: o.topK ?? 0,
      });
      const [next = NO_TOKEN] = (await readTensor(this.gpu, this.sampler.token)) as Uint32Array;
      if (next === NO_TOKEN)
        throw new ShadergradError(
          'gpt: the logits hold a NaN or an infinity, so no character can be drawn (the weights have diverged)',
        );
      ids.push(next);
      yield next;
    }
  }

  /**
   * The attention weights of the last `config.context` ids of `context`: per layer, per head, an
   * [n, n] row-major map (n = the window's length) whose row t is how query t spreads over keys
   * 0..t (zeros above the diagonal: causal). Each row sums to 1.
   */
  async attentionMaps(context: Uint32Array): Promise<Float32Array[][]> {
    const n = this.runGenerator(context, { u: 0, temperature: 1, topK: 0 });
    const { context: T, heads } = this.config;
    const maps: Float32Array[][] = [];
    for (const id of this.attentionNodes) {
      const tensor = this.generator.tensorOf(id);
      if (!tensor) throw new ShadergradError('gpt: the generation plan lost its attention weights');
      const all = await readFloat32(this.gpu, tensor); // [1, H, T, T]
      maps.push(
        Array.from({ length: heads }, (_, h) => {
          const map = new Float32Array(n * n);
          for (let t = 0; t < n; t++)
            map.set(all.subarray((h * T + t) * T, (h * T + t) * T + n), t * n);
          return map;
        }),
      );
    }
    return maps;
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
    this.sampler.draw.buffer.destroy();
    this.sampler.token.buffer.destroy();
    this.store.destroy();
  }
}

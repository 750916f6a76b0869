/**
 * One model on one text: the page's GPU work. Training steps, validation, generation and
 * attention maps run as jobs one after another, because the model's plans share its parameters
 * and the generation plan's buffers (a generation interleaved with an attention read would
 * overwrite the window the read is about). No DOM here.
 */
import {
  CharGpt,
  mulberry32,
  randomWindows,
  type CharVocabulary,
  type Gpu,
  type SampleOptions,
} from '../api';
import type { ModelOptions, PreparedText } from './options';

/** Validation windows, drawn once per model so successive validation losses are comparable. */
const VALIDATION_BATCHES = 4;

type Windows = { tokens: Uint32Array; labels: Int32Array };

export class GptSession {
  private queue: Promise<unknown> = Promise.resolve();
  /** Draws the training windows; seeded, so a model's run is reproducible. */
  private readonly random: () => number;
  private readonly validationSet: readonly Windows[];

  private constructor(
    readonly gpt: CharGpt,
    readonly text: PreparedText,
    readonly options: ModelOptions,
  ) {
    const { batch, context, seed } = options;
    this.random = mulberry32(seed);
    const pick = mulberry32(seed + 1);
    this.validationSet = Array.from({ length: VALIDATION_BATCHES }, () =>
      randomWindows(text.validation, batch, context, pick),
    );
  }

  /** A fresh model (weights seeded by `o.seed`) for `text`. */
  static async create(gpu: Gpu, text: PreparedText, o: ModelOptions): Promise<GptSession> {
    const gpt = await CharGpt.create(
      gpu,
      {
        vocab: text.vocab.size,
        context: o.context,
        width: o.width,
        heads: o.heads,
        layers: o.layers,
      },
      { batch: o.batch, optimizer: { kind: 'adamw', lr: o.lr, weightDecay: 0.01 }, seed: o.seed },
    );
    return new GptSession(gpt, text, o);
  }

  get vocab(): CharVocabulary {
    return this.text.vocab;
  }

  /** The model's trainable numbers (4 bytes each). */
  get parameters(): number {
    return this.gpt.store.bytes().parameters / 4;
  }

  /** Runs `job` once every job queued before it has settled. */
  private serial<T>(job: () => Promise<T>): Promise<T> {
    const next = this.queue.then(job);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * `count` training steps. Only the last one's loss is read: a read waits for the GPU, so the
   * steps before it are submitted back to back. `ms` is the time the steps took, waits included.
   */
  train(count: number): Promise<{ loss: number; ms: number }> {
    return this.serial(async () => {
      const start = performance.now();
      const { batch, context } = this.options;
      let loss = NaN;
      for (let i = 0; i < count; i++) {
        const windows = randomWindows(this.text.train, batch, context, this.random);
        loss = await this.gpt.trainStep(windows, i === count - 1);
      }
      return { loss, ms: performance.now() - start };
    });
  }

  /** The mean loss over the fixed validation windows. */
  validate(): Promise<number> {
    return this.serial(async () => {
      let sum = 0;
      for (const w of this.validationSet) sum += await this.gpt.evaluate(w);
      return sum / this.validationSet.length;
    });
  }

  /** `count` characters after `prompt`, each passed to `onChar` as soon as it is drawn. */
  generate(
    prompt: string,
    count: number,
    o: SampleOptions & { seed: number },
    onChar: (c: string) => void,
  ): Promise<void> {
    const ids = this.vocab.encode(prompt);
    return this.serial(async () => {
      for await (const id of this.gpt.generate(ids, count, o)) onChar(this.vocab.decode([id]));
    });
  }

  /** Per layer, per head, the attention map of the prompt's last `context` characters. */
  attention(prompt: string): Promise<Float32Array[][]> {
    const ids = this.vocab.encode(prompt);
    return this.serial(() => this.gpt.attentionMaps(ids));
  }

  /** Frees the model once the jobs already queued are done. */
  async destroy(): Promise<void> {
    await this.serial(() => Promise.resolve());
    this.gpt.destroy();
  }
}

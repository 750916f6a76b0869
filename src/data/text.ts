/**
 * Text for character-level language models: a vocabulary of the characters a text uses (sorted by
 * code point, so the same text always gives the same ids), encoding and decoding, a split into
 * training and validation ids, and random windows of a sequence as (tokens, next tokens) pairs.
 * Pure TypeScript.
 */
import { ShadergradError } from '../base/errors';

export class CharVocabulary {
  private readonly ids: ReadonlyMap<string, number>;

  private constructor(readonly chars: readonly string[]) {
    this.ids = new Map(chars.map((c, i) => [c, i]));
  }

  /** The characters of `text` (whole code points, so an emoji is one token), sorted. */
  static fromText(text: string): CharVocabulary {
    const chars = [...new Set(Array.from(text))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (chars.length < 2)
      throw new ShadergradError(
        `text: ${chars.length} distinct character(s); a language model needs at least 2`,
      );
    return new CharVocabulary(chars);
  }

  /** A vocabulary saved with `chars` (e.g. from a checkpoint's metadata). */
  static fromChars(chars: readonly string[]): CharVocabulary {
    if (new Set(chars).size !== chars.length || chars.length < 2)
      throw new ShadergradError('vocabulary: expected 2 or more distinct characters');
    return new CharVocabulary([...chars]);
  }

  get size(): number {
    return this.chars.length;
  }

  /** Ids of `text`'s characters; a character the vocabulary lacks is an error naming it. */
  encode(text: string): Uint32Array {
    const chars = Array.from(text);
    return Uint32Array.from(chars, (c, i) => {
      const id = this.ids.get(c);
      if (id === undefined)
        throw new ShadergradError(
          `text: character ${JSON.stringify(c)} at ${i} is not in the model's vocabulary of ${this.size}`,
        );
      return id;
    });
  }

  decode(ids: ArrayLike<number>): string {
    return Array.from(ids, (id) => this.chars[id] ?? '\uFFFD').join('');
  }
}

/** The first `1 - validation` of the ids for training, the rest for validation (as nanoGPT). */
export function splitIds(
  ids: Uint32Array,
  validation: number,
  context: number,
): { train: Uint32Array; validation: Uint32Array } {
  const cut = Math.floor(ids.length * (1 - validation));
  const [train, held] = [ids.subarray(0, cut), ids.subarray(cut)];
  for (const [name, part] of [
    ['training', train],
    ['validation', held],
  ] as const)
    if (part.length < context + 1)
      throw new ShadergradError(
        `text: the ${name} part has ${part.length} characters, fewer than context + 1 = ${context + 1}; use a longer text or a shorter context`,
      );
  return { train, validation: held };
}

/**
 * The whole of `ids` as consecutive windows (starts 0, context, 2·context, ...), in batches of
 * `batch`: tokens and their next tokens, as randomWindows gives them. Windows that do not fill a
 * last batch are left out (at most batch - 1 of them), so every batch weighs the same; none when
 * the ids hold fewer than `batch` windows.
 */
export function consecutiveWindows(
  ids: Uint32Array,
  batch: number,
  context: number,
): { tokens: Uint32Array; labels: Int32Array }[] {
  const windows = Math.floor((ids.length - 1) / context);
  const batches = Math.floor(windows / batch);
  return Array.from({ length: batches }, (_, k) => {
    const tokens = new Uint32Array(batch * context);
    const labels = new Int32Array(batch * context);
    for (let b = 0; b < batch; b++) {
      const start = (k * batch + b) * context;
      tokens.set(ids.subarray(start, start + context), b * context);
      labels.set(ids.subarray(start + 1, start + context + 1), b * context);
    }
    return { tokens, labels };
  });
}

/**
 * `batch` windows of `context + 1` ids at random starts: tokens [batch, context] and, shifted by
 * one, their next tokens (the labels) [batch, context].
 */
export function randomWindows(
  ids: Uint32Array,
  batch: number,
  context: number,
  random: () => number,
): { tokens: Uint32Array; labels: Int32Array } {
  const tokens = new Uint32Array(batch * context);
  const labels = new Int32Array(batch * context);
  const starts = ids.length - context;
  for (let b = 0; b < batch; b++) {
    const start = Math.floor(random() * starts);
    tokens.set(ids.subarray(start, start + context), b * context);
    labels.set(ids.subarray(start + 1, start + context + 1), b * context);
  }
  return { tokens, labels };
}

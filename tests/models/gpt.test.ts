/**
 * The character-level GPT (src/models/gpt.ts) and its text (src/data/text.ts): vocabulary and
 * windows, sampling with temperature and top-k, and CharGpt end to end on the GPU: a training
 * loss that falls on a learnable text, evaluation, generation that streams ids deterministically
 * for a seed, and clear errors for ids outside the vocabulary.
 */
import { describe, expect, it } from 'vitest';
import { ShadergradError } from '../../src/base/errors';
import { mulberry32 } from '../../src/base/random';
import { CharVocabulary, randomWindows, splitIds } from '../../src/data/text';
import { CharGpt, gptGraph, sampleToken } from '../../src/models/gpt';
import { useTestGpu } from '../helpers/gpu';

const gpu = useTestGpu();

describe('text for language models', () => {
  it('a sorted vocabulary of code points that round-trips, and refuses unknown characters', () => {
    const v = CharVocabulary.fromText('héllo 🙂 world');
    expect(v.chars).toEqual([' ', 'd', 'h', 'l', 'o', 'r', 'w', 'é', '🙂']);
    const ids = v.encode('world 🙂');
    expect(v.decode(ids)).toBe('world 🙂');
    expect(() => v.encode('hox')).toThrow(
      /character "x" at 2 is not in the model's vocabulary of 9/,
    );
    expect(() => CharVocabulary.fromText('aaaa')).toThrow(ShadergradError);
  });

  it('windows are the tokens and, shifted by one, their next tokens', () => {
    const ids = Uint32Array.from({ length: 50 }, (_, i) => i);
    const { tokens, labels } = randomWindows(ids, 3, 5, mulberry32(1));
    for (let b = 0; b < 3; b++)
      for (let t = 0; t < 5; t++) expect(labels[b * 5 + t]).toBe((tokens[b * 5 + t] ?? 0) + 1);
    expect(() => splitIds(ids, 0.1, 5)).toThrow(/validation part has 5 characters/);
    expect(splitIds(ids, 0.5, 5).validation[0]).toBe(25);
  });

  it('samples by temperature and top-k', () => {
    const logits = [0, 5, 1, 4];
    expect(sampleToken(logits, { topK: 1 }, Math.random)).toBe(1); // greedy
    const counts = [0, 0, 0, 0];
    const random = mulberry32(3);
    for (let i = 0; i < 2000; i++) {
      const k = sampleToken(logits, { topK: 2 }, random);
      counts[k] = (counts[k] ?? 0) + 1;
    }
    expect(counts[0]).toBe(0);
    expect(counts[2]).toBe(0);
    // softmax of [5, 4]: 0.731 / 0.269
    expect((counts[1] ?? 0) / 2000).toBeGreaterThan(0.69);
    expect((counts[1] ?? 0) / 2000).toBeLessThan(0.77);
    const cold = [0, 0];
    for (let i = 0; i < 500; i++) {
      const k = sampleToken([0, 1], { temperature: 0.1 }, random);
      cold[k] = (cold[k] ?? 0) + 1;
    }
    expect(cold[1]).toBeGreaterThan(490); // e^10 : 1
    expect(() => sampleToken(logits, { temperature: 0 }, random)).toThrow(/temperature = 0/);
  });
});

describe('CharGpt on the GPU', () => {
  const text = 'abcdefgh'.repeat(40);
  const vocab = CharVocabulary.fromText(text);
  const config = { vocab: vocab.size, context: 8, width: 16, heads: 2, layers: 1 };

  it('has the torch names and learns a repeating text', async () => {
    const names = gptGraph(config, 1)
      .parameters()
      .map((p) => p.name);
    expect(names.slice(0, 3)).toEqual(['wte.weight', 'wpe.weight', 'blocks.0.ln1.weight']);
    expect(names.slice(-4)).toEqual(['ln_f.weight', 'ln_f.bias', 'head.weight', 'head.bias']);
    const gpt = await CharGpt.create(gpu(), config, {
      batch: 8,
      optimizer: { kind: 'adamw', lr: 1e-2, weightDecay: 0 },
      seed: 2,
    });
    const ids = vocab.encode(text);
    const random = mulberry32(4);
    const first = await gpt.trainStep(randomWindows(ids, 8, 8, random));
    expect(first).toBeGreaterThan(1.5); // ~ln 8 = 2.08 at the start
    let last = first;
    for (let s = 0; s < 60; s++) last = await gpt.trainStep(randomWindows(ids, 8, 8, random));
    // every next character is determined by the current one: the loss goes towards 0
    expect(last).toBeLessThan(0.3);
    expect(await gpt.evaluate(randomWindows(ids, 8, 8, random))).toBeLessThan(0.3);
    const drawn: number[] = [];
    for await (const id of gpt.generate(vocab.encode('abc'), 10, { temperature: 0.5, seed: 9 }))
      drawn.push(id);
    expect(vocab.decode(drawn)).toBe('defghabcde');
    const again: number[] = [];
    for await (const id of gpt.generate(vocab.encode('abc'), 10, { temperature: 0.5, seed: 9 }))
      again.push(id);
    expect(again).toEqual(drawn);
    await expect(gpt.nextLogits(Uint32Array.from([1, 99]))).rejects.toThrow(
      /id 99 at 1 is not below the vocabulary 8/,
    );
    gpt.destroy();
  });
});

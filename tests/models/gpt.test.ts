/**
 * The character-level GPT (src/models/gpt.ts) and its text (src/data/text.ts): vocabulary and
 * windows, and CharGpt end to end on the GPU: a training loss that falls on a learnable text,
 * evaluation, generation drawn on the GPU that streams ids deterministically for a seed (the draw
 * itself is tested in tests/kernels/sample.test.ts), attention maps against the CPU reference,
 * and clear errors for ids outside the vocabulary.
 */
import { describe, expect, it } from 'vitest';
import { ShadergradError } from '../../src/base/errors';
import { mulberry32 } from '../../src/base/random';
import { CharVocabulary, consecutiveWindows, randomWindows, splitIds } from '../../src/data/text';
import { referenceForward } from '../../src/graph/cpuReference';
import { sampleTokenCpu } from '../../src/kernels/sample.cpu';
import { CharGpt, gptGraph } from '../../src/models/gpt';
import { expectAllClose } from '../helpers/allclose';
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

  it('consecutive windows cover the ids in order, in full batches only', () => {
    const ids = Uint32Array.from({ length: 23 }, (_, i) => i);
    // (23 - 1) / 5 = 4 windows: one batch of 3, the fourth window left out
    const batches = consecutiveWindows(ids, 3, 5);
    expect(batches).toHaveLength(1);
    expect(Array.from(batches[0]?.tokens ?? [])).toEqual(Array.from({ length: 15 }, (_, i) => i));
    expect(Array.from(batches[0]?.labels ?? [])).toEqual(
      Array.from({ length: 15 }, (_, i) => i + 1),
    );
    expect(consecutiveWindows(ids, 5, 5)).toEqual([]);
  });

  it('windows are the tokens and, shifted by one, their next tokens', () => {
    const ids = Uint32Array.from({ length: 50 }, (_, i) => i);
    const { tokens, labels } = randomWindows(ids, 3, 5, mulberry32(1));
    for (let b = 0; b < 3; b++)
      for (let t = 0; t < 5; t++) expect(labels[b * 5 + t]).toBe((tokens[b * 5 + t] ?? 0) + 1);
    expect(() => splitIds(ids, 0.1, 5)).toThrow(/validation part has 5 characters/);
    expect(splitIds(ids, 0.5, 5).validation[0]).toBe(25);
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
    // Parameters, their gradients and Adam's two moments at least: 4 copies of 4 bytes each.
    const scalars = gptGraph(config, 1)
      .parameters()
      .reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
    expect(gpt.plannedBytes).toBeGreaterThan(16 * scalars);
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
    // the GPU's draw is the twin's on the same logits and u (first draw of seed 9)
    const logits = await gpt.nextLogits(vocab.encode('abc'));
    const u = mulberry32(9)();
    const draw = { row: 0, u, temperature: 0.5, topK: 0 };
    expect(sampleTokenCpu({ logits, rows: 1, V: vocab.size, draw })).toBe(drawn[0]);
    await expectAttentionLikeReference(gpt, vocab.encode('cdefg'));
    await expect(gpt.nextLogits(Uint32Array.from([1, 99]))).rejects.toThrow(
      /id 99 at 1 is not below the vocabulary 8/,
    );
    gpt.destroy();
  });

  /** attentionMaps against the CPU reference's softmax values, cut to the prompt's n x n. */
  async function expectAttentionLikeReference(gpt: CharGpt, prompt: Uint32Array): Promise<void> {
    const maps = await gpt.attentionMaps(prompt);
    const graph = gptGraph(config, 1);
    const names = graph.parameters().map((p) => p.name);
    const params = new Map(
      await Promise.all(names.map(async (n) => [n, await gpt.store.read(n)] as const)),
    );
    const tokens = new Uint32Array(config.context);
    tokens.set(prompt);
    const { values } = referenceForward(graph, params, {
      tokens,
      labels: new Int32Array(config.context),
    });
    const softmaxes = graph.nodes.filter((n) => n.op === 'softmax');
    const [n, T] = [prompt.length, config.context];
    expect(maps).toHaveLength(config.layers);
    softmaxes.forEach((node, layer) => {
      const all = values.get(node.id) ?? new Float32Array();
      expect(maps[layer]).toHaveLength(config.heads);
      maps[layer]?.forEach((map, h) => {
        const want = Float32Array.from(
          { length: n * n },
          (_, i) => all[(h * T + Math.floor(i / n)) * T + (i % n)] ?? NaN,
        );
        // float32 sums of a 16-wide model in different orders: 1e-5
        expectAllClose(map, want, { atol: 1e-5, rtol: 1e-4 }, `layer ${layer} head ${h}`);
        for (let t = 0; t < n; t++) {
          const row = map.subarray(t * n, t * n + n);
          expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
          expect(Array.from(row.subarray(t + 1))).toEqual(new Array(n - t - 1).fill(0)); // causal
        }
      });
    });
  }
});

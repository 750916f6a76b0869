/**
 * The transformer page's settings and text checks (demo/gpt/options.ts): defaults, one-line
 * errors naming the bad field, the text's minimum length and split, and the prompt fallback for a
 * text that cannot encode the default prompt.
 */
import { describe, expect, it } from 'vitest';
import {
  MIN_TEXT_CHARS,
  MODEL_DEFAULTS,
  SAMPLE_DEFAULTS,
  defaultFields,
  parseModel,
  parseSample,
  prepareText,
  promptFor,
  unreadable,
} from '../../demo/gpt/options';

const lookup =
  (query: string) =>
  (name: string): string | null =>
    new URLSearchParams(query).get(name);

describe('transformer page options', () => {
  it('defaults to the small model and reads the URL by field name', () => {
    expect(parseModel(lookup(''))).toEqual(MODEL_DEFAULTS);
    expect(parseSample(lookup(''))).toEqual(SAMPLE_DEFAULTS);
    const o = parseModel(lookup('context=16&width=16&heads=2&layers=1&batch=8&steps=40&lr=3e-3'));
    expect(o).toMatchObject({ context: 16, width: 16, heads: 2, layers: 1, batch: 8, lr: 0.003 });
    expect(o.stopAfter).toBe(40);
    // The form's defaults parse back to the same settings.
    const fields = defaultFields();
    expect(parseModel((n) => fields[n])).toEqual(MODEL_DEFAULTS);
    expect(parseSample((n) => fields[n])).toEqual(SAMPLE_DEFAULTS);
  });

  it('names the bad field', () => {
    expect(() => parseModel(lookup('width=30&heads=4'))).toThrow(
      'heads: 4 heads do not divide the width 30',
    );
    expect(() => parseModel(lookup('context=1'))).toThrow(
      "context: expected a whole number from 2 to 512, got '1'",
    );
    expect(() => parseModel(lookup('lr=-1'))).toThrow('lr: expected a number above 0');
    expect(() => parseSample(lookup('topK=2.5'))).toThrow('topK: expected a whole number');
    expect(() => parseSample(lookup('temperature=0'))).toThrow('temperature:');
    expect(() => parseSample((n) => (n === 'prompt' ? '' : undefined))).toThrow(
      'prompt: type at least one character',
    );
    // A prompt keeps its spaces.
    expect(parseSample((n) => (n === 'prompt' ? 'The ' : undefined)).prompt).toBe('The ');
  });

  it('refuses a short text or a single character, and splits a long one 90/10', () => {
    expect(() => prepareText('abc '.repeat(10), 16)).toThrow(
      `The text has 40 characters; paste at least ${MIN_TEXT_CHARS}`,
    );
    expect(() => prepareText('a'.repeat(400), 16)).toThrow('at least 2');
    // 400 characters leave 40 to validate: not enough for a window of 64 and its next character.
    expect(() => prepareText('ab'.repeat(200), 64)).toThrow('fewer than context + 1 = 65');
    const t = prepareText('héllo wörld 🙂 '.repeat(30), 16);
    expect(t.length).toBe(14 * 30); // code points: the emoji is one character
    expect([t.train.length, t.validation.length]).toEqual([378, 42]);
    expect(t.vocab.size).toBe(new Set(Array.from('héllo wörld 🙂 ')).size);
  });

  it('keeps a prompt the text can read, or starts from its first line', () => {
    const text = '\n\nOnce upon a time, a cat. '.repeat(20);
    const { vocab } = prepareText(text, 16);
    expect(promptFor('a cat', text, vocab)).toBe('a cat');
    expect(unreadable('And God said', vocab)).toBe(
      `the prompt's "A" is not among the text's ${vocab.size} characters, so the model cannot read it`,
    );
    expect(promptFor('And God said', text, vocab)).toBe('Once upon a ');
    expect(promptFor('', text, vocab)).toBe('Once upon a ');
  });
});

/**
 * The transformer page's settings and text: one parser for the URL and the forms (the inputs'
 * names are the URL parameter names: ?context=16&width=16&layers=1&batch=8&steps=40&autostart=1),
 * each bad value refused with a message naming it, and the check of a pasted text. Pure code
 * (no DOM), so tests/demo runs it in Node.
 */
import { CharVocabulary, ShadergradError, splitIds } from '../api';

/** The model and how it trains: what a new model is built from. */
export interface ModelOptions {
  context: number;
  width: number;
  heads: number;
  layers: number;
  /** Windows per step. */
  batch: number;
  /** AdamW's learning rate. */
  lr: number;
  /** Seeds the initial weights, the training windows and the draws. */
  seed: number;
  /** Pause by itself after this many steps; 0 = never. */
  stopAfter: number;
  /** Steps between validation losses. */
  evalEvery: number;
  /** Steps between samples while training; 0 = only on the button and at stopAfter. */
  sampleEvery: number;
}

/** What a generation reads, at the moment it starts. */
export interface SampleSettings {
  prompt: string;
  temperature: number;
  /** Draw among the k most likely characters; 0 = all. */
  topK: number;
  /** Characters to generate. */
  chars: number;
}

/**
 * Small enough to train visibly within a minute on a software GPU (SwiftShader), big enough to
 * learn words. lr 1e-2, not the CLI's 3e-3: at width 32 it lowers the loss faster and stays
 * stable (Genesis, 400 steps: validation 1.87 against 2.10 on lavapipe).
 */
export const MODEL_DEFAULTS: ModelOptions = {
  context: 32,
  width: 32,
  heads: 4,
  layers: 2,
  batch: 16,
  lr: 0.01,
  seed: 1,
  stopAfter: 0,
  evalEvery: 50,
  sampleEvery: 100,
};

export const SAMPLE_DEFAULTS: SampleSettings = {
  prompt: 'And God said',
  temperature: 0.8,
  topK: 10,
  chars: 200,
};

/** A field's raw value by name (a URL parameter or a form input); null or undefined = unset. */
export type Lookup = (name: string) => string | null | undefined;

function fail(name: string, problem: string): never {
  throw new ShadergradError(`${name}: ${problem}`);
}

function raw(get: Lookup, name: string): string | undefined {
  const v = get(name)?.trim();
  return v === undefined || v === '' ? undefined : v;
}

function whole(get: Lookup, name: string, fallback: number, min: number, max: number): number {
  const text = raw(get, name);
  if (text === undefined) return fallback;
  const v = Number(text);
  if (!Number.isInteger(v) || v < min || v > max)
    fail(name, `expected a whole number from ${min} to ${max}, got '${text}'`);
  return v;
}

/** A number in (0, max]. */
function positive(get: Lookup, name: string, fallback: number, max: number): number {
  const text = raw(get, name);
  if (text === undefined) return fallback;
  const v = Number(text);
  if (!(v > 0 && v <= max))
    fail(name, `expected a number above 0 and at most ${max}, got '${text}'`);
  return v;
}

/** The model settings; throws naming the first bad one. */
export function parseModel(get: Lookup): ModelOptions {
  const d = MODEL_DEFAULTS;
  const width = whole(get, 'width', d.width, 1, 1024);
  const heads = whole(get, 'heads', d.heads, 1, 64);
  if (width % heads !== 0) fail('heads', `${heads} heads do not divide the width ${width}`);
  return {
    context: whole(get, 'context', d.context, 2, 512),
    width,
    heads,
    layers: whole(get, 'layers', d.layers, 1, 12),
    batch: whole(get, 'batch', d.batch, 1, 512),
    lr: positive(get, 'lr', d.lr, 1),
    seed: whole(get, 'seed', d.seed, 0, 2 ** 31),
    stopAfter: whole(get, 'steps', d.stopAfter, 0, 1e9),
    evalEvery: whole(get, 'evalEvery', d.evalEvery, 1, 1e9),
    sampleEvery: whole(get, 'sampleEvery', d.sampleEvery, 0, 1e9),
  };
}

/** The generation settings; throws naming the first bad one. */
export function parseSample(get: Lookup): SampleSettings {
  const d = SAMPLE_DEFAULTS;
  // The prompt keeps its spaces: "The " and "The" continue differently.
  const prompt = get('prompt') ?? d.prompt;
  if (prompt === '') fail('prompt', 'type at least one character for the model to continue');
  return {
    prompt,
    temperature: positive(get, 'temperature', d.temperature, 10),
    topK: whole(get, 'topK', d.topK, 0, 1e6),
    chars: whole(get, 'chars', d.chars, 1, 2000),
  };
}

/** Every form field by name (the URL parameter of the same name), with its default. */
export function defaultFields(): Record<string, string> {
  const m = MODEL_DEFAULTS;
  const s = SAMPLE_DEFAULTS;
  return {
    context: String(m.context),
    width: String(m.width),
    heads: String(m.heads),
    layers: String(m.layers),
    batch: String(m.batch),
    lr: String(m.lr),
    seed: String(m.seed),
    steps: String(m.stopAfter),
    evalEvery: String(m.evalEvery),
    sampleEvery: String(m.sampleEvery),
    prompt: s.prompt,
    temperature: String(s.temperature),
    topK: String(s.topK),
    chars: String(s.chars),
  };
}

/** Fewer characters than this cannot show a model learning anything (a few sentences). */
export const MIN_TEXT_CHARS = 300;

/** A text ready to train on: its vocabulary and its ids split 90% training / 10% validation. */
export interface PreparedText {
  vocab: CharVocabulary;
  train: Uint32Array;
  validation: Uint32Array;
  /** Characters (code points) of the text. */
  length: number;
}

/** Checks a text (long enough, 2+ distinct characters, both parts longer than a window). */
export function prepareText(text: string, context: number): PreparedText {
  const length = Array.from(text).length;
  if (length < MIN_TEXT_CHARS)
    throw new ShadergradError(
      `The text has ${length} characters; paste at least ${MIN_TEXT_CHARS} (a few paragraphs) for the model to learn from.`,
    );
  const vocab = CharVocabulary.fromText(text);
  const ids = splitIds(vocab.encode(text), 0.1, context);
  return { vocab, ...ids, length };
}

/** A message naming the prompt's first character the vocabulary lacks, or undefined. */
export function unreadable(prompt: string, vocab: CharVocabulary): string | undefined {
  const c = Array.from(prompt).find((ch) => !vocab.chars.includes(ch));
  if (c === undefined) return undefined;
  return `the prompt's ${JSON.stringify(c)} is not among the text's ${vocab.size} characters, so the model cannot read it`;
}

/**
 * A prompt the text can encode: `prompt` itself when every character is in the vocabulary,
 * otherwise the start of the text's first non-blank line (a pasted text rarely has "And God said").
 */
export function promptFor(prompt: string, text: string, vocab: CharVocabulary): string {
  if (prompt !== '' && unreadable(prompt, vocab) === undefined) return prompt;
  const line = text.split('\n').find((l) => l.trim() !== '') ?? text;
  return Array.from(line).slice(0, 12).join('');
}

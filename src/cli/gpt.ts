/**
 * The language-model commands: `shadergrad gpt` trains a character-level GPT on a text file and
 * saves it; `shadergrad sample` loads one and writes what it generates, character by character as
 * each is drawn.
 *
 *   shadergrad gpt [--text FILE] [--steps N] [--batch N] [--context N] [--width N] [--heads N]
 *                  [--layers N] [--tie] [--lr X] [--eval-every N] [--init FILE] [--seed N] [--out DIR]
 *   shadergrad sample [--run DIR] [--prompt TEXT] [--tokens N] [--temperature X] [--top-k N] [--seed N]
 *
 * Without --text the corpus is texts/genesis.txt, shipped in the package (the Book of Genesis,
 * King James Version, public domain; texts/README.md says where it comes from), so a first run
 * needs no download. The run folder gets
 * gpt.safetensors: the parameters under the names of the minimal PyTorch module (wte, wpe,
 * blocks.<i>..., ln_f, head) with the model's sizes and its vocabulary in the metadata.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ShadergradError, TUNE_MODES, initDevice, mulberry32, tuningLines } from '../core';
import { CharVocabulary, consecutiveWindows, randomWindows, splitIds } from '../data/text';
import { readSafetensors } from '../formats/safetensors';
import { CharGpt, GPT_DEFAULTS, type GptConfig } from '../models/gpt';
import { loadModel, modelBytes } from '../models/stateDict';
import { onDisk, prepareOutDir, writeOut } from './files';
import { DEFAULT_TUNE } from './args';
import { cliTune } from './tune';
import {
  choiceArg,
  parseFlags,
  positiveArg,
  wholeArg,
  type FlagValues as Values,
  type ParsedFlag,
} from './flagValues';

const MODEL_FILE = 'gpt.safetensors';
const DEFAULT_RUN = 'runs/gpt';
/** The package's texts/genesis.txt: src/cli/gpt.ts and lib/cli/gpt.js both sit two folders below the root. */
const DEFAULT_TEXT = fileURLToPath(new URL('../../texts/genesis.txt', import.meta.url));

interface FlagSpec extends ParsedFlag {
  readonly help: string;
  readonly fallback: string;
}

const GPT_FLAGS: Record<string, FlagSpec> = {
  text: { value: 'FILE', help: 'the text to learn (UTF-8)', fallback: 'Genesis, KJV (shipped)' },
  steps: { value: 'N', help: 'training steps', fallback: '600' },
  batch: { value: 'N', help: 'windows per step', fallback: '32' },
  context: { value: 'N', help: 'characters per window', fallback: `${GPT_DEFAULTS.context}` },
  width: { value: 'N', help: 'token width', fallback: `${GPT_DEFAULTS.width}` },
  heads: {
    value: 'N',
    help: 'attention heads (must divide --width)',
    fallback: `${GPT_DEFAULTS.heads}`,
  },
  layers: { value: 'N', help: 'transformer blocks', fallback: `${GPT_DEFAULTS.layers}` },
  tie: { value: '', help: 'the head reuses the token table (weight tying)', fallback: 'off' },
  lr: { value: 'X', help: 'AdamW learning rate (weight decay 0.01)', fallback: '3e-3' },
  'eval-every': { value: 'N', help: 'steps between progress lines', fallback: '100' },
  init: {
    value: 'FILE',
    help: 'start from these weights (a gpt.safetensors, or bench/torchGpt.py --write-init)',
    fallback: 'seeded random',
  },
  seed: { value: 'N', help: 'initial weights and windows', fallback: '1' },
  out: { value: 'DIR', help: 'where gpt.safetensors is written', fallback: DEFAULT_RUN },
  tune: {
    value: 'MODE',
    help: `${TUNE_MODES.join(' | ')}: time the matrix products' kernels on this device (as train's --tune)`,
    fallback: DEFAULT_TUNE,
  },
};

const SAMPLE_FLAGS: Record<string, FlagSpec> = {
  run: { value: 'DIR', help: 'a folder written by `shadergrad gpt`', fallback: DEFAULT_RUN },
  prompt: { value: 'TEXT', help: 'what the model continues', fallback: '"The "' },
  tokens: { value: 'N', help: 'characters to generate', fallback: '500' },
  temperature: { value: 'X', help: 'below 1 sharpens, above 1 flattens', fallback: '0.8' },
  'top-k': { value: 'N', help: 'draw among the k most likely only', fallback: '40' },
  seed: { value: 'N', help: 'the draws', fallback: '1' },
};

/**
 * The language-model command an argument list asks for: `gpt ...` and `sample ...`, and
 * `--model gpt ...` (or `--model=gpt`) anywhere, the spelling the image models use, as `gpt`
 * with the other flags. Undefined for the image commands.
 */
export function languageCommand(
  argv: readonly string[],
): { command: 'gpt' | 'sample'; rest: string[] } | undefined {
  const [first, ...rest] = argv;
  if (first === 'gpt' || first === 'sample') return { command: first, rest };
  const at = argv.findIndex(
    (a, i) => a === '--model=gpt' || (a === '--model' && argv[i + 1] === 'gpt'),
  );
  if (at < 0) return undefined;
  const width = argv[at] === '--model' ? 2 : 1;
  return { command: 'gpt', rest: [...argv.slice(0, at), ...argv.slice(at + width)] };
}

export function gptUsage(command: 'gpt' | 'sample'): string {
  const flags = command === 'gpt' ? GPT_FLAGS : SAMPLE_FLAGS;
  const lines = Object.entries(flags).map(
    ([name, f]) =>
      `  --${`${name} ${f.value}`.trimEnd().padEnd(18)} ${f.help} (default ${f.fallback})`,
  );
  const what =
    command === 'gpt'
      ? 'shadergrad gpt: train a character-level GPT on a text file'
      : 'shadergrad sample: continue a prompt with a trained GPT';
  return [what, '', 'flags:', ...lines].join('\n');
}

/** The flag's whole number in [1, max], or the fallback when it was not given. */
function whole(values: Values, name: string, fallback: number, max = 1e9): number {
  const raw = values[name];
  return raw === undefined ? fallback : wholeArg(`--${name}`, raw, 1, max);
}

/** The flag's number > 0, or the fallback when it was not given. */
function positive(values: Values, name: string, fallback: number): number {
  const raw = values[name];
  return raw === undefined ? fallback : positiveArg(`--${name}`, raw);
}

/** `shadergrad gpt ...`: trains, prints progress and a sample, saves gpt.safetensors. */
export async function trainGpt(argv: readonly string[]): Promise<void> {
  const v = parseFlags('gpt', argv, GPT_FLAGS);
  // every flag is checked before the text is read or the GPU opened
  const context = whole(v, 'context', GPT_DEFAULTS.context, 4096);
  const sizes = {
    context,
    width: whole(v, 'width', GPT_DEFAULTS.width, 4096),
    heads: whole(v, 'heads', GPT_DEFAULTS.heads, 256),
    layers: whole(v, 'layers', GPT_DEFAULTS.layers, 64),
    tie: v.tie === 'on',
  };
  if (sizes.width % sizes.heads !== 0)
    throw new ShadergradError(`--heads ${sizes.heads}: must divide --width ${sizes.width}`);
  const steps = whole(v, 'steps', 600);
  const batch = whole(v, 'batch', 32, 4096);
  const every = whole(v, 'eval-every', 100);
  const [lr, seed] = [positive(v, 'lr', 3e-3), whole(v, 'seed', 1)];
  const tune = cliTune(
    v.tune === undefined ? DEFAULT_TUNE : choiceArg('--tune', v.tune, TUNE_MODES),
  );
  const textPath = v.text ?? DEFAULT_TEXT;
  const text = await onDisk('--text', textPath, () => readFile(textPath, 'utf8'));
  const vocab = CharVocabulary.fromText(text);
  const ids = splitIds(vocab.encode(text), 0.1, context);
  const config: GptConfig = { vocab: vocab.size, ...sizes };
  const out = v.out ?? DEFAULT_RUN;
  await prepareOutDir('--out', out);
  console.log(
    `text: ${textPath}, ${text.length} characters, vocabulary ${vocab.size}; ${ids.train.length} train / ${ids.validation.length} validation`,
  );
  const gpu = await initDevice({ log: (l) => console.log(l) });
  try {
    const optimizer = { kind: 'adamw' as const, lr, weightDecay: 0.01 };
    const gpt = await CharGpt.create(gpu, config, { batch, optimizer, seed, tune });
    if (gpt.tuning) for (const line of tuningLines(gpt.tuning)) console.log(line);
    if (v.init !== undefined) await loadInit(gpt, v.init);
    const random = mulberry32(seed);
    const started = performance.now();
    for (let step = 1; step <= steps; step++) {
      const report = step % every === 0 || step === steps;
      const loss = await gpt.trainStep(randomWindows(ids.train, batch, context, random), report);
      if (!report) continue;
      const validation = await gpt.evaluate(randomWindows(ids.validation, batch, context, random));
      const seconds = (performance.now() - started) / 1000;
      const rate = (step * batch * context) / seconds;
      console.log(
        `step ${step}/${steps}: train loss ${loss.toFixed(4)}, validation loss ${validation.toFixed(4)}, ${Math.round(rate)} tokens/s, ETA ${Math.round(((steps - step) * batch * context) / rate)}s`,
      );
    }
    // The whole validation part, not one random batch: the number to compare runs by.
    const held = consecutiveWindows(ids.validation, batch, context);
    let sum = 0;
    for (const w of held) sum += await gpt.evaluate(w);
    if (held.length > 0)
      console.log(
        `validation loss over all ${held.length * batch} windows of the validation part: ${(sum / held.length).toFixed(4)}`,
      );
    const metadata = {
      'shadergrad.gpt': JSON.stringify(config),
      'shadergrad.vocab': JSON.stringify(vocab.chars),
    };
    const path = join(out, MODEL_FILE);
    await writeOut(path, await modelBytes(gpt, metadata));
    console.log(`saved ${path}; sample it with: shadergrad sample --run ${out}`);
    gpt.destroy();
  } finally {
    gpu.destroy();
  }
}

/** Loads --init's weights into a fresh GPT (names and shapes must match its config). */
async function loadInit(gpt: CharGpt, path: string): Promise<void> {
  const bytes = await onDisk('--init', path, () => readFile(path).then((b) => new Uint8Array(b)));
  loadModel(gpt, bytes, path);
}

/** The GPT config and vocabulary a gpt.safetensors holds in its metadata. */
function savedGpt(bytes: Uint8Array, source: string): { config: GptConfig; vocab: CharVocabulary } {
  const { metadata } = readSafetensors(bytes, source);
  const [configText, vocabText] = [metadata['shadergrad.gpt'], metadata['shadergrad.vocab']];
  if (!configText || !vocabText)
    throw new ShadergradError(`${source}: no GPT metadata (was it written by shadergrad gpt?)`);
  try {
    const config = JSON.parse(configText) as GptConfig;
    return { config, vocab: CharVocabulary.fromChars(JSON.parse(vocabText) as string[]) };
  } catch (e) {
    if (e instanceof ShadergradError) throw e;
    throw new ShadergradError(`${source}: its GPT metadata is not valid JSON`);
  }
}

/** `shadergrad sample ...`: loads gpt.safetensors and streams the continuation to stdout. */
export async function sampleGpt(
  argv: readonly string[],
  write: (text: string) => void = (t) => process.stdout.write(t),
): Promise<void> {
  const v = parseFlags('sample', argv, SAMPLE_FLAGS);
  const path = join(v.run ?? DEFAULT_RUN, MODEL_FILE);
  const bytes = await onDisk('--run', path, () => readFile(path).then((b) => new Uint8Array(b)));
  const { config, vocab } = savedGpt(bytes, path);
  const prompt = vocab.encode(v.prompt ?? 'The ');
  if (prompt.length === 0) throw new ShadergradError('--prompt: give at least one character');
  const options = {
    temperature: positive(v, 'temperature', 0.8),
    topK: whole(v, 'top-k', 40),
    seed: whole(v, 'seed', 1),
  };
  const gpu = await initDevice({});
  try {
    const gpt = await CharGpt.create(gpu, config, { batch: 1 });
    loadModel(gpt, bytes, path);
    write(vocab.decode(prompt));
    for await (const id of gpt.generate(prompt, whole(v, 'tokens', 500), options))
      write(vocab.decode([id]));
    write('\n');
    gpt.destroy();
  } finally {
    gpu.destroy();
  }
}

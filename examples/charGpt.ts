/**
 * A character-level GPT trained on the GPU, then sampled: the course's decoder on a text file.
 *
 *   npx vite-node examples/charGpt.ts                         # this project's README.md as text
 *   npx vite-node examples/charGpt.ts -- --text my.txt --steps 2000 --prompt "Once"
 *
 * The text's distinct characters are the vocabulary; the first 90% of it trains and the last 10%
 * validates. Each step trains on `batch` random windows of `context` characters (every position
 * predicts the next character: the loss is the mean over all of them). At the end the model
 * continues `--prompt`, one character at a time (temperature and top-k; --temperature is in
 * hundredths, 80 = 0.8), printing each as it comes.
 */
import { readFileSync } from 'node:fs';
import {
  CharGpt,
  CharVocabulary,
  initDevice,
  mulberry32,
  randomWindows,
  splitIds,
} from 'shadergrad';
import { parseOptions, runExample } from './cli';

const options = parseOptions('A character-level GPT: train on a text, then sample', {
  text: 'README.md',
  steps: 300,
  batch: 16,
  context: 64,
  width: 64,
  heads: 4,
  layers: 2,
  lr: 3, // thousandths: 3 = 3e-3
  prompt: 'The ',
  tokens: 200,
  temperature: 80,
  topK: 10,
  seed: 1,
});

async function main(): Promise<void> {
  const text = readFileSync(String(options.text), 'utf8');
  const vocab = CharVocabulary.fromText(text);
  const context = Number(options.context);
  const ids = splitIds(vocab.encode(text), 0.1, context);
  console.log(
    `text: ${text.length} characters, vocabulary ${vocab.size}, ${ids.train.length} training / ${ids.validation.length} validation`,
  );
  const gpu = await initDevice({ log: (line) => console.log(line) });
  const batch = Number(options.batch);
  const gpt = await CharGpt.create(
    gpu,
    {
      vocab: vocab.size,
      context,
      width: Number(options.width),
      heads: Number(options.heads),
      layers: Number(options.layers),
    },
    {
      batch,
      optimizer: { kind: 'adamw', lr: Number(options.lr) / 1000, weightDecay: 0.01 },
      seed: Number(options.seed),
    },
  );
  const random = mulberry32(Number(options.seed));
  const steps = Number(options.steps);
  const started = performance.now();
  let loss = NaN;
  for (let step = 1; step <= steps; step++) {
    const report = step === 1 || step % Math.ceil(steps / 10) === 0 || step === steps;
    loss = await gpt.trainStep(randomWindows(ids.train, batch, context, random), report);
    if (report) {
      const tokensPerSecond = (step * batch * context) / ((performance.now() - started) / 1000);
      console.log(`step ${step}: loss ${loss.toFixed(4)}, ${Math.round(tokensPerSecond)} tokens/s`);
    }
  }
  const validation = await gpt.evaluate(randomWindows(ids.validation, batch, context, random));
  process.stdout.write(`\n${options.prompt}`);
  const sample = { temperature: Number(options.temperature) / 100, topK: Number(options.topK) };
  for await (const id of gpt.generate(
    vocab.encode(String(options.prompt)),
    Number(options.tokens),
    sample,
  ))
    process.stdout.write(vocab.decode([id]));
  console.log(
    `\n\nchar GPT after ${steps} steps: train loss ${loss.toFixed(4)}, validation loss ${validation.toFixed(4)} (uniform guessing: ${Math.log(vocab.size).toFixed(4)})`,
  );
  gpt.destroy();
  gpu.destroy();
}

runExample(main);
